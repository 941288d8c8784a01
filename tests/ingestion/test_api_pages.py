"""API pages are walked ahead of their consumer, in order, and shaped as dlt stores them.

The walk runs against a real HTTP server on 127.0.0.1 serving ``Link``-header pages.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import dlt
import pyarrow.json as pjson
import pytest
import requests

from ingestion.http_client import (
    Endpoint,
    HttpPolicy,
    SourceApiError,
    linked_pages_of,
    pages_of,
    retrying_session,
)
from ingestion.json_pages import DELETED, Page, PageReader, Rules, declare

PAGES = 12


class _Pages(BaseHTTPRequestHandler):
    """``/items?page=N``: two records per page, a ``Link`` to the next; page ``refuse`` is 401."""

    served: ClassVar[list[int]] = []
    refuse: ClassVar[int | None] = None

    def do_GET(self) -> None:
        number = int(parse_qs(urlsplit(self.path).query)["page"][0])
        type(self).served.append(number)
        if number == type(self).refuse:
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps(
            {
                "items": [
                    {"id": 2 * number + i, "updated_at": "2026-01-01T00:00:00Z"} for i in (0, 1)
                ]
            }
        ).encode()
        self.send_response(200)
        if number < PAGES:
            host, port = self.server.server_address[:2]
            self.send_header("Link", f'<http://{host}:{port}/items?page={number + 1}>; rel="next"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Pages.served, _Pages.refuse = [], None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/items"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _link(response: requests.Response) -> tuple[str, None] | None:
    following = response.links.get("next")
    return (following["url"], None) if following else None


def _walk(
    url: str, kind: str, depth: int = 3, starts: int = 1
) -> Iterator[tuple[requests.Response, Page]]:
    session = retrying_session(HttpPolicy(timeout_s=5, max_attempts=1))
    endpoint = Endpoint("test", "items", session, {}, "no credentials needed")
    reader = PageReader("items", declare("items", {"id": "bigint"}), Rules(), dlt.Schema("test"))
    if kind == "linked":
        firsts = [(url, {"page": 1})] * starts
        return linked_pages_of(endpoint, firsts, reader, _link, depth=depth)
    return pages_of(
        endpoint, url, {"page": 1}, reader, lambda response, _: _link(response), depth=depth
    )


def _ids(pages: Iterator[tuple[requests.Response, Page]]) -> list[int]:
    return [i for _, page in pages for i in page.records.field("id").to_pylist()]


def _settle() -> None:
    time.sleep(0.3)  # the walk runs on its own threads: let it go as far as it may


WALKS = pytest.mark.parametrize("kind", ["body", "linked"])


@WALKS
def test_pages_come_in_order_and_the_walk_stays_a_few_pages_ahead(server: str, kind: str) -> None:
    walk = _walk(server, kind, depth=3)
    first = next(walk)
    _settle()
    # Consumed 1; per stage, up to 3 waiting in its queue and one more waiting to go in.
    stages = 2 if kind == "linked" else 1
    assert len(_Pages.served) <= 1 + stages * (3 + 1)
    assert _ids(iter([first])) + _ids(walk) == list(range(2, 2 * PAGES + 2))
    assert _Pages.served == list(range(1, PAGES + 1))


def test_a_linked_walk_goes_from_one_start_to_the_next(server: str) -> None:
    assert _ids(_walk(server, "linked", starts=3)) == list(range(2, 2 * PAGES + 2)) * 3


@WALKS
def test_a_refused_page_is_raised_after_every_page_before_it(server: str, kind: str) -> None:
    _Pages.refuse = 4
    got = []
    with pytest.raises(SourceApiError, match="401"):
        for response, _ in _walk(server, kind):
            got.append(response.url.rsplit("=", 1)[1])
    assert got == ["1", "2", "3"]


@WALKS
def test_a_consumer_that_stops_early_stops_the_walk(server: str, kind: str) -> None:
    walk = _walk(server, kind, depth=1)
    next(walk)
    walk.close()
    _settle()
    served = len(_Pages.served)
    _settle()
    assert len(_Pages.served) == served < PAGES
    assert not [t for t in threading.enumerate() if t.name.startswith("test-items-")]


def test_child_tables_carry_the_tombstone_column_before_their_first_load_too() -> None:
    # dlt rewrites every file that lacks a column of its table; the tombstone column is in the
    # child tables' schema from the start, so a first load's files carry it (all null).
    shape = declare("orders", {"id": "bigint", "lines": [{"sku": "text"}]})
    reader = PageReader("orders", shape, Rules(cursor=None), dlt.Schema("t"), root_ids="key")
    page = reader.parse(b'{"orders": [{"id": 1, "lines": [{"sku": "a"}, {"sku": "b"}]}]}')
    lines = reader.tables(page.records)["orders__lines"]
    assert lines.column_names[-1] == DELETED
    assert lines.column(DELETED).type == "bool"
    assert lines.column(DELETED).null_count == 2


@pytest.mark.parametrize(
    ("learned", "late", "kept"),
    [
        (1, 1.5, None),  # bigint learned: 1.5 does not fit, the record is quarantined
        ("abc", "2024-01-06T10:00:00Z", "2024-01-06T10:00:00Z"),  # text learned: kept as sent
    ],
)
def test_a_page_parsed_while_another_learns_a_field_is_judged_by_the_grown_shape(
    monkeypatch: pytest.MonkeyPatch, learned: object, late: object, kept: object
) -> None:
    # Several walks share a reader (Shopify's transactions, one walk per page of payouts) and
    # parse outside its lock. Page A is parsed before page B teaches the reader a new field
    # "x", and checked after: it must be judged as if read after B, as one walk would.
    reader = PageReader(
        "items", declare("items", {"id": "bigint"}), Rules(cursor=None), dlt.Schema("t")
    )
    a_parsed, b_learned = threading.Event(), threading.Event()
    real = pjson.read_json

    def read_json(*args, **kwargs):
        table = real(*args, **kwargs)
        if threading.current_thread().name == "page-a" and not a_parsed.is_set():
            a_parsed.set()
            b_learned.wait(5)
        return table

    monkeypatch.setattr(pjson, "read_json", read_json)
    pages: dict[str, Page] = {}

    def parse_a() -> None:
        pages["a"] = reader.parse(json.dumps({"items": [{"id": 1, "x": late}]}).encode())

    page_a = threading.Thread(target=parse_a, name="page-a")
    page_a.start()
    assert a_parsed.wait(5)
    pages["b"] = reader.parse(json.dumps({"items": [{"id": 2, "x": learned}]}).encode())
    b_learned.set()
    page_a.join(5)

    rows = reader.tables(pages["a"].records)["items"].to_pylist() if len(pages["a"].records) else []
    if kept is None:
        assert [r.reason for r in pages["a"].rejected] and rows == []
    else:
        assert pages["a"].rejected == [] and [r["x"] for r in rows] == [kept]
