"""The Shopify Admin API subset: Link-header cursors, Shopify's parameter rules, raw payloads."""

from __future__ import annotations

import json
import re
import sqlite3

import pytest

from .conftest import ORDERS, Company, fetch, shopify_headers

ADMIN = "/admin/api/2024-10"
_LINK = re.compile(r'<([^>]+)>; rel="(next|previous)"')


def _links(reply) -> dict[str, str]:
    return {rel: url for url, rel in _LINK.findall(reply.headers.get("Link", ""))}


def _walk(url: str, key: str) -> tuple[list[dict], int]:
    """Follow rel="next" from a first URL; return the records and the number of pages."""
    records: list[dict] = []
    pages = 0
    next_url: str | None = url
    while next_url:
        reply = fetch(next_url, shopify_headers())
        assert reply.status == 200, reply.raw
        records.extend(reply.json[key])
        pages += 1
        next_url = _links(reply).get("next")
    return records, pages


def _ordered(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: (r["updated_at"], r["id"]))


def test_link_header_cursor_walks_all_orders_exactly_once(base_url: str, company: Company) -> None:
    orders, pages = _walk(f"{base_url}{ADMIN}/orders.json?status=any&limit=25", "orders")
    assert orders == _ordered(company.shopify["orders"])
    assert len(orders) == ORDERS and pages == 6  # 137 = 5 x 25 + 12, no empty trailing page


def test_last_page_has_no_next_link_and_first_page_no_previous(base_url: str) -> None:
    first = fetch(f"{base_url}{ADMIN}/orders.json?status=any&limit=250", shopify_headers())
    assert len(first.json["orders"]) == ORDERS
    assert "Link" not in first.headers
    paged = fetch(f"{base_url}{ADMIN}/orders.json?status=any&limit=10", shopify_headers())
    assert set(_links(paged)) == {"next"}
    assert _links(paged)["next"].startswith(f"{base_url}{ADMIN}/orders.json?limit=10&page_info=")


def test_previous_link_leads_back_to_the_page_before(base_url: str) -> None:
    first = fetch(f"{base_url}{ADMIN}/orders.json?status=any&limit=10", shopify_headers())
    second = fetch(_links(first)["next"], shopify_headers())
    assert set(_links(second)) == {"next", "previous"}
    back = fetch(_links(second)["previous"], shopify_headers())
    assert back.json == first.json
    assert set(_links(back)) == {"next"}


def test_default_status_open_hides_closed_and_cancelled_orders(
    base_url: str, company: Company
) -> None:
    orders, _ = _walk(f"{base_url}{ADMIN}/orders.json?limit=250", "orders")
    expected = [o for o in company.shopify["orders"] if not o["closed_at"]]
    assert orders == _ordered(expected) and len(expected) < ORDERS
    cancelled, _ = _walk(f"{base_url}{ADMIN}/orders.json?status=cancelled&limit=250", "orders")
    assert {o["id"] for o in cancelled} == {
        o["id"] for o in company.shopify["orders"] if o["cancelled_at"]
    }


def test_updated_at_min_filters_orders_and_the_cursor_keeps_the_filter(
    base_url: str, company: Company
) -> None:
    since = "2026-01-06T00:00:00Z"
    orders, pages = _walk(
        f"{base_url}{ADMIN}/orders.json?status=any&limit=7&updated_at_min={since}", "orders"
    )
    assert orders == _ordered([o for o in company.shopify["orders"] if o["updated_at"] >= since])
    assert pages > 1


def test_a_bounded_walk_keeps_both_bounds_forward_and_back(base_url: str, company: Company) -> None:
    # A keyset page need not repeat the bound its cursor key already satisfies; the other bound
    # it must keep, in either direction.
    since, until = "2026-01-04T00:00:00Z", "2026-01-08T00:00:00Z"
    url = f"{base_url}{ADMIN}/orders.json?status=any&limit=6&updated_at_min={since}"
    forward, pages = _walk(f"{url}&updated_at_max={until}", "orders")
    expected = _ordered([o for o in company.shopify["orders"] if since <= o["updated_at"] <= until])
    assert forward == expected and pages > 2
    reply = fetch(f"{url}&updated_at_max={until}", shopify_headers())
    while "next" in _links(reply):
        reply = fetch(_links(reply)["next"], shopify_headers())
    backward = list(reply.json["orders"])
    while "previous" in _links(reply):
        reply = fetch(_links(reply)["previous"], shopify_headers())
        backward = reply.json["orders"] + backward
    assert backward == expected


def test_updated_at_max_is_inclusive(base_url: str, company: Company) -> None:
    until = "2026-01-03T01:00:00Z"
    orders, _ = _walk(
        f"{base_url}{ADMIN}/orders.json?status=any&limit=250&updated_at_max={until}", "orders"
    )
    assert orders == _ordered([o for o in company.shopify["orders"] if o["updated_at"] <= until])


@pytest.mark.parametrize("extra", ["status=any", "updated_at_min=2026-01-01T00:00:00Z"])
def test_page_info_with_another_filter_is_400(base_url: str, extra: str) -> None:
    first = fetch(f"{base_url}{ADMIN}/orders.json?status=any&limit=10", shopify_headers())
    reply = fetch(f"{_links(first)['next']}&{extra}", shopify_headers())
    assert reply.status == 400
    assert "page_info" in reply.json["errors"]
    assert extra.split("=")[0] in reply.json["errors"]["page_info"]


def test_page_info_may_change_limit(base_url: str) -> None:
    first = fetch(f"{base_url}{ADMIN}/orders.json?status=any&limit=10", shopify_headers())
    cursor = _links(first)["next"].replace("limit=10", "limit=3")
    assert len(fetch(cursor, shopify_headers()).json["orders"]) == 3


@pytest.mark.parametrize("token", ["garbage", "eyJyIjoicGF5b3V0cyJ9"])  # second: another resource
def test_a_forged_page_info_is_400(base_url: str, token: str) -> None:
    reply = fetch(f"{base_url}{ADMIN}/orders.json?page_info={token}", shopify_headers())
    assert reply.status == 400
    assert reply.json == {"errors": {"page_info": "Invalid value."}}


@pytest.mark.parametrize("limit", ["0", "251", "many"])
def test_limit_outside_1_to_250_is_400(base_url: str, limit: str) -> None:
    reply = fetch(f"{base_url}{ADMIN}/orders.json?limit={limit}", shopify_headers())
    assert reply.status == 400 and "limit" in reply.json["errors"]


def test_limit_defaults_to_50(base_url: str) -> None:
    reply = fetch(f"{base_url}{ADMIN}/orders.json?status=any", shopify_headers())
    assert len(reply.json["orders"]) == 50


def test_orders_are_the_stored_payload_bytes(base_url: str, company: Company) -> None:
    reply = fetch(f"{base_url}{ADMIN}/orders.json?status=any&limit=3", shopify_headers())
    conn = sqlite3.connect(company.path / "shopify" / "shopify.sqlite")
    stored = [
        row[0] for row in conn.execute("SELECT payload FROM orders ORDER BY updated_at, id LIMIT 3")
    ]
    conn.close()
    assert reply.raw == ('{"orders":[' + ",".join(stored) + "]}").encode()


def test_fields_keeps_only_the_named_fields(base_url: str) -> None:
    reply = fetch(f"{base_url}{ADMIN}/orders.json?status=any&fields=id,name", shopify_headers())
    assert all(set(o) == {"id", "name"} for o in reply.json["orders"])


def test_orders_count(base_url: str) -> None:
    reply = fetch(f"{base_url}{ADMIN}/orders/count.json?status=any", shopify_headers())
    assert reply.json == {"count": ORDERS}


def test_payouts_are_listed_and_filtered_by_date_min(base_url: str, company: Company) -> None:
    payouts, _ = _walk(f"{base_url}{ADMIN}/shopify_payments/payouts.json", "payouts")
    assert payouts == _ordered(company.shopify["payouts"])
    later, _ = _walk(
        f"{base_url}{ADMIN}/shopify_payments/payouts.json?date_min=2026-01-05", "payouts"
    )
    assert [p["date"] for p in later] == ["2026-01-05", "2026-01-06", "2026-01-07"]


def test_payouts_filter_on_updated_at_min(base_url: str) -> None:
    reply = fetch(
        f"{base_url}{ADMIN}/shopify_payments/payouts.json?updated_at_min=2026-01-07T00:00:00Z",
        shopify_headers(),
    )
    assert [p["date"] for p in reply.json["payouts"]] == ["2026-01-07"]


def test_balance_transactions_are_listed_by_payout_id(base_url: str, company: Company) -> None:
    url = f"{base_url}{ADMIN}/shopify_payments/balance/transactions.json?payout_id=703&limit=4"
    transactions, pages = _walk(url, "transactions")
    expected = [t for t in company.shopify["transactions"] if t["payout_id"] == 703]
    assert transactions == _ordered(expected) and pages == 3


def test_bad_payout_id_is_400(base_url: str) -> None:
    reply = fetch(
        f"{base_url}{ADMIN}/shopify_payments/balance/transactions.json?payout_id=abc",
        shopify_headers(),
    )
    assert reply.status == 400 and "payout_id" in reply.json["errors"]


@pytest.mark.parametrize("headers", [{}, shopify_headers("wrong"), {"Authorization": "Bearer x"}])
def test_missing_or_wrong_access_token_is_401(base_url: str, headers: dict[str, str]) -> None:
    reply = fetch(f"{base_url}{ADMIN}/orders.json", headers)
    assert reply.status == 401
    assert "access token" in json.dumps(reply.json)


@pytest.mark.parametrize(
    "path", [f"{ADMIN}/customers.json", "/admin/api/2023-01/orders.json", f"{ADMIN}/orders"]
)
def test_unknown_path_is_404(base_url: str, path: str) -> None:
    reply = fetch(f"{base_url}{path}", shopify_headers())
    assert (reply.status, reply.json) == (404, {"errors": "Not Found"})
