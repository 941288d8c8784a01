"""Shopify Admin REST API (2024-10) → ``raw_shopify``: orders, payouts, balance transactions.

Reads what reconciliation needs (``/work/shared/DOMAIN.md`` §3, ``docs/simulated-company.md``),
each resource a dlt resource yielding pyarrow tables page by page (:mod:`ingestion.json_pages`):

- ``orders.json?status=any`` (the default ``open`` would hide closed and cancelled orders),
  incremental on ``updated_at`` through ``updated_at_min``. Refunds and fulfillments bump an
  order's ``updated_at``, so the incremental read picks them up. Nested ``line_items``,
  ``fulfillments``, ``refunds`` (and their own lists) become child tables named and linked as
  dlt names them (``orders__line_items``, ``orders__refunds__refund_line_items``... with
  ``_dlt_parent_id``, ``_dlt_root_id``, ``_dlt_list_idx``), replaced with their order on every
  merge. An order read twice in one run (updated while the run walked the pages) is loaded once
  and the cursor stays before its second version, so the next run loads that one;
- ``shopify_payments/payouts.json``, incremental on the payout ``date`` through ``date_min``
  (payouts carry no ``updated_at``), re-reading the last ``payout_overlap_days`` days every run
  because a payout's status moves (scheduled → in transit → paid) around its date;
- ``shopify_payments/balance/transactions.json?payout_id=`` for every payout read in the run:
  the real API filters transactions by payout, not by ``updated_at``, and a payout is re-read
  whenever it changes (scheduled → paid), so its transactions are re-read with it;
- ``shopify_payments/balance/transactions.json?payout_status=pending`` every run, into the same
  table: charges not yet paid out belong to no payout but their fees are already final.

Cursor pagination follows the ``Link`` header (``rel="next"`` carries an opaque ``page_info``
and nothing else), ``limit`` at most 250. The token goes in ``X-Shopify-Access-Token``. Every
table merges on ``id``; each run re-reads an overlap window before the last cursor so equal or
late timestamps are not missed, and the merge makes those re-reads upserts.

Money stays as Shopify sends it, decimal text (``"12.30"``): exact, and cast to ``DECIMAL`` in
staging, where every source's money is typed the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import requests
from dlt.extract.resource import DltResource
from dlt.extract.source import DltSource
from dlt.pipeline.helpers import pipeline_drop

from ingestion.config import setting, setting_list
from ingestion.http_client import (
    Cursor,
    Endpoint,
    HttpPolicy,
    account_page,
    linked_pages_of,
    retrying_session,
    simulator_base_url,
)
from ingestion.json_pages import PageReader, Rules, batches, child_table_hints, declare
from ingestion.pipeline import IngestResult, IngestRun, Progress
from trueup.settings import Paths

SOURCE = "shopify"
API_VERSION = "2024-10"
RESOURCES = ("orders", "payouts", "balance_transactions")
PAGE_LIMIT = 250  # Shopify's maximum
OVERLAP_SECONDS = 300.0
PAYOUT_OVERLAP_DAYS = 7
BATCH_ROWS = 5_000  # records per batch handed to dlt (its cost per item is fixed)
INITIAL_CURSOR = "1970-01-01T00:00:00Z"
INITIAL_PAYOUT_DATE = "1970-01-01"
_TOKEN_HINT = "TRUEUP_SHOPIFY_TOKEN or SOURCES__SHOPIFY__ACCESS_TOKEN"
_TS, _TEXT, _INT, _BOOL = "timestamp", "text", "bigint", "bool"
# The fields loaded today and their raw types; lists are child tables. Fields not listed are
# added as they appear, typed as dlt types them.
ORDER = {
    "id": _INT,
    "name": _TEXT,
    "order_number": _INT,
    "email": _TEXT,
    "created_at": _TS,
    "processed_at": _TS,
    "updated_at": _TS,
    "cancelled_at": _TS,
    "closed_at": _TS,
    "currency": _TEXT,
    "financial_status": _TEXT,
    "fulfillment_status": _TEXT,
    "total_price": _TEXT,
    "subtotal_price": _TEXT,
    "total_tax": _TEXT,
    "total_discounts": _TEXT,
    "tags": _TEXT,
    "source_name": _TEXT,
    "customer": {"id": _INT, "company": _TEXT},
    "line_items": [
        {
            "id": _INT,
            "variant_id": _INT,
            "sku": _TEXT,
            "title": _TEXT,
            "quantity": _INT,
            "price": _TEXT,
            "fulfillable_quantity": _INT,
            "requires_shipping": _BOOL,
            "total_discount": _TEXT,
        }
    ],
    "fulfillments": [
        {
            "id": _INT,
            "order_id": _INT,
            "status": _TEXT,
            "created_at": _TS,
            "updated_at": _TS,
            "tracking_company": _TEXT,
            "tracking_number": _TEXT,
            "tracking_numbers": [_TEXT],
            "shipment_status": _TEXT,
            "location_id": _INT,
            "line_items": [{"id": _INT, "quantity": _INT, "sku": _TEXT}],
        }
    ],
    "refunds": [
        {
            "id": _INT,
            "order_id": _INT,
            "created_at": _TS,
            "processed_at": _TS,
            "note": _TEXT,
            "restock": _BOOL,
            "refund_line_items": [
                {
                    "line_item_id": _INT,
                    "quantity": _INT,
                    "restock_type": _TEXT,
                    "subtotal": _TEXT,
                    "total_tax": _TEXT,
                }
            ],
            "transactions": [
                {
                    "id": _INT,
                    "kind": _TEXT,
                    "status": _TEXT,
                    "amount": _TEXT,
                    "gateway": _TEXT,
                    "created_at": _TS,
                }
            ],
        }
    ],
}
PAYOUT = {
    "id": _INT,
    "status": _TEXT,
    "date": "date",
    "currency": _TEXT,
    "amount": _TEXT,
    "summary": {
        f"{kind}_{part}_amount": _TEXT
        for kind in (
            "adjustments",
            "charges",
            "refunds",
            "reserved_funds",
            "retried_payouts",
        )
        for part in ("fee", "gross")
    },
}
TRANSACTION = {
    "id": _INT,
    "type": _TEXT,
    "test": _BOOL,
    "payout_id": _INT,
    "payout_status": _TEXT,
    "currency": _TEXT,
    "amount": _TEXT,
    "fee": _TEXT,
    "net": _TEXT,
    "source_id": _INT,
    "source_type": _TEXT,
    "source_order_id": _INT,
    "source_order_transaction_id": _INT,
    "processed_at": _TS,
}


def shopify_source(
    run: IngestRun,
    *,
    base_url: str,
    access_token: str,
    resources: list[str] | tuple[str, ...] = RESOURCES,
    page_limit: int = PAGE_LIMIT,
    overlap_seconds: float = OVERLAP_SECONDS,
    payout_overlap_days: int = PAYOUT_OVERLAP_DAYS,
    http: HttpPolicy | None = None,
) -> DltSource:
    """The Shopify Admin API as a dlt source, for an explicit shop (no settings are read).

    Args:
        run: Run context receiving counts and rejects.
        base_url: Admin API root with version (``https://shop.myshopify.com/admin/api/2024-10/``).
        access_token: Admin API access token, sent as ``X-Shopify-Access-Token``.
        resources: Resources to load (``orders``, ``payouts``, ``balance_transactions``);
            balance transactions are read per payout, so selecting them loads payouts too.
        page_limit: Records per page, 1 to 250.
        overlap_seconds: How far before the last order cursor each run starts reading again.
        payout_overlap_days: How many days before the last payout date each run re-reads.
        http: Timeout, retry and backoff policy; default :class:`HttpPolicy` defaults.

    Returns:
        A dlt source named ``shopify``.
    """
    if "orders" in resources:
        _reload_nested_orders(run)
    api = _Api(
        run,
        base_url if base_url.endswith("/") else base_url + "/",
        http or HttpPolicy(),
        {"X-Shopify-Access-Token": access_token},
        page_limit,
    )
    chosen: list[DltResource] = []
    if "orders" in resources:
        chosen.append(api.orders(overlap_seconds))
    # Transactions are found through payouts, so reading them reads payouts: load those too,
    # or the payouts' cursor would advance past payouts whose transactions were never read.
    if "payouts" in resources or "balance_transactions" in resources:
        payouts = api.payouts(payout_overlap_days)
        chosen.append(payouts)
        if "balance_transactions" in resources:
            chosen.append(api.transactions_of(payouts))
            chosen.append(api.pending_transactions())
    return dlt.source(_shopify, name=SOURCE)(chosen)


def _shopify(resources: list[DltResource]) -> list[DltResource]:
    return resources


class _Api:
    """The shop's endpoints as dlt resources."""

    def __init__(
        self,
        run: IngestRun,
        base_url: str,
        http: HttpPolicy,
        headers: dict[str, str],
        limit: int,
    ) -> None:
        self.run = run
        self.base_url = base_url
        self.http = http
        self.headers = headers
        self.limit = limit
        self._sessions: dict[str, requests.Session] = {}

    def walk(
        self,
        ledger: str,
        path: str,
        params: dict[str, Any] | list[dict[str, Any]],
        reader: PageReader,
        *,
        resource: str | None = None,
    ) -> Iterator[pa.Table]:
        """Every page of ``path`` (following the ``Link`` header), counted under ``ledger``;
        from each of ``params`` in turn when it is a list (one walk per payout).

        ``resource`` names the dlt resource walking (default: the ledger's name): each has its
        own session, as dlt reads resources in turns, each with its own page threads.
        """
        session = self._sessions.get(resource or ledger)
        if session is None:
            session = self._sessions[resource or ledger] = retrying_session(self.http)
        endpoint = Endpoint(SOURCE, ledger, session, self.headers, _TOKEN_HINT)
        url = self.base_url + path
        starts = [(url, p) for p in (params if isinstance(params, list) else [params])]
        # Closed however this ends, so the walk's threads stop even while an exception keeps
        # this frame (and the walk) alive.
        with closing(linked_pages_of(endpoint, starts, reader, _next_link)) as walk:
            for count, (response, page) in enumerate(walk, 1):
                account_page(self.run, ledger, response, page)
                self.run.note(
                    f"{SOURCE}.{ledger}: {count:,} pages, "
                    f"{self.run.ledger.resource(ledger).input_records:,} records read",
                    throttle=True,
                )
                yield pa.Table.from_struct_array(page.records)

    def reader(self, envelope: str, table: str, shape: dict[str, Any], rules: Rules, **kw: Any):
        schema = dlt.current.source_schema()
        return PageReader(envelope, declare(table, shape, schema.naming), rules, schema, **kw)

    def orders(self, overlap_seconds: float) -> DltResource:
        run = self.run
        run.ledger.resource("orders")

        def orders() -> Iterator[Any]:
            reader = self.reader("orders", "orders", ORDER, Rules(), root_ids="key")
            cursor = Cursor("updated_at", initial=INITIAL_CURSOR, lag=overlap_seconds)
            params = {"limit": self.limit, "status": "any", "updated_at_min": cursor.start_param}
            seen: set[int] = set()

            def admitted() -> Iterator[pa.Table]:
                for records in self.walk("orders", "orders.json", params, reader):
                    records, skipped = cursor.admit(records)
                    records, repeated = _first_time(records, seen, cursor)
                    run.skip_duplicates("orders", skipped + repeated)
                    cursor.advance(records)
                    yield records

            for records in batches(admitted(), BATCH_ROWS):
                for table, data in reader.tables(_struct(records)).items():
                    yield data if table == "orders" else dlt.mark.with_table_name(data, table)
            cursor.save()

        resource = dlt.resource(
            orders,
            name="orders",
            write_disposition="merge",
            primary_key="id",
            file_format="parquet",
            columns={
                "updated_at": {"data_type": "timestamp", "dedup_sort": "desc"},
            },
        )
        # Child tables: their own hints, not the orders' (key, columns), merged by root id.
        naming = dlt.Schema(SOURCE).naming
        for table in PageReader(
            "orders", declare("orders", ORDER, naming), Rules(), dlt.Schema(SOURCE)
        ).child_tables():
            resource.apply_hints(
                table_name=table, columns={}, primary_key=[], create_table_variant=True
            )
            resource.apply_hints(
                table_name=table, columns=child_table_hints(), create_table_variant=True
            )
        return resource

    def payouts(self, overlap_days: int) -> DltResource:
        run = self.run
        run.ledger.resource("payouts")

        def payouts() -> Iterator[pa.Table]:
            reader = self.reader("payouts", "payouts", PAYOUT, Rules(cursor="date"))
            cursor = Cursor("date", initial=INITIAL_PAYOUT_DATE, lag=overlap_days)
            params = {"limit": self.limit, "date_min": cursor.start_param}
            path = "shopify_payments/payouts.json"
            for records in self.walk("payouts", path, params, reader):
                records, skipped = cursor.admit(records)
                run.skip_duplicates("payouts", skipped)
                cursor.advance(records)
                if len(records):
                    # Not batched: each page's payouts start their transactions' reads.
                    yield reader.tables(_struct(records))["payouts"]
            cursor.save()

        return dlt.resource(
            payouts,
            name="payouts",
            write_disposition="merge",
            primary_key="id",
            file_format="parquet",
            columns={
                "date": {"data_type": "date", "dedup_sort": "desc"},
            },
        )

    def transactions_of(self, payouts: DltResource) -> DltResource:
        run = self.run
        run.ledger.resource("balance_transactions")
        state: dict[str, PageReader] = {}

        def balance_transactions(read: pa.Table) -> Iterator[pa.Table]:
            reader = state.get("reader")
            if reader is None:
                reader = state["reader"] = self.reader(
                    "transactions", "balance_transactions", TRANSACTION, Rules(cursor=None)
                )
            path = "shopify_payments/balance/transactions.json"
            per_payout = [
                {"limit": self.limit, "payout_id": payout_id}
                for payout_id in read.column("id").to_pylist()
            ]
            pages = self.walk("balance_transactions", path, per_payout, reader)
            for records in batches(pages, BATCH_ROWS):
                yield reader.tables(_struct(records))["balance_transactions"]

        return dlt.transformer(
            balance_transactions,
            data_from=payouts,
            name="balance_transactions",
            write_disposition="merge",
            primary_key="id",
            file_format="parquet",
        )

    def pending_transactions(self) -> DltResource:
        # Charges not yet paid out belong to no payout, so the per-payout read cannot see them;
        # their fees are already final and reconcilable. Re-read them all each run (few: at
        # most a payout cycle's worth) into the same table; once paid out, the per-payout read
        # merges the new payout_id over them. Counted with the other transactions.
        def pending_balance_transactions() -> Iterator[pa.Table]:
            reader = self.reader(
                "transactions", "balance_transactions", TRANSACTION, Rules(cursor=None)
            )
            params = {"limit": self.limit, "payout_status": "pending"}
            path = "shopify_payments/balance/transactions.json"
            walk = self.walk(
                "balance_transactions", path, params, reader, resource="pending_transactions"
            )
            for records in batches(walk, BATCH_ROWS):
                yield reader.tables(_struct(records))["balance_transactions"]

        return dlt.resource(
            pending_balance_transactions,
            name="pending_balance_transactions",
            table_name="balance_transactions",
            write_disposition="merge",
            primary_key="id",
            file_format="parquet",
        )


def _reload_nested_orders(run: IngestRun) -> None:
    """Drop orders loaded with dlt nested child tables (by trueup before arrow), once.

    Those child tables hang off random root ids and cannot take this loader's merges, so the
    orders, their child tables and their cursor are dropped and the next read loads them all.
    """
    try:
        pipeline = dlt.current.pipeline()
    except Exception:
        return
    if pipeline.default_schema_name != SOURCE:
        return
    tables = pipeline.default_schema.tables
    if not any(t.startswith("orders__") and tables[t].get("parent") for t in tables):
        return
    run.note(f"{SOURCE}: orders were loaded with nested child tables; reloading them once")
    pipeline_drop(pipeline, resources=["orders"])()


def _next_link(response: requests.Response) -> tuple[str, None] | None:
    """The ``rel="next"`` URL of the ``Link`` header (it carries every parameter)."""
    following = response.links.get("next")
    return (following["url"], None) if following else None


def _struct(records: pa.Table) -> pa.StructArray:
    return records.to_struct_array().combine_chunks()


def _first_time(records: pa.Table, seen: set[int], cursor: Cursor) -> tuple[pa.Table, int]:
    """Drop orders this run already loaded; the cursor stays before their newer version.

    Both versions' child rows would otherwise be inserted under the same root id.
    """
    ids = records.column("id").to_pylist()
    repeated = np.fromiter((i in seen for i in ids), dtype=bool, count=len(ids))
    seen.update(ids)
    if not repeated.any():
        return records, 0
    again = records.filter(pa.array(repeated))
    cursor.hold_before(pc.min(again.column("updated_at")).as_py())
    return records.filter(pa.array(~repeated)), int(repeated.sum())


def build_source(
    run: IngestRun,
    paths: Paths | None = None,
    *,
    base_url: str | None = None,
    access_token: str | None = None,
    resources: list[str] | None = None,
    page_limit: int | None = None,
    overlap_seconds: float | None = None,
    payout_overlap_days: int | None = None,
    http: HttpPolicy | None = None,
) -> DltSource:
    """The Shopify source for one run, configured from settings (the registry's entry point).

    Each argument overrides its setting; settings are resolved as :mod:`ingestion.config`
    describes (trueup environment variable, then dlt config ``sources.shopify.<key>``).

    Args:
        run: Run context receiving counts and rejects.
        paths: Data-directory layout (default ``$TRUEUP_DATA_DIR``).
        base_url: Admin API root with version; default ``TRUEUP_SHOPIFY_URL`` /
            ``sources.shopify.base_url``. When neither is set, the simulated company under
            ``paths.sources`` is served on a free local port and read.
        access_token: Default ``TRUEUP_SHOPIFY_TOKEN`` / ``sources.shopify.access_token``
            (``SOURCES__SHOPIFY__ACCESS_TOKEN``). Required for a configured shop; the simulator
            falls back to its documented development token.
        resources: Default ``TRUEUP_SHOPIFY_RESOURCES`` (comma-separated) /
            ``sources.shopify.resources`` / all three.
        page_limit: Records per page; default ``sources.shopify.page_limit`` or 250.
        overlap_seconds: Orders' re-read window; default ``sources.shopify.overlap_seconds``
            or 300.
        payout_overlap_days: Payouts' re-read window; default
            ``sources.shopify.payout_overlap_days`` or 7.
        http: Retry policy; default :meth:`HttpPolicy.from_settings` for ``shopify``.

    Returns:
        The dlt source.

    Raises:
        ValueError: A shop URL is configured without a token, or a resource is unknown.
        FileNotFoundError: No shop is configured and the company has not been simulated.
    """
    paths = paths or Paths.from_env()
    url = base_url or setting(SOURCE, "base_url", env="TRUEUP_SHOPIFY_URL")
    token = access_token or setting(SOURCE, "access_token", env="TRUEUP_SHOPIFY_TOKEN")
    if url is None:
        from simulator.server import DEFAULT_TOKEN

        # The simulator's documented development token, never a real shop's.
        token = token or DEFAULT_TOKEN
        server = simulator_base_url(paths, token, store="shopify/shopify.sqlite")
        url = f"{server}/admin/api/{API_VERSION}/"
    elif not token:
        raise ValueError(f"Shopify API {url} is configured without a token: set {_TOKEN_HINT}")
    chosen = resources or setting_list(SOURCE, "resources", env="TRUEUP_SHOPIFY_RESOURCES")
    chosen = list(chosen or RESOURCES)
    unknown = sorted(set(chosen) - set(RESOURCES))
    if unknown:
        raise ValueError(f"unknown Shopify resources {unknown}; known: {', '.join(RESOURCES)}")
    return shopify_source(
        run,
        base_url=str(url),
        access_token=str(token),
        resources=chosen,
        page_limit=int(page_limit or setting(SOURCE, "page_limit", default=PAGE_LIMIT)),
        overlap_seconds=float(
            overlap_seconds
            if overlap_seconds is not None
            else setting(SOURCE, "overlap_seconds", default=OVERLAP_SECONDS)
        ),
        payout_overlap_days=int(
            payout_overlap_days
            if payout_overlap_days is not None
            else setting(SOURCE, "payout_overlap_days", default=PAYOUT_OVERLAP_DAYS)
        ),
        http=http or HttpPolicy.from_settings(SOURCE),
    )


def load_shopify(
    paths: Paths | None = None, *, progress: Progress | None = None, **options: Any
) -> IngestResult:
    """Load Shopify into ``raw_shopify`` (what ``trueup ingest --source shopify`` runs).

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
