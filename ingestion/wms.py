"""The warehouse management system's REST API → ``raw_wms``, one table per resource.

``GET <base_url><resource>?updated_since=ISO&page=N&page_size=K`` with a bearer token; the body
is ``{"data": [...], "page": N, "total_pages": T, ...}`` with rows ordered by
``(updated_at, id)`` (see ``docs/simulated-company.md``). Declared with dlt's ``rest_api``
source:

- page-number pagination (``page`` from 1, stop at ``total_pages``);
- incremental on ``updated_at``: the cursor lives in dlt state (also stored in the destination),
  and every run asks for ``updated_since = last cursor - overlap``. The overlap re-reads the
  last moments of the previous run, so a row committed late with an earlier or equal timestamp
  is not missed; ``merge`` on ``id`` makes re-read rows upserts, never duplicates;
- retries, refusals, conservation and quarantine from :mod:`ingestion.http_client`.

With no API configured, the simulated company's server is started (once per process) and read.
"""

from __future__ import annotations

from typing import Any

from dlt.extract.source import DltSource
from dlt.sources.rest_api import RESTAPIConfig, rest_api_source

from ingestion.config import setting, setting_list
from ingestion.http_client import (
    HttpPolicy,
    audit_resource,
    refusal_hook,
    retrying_session,
    simulator_base_url,
)
from ingestion.pipeline import IngestResult, IngestRun, Progress
from trueup.settings import Paths

SOURCE = "wms"
RESOURCES = (
    "shipments",
    "shipment_lines",
    "inventory_snapshots",
    "inventory_movements",
    "return_receipts",
)
SIMULATOR_PREFIX = "/wms/api/v1/"
PAGE_SIZE = 5000  # the API's maximum: fewer round trips, ~1 MB pages
OVERLAP_SECONDS = 300.0
INITIAL_CURSOR = "1970-01-01T00:00:00Z"
_TOKEN_HINT = "TRUEUP_WMS_TOKEN or SOURCES__WMS__API_TOKEN"


def wms_source(
    run: IngestRun,
    *,
    base_url: str,
    api_token: str,
    resources: list[str] | tuple[str, ...] = RESOURCES,
    page_size: int = PAGE_SIZE,
    overlap_seconds: float = OVERLAP_SECONDS,
    http: HttpPolicy | None = None,
) -> DltSource:
    """The WMS API as a dlt source, for an explicit API (no settings are read).

    Args:
        run: Run context receiving counts and rejects.
        base_url: API root the resource names are appended to
            (``https://wms.example.com/wms/api/v1/``).
        api_token: Bearer token.
        resources: Resources to load; each becomes table ``raw_wms.<resource>``.
        page_size: Rows per page (the API allows up to 5000).
        overlap_seconds: How far before the last cursor each run starts reading again.
        http: Timeout, retry and backoff policy; default :class:`HttpPolicy` defaults.

    Returns:
        A dlt source named ``wms`` with one merge resource per API resource.
    """
    base_url = base_url if base_url.endswith("/") else base_url + "/"
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url,
            "auth": {"type": "bearer", "token": api_token},
            "session": retrying_session(http or HttpPolicy()),
        },
        "resource_defaults": {
            "primary_key": "id",
            "write_disposition": "merge",
            # JSON records through dlt's default insert-values writer load ~3k rows/s; parquet
            # is ~8x faster into DuckDB (STACK-NOTES).
            "file_format": "parquet",
            "columns": {"updated_at": {"data_type": "timestamp"}},
            "endpoint": {
                "data_selector": "data",
                "params": {"page_size": page_size},
                # A dict, not an instance: each resource then gets its own paginator state.
                "paginator": {
                    "type": "page_number",
                    "base_page": 1,
                    "page_param": "page",
                    "total_path": "total_pages",
                },
                "incremental": {
                    "cursor_path": "updated_at",
                    "start_param": "updated_since",
                    "initial_value": INITIAL_CURSOR,
                    "lag": overlap_seconds,
                },
            },
        },
        "resources": [
            {
                "name": name,
                "endpoint": {
                    "path": name,
                    "response_actions": [refusal_hook(SOURCE, name, _TOKEN_HINT)],
                },
            }
            for name in resources
        ],
    }
    source = rest_api_source(config, name=SOURCE)
    for resource in source.resources.values():
        audit_resource(run, resource, source=SOURCE)
    return source


def build_source(
    run: IngestRun,
    paths: Paths | None = None,
    *,
    base_url: str | None = None,
    api_token: str | None = None,
    resources: list[str] | None = None,
    page_size: int | None = None,
    overlap_seconds: float | None = None,
    http: HttpPolicy | None = None,
) -> DltSource:
    """The WMS source for one run, configured from settings (the registry's entry point).

    Each argument overrides its setting; settings are resolved as :mod:`ingestion.config`
    describes (trueup environment variable, then dlt config ``sources.wms.<key>``).

    Args:
        run: Run context receiving counts and rejects.
        paths: Data-directory layout (default ``$TRUEUP_DATA_DIR``).
        base_url: API root; default ``TRUEUP_WMS_URL`` / ``sources.wms.base_url``. When
            neither is set, the simulated company under ``paths.sources`` is served on a free
            local port and read.
        api_token: Bearer token; default ``TRUEUP_WMS_TOKEN`` / ``sources.wms.api_token``
            (``SOURCES__WMS__API_TOKEN``). Required for a configured API; the simulator falls
            back to its documented development token.
        resources: Resources to load; default ``TRUEUP_WMS_RESOURCES`` (comma-separated) /
            ``sources.wms.resources`` / all five.
        page_size: Rows per page; default ``sources.wms.page_size`` or 5000.
        overlap_seconds: Re-read window; default ``sources.wms.overlap_seconds`` or 300.
        http: Retry policy; default :meth:`HttpPolicy.from_settings` for ``wms``.

    Returns:
        The dlt source.

    Raises:
        ValueError: An API URL is configured without a token, or a resource is unknown.
        FileNotFoundError: No API is configured and the company has not been simulated.
    """
    paths = paths or Paths.from_env()
    url = base_url or setting(SOURCE, "base_url", env="TRUEUP_WMS_URL")
    token = api_token or setting(SOURCE, "api_token", env="TRUEUP_WMS_TOKEN")
    if url is None:
        from simulator.server import DEFAULT_TOKEN

        # The simulator's documented development token, never a real system's.
        token = token or DEFAULT_TOKEN
        url = simulator_base_url(paths, token, store="wms/wms.sqlite") + SIMULATOR_PREFIX
    elif not token:
        raise ValueError(f"WMS API {url} is configured without a token: set {_TOKEN_HINT}")
    chosen = resources or setting_list(SOURCE, "resources", env="TRUEUP_WMS_RESOURCES")
    chosen = list(chosen or RESOURCES)
    unknown = sorted(set(chosen) - set(RESOURCES))
    if unknown:
        raise ValueError(f"unknown WMS resources {unknown}; known: {', '.join(RESOURCES)}")
    return wms_source(
        run,
        base_url=str(url),
        api_token=str(token),
        resources=chosen,
        page_size=int(page_size or setting(SOURCE, "page_size", default=PAGE_SIZE)),
        overlap_seconds=float(
            overlap_seconds
            if overlap_seconds is not None
            else setting(SOURCE, "overlap_seconds", default=OVERLAP_SECONDS)
        ),
        http=http or HttpPolicy.from_settings(SOURCE),
    )


def load_wms(
    paths: Paths | None = None, *, progress: Progress | None = None, **options: Any
) -> IngestResult:
    """Load the WMS into ``raw_wms`` (what ``trueup ingest --source wms`` runs).

    Args:
        paths: Data-directory layout (default ``$TRUEUP_DATA_DIR``).
        progress: Called with progress lines.
        **options: Passed to :func:`build_source` (``base_url``, ``resources``, ``http``...).

    Returns:
        Per-resource counts of the run.

    Raises:
        ConservationError: A resource's records do not balance.
    """
    from ingestion.registry import ingest

    return ingest(SOURCE, paths=paths, progress=progress, **options)
