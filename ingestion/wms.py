"""The warehouse management system's REST API → ``raw_wms``, one table per resource.

``GET <base_url><resource>?updated_since=ISO&page=N&page_size=K`` with a bearer token; the body
is ``{"data": [...], "page": N, "total_pages": T, ...}`` with rows ordered by
``(updated_at, id)`` (see ``docs/simulated-company.md``). Each resource is a dlt resource
yielding one pyarrow table per page (:mod:`ingestion.json_pages`):

- page-number pagination (``page`` from 1, stop at ``total_pages``), the next page requested
  while the current one is parsed;
- incremental on ``updated_at``: the cursor lives in dlt state (also stored in the destination),
  and every run asks for ``updated_since = last cursor - overlap``. The overlap re-reads the
  last moments of the previous run, so a row committed late with an earlier or equal timestamp
  is not missed; ``merge`` on ``id`` makes re-read rows upserts, never duplicates (the newest
  ``updated_at`` wins when a run reads a row twice);
- columns typed as declared in :data:`COLUMNS` (the raw tables' types); a new field is added
  as dlt would type it, a value that does not fit its column quarantines its record;
- retries, refusals, conservation and quarantine from :mod:`ingestion.http_client`.

With no API configured, the simulated company's server is started (once per process) and read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import dlt
import pyarrow as pa
import requests
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource

from ingestion.config import setting, setting_list
from ingestion.http_client import (
    Cursor,
    Endpoint,
    HttpPolicy,
    account_page,
    pages_of,
    retrying_session,
    simulator_base_url,
)
from ingestion.json_pages import Page, PageReader, Rules, batches, declare
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
BATCH_ROWS = 50_000  # rows per table handed to dlt: its cost per item is fixed
INITIAL_CURSOR = "1970-01-01T00:00:00Z"
_TOKEN_HINT = "TRUEUP_WMS_TOKEN or SOURCES__WMS__API_TOKEN"
_TS, _TEXT, _INT, _FLOAT = "timestamp", "text", "bigint", "double"
# The columns of each resource and their types in raw_wms (snapshot_date is a date-only text).
COLUMNS: dict[str, dict[str, str]] = {
    "shipments": {
        "updated_at": _TS,
        "id": _TEXT,
        "order_ref": _TEXT,
        "warehouse_code": _TEXT,
        "ship_to_id": _TEXT,
        "carrier_scac": _TEXT,
        "tracking_no": _TEXT,
        "pro_no": _TEXT,
        "bol_no": _TEXT,
        "status": _TEXT,
        "picked_at": _TS,
        "shipped_at": _TS,
        "weight_lb": _FLOAT,
        "line_count": _INT,
    },
    "shipment_lines": {
        "updated_at": _TS,
        "id": _TEXT,
        "shipment_id": _TEXT,
        "order_ref": _TEXT,
        "order_line_no": _INT,
        "correlation_id": _TEXT,
        "item_no": _TEXT,
        "lot_no": _TEXT,
        "qty": _INT,
        "uom": _TEXT,
        "qty_base": _INT,
    },
    "inventory_snapshots": {
        "updated_at": _TS,
        "id": _TEXT,
        "snapshot_date": _TEXT,
        "warehouse_code": _TEXT,
        "item_no": _TEXT,
        "lot_no": _TEXT,
        "on_hand_base": _INT,
    },
    "inventory_movements": {
        "updated_at": _TS,
        "id": _TEXT,
        "moved_at": _TS,
        "warehouse_code": _TEXT,
        "item_no": _TEXT,
        "lot_no": _TEXT,
        "movement_type": _TEXT,
        "qty_base": _INT,
        "reference": _TEXT,
    },
    "return_receipts": {
        "updated_at": _TS,
        "id": _TEXT,
        "rma_no": _TEXT,
        "correlation_id": _TEXT,
        "warehouse_code": _TEXT,
        "item_no": _TEXT,
        "qty": _INT,
        "uom": _TEXT,
        "qty_base": _INT,
        "condition": _TEXT,
        "received_at": _TS,
    },
}
# Any other resource: the key and the cursor, the rest as the records bring it.
_MINIMAL = {"updated_at": _TS, "id": _TEXT}


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
    headers = {"Authorization": f"Bearer {api_token}"}
    chosen = [
        _resource(
            run, name, base_url + name, http or HttpPolicy(), headers, page_size, overlap_seconds
        )
        for name in resources
    ]
    return dlt.source(_wms, name=SOURCE)(chosen)


def _wms(resources: list[DltResource]) -> list[DltResource]:
    return resources


def _resource(
    run: IngestRun,
    name: str,
    url: str,
    http: HttpPolicy,
    headers: dict[str, str],
    page_size: int,
    overlap_seconds: float,
) -> DltResource:
    """One WMS resource: every page since the cursor, as arrow tables merged on ``id``."""
    run.ledger.resource(name)  # a resource that reads nothing still gets an audit row
    first: dict[str, Any] = {}  # the first page's parameters, once the cursor is known

    def following(response: requests.Response, page: Page) -> tuple[str, dict[str, Any]] | None:
        number, total = page.meta.get("page"), page.meta.get("total_pages")
        if not isinstance(number, int) or not isinstance(total, int) or number >= total:
            return None
        return url, {**first, "page": number + 1}

    def pages() -> Iterator[pa.Table]:
        schema = dlt.current.source_schema()
        reader = PageReader(
            "data", declare(name, COLUMNS.get(name, _MINIMAL), schema.naming), Rules(), schema
        )
        cursor = Cursor("updated_at", initial=INITIAL_CURSOR, lag=overlap_seconds)
        first.update(updated_since=cursor.start_param, page=1, page_size=page_size)
        # A session per resource: dlt reads resources in turns, each with its own page thread.
        endpoint = Endpoint(SOURCE, name, retrying_session(http), headers, _TOKEN_HINT)

        def admitted() -> Iterator[pa.Table]:
            # Closed however this ends: the walk's thread stops with it.
            with closing(pages_of(endpoint, url, dict(first), reader, following)) as walk:
                for count, (response, page) in enumerate(walk, 1):
                    account_page(run, name, response, page)
                    records, skipped = cursor.admit(pa.Table.from_struct_array(page.records))
                    run.skip_duplicates(name, skipped)
                    cursor.advance(records)
                    run.note(
                        f"{SOURCE}.{name}: {count:,} pages, "
                        f"{run.ledger.resource(name).input_records:,} records read",
                        throttle=True,
                    )
                    yield records

        for records in batches(admitted(), BATCH_ROWS):
            yield reader.tables(records.to_struct_array().combine_chunks())[name]
        cursor.save()

    return dlt.resource(
        pages,
        name=name,
        write_disposition="merge",
        primary_key="id",
        file_format="parquet",
        columns={
            "updated_at": {"data_type": "timestamp", "dedup_sort": "desc"},
        },
    )


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
