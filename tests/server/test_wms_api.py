"""The WMS API: page-number pagination over (updated_at, id), bearer token, strict parameters."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from simulator.server import running_server

from .conftest import SHIPMENTS, TOKEN, Company, fetch, wms_headers, write_wms_store


def _walk(base_url: str, query: str = "") -> list[dict]:
    """Follow next_page from page 1 and return every row served."""
    rows: list[dict] = []
    page: int | None = 1
    while page is not None:
        reply = fetch(f"{base_url}/wms/api/v1/shipments?page={page}{query}", wms_headers())
        assert reply.status == 200, reply.raw
        body = reply.json
        rows.extend(body["data"])
        page = body["next_page"]
    return rows


def _ordered(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: (r["updated_at"], r["id"]))


def test_pages_cover_every_row_exactly_once_in_updated_at_then_id_order(
    base_url: str, company: Company
) -> None:
    rows = _walk(base_url, "&page_size=100")
    assert len(rows) == SHIPMENTS
    assert rows == _ordered(company.shipments)


def test_a_page_fetched_out_of_order_equals_the_same_page_fetched_in_a_walk(
    base_url: str,
) -> None:
    # Sequential walks are served by keyset from the previous page's last key; a direct jump by
    # OFFSET. Both must agree, whichever happens first.
    direct = fetch(f"{base_url}/wms/api/v1/shipments?page=7&page_size=37", wms_headers()).json
    walked = _walk(base_url, "&page_size=37")
    assert direct["data"] == walked[6 * 37 : 7 * 37]
    again = fetch(f"{base_url}/wms/api/v1/shipments?page=7&page_size=37", wms_headers()).json
    assert again == direct


def test_body_reports_page_counts_and_null_next_page_on_the_last_page(base_url: str) -> None:
    first = fetch(f"{base_url}/wms/api/v1/shipments?page_size=1000", wms_headers()).json
    assert (first["page"], first["page_size"], first["total"]) == (1, 1000, SHIPMENTS)
    assert (first["total_pages"], first["next_page"]) == (2, 2)
    last = fetch(f"{base_url}/wms/api/v1/shipments?page=2&page_size=1000", wms_headers()).json
    assert len(last["data"]) == SHIPMENTS - 1000
    assert last["next_page"] is None
    beyond = fetch(f"{base_url}/wms/api/v1/shipments?page=9&page_size=1000", wms_headers()).json
    assert beyond["data"] == [] and beyond["next_page"] is None


def test_rows_carry_every_column_with_its_type(base_url: str, company: Company) -> None:
    row = fetch(f"{base_url}/wms/api/v1/shipments?page_size=1", wms_headers()).json["data"][0]
    assert row == _ordered(company.shipments)[0]
    assert isinstance(row["weight_lb"], float) and isinstance(row["cartons"], int)


def test_updated_since_is_inclusive_and_drops_older_rows(base_url: str, company: Company) -> None:
    since = "2026-01-05T02:00:00Z"
    rows = _walk(base_url, f"&updated_since={since}&page_size=250")
    assert rows == _ordered([r for r in company.shipments if r["updated_at"] >= since])
    assert rows[0]["updated_at"] == since


def test_updated_since_with_an_offset_is_converted_to_utc(base_url: str) -> None:
    utc = fetch(
        f"{base_url}/wms/api/v1/shipments?updated_since=2026-01-05T02:00:00Z", wms_headers()
    ).json
    offset = fetch(
        f"{base_url}/wms/api/v1/shipments?updated_since=2026-01-04T21:00:00-05:00", wms_headers()
    ).json
    assert offset["total"] == utc["total"] and offset["data"] == utc["data"]


def test_page_size_defaults_to_500_and_allows_up_to_5000(base_url: str) -> None:
    assert fetch(f"{base_url}/wms/api/v1/shipments", wms_headers()).json["page_size"] == 500
    body = fetch(f"{base_url}/wms/api/v1/shipments?page_size=5000", wms_headers()).json
    assert len(body["data"]) == SHIPMENTS and body["next_page"] is None


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("page_size=0", "page_size"),
        ("page_size=5001", "page_size"),
        ("page_size=ten", "page_size"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("updated_since=yesterday", "updated_since"),
        ("since=2026-01-01", "since"),
        ("page=1&page=2", "page"),
    ],
)
def test_a_bad_parameter_is_400_naming_it(base_url: str, query: str, parameter: str) -> None:
    reply = fetch(f"{base_url}/wms/api/v1/shipments?{query}", wms_headers())
    assert reply.status == 400
    assert reply.json["parameter"] == parameter
    assert parameter in reply.json["message"]


@pytest.mark.parametrize("headers", [{}, wms_headers("wrong"), {"Authorization": TOKEN}])
def test_missing_or_wrong_bearer_token_is_401(base_url: str, headers: dict[str, str]) -> None:
    reply = fetch(f"{base_url}/wms/api/v1/shipments", headers)
    assert reply.status == 401
    assert reply.json["error"] == "unauthorized"
    assert reply.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("resource", ["pallets", "settings", "shipments/SH00000001"])
def test_unknown_resource_is_404(base_url: str, resource: str) -> None:
    reply = fetch(f"{base_url}/wms/api/v1/{resource}", wms_headers())
    assert reply.status == 404
    assert "shipments" in reply.json["resources"]


def test_health_answers_without_a_token(base_url: str) -> None:
    reply = fetch(f"{base_url}/health")
    assert (reply.status, reply.json) == (200, {"status": "ok"})


def test_a_store_without_the_pagination_index_gets_one(tmp_path: Path) -> None:
    store = tmp_path / "wms" / "wms.sqlite"
    write_wms_store(store, index=False)
    with running_server(tmp_path, token=TOKEN, quiet=True) as url:
        reply = fetch(f"{url}/wms/api/v1/shipments?page=3&page_size=10", wms_headers())
        assert reply.status == 200
    conn = sqlite3.connect(store)
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM shipments ORDER BY updated_at, id"
    ).fetchall()
    conn.close()
    assert not any("TEMP B-TREE" in row[-1] for row in plan)


def test_a_missing_store_is_503_not_a_crash(tmp_path: Path) -> None:
    with running_server(tmp_path, token=TOKEN, quiet=True) as url:
        assert fetch(f"{url}/wms/api/v1/shipments", wms_headers()).status == 503


def test_a_regenerated_store_is_served_without_restarting(tmp_path: Path) -> None:
    store = tmp_path / "wms" / "wms.sqlite"
    write_wms_store(store, seed=1)
    with running_server(tmp_path, token=TOKEN, quiet=True) as url:
        before = fetch(f"{url}/wms/api/v1/shipments?page_size=3", wms_headers()).json
        store.unlink()
        write_wms_store(store, seed=99)
        after = fetch(f"{url}/wms/api/v1/shipments?page_size=3", wms_headers()).json
    assert before["data"] != after["data"]
