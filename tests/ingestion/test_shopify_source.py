"""The Shopify source: Link-header cursors, nested child tables, payouts, merges, resilience."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingestion.http_client import HttpPolicy, SourceApiError, stop_simulators
from ingestion.pipeline import IngestResult
from ingestion.shopify import load_shopify
from simulator.server import FaultPlan, running_server
from trueup.settings import Paths

TOKEN = "shpat-test"
ORDERS = 37
PAYOUTS = 4
TRANSACTIONS_PER_PAYOUT = 6
LIMIT = 5  # 37 orders → 8 pages
START = datetime(2026, 1, 1, tzinfo=UTC)
FAST = HttpPolicy(timeout_s=1.0, max_attempts=5, backoff_factor=0.05, max_retry_delay_s=5.0)

_ENV = (
    "TRUEUP_SHOPIFY_URL",
    "TRUEUP_SHOPIFY_TOKEN",
    "TRUEUP_SHOPIFY_RESOURCES",
    "SOURCES__SHOPIFY__ACCESS_TOKEN",
)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _order(i: int, updated: datetime, *, line_items: int = 1, refunded: bool = False) -> dict:
    return {
        "id": 5_000_000 + i,
        "name": f"#{1000 + i}",
        "created_at": _stamp(START + timedelta(hours=i)),
        "updated_at": _stamp(updated),
        "closed_at": _stamp(updated) if i % 3 == 0 else None,  # hidden by the default status
        "cancelled_at": None,
        "currency": "USD",
        "total_price": f"{10 + i}.30",
        "financial_status": "partially_refunded" if refunded else "paid",
        "line_items": [
            {"id": 9_000_000 + i * 10 + n, "sku": f"ITM{n:05d}", "quantity": n, "price": "5.10"}
            for n in range(1, line_items + 1)
        ],
        "fulfillments": [{"id": 7_000_000 + i, "status": "success", "tracking_company": "UPS"}],
        "refunds": (
            [{"id": 6_000_000 + i, "refund_line_items": [{"line_item_id": 9_000_000 + i * 10}]}]
            if refunded
            else []
        ),
    }


class ShopifyStore:
    """A Shopify store (orders, payouts, balance transactions) and edits Shopify makes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            for table in ("orders", "payouts"):
                conn.execute(
                    f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, updated_at TEXT, payload TEXT)"
                )
            conn.execute(
                "CREATE TABLE balance_transactions (id INTEGER PRIMARY KEY, updated_at TEXT, "
                "payload TEXT, payout_id INTEGER)"
            )
        self.max_updated = START + timedelta(hours=ORDERS)
        self.put("orders", [_order(i, START + timedelta(hours=i)) for i in range(1, ORDERS + 1)])
        payouts = [
            {
                "id": 700 + p,
                "status": "paid",
                "date": f"2026-01-0{p + 1}",
                "amount": f"{TRANSACTIONS_PER_PAYOUT * 9.41:.2f}",
                "updated_at": _stamp(START + timedelta(days=p)),
            }
            for p in range(1, PAYOUTS + 1)
        ]
        self.put("payouts", payouts)
        self.put(
            "balance_transactions",
            [
                {
                    "id": 800_000 + p * 100 + t,
                    "type": "charge",
                    "payout_id": 700 + p,
                    "amount": "10.00",
                    "fee": "0.59",
                    "net": "9.41",
                    "updated_at": _stamp(START + timedelta(days=p)),
                }
                for p in range(1, PAYOUTS + 1)
                for t in range(TRANSACTIONS_PER_PAYOUT)
            ],
        )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, isolation_level=None)

    def put(self, table: str, records: list[dict]) -> None:
        """Insert or replace records as the store keeps them: key, cursor, raw payload."""
        with self._connect() as conn:
            for record in records:
                values = [record["id"], record["updated_at"], json.dumps(record)]
                if table == "balance_transactions":
                    values.append(record["payout_id"])
                marks = ", ".join("?" * len(values))
                conn.execute(f"INSERT OR REPLACE INTO {table} VALUES ({marks})", values)


@pytest.fixture(autouse=True)
def _no_configured_shop(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    yield
    stop_simulators()


@pytest.fixture
def store(paths: Paths) -> ShopifyStore:
    return ShopifyStore(paths.sources / "shopify" / "shopify.sqlite")


@pytest.fixture
def shop_url(paths: Paths, store: ShopifyStore) -> Iterator[str]:
    with running_server(paths.sources, token=TOKEN, quiet=True) as url:
        yield f"{url}/admin/api/2024-10/"


def _load(paths: Paths, url: str, **options: object) -> IngestResult:
    options = {"base_url": url, "access_token": TOKEN, "page_limit": LIMIT, "http": FAST, **options}
    return load_shopify(paths, **options)


def _assert_balanced(result: IngestResult) -> None:
    for audit in result.audits:
        assert audit.balanced, audit


def test_link_header_cursor_walks_every_page_of_orders(
    paths: Paths, store: ShopifyStore, capfd: pytest.CaptureFixture[str]
) -> None:
    with running_server(paths.sources, token=TOKEN) as url:  # logs one line per request
        result = _load(paths, f"{url}/admin/api/2024-10/", resources=["orders"])

    requests = [line for line in capfd.readouterr().err.splitlines() if "/orders.json" in line]
    assert len(requests) == -(-ORDERS // LIMIT)  # 8 pages, no empty trailing page
    assert sum("page_info=" in line for line in requests) == len(requests) - 1
    assert result.audit("orders").loaded == ORDERS  # closed orders too: status=any
    _assert_balanced(result)


def test_first_load_loads_orders_with_nested_child_tables_payouts_and_transactions(
    paths: Paths, shop_url: str, warehouse: Callable[[str], list[tuple]]
) -> None:
    result = _load(paths, shop_url)

    assert result.audit("orders").loaded == ORDERS
    assert result.audit("payouts").loaded == PAYOUTS
    assert result.audit("balance_transactions").loaded == PAYOUTS * TRANSACTIONS_PER_PAYOUT
    _assert_balanced(result)
    assert warehouse("SELECT count(*) FROM raw_shopify.orders__line_items") == [(ORDERS,)]
    assert warehouse("SELECT count(*) FROM raw_shopify.orders__fulfillments") == [(ORDERS,)]
    # Money arrives as decimal text and stays exactly that.
    assert warehouse("SELECT total_price FROM raw_shopify.orders WHERE id = 5000007") == [
        ("17.30",)
    ]
    assert warehouse(
        "SELECT payout_id, count(*), min(net) FROM raw_shopify.balance_transactions "
        "GROUP BY payout_id ORDER BY payout_id"
    ) == [(700 + p, TRANSACTIONS_PER_PAYOUT, "9.41") for p in range(1, PAYOUTS + 1)]


def test_second_load_adds_nothing(
    paths: Paths, shop_url: str, warehouse: Callable[[str], list[tuple]]
) -> None:
    _load(paths, shop_url, overlap_seconds=0, payout_overlap_days=0)
    counts = "SELECT (SELECT count(*) FROM raw_shopify.{}) "
    tables = ("orders", "orders__line_items", "payouts", "balance_transactions")
    before = [warehouse(counts.format(t)) for t in tables]

    second = _load(paths, shop_url, overlap_seconds=0, payout_overlap_days=0)

    _assert_balanced(second)
    assert second.loaded == 0
    assert [warehouse(counts.format(t)) for t in tables] == before


def test_a_refunded_order_is_merged_with_its_new_child_rows_replacing_the_old(
    paths: Paths, shop_url: str, store: ShopifyStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    _load(paths, shop_url, overlap_seconds=0)
    later = store.max_updated + timedelta(hours=2)
    store.put("orders", [_order(4, later, line_items=2, refunded=True)])  # was 1 line, no refund
    store.put("orders", [_order(ORDERS + 1, later)])

    second = _load(paths, shop_url, resources=["orders"], overlap_seconds=0)

    assert second.audit("orders").loaded == 2
    _assert_balanced(second)
    assert warehouse("SELECT count(*), count(DISTINCT id) FROM raw_shopify.orders") == [
        (ORDERS + 1, ORDERS + 1)
    ]
    assert warehouse("SELECT financial_status FROM raw_shopify.orders WHERE id = 5000004") == [
        ("partially_refunded",)
    ]
    # The order's child rows are replaced with it: two line items now, not one plus two.
    assert warehouse(
        "SELECT count(*) FROM raw_shopify.orders__line_items l "
        "JOIN raw_shopify.orders o ON l._dlt_parent_id = o._dlt_id WHERE o.id = 5000004"
    ) == [(2,)]
    assert warehouse("SELECT count(*) FROM raw_shopify.orders__refunds") == [(1,)]


def test_load_survives_rate_limits_server_errors_and_timeouts(
    paths: Paths, store: ShopifyStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    faults = FaultPlan(first_n=3, kinds=("429", "500", "slow"), retry_after=1, slow_seconds=2)
    with running_server(paths.sources, token=TOKEN, faults=faults, quiet=True) as url:
        started = time.perf_counter()
        result = _load(paths, f"{url}/admin/api/2024-10/")
        elapsed = time.perf_counter() - started

    assert elapsed >= 1.0  # the 429's Retry-After was waited out
    assert result.audit("orders").loaded == ORDERS
    assert result.audit("balance_transactions").loaded == PAYOUTS * TRANSACTIONS_PER_PAYOUT
    _assert_balanced(result)
    assert warehouse("SELECT count(DISTINCT id) FROM raw_shopify.orders") == [(ORDERS,)]


def test_a_wrong_access_token_fails_at_once_naming_the_endpoint(
    paths: Paths, shop_url: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(Exception) as caught:
        _load(paths, shop_url, access_token="wrong", resources=["orders"])

    refusal: BaseException | None = caught.value
    while refusal is not None and not isinstance(refusal, SourceApiError):
        refusal = refusal.__cause__ or refusal.__context__
    assert isinstance(refusal, SourceApiError)
    assert (refusal.status, refusal.endpoint) == (401, "GET /admin/api/2024-10/orders.json")
    assert "TRUEUP_SHOPIFY_TOKEN" in str(refusal)
    assert time.perf_counter() - started < 10


def test_an_order_without_an_updated_at_is_quarantined_not_loaded(
    paths: Paths, shop_url: str, store: ShopifyStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    broken = _order(ORDERS + 1, store.max_updated)
    broken["updated_at"] = "yesterday"
    store.put("orders", [broken])

    result = _load(paths, shop_url, resources=["orders"])

    orders = result.audit("orders")
    assert (orders.input_records, orders.loaded, orders.quarantined) == (ORDERS + 1, ORDERS, 1)
    _assert_balanced(result)
    [(endpoint, reason)] = warehouse(
        "SELECT file_or_endpoint, reason FROM raw_quarantine.rejected_records"
    )
    assert endpoint == "GET /admin/api/2024-10/orders.json"
    assert "updated_at" in reason


def test_a_charge_not_yet_paid_out_is_loaded_then_takes_its_payout_when_paid(
    paths: Paths, store: ShopifyStore, shop_url: str, warehouse: Callable[[str], list[tuple]]
) -> None:
    pending = {
        "id": 900_001,
        "type": "charge",
        "payout_id": None,
        "payout_status": "pending",
        "amount": "10.00",
        "fee": "0.59",
        "net": "9.41",
        "updated_at": _stamp(START + timedelta(days=PAYOUTS + 1)),
    }
    store.put("balance_transactions", [pending])

    first = _load(paths, shop_url)

    _assert_balanced(first)
    query = "SELECT payout_id FROM raw_shopify.balance_transactions WHERE id = 900001"
    assert warehouse(query) == [(None,)]

    store.put("balance_transactions", [dict(pending, payout_id=701, payout_status="paid")])
    second = _load(paths, shop_url)

    _assert_balanced(second)
    assert warehouse(query) == [(701,)]
    assert warehouse("SELECT count(*) FROM raw_shopify.balance_transactions WHERE id = 900001") == [
        (1,)
    ]


def _orphans(warehouse: Callable[[str], list[tuple]]) -> int:
    """Child rows whose parent row is gone, over every child table loaded."""
    loaded = {
        name
        for (name,) in warehouse(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw_shopify'"
        )
    }
    pairs = [
        ("orders__line_items", "orders"),
        ("orders__fulfillments", "orders"),
        ("orders__refunds", "orders"),
        ("orders__refunds__refund_line_items", "orders__refunds"),
    ]
    return sum(
        warehouse(
            f"SELECT count(*) FROM raw_shopify.{child} c LEFT JOIN raw_shopify.{parent} p "
            "ON p._dlt_id = c._dlt_parent_id WHERE p._dlt_id IS NULL"
        )[0][0]
        for child, parent in pairs
        if child in loaded
    )


def test_an_order_that_loses_every_child_row_of_a_kind_keeps_none_of_the_old_ones(
    paths: Paths, shop_url: str, store: ShopifyStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    later = store.max_updated + timedelta(hours=1)
    store.put("orders", [_order(6, later, line_items=3, refunded=True)])
    _load(paths, shop_url, resources=["orders"], overlap_seconds=0)
    store.put("orders", [_order(6, later + timedelta(hours=1), line_items=0)])

    second = _load(paths, shop_url, resources=["orders"], overlap_seconds=0)

    assert second.audit("orders").loaded == 1
    _assert_balanced(second)
    per_order = (
        "SELECT count(*) FROM raw_shopify.{} c JOIN raw_shopify.orders o "
        "ON c._dlt_root_id = o._dlt_id WHERE o.id = 5000006"
    )
    assert warehouse(per_order.format("orders__line_items")) == [(0,)]
    assert warehouse(per_order.format("orders__refunds")) == [(0,)]
    assert warehouse(per_order.format("orders__refunds__refund_line_items")) == [(0,)]
    assert warehouse(per_order.format("orders__fulfillments")) == [(1,)]
    assert warehouse("SELECT count(*) FROM raw_shopify.orders__line_items") == [(ORDERS - 1,)]
    assert _orphans(warehouse) == 0
    # The tombstones that deleted the old rows are not kept.
    assert warehouse(
        "SELECT count(*) FROM raw_shopify.orders__refunds WHERE _dlt_deleted IS NOT NULL"
    ) == [(0,)]


def test_a_new_field_in_a_nested_object_becomes_a_column_of_its_child_table(
    paths: Paths, shop_url: str, store: ShopifyStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    order = _order(ORDERS + 1, store.max_updated, line_items=2)
    order["line_items"][0]["gift_card"] = True
    order["customer"] = {"id": 77, "company": "ACME"}
    store.put("orders", [order])

    result = _load(paths, shop_url, resources=["orders"])

    assert result.audit("orders").loaded == ORDERS + 1
    _assert_balanced(result)
    assert warehouse(
        "SELECT l.gift_card FROM raw_shopify.orders__line_items l JOIN raw_shopify.orders o "
        "ON l._dlt_parent_id = o._dlt_id WHERE o.id = 5000038 ORDER BY l._dlt_list_idx"
    ) == [(True,), (None,)]
    assert warehouse(
        "SELECT customer__id, customer__company FROM raw_shopify.orders WHERE id = 5000038"
    ) == [(77, "ACME")]


def test_an_order_with_a_misfit_value_in_a_line_item_is_quarantined_whole(
    paths: Paths, shop_url: str, store: ShopifyStore, warehouse: Callable[[str], list[tuple]]
) -> None:
    order = _order(ORDERS + 1, store.max_updated, line_items=2)
    order["line_items"][1]["quantity"] = "many"
    store.put("orders", [order])

    result = _load(paths, shop_url, resources=["orders"])

    orders = result.audit("orders")
    assert (orders.input_records, orders.loaded, orders.quarantined) == (ORDERS + 1, ORDERS, 1)
    _assert_balanced(result)
    [(endpoint, locator, reason, payload)] = warehouse(
        "SELECT file_or_endpoint, locator, reason, raw_payload FROM raw_quarantine.rejected_records"
    )
    assert endpoint == "GET /admin/api/2024-10/orders.json"
    assert "record" in locator
    assert "orders__line_items.quantity" in reason and "'many'" in reason
    assert json.loads(payload)["id"] == 5_000_000 + ORDERS + 1
    # Neither the order nor any of its line items is loaded.
    assert warehouse("SELECT count(*) FROM raw_shopify.orders__line_items") == [(ORDERS,)]


def test_orders_loaded_as_dlt_nested_tables_by_an_earlier_version_are_reloaded_once(
    paths: Paths, shop_url: str, warehouse: Callable[[str], list[tuple]]
) -> None:
    import dlt

    from ingestion.pipeline import make_pipeline

    @dlt.resource(name="orders", write_disposition="merge", primary_key="id")
    def orders() -> Iterator[list[dict]]:
        yield [_order(i, START + timedelta(hours=i), line_items=2) for i in range(1, 4)]

    def shopify() -> object:
        return orders

    make_pipeline("shopify", paths).run(dlt.source(shopify, name="shopify")())

    first = _load(paths, shop_url, resources=["orders"], overlap_seconds=0)
    second = _load(paths, shop_url, resources=["orders"], overlap_seconds=0)

    assert first.audit("orders").loaded == ORDERS
    _assert_balanced(first)
    assert second.loaded == 0
    assert warehouse("SELECT count(*), count(DISTINCT id) FROM raw_shopify.orders") == [
        (ORDERS, ORDERS)
    ]
    assert warehouse("SELECT count(*) FROM raw_shopify.orders__line_items") == [(ORDERS,)]
    assert _orphans(warehouse) == 0
