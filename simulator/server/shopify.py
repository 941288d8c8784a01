"""Shopify Admin REST 2024-10, the reconciliation subset: orders, payouts, balance transactions.

Behaves as Shopify does where a client could get it wrong: cursor pagination in the ``Link``
header with an opaque ``page_info``, ``limit`` at most 250, ``page_info`` accepted only with
``limit``/``fields``, and ``status=open`` as the orders default (closed and cancelled orders
stay hidden unless the client asks for ``status=any``). Unknown parameters are ignored, as
Shopify ignores them.

``page_info`` is a keyset cursor: urlsafe base64 of the resource, the normalised filters and
the ``(updated_at, id)`` it continues from, so every page is one index range whatever its depth.
Pages are ordered by ``(updated_at, id)`` ascending (Shopify's own orders are newest first; an
ascending order lets an incremental client resume from its high-water mark).

Stored payloads are spliced into the body as the bytes they are stored as, never re-serialised.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from dataclasses import dataclass
from datetime import date

from .common import ApiError, Response, utc_lower_bound, utc_upper_bound
from .store import SqliteStore, StoreMissing, quote

VERSION = "2024-10"
PREFIX = f"/admin/api/{VERSION}/"
LIMIT_DEFAULT = 50
LIMIT_MAX = 250
_PAGING_PARAMETERS = {"limit", "fields", "page_info"}
_ORDER_STATUSES = ("open", "closed", "cancelled", "any")


@dataclass(frozen=True)
class _Resource:
    table: str
    envelope: str  # key of the list in the body
    filters: tuple[str, ...]  # query parameters this resource understands


RESOURCES = {
    "orders.json": _Resource("orders", "orders", ("updated_at_min", "updated_at_max", "status")),
    "shopify_payments/payouts.json": _Resource(
        "payouts", "payouts", ("date_min", "date_max", "status", "updated_at_min", "updated_at_max")
    ),
    "shopify_payments/balance/transactions.json": _Resource(
        "balance_transactions",
        "transactions",
        ("payout_id", "payout_status", "updated_at_min", "updated_at_max"),
    ),
}


_PAYOUT_STATUSES = ("scheduled", "in_transit", "paid", "failed", "canceled", "pending")


def error(status: int, errors: object) -> ApiError:
    """An error in Shopify's shape: ``{"errors": ...}``."""
    return ApiError(status, {"errors": errors})


def handle(store: SqliteStore, path: str, params: dict[str, str], base_url: str) -> Response:
    """Answer ``GET /admin/api/2024-10/<path>`` (path relative to the version prefix).

    Args:
        store: The Shopify store.
        path: ``orders.json``, ``orders/count.json``, ``shopify_payments/payouts.json`` or
            ``shopify_payments/balance/transactions.json``.
        params: Query parameters.
        base_url: ``http://127.0.0.1:PORT``, for the ``Link`` header.

    Raises:
        ApiError: 400 for a bad parameter or cursor, 404 for an unknown path.
    """
    count_only = path == "orders/count.json"
    resource = RESOURCES.get("orders.json" if count_only else path)
    if resource is None:
        raise error(404, "Not Found")
    limit = _limit(params)
    fields = [f.strip() for f in params.get("fields", "").split(",") if f.strip()]
    if "page_info" in params and not count_only:
        extra = sorted(set(params) - _PAGING_PARAMETERS)
        if extra:
            raise error(
                400,
                {
                    "page_info": f"page_info cannot be passed with other parameters "
                    f"than limit and fields: {', '.join(extra)}"
                },
            )
        cursor = _decode_cursor(params["page_info"], resource.table)
        filters, key, direction = cursor["f"], tuple(cursor["k"]), cursor["d"]
    else:
        filters, key, direction = _filters(resource, params), None, "next"
    try:
        with store.connect() as (conn, view):
            columns = view.tables.get(resource.table)
            if columns is None:
                raise error(404, "Not Found")
            where, args = _where(resource, _seekable(filters, key, direction), columns)
            if count_only:
                count = conn.execute(
                    f"SELECT count(*) FROM {quote(resource.table)} WHERE {where}", args
                ).fetchone()[0]
                return Response.json(200, {"count": count})
            rows = _fetch(conn, resource.table, where, args, key, direction, limit)
    except StoreMissing:
        raise error(503, "The Shopify store has not been written yet") from None

    has_more = len(rows) > limit
    rows = rows[:limit]
    if direction == "prev":
        rows.reverse()
        has_next, has_previous = True, has_more
    else:
        has_next, has_previous = has_more, key is not None
    links = []
    if rows and has_previous:
        links.append(_link(base_url, path, limit, fields, resource.table, filters, rows[0], "prev"))
    if rows and has_next:
        links.append(
            _link(base_url, path, limit, fields, resource.table, filters, rows[-1], "next")
        )
    payloads = [row[2] for row in rows]
    if fields:
        payloads = [_select_fields(payload, fields) for payload in payloads]
    body = b'{"' + resource.envelope.encode() + b'":[' + b",".join(payloads) + b"]}"
    response = Response(200, body, {"Link": ", ".join(links)} if links else {})
    response.rows = len(rows)
    return response


def _limit(params: dict[str, str]) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return LIMIT_DEFAULT
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= LIMIT_MAX:
        raise error(400, {"limit": f"must be an integer between 1 and {LIMIT_MAX}, got '{raw}'"})
    return value


def _filters(resource: _Resource, params: dict[str, str]) -> dict[str, object]:
    """Validate and normalise the filters a resource understands, so a cursor can carry them."""
    filters: dict[str, object] = {}
    for name in resource.filters:
        raw = params.get(name)
        if raw is None or raw == "":
            continue
        try:
            if name == "updated_at_min":
                filters[name] = utc_lower_bound(raw)
            elif name == "updated_at_max":
                filters[name] = utc_upper_bound(raw)
            elif name in ("date_min", "date_max"):
                filters[name] = date.fromisoformat(raw).isoformat()
            elif name == "payout_id":
                filters[name] = int(raw)
            elif name == "status":
                filters[name] = raw
            elif name == "payout_status":
                if raw not in _PAYOUT_STATUSES:
                    raise ValueError(raw)
                filters[name] = raw
        except ValueError:
            raise error(400, {name: f"Invalid value: '{raw}'"}) from None
    if resource.table == "orders":
        filters.setdefault("status", "open")
        if filters["status"] not in _ORDER_STATUSES:
            raise error(400, {"status": f"must be one of {', '.join(_ORDER_STATUSES)}"})
    return filters


def _where(
    resource: _Resource, filters: dict[str, object], columns: tuple[str, ...]
) -> tuple[str, list[object]]:
    clauses: list[str] = []
    args: list[object] = []
    for name, value in filters.items():
        if name == "updated_at_min":
            clauses.append("updated_at >= ?")
        elif name == "updated_at_max":
            clauses.append("updated_at < ?")
        elif name == "date_min":
            clauses.append("json_extract(payload, '$.date') >= ?")
        elif name == "date_max":
            clauses.append("json_extract(payload, '$.date') <= ?")
        elif name == "payout_id":
            # A payout_id column, when the store has one, is indexable; the payload always works.
            clauses.append(
                "payout_id = ?"
                if "payout_id" in columns
                else "json_extract(payload, '$.payout_id') = ?"
            )
        elif name == "payout_status":
            # Real Shopify filters balance transactions by the status of their payout; a
            # transaction not yet paid out is "pending".
            clauses.append("json_extract(payload, '$.payout_status') = ?")
        elif name == "status" and resource.table == "orders":
            closed = "json_extract(payload, '$.closed_at') IS NULL"
            cancelled = "json_extract(payload, '$.cancelled_at') IS NULL"
            clauses.append(
                {
                    "open": f"{closed} AND {cancelled}",
                    "closed": f"NOT ({closed})",
                    "cancelled": f"NOT ({cancelled})",
                    "any": "1",
                }[str(value)]
            )
            continue
        elif name == "status":
            clauses.append("json_extract(payload, '$.status') = ?")
        else:
            continue
        args.append(value)
    return " AND ".join(clauses) or "1", args


def _seekable(filters: dict[str, object], key: tuple | None, direction: str) -> dict[str, object]:
    """The filters a keyset page needs: the cursor's key already satisfies the time bound on
    its side, and with both SQLite seeks only to the bound and filters every row from there to
    the key (each page slower than the last)."""
    if key is None:
        return filters
    implied = "updated_at_min" if direction == "next" else "updated_at_max"
    return {name: value for name, value in filters.items() if name != implied}


def _fetch(
    conn: sqlite3.Connection,
    table: str,
    where: str,
    args: list[object],
    key: tuple | None,
    direction: str,
    limit: int,
) -> list[tuple]:
    """One more row than the page, to learn whether another page follows, by keyset."""
    order = "ASC" if direction == "next" else "DESC"
    if key is not None:
        where = f"{where} AND (updated_at, id) {'>' if direction == 'next' else '<'} (?, ?)"
        args = [*args, *key]
    sql = (
        f"SELECT updated_at, id, CAST(payload AS BLOB) FROM {quote(table)} WHERE {where} "
        f"ORDER BY updated_at {order}, id {order} LIMIT ?"
    )
    return conn.execute(sql, [*args, limit + 1]).fetchall()


def _link(
    base_url: str,
    path: str,
    limit: int,
    fields: list[str],
    table: str,
    filters: dict[str, object],
    row: tuple,
    direction: str,
) -> str:
    cursor = {"r": table, "f": filters, "k": [row[0], row[1]], "d": direction}
    token = base64.urlsafe_b64encode(json.dumps(cursor, separators=(",", ":")).encode())
    url = f"{base_url}{PREFIX}{path}?limit={limit}"
    if fields:
        url += "&fields=" + ",".join(fields)
    url += "&page_info=" + token.decode().rstrip("=")
    return f'<{url}>; rel="{"next" if direction == "next" else "previous"}"'


def _decode_cursor(token: str, table: str) -> dict:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor = json.loads(raw)
        valid = (
            isinstance(cursor, dict)
            and cursor.get("r") == table
            and isinstance(cursor.get("f"), dict)
            and isinstance(cursor.get("k"), list)
            and len(cursor["k"]) == 2
            and cursor.get("d") in ("next", "prev")
        )
    except (ValueError, binascii.Error):
        valid = False
    if not valid:
        raise error(400, {"page_info": "Invalid value."})
    return cursor


def _select_fields(payload: bytes, fields: list[str]) -> bytes:
    # Only here is a payload parsed: a client asking for some fields pays for its own request.
    record = json.loads(payload)
    return json.dumps({k: v for k, v in record.items() if k in fields}).encode()
