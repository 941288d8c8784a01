"""Writers: each system's own storage or file format."""
