"""The WMS source: paged, incremental, merged, resilient, and every record accounted for."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from ingestion.http_client import HttpPolicy, SourceApiError, stop_simulators
from ingestion.pipeline import IngestResult
from ingestion.wms import load_wms
from simulator.server import FaultPlan, running_server
from trueup.settings import Paths

TOKEN = "wms-test-token"
SHIPMENTS = 230
LINES_PER_SHIPMENT = 2
PAGE_SIZE = 50  # several pages per resource
START = datetime(2026, 1, 1, tzinfo=UTC)
# Retries fast enough for tests: a 1 s timeout trips the server's 2 s `slow` fault.
FAST = HttpPolicy(timeout_s=1.0, max_attempts=5, backoff_factor=0.05, max_retry_delay_s=5.0)

_ENV = ("TRUEUP_WMS_URL", "TRUEUP_WMS_TOKEN", "TRUEUP_WMS_RESOURCES", "SOURCES__WMS__API_TOKEN")


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _shipment(i: int, updated: datetime, status: str = "shipped") -> dict:
    return {
        "id": f"SH{i:08d}",
        "warehouse": "DC-EAST" if i % 2 else "DC-WEST",
        "status": status,
        "cartons": i % 7 + 1,
        "weight_lb": round(1.5 * i, 2),
        "updated_at": _stamp(updated),
    }


class WmsStore:
    """A WMS store with ``shipments`` and ``shipment_lines``, and edits like the WMS makes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE shipments (id TEXT PRIMARY KEY, warehouse TEXT, status TEXT, "
                "cartons INTEGER, weight_lb REAL, updated_at TEXT NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE shipment_lines (id TEXT PRIMARY KEY, shipment_id TEXT, "
                "item_no TEXT, qty INTEGER, updated_at TEXT NOT NULL)"
            )
        # One shipment an hour, except that the last ten share the final timestamp: equal
        # cursor values across a page boundary are where incremental loads lose rows.
        last = START + timedelta(hours=SHIPMENTS - 10)
        self.max_updated = last
        self.add_shipments(
            [_shipment(i, min(START + timedelta(hours=i), last)) for i in range(1, SHIPMENTS + 1)]
        )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, isolation_level=None)

    def add_shipments(self, shipments: list[dict]) -> None:
        lines = [
            {
                "id": f"{s['id']}-{n:03d}",
                "shipment_id": s["id"],
                "item_no": f"ITM{n:05d}",
                "qty": n * 3,
                "updated_at": s["updated_at"],
            }
            for s in shipments
            for n in range(1, LINES_PER_SHIPMENT + 1)
        ]
        with self._connect() as conn:
            conn.executemany(
                "INSERT INTO shipments VALUES (:id, :warehouse, :status, :cartons, :weight_lb, "
                ":updated_at)",
                shipments,
            )
            conn.executemany(
                "INSERT INTO shipment_lines VALUES (:id, :shipment_id, :item_no, :qty, "
                ":updated_at)",
                lines,
            )

    def update_shipment(self, shipment_id: str, updated: datetime, **values: object) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._connect() as conn:
            conn.execute(
                f"UPDATE shipments SET {sets}, updated_at = ? WHERE id = ?",
                [*values.values(), _stamp(updated), shipment_id],
            )

    def rows_at_or_after(self, table: str, since: datetime) -> int:
        with self._connect() as conn:
            return conn.execute(
                f"SELECT count(*) FROM {table} WHERE updated_at >= ?", [_stamp(since)]
            ).fetchone()[0]


@pytest.fixture(autouse=True)
def _no_configured_wms(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    yield
    stop_simulators()


@pytest.fixture
def store(paths: Paths) -> WmsStore:
    return WmsStore(paths.sources / "wms" / "wms.sqlite")


@pytest.fixture
def wms_url(paths: Paths, store: WmsStore) -> Iterator[str]:
    with running_server(paths.sources, token=TOKEN, quiet=True) as url:
        yield f"{url}/wms/api/v1/"


def _load(paths: Paths, url: str, **options: object) -> IngestResult:
    options = {
        "base_url": url,
        "api_token": TOKEN,
        "resources": ["shipments", "shipment_lines"],
        "page_size": PAGE_SIZE,
        "http": FAST,
        **options,
    }
    return load_wms(paths, **options)


def _assert_balanced(result: IngestResult) -> None:
    for audit in result.audits:
        assert audit.balanced, audit


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def test_first_load_loads_every_record_of_every_resource(
    paths: Paths, wms_url: str, warehouse: Callable[[str], list[tuple]]
) -> None:
    result = _load(paths, wms_url)

    assert result.audit("shipments").input_records == SHIPMENTS
    assert result.audit("shipments").loaded == SHIPMENTS
    assert result.audit("shipment_lines").loaded == SHIPMENTS * LINES_PER_SHIPMENT
    _assert_balanced(result)
    assert warehouse("SELECT count(*), count(DISTINCT id) FROM raw_wms.shipments") == [
        (SHIPMENTS, SHIPMENTS)
    ]
    assert warehouse(
        "SELECT cartons, weight_lb, updated_at FROM raw_wms.shipments WHERE id = 'SH00000003'"
    ) == [(4, 4.5, START + timedelta(hours=3))]
    balanced = warehouse("SELECT bool_and(balanced) FROM raw_quarantine.load_audit")
    assert balanced == [(True,)]


def test_second_load_adds_nothing_and_rereads_only_the_overlap_window(
    paths: Paths, wms_url: str, store: WmsStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    _load(paths, wms_url, overlap_seconds=300)
    second = _load(paths, wms_url, overlap_seconds=300)

    # Only rows within 300 s of the previous run's last cursor are asked for again...
    overlap = store.rows_at_or_after("shipments", store.max_updated - timedelta(seconds=300))
    assert second.audit("shipments").input_records == overlap < SHIPMENTS
    _assert_balanced(second)
    # ...and the merge turns them into upserts: nothing is added.
    assert warehouse("SELECT count(*), count(DISTINCT id) FROM raw_wms.shipments") == [
        (SHIPMENTS, SHIPMENTS)
    ]
    assert warehouse("SELECT count(*) FROM raw_wms.shipment_lines") == [
        (SHIPMENTS * LINES_PER_SHIPMENT,)
    ]


def test_newer_rows_are_loaded_and_a_modified_row_is_updated_not_duplicated(
    paths: Paths, wms_url: str, store: WmsStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    _load(paths, wms_url, overlap_seconds=0)
    later = store.max_updated + timedelta(hours=1)
    store.add_shipments([_shipment(i, later) for i in range(SHIPMENTS + 1, SHIPMENTS + 6)])
    store.update_shipment("SH00000007", later, status="delivered", cartons=99)

    second = _load(paths, wms_url, overlap_seconds=0)

    # Without an overlap window dlt re-reads only the last cursor value and skips what it
    # loaded there before; the new and the modified rows are all that load.
    shipments = second.audit("shipments")
    assert shipments.loaded == 6
    assert shipments.duplicates_skipped == shipments.input_records - 6
    _assert_balanced(second)
    assert warehouse("SELECT count(*), count(DISTINCT id) FROM raw_wms.shipments") == [
        (SHIPMENTS + 5, SHIPMENTS + 5)
    ]
    assert warehouse("SELECT status, cartons FROM raw_wms.shipments WHERE id = 'SH00000007'") == [
        ("delivered", 99)
    ]


def test_load_survives_rate_limits_server_errors_and_timeouts(
    paths: Paths, store: WmsStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    faults = FaultPlan(first_n=3, kinds=("429", "500", "slow"), retry_after=1, slow_seconds=2)
    with running_server(paths.sources, token=TOKEN, faults=faults, quiet=True) as url:
        result = _load(paths, f"{url}/wms/api/v1/")

    assert result.audit("shipments").loaded == SHIPMENTS
    assert result.audit("shipment_lines").loaded == SHIPMENTS * LINES_PER_SHIPMENT
    _assert_balanced(result)
    assert warehouse("SELECT count(DISTINCT id) FROM raw_wms.shipments") == [(SHIPMENTS,)]


def test_a_rate_limited_request_waits_as_long_as_retry_after_says(
    paths: Paths, store: WmsStore
) -> None:
    # Exponential backoff alone would wait 0.05 s; only Retry-After explains 2 s.
    faults = FaultPlan(first_n=1, kinds=("429",), retry_after=2)
    with running_server(paths.sources, token=TOKEN, faults=faults, quiet=True) as url:
        started = time.perf_counter()
        result = _load(paths, f"{url}/wms/api/v1/", resources=["shipments"])
        elapsed = time.perf_counter() - started

    assert elapsed >= 2.0
    assert result.audit("shipments").loaded == SHIPMENTS


def test_a_wrong_token_fails_at_once_naming_the_endpoint(paths: Paths, wms_url: str) -> None:
    started = time.perf_counter()
    with pytest.raises(Exception) as caught:
        _load(paths, wms_url, api_token="wrong", resources=["shipments"])

    refusal = _cause(caught.value, SourceApiError)
    assert isinstance(refusal, SourceApiError)
    assert refusal.status == 401
    assert refusal.endpoint == "GET /wms/api/v1/shipments"
    assert "GET /wms/api/v1/shipments" in str(caught.value)
    assert "TRUEUP_WMS_TOKEN" in str(refusal)
    assert time.perf_counter() - started < 10  # refused, not retried


def test_a_record_whose_type_no_longer_fits_is_quarantined_with_endpoint_and_page(
    paths: Paths, wms_url: str, store: WmsStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    _load(paths, wms_url, resources=["shipments"], overlap_seconds=0)
    later = store.max_updated + timedelta(hours=1)
    store.update_shipment("SH00000011", later, cartons="a dozen")  # SQLite keeps the text
    store.update_shipment("SH00000012", later, status="delivered")

    second = _load(paths, wms_url, resources=["shipments"], overlap_seconds=0)

    shipments = second.audit("shipments")
    assert (shipments.loaded, shipments.quarantined) == (1, 1)
    _assert_balanced(second)
    [(endpoint, locator, reason, payload)] = warehouse(
        "SELECT file_or_endpoint, locator, reason, raw_payload "
        "FROM raw_quarantine.rejected_records WHERE source = 'wms'"
    )
    assert endpoint == "GET /wms/api/v1/shipments"
    assert "page=1" in locator
    assert "'cartons'" in reason and "bigint" in reason
    assert '"SH00000011"' in payload
    # The loaded version stays as it was; the well-typed change beside it is loaded.
    assert warehouse("SELECT cartons FROM raw_wms.shipments WHERE id = 'SH00000011'") == [(5,)]
    assert warehouse("SELECT status FROM raw_wms.shipments WHERE id = 'SH00000012'") == [
        ("delivered",)
    ]
    assert warehouse("SELECT count(*) FROM raw_wms.shipments") == [(SHIPMENTS,)]


def test_without_a_configured_api_the_simulated_company_is_served_and_read(
    paths: Paths, store: WmsStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    result = load_wms(paths, resources=["shipments"], http=FAST)

    assert result.audit("shipments").loaded == SHIPMENTS
    assert warehouse("SELECT count(*) FROM raw_wms.shipments") == [(SHIPMENTS,)]
    servers = [p for p in psutil.Process().children() if "_serve_for_parent" in p.cmdline()[-1]]
    assert servers == []  # the server stopped with the ingest, not at the end of the process


def test_a_configured_api_without_a_token_is_refused_before_any_request(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUEUP_WMS_URL", "http://127.0.0.1:9/wms/api/v1/")
    with pytest.raises(ValueError, match="TRUEUP_WMS_TOKEN"):
        load_wms(paths)


def test_a_new_field_becomes_a_column_typed_as_dlt_types_it(
    paths: Paths, wms_url: str, store: WmsStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    _load(paths, wms_url, resources=["shipments"], overlap_seconds=0)
    later = store.max_updated + timedelta(hours=1)
    with sqlite3.connect(store.path, isolation_level=None) as conn:
        conn.execute("ALTER TABLE shipments ADD COLUMN dock TEXT")
        conn.execute("ALTER TABLE shipments ADD COLUMN sealed_at TEXT")
    store.update_shipment("SH00000021", later, dock="D7", sealed_at="2026-02-01T08:30:00Z")
    store.update_shipment("SH00000022", later, status="delivered")

    second = _load(paths, wms_url, resources=["shipments"], overlap_seconds=0)

    assert (second.audit("shipments").loaded, second.audit("shipments").quarantined) == (2, 0)
    _assert_balanced(second)
    types = dict(
        warehouse(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'raw_wms' AND table_name = 'shipments'"
        )
    )
    assert (types["dock"], types["sealed_at"]) == ("VARCHAR", "TIMESTAMP WITH TIME ZONE")
    assert warehouse(
        "SELECT id, dock, sealed_at IS NOT NULL FROM raw_wms.shipments "
        "WHERE id IN ('SH00000021', 'SH00000022') ORDER BY id"
    ) == [("SH00000021", "D7", True), ("SH00000022", None, False)]


def test_a_record_with_an_unreadable_cursor_is_quarantined_and_the_rest_of_its_page_loads(
    paths: Paths, wms_url: str, store: WmsStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    with sqlite3.connect(store.path, isolation_level=None) as conn:
        conn.execute("UPDATE shipments SET updated_at = 'yesterday' WHERE id = 'SH00000005'")

    result = _load(paths, wms_url, resources=["shipments"])

    shipments = result.audit("shipments")
    assert (shipments.input_records, shipments.loaded, shipments.quarantined) == (
        SHIPMENTS,
        SHIPMENTS - 1,
        1,
    )
    _assert_balanced(result)
    [(locator, reason)] = warehouse(
        "SELECT locator, reason FROM raw_quarantine.rejected_records WHERE source = 'wms'"
    )
    assert "page=" in locator and "record" in locator
    assert "'updated_at'" in reason and "'yesterday'" in reason
    assert warehouse("SELECT count(*) FROM raw_wms.shipments WHERE id = 'SH00000005'") == [(0,)]
