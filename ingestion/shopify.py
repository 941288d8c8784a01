"""Shopify Admin REST API (2024-10) → ``raw_shopify``: orders, payouts, balance transactions.

Declared with dlt's ``rest_api`` source, reading what reconciliation needs
(``/work/shared/DOMAIN.md`` §3, ``docs/simulated-company.md``):

- ``orders.json?status=any`` (the default ``open`` would hide closed and cancelled orders),
  incremental on ``updated_at`` through ``updated_at_min``. Refunds and fulfillments bump an
  order's ``updated_at``, so the incremental read picks them up. Nested ``line_items``,
  ``fulfillments``, ``refunds`` (and their own lists) become dlt child tables
  (``orders__line_items``, ``orders__refunds__refund_line_items``...), replaced with their order
  on every merge;
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

from typing import Any

from dlt.extract.source import DltSource
from dlt.sources.rest_api import RESTAPIConfig, rest_api_source

from ingestion.config import setting, setting_list
from ingestion.http_client import (
    HttpPolicy,
    RecordRules,
    audit_resource,
    refusal_hook,
    retrying_session,
    simulator_base_url,
)
from ingestion.pipeline import IngestResult, IngestRun, Progress
from trueup.settings import Paths

SOURCE = "shopify"
API_VERSION = "2024-10"
RESOURCES = ("orders", "payouts", "balance_transactions")
# Resources that write into another resource's table are counted under that resource.
LEDGER = {"pending_balance_transactions": "balance_transactions"}
PAGE_LIMIT = 250  # Shopify's maximum
OVERLAP_SECONDS = 300.0
PAYOUT_OVERLAP_DAYS = 7
INITIAL_CURSOR = "1970-01-01T00:00:00Z"
INITIAL_PAYOUT_DATE = "1970-01-01"
# What each resource's records must carry: transactions are read per payout, without a cursor.
RULES = {
    "orders": RecordRules(cursor="updated_at"),
    "payouts": RecordRules(cursor="date"),
    "balance_transactions": RecordRules(cursor=None),
    "pending_balance_transactions": RecordRules(cursor=None),
}
_TOKEN_HINT = "TRUEUP_SHOPIFY_TOKEN or SOURCES__SHOPIFY__ACCESS_TOKEN"


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
    base_url = base_url if base_url.endswith("/") else base_url + "/"

    def endpoint(name: str, path: str, envelope: str, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "path": path,
            "data_selector": envelope,
            "params": {"limit": page_limit, **params},
            "response_actions": [refusal_hook(SOURCE, name, _TOKEN_HINT)],
        }

    orders = endpoint("orders", "orders.json", "orders", {"status": "any"})
    payouts = endpoint("payouts", "shopify_payments/payouts.json", "payouts", {})
    config: RESTAPIConfig = {
        "client": {
            "base_url": base_url,
            "auth": {
                "type": "api_key",
                "name": "X-Shopify-Access-Token",
                "api_key": access_token,
                "location": "header",
            },
            "paginator": {"type": "header_link", "links_next_key": "next"},
            "session": retrying_session(http or HttpPolicy()),
        },
        "resource_defaults": {
            "primary_key": "id",
            "write_disposition": "merge",
            # See ingestion/wms.py: parquet, not insert-values, for JSON records.
            "file_format": "parquet",
        },
        "resources": [
            {
                "name": "orders",
                # Declared so the columns exist even while every order leaves them null.
                "columns": {
                    name: {"data_type": "timestamp", "nullable": True}
                    for name in (
                        "updated_at",
                        "created_at",
                        "processed_at",
                        "closed_at",
                        "cancelled_at",
                    )
                },
                "endpoint": {
                    **orders,
                    "incremental": {
                        "cursor_path": "updated_at",
                        "start_param": "updated_at_min",
                        "initial_value": INITIAL_CURSOR,
                        "lag": overlap_seconds,
                    },
                },
            },
            {
                "name": "payouts",
                "columns": {"date": {"data_type": "date"}},
                "endpoint": {
                    **payouts,
                    "incremental": {
                        "cursor_path": "date",
                        "start_param": "date_min",
                        "initial_value": INITIAL_PAYOUT_DATE,
                        "lag": payout_overlap_days,  # days, for a date cursor
                    },
                },
            },
            {
                "name": "balance_transactions",
                "endpoint": endpoint(
                    "balance_transactions",
                    "shopify_payments/balance/transactions.json",
                    "transactions",
                    {"payout_id": "{resources.payouts.id}"},
                ),
            },
            {
                # Charges not yet paid out belong to no payout, so the per-payout read cannot
                # see them; their fees are already final and reconcilable. Re-read them all
                # each run (few: at most a payout cycle's worth) into the same table; once paid
                # out, the per-payout read merges the new payout_id over them.
                "name": "pending_balance_transactions",
                "table_name": "balance_transactions",
                "endpoint": endpoint(
                    "pending_balance_transactions",
                    "shopify_payments/balance/transactions.json",
                    "transactions",
                    {"payout_status": "pending"},
                ),
            },
        ],
    }
    source = rest_api_source(config, name=SOURCE)
    # Transactions are found through payouts, so reading them reads payouts: load those too,
    # or the payouts' cursor would advance past payouts that were never loaded.
    wanted = set(resources) | (
        {"payouts", "pending_balance_transactions"}
        if "balance_transactions" in resources
        else set()
    )
    for name, resource in source.resources.items():
        if name in wanted:
            audit_resource(
                run, resource, source=SOURCE, rules=RULES[name], ledger_name=LEDGER.get(name)
            )
        else:
            resource.selected = False
    return source


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
