"""Serve the simulated company's WMS and Shopify APIs over HTTP on 127.0.0.1 (`trueup serve`).

The ingestion connectors read these APIs exactly as they would read the real ones, so the
server reproduces what a client must cope with: page-number pagination (WMS), cursor
pagination in the ``Link`` header (Shopify), token authentication, and injected faults.

Programmatic use::

    with running_server(data_dir, token="t", faults=FaultPlan(first_n=2, kinds=("429",))) as url:
        ...  # url == "http://127.0.0.1:<free port>"
"""

from .app import (
    DEFAULT_TOKEN,
    HOST,
    TrueupServer,
    make_server,
    running_server,
    running_server_process,
    serve_forever,
)
from .faults import FAULT_KINDS, FaultPlan

__all__ = [
    "DEFAULT_TOKEN",
    "FAULT_KINDS",
    "HOST",
    "FaultPlan",
    "TrueupServer",
    "make_server",
    "running_server",
    "running_server_process",
    "serve_forever",
]
