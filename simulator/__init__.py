"""A simulated wholesale distributor whose systems write their real formats, with ground truth."""
