"""What trueup's REST API sources (WMS, Shopify) share: retries, refusals, pages, cursors.

Both sources are plain dlt resources that walk their API page by page and yield pyarrow tables
(:mod:`ingestion.json_pages` turns a page body into tables; dlt's dict path for JSON records
loads a few thousand rows per second). This module has the parts around that:

- **Retries** (:class:`HttpPolicy`, :func:`retrying_session`): dlt's retrying ``requests``
  session retries 429, 5xx, connection errors and timeouts with exponential backoff and honours
  ``Retry-After``, with trueup's settings.
- **Clear refusals** (:func:`refusal`): a wrong token or an unknown endpoint fails at once with
  :class:`SourceApiError` naming the source, resource and endpoint (and is never retried).
- **Pages** (:func:`pages_of`, :func:`linked_pages_of`): threads request and parse pages
  ahead of the consumer while it shapes and writes the ones before; :func:`account_page`
  counts every record read and quarantines the page's bad records with their endpoint and page.
- **Cursors** (:class:`Cursor`): updated-since cursors with an overlap window, kept in dlt's
  resource state (stored in the destination too) in dlt's own incremental layout.
- **The simulated company** (:func:`simulator_base_url`): with no API configured, the sources read
  the simulator's own server, started once per process on a free port.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import requests
from dlt.extract.utils import digest_dedup_value
from dlt.sources.helpers.requests.retry import Client

from ingestion.ahead import ahead
from ingestion.config import setting
from ingestion.json_pages import Page, PageReader
from ingestion.pipeline import IngestRun
from trueup.settings import Paths

# --------------------------------------------------------------------------------------------
# Retries


@dataclass(frozen=True)
class HttpPolicy:
    """How patiently a REST source talks to its API.

    Args:
        timeout_s: Seconds to wait for a response (connect and read) before retrying.
        max_attempts: Attempts per request, the first included, before the run fails.
        backoff_factor: Multiplier of the exponential wait between attempts (1, 2, 4... s
            times the factor), used when the server sends no ``Retry-After``.
        max_retry_delay_s: Longest wait between attempts; also caps a ``Retry-After``, so keep
            it above what the API announces or its rate limit is not respected.
    """

    timeout_s: float = 30.0
    max_attempts: int = 6
    backoff_factor: float = 1.0
    max_retry_delay_s: float = 120.0

    @classmethod
    def from_settings(cls, source: str) -> HttpPolicy:
        """Read the policy of one source.

        Each value comes from ``TRUEUP_HTTP_<NAME>`` (all REST sources), else dlt config
        ``sources.<source>.request_<name>``, else the default above. Names: ``timeout``,
        ``max_attempts``, ``backoff_factor``, ``max_retry_delay``.

        Args:
            source: Source name (``wms``, ``shopify``).
        """
        default = cls()

        def value(name: str, fallback: float) -> float:
            return float(
                setting(
                    source,
                    f"request_{name}",
                    env=f"TRUEUP_HTTP_{name.upper()}",
                    default=fallback,
                )
            )

        return cls(
            timeout_s=value("timeout", default.timeout_s),
            max_attempts=int(value("max_attempts", default.max_attempts)),
            backoff_factor=value("backoff_factor", default.backoff_factor),
            max_retry_delay_s=value("max_retry_delay", default.max_retry_delay_s),
        )


def retrying_session(policy: HttpPolicy) -> requests.Session:
    """A ``requests`` session that retries 429, 5xx, dropped connections and timeouts.

    Args:
        policy: Timeout, attempts and backoff.

    Returns:
        dlt's retrying session. It retries on the status of a response, so ``raise_for_status``
        is off: after the last attempt the response is returned and :func:`refusal` explains it.
    """
    client = Client(
        request_timeout=policy.timeout_s,
        raise_for_status=False,
        request_max_attempts=policy.max_attempts,
        request_backoff_factor=policy.backoff_factor,
        request_max_retry_delay=policy.max_retry_delay_s,
        respect_retry_after_header=True,
    )
    return client.session


# --------------------------------------------------------------------------------------------
# Refusals


class SourceApiError(RuntimeError):
    """The API refused a request in a way retrying cannot fix (credentials, endpoint, request).

    Attributes:
        source: Source name.
        resource: Resource being read.
        endpoint: Method and path of the refused request, without query or credentials.
        status: HTTP status.
    """

    def __init__(self, source: str, resource: str, endpoint: str, status: int, message: str):
        super().__init__(message)
        self.source = source
        self.resource = resource
        self.endpoint = endpoint
        self.status = status


def endpoint_label(url: str) -> str:
    """``GET /path`` of a URL: the endpoint without host, query or anything secret in them."""
    return f"GET {urlsplit(url).path}"


def refusal(
    response: requests.Response, source: str, resource: str, credentials_hint: str
) -> SourceApiError | None:
    """The error for a response the source cannot use, or None for a success.

    A 429 or 5xx reaching this point has used up every retry of the session.

    Args:
        response: The final response of a request (after the session's retries).
        source: Source name, for the message.
        resource: Resource name, for the message.
        credentials_hint: How to set the credentials, quoted when they are refused.
    """
    status = response.status_code
    if status < 400:
        return None
    endpoint = endpoint_label(response.url)
    body = response.text[:500]
    if status in (401, 403):
        message = (
            f"{source} API refused the credentials for resource '{resource}' at {endpoint} "
            f"({status}): {body}. Check the token ({credentials_hint})."
        )
    elif status == 404:
        message = (
            f"{source} API has no endpoint {endpoint} for resource '{resource}' (404): {body}. "
            "Check the base URL and the resource list."
        )
    elif status == 429 or status >= 500:
        message = (
            f"{source} API kept failing for resource '{resource}' at {endpoint} ({status}) "
            f"after every retry: {body}"
        )
    else:
        message = (
            f"{source} API rejected the request for resource '{resource}' at {endpoint} "
            f"({status}): {body}"
        )
    return SourceApiError(source, resource, endpoint, status, message)


# --------------------------------------------------------------------------------------------
# Pages


@dataclass(frozen=True)
class Endpoint:
    """Who reads what: the names and credentials every request of one resource carries.

    Args:
        source: Source name (``wms``, ``shopify``).
        resource: Resource name, for messages and the ledger.
        session: A retrying session (:func:`retrying_session`).
        headers: Authentication headers.
        credentials_hint: How to set the credentials, quoted when they are refused.
    """

    source: str
    resource: str
    session: requests.Session
    headers: dict[str, str]
    credentials_hint: str


PAGES_AHEAD = 16  # a batch of pages is written meanwhile; 16 parsed pages are a few MB
Request = tuple[str, dict[str, Any] | None]  # URL and query parameters


def pages_of(
    endpoint: Endpoint,
    url: str,
    params: dict[str, Any],
    reader: PageReader,
    next_request: Callable[[requests.Response, Page], Request | None],
    *,
    depth: int = PAGES_AHEAD,
) -> Iterator[tuple[requests.Response, Page]]:
    """Walk pages whose next page the body names: fetch, parse, ask ``next_request``, repeat.

    The walk runs on its own thread (:func:`~ingestion.ahead.ahead`), up to ``depth`` pages
    before the consumer: waiting on the API and parsing a body (pyarrow's JSON reader releases
    the GIL) overlap with the consumer shaping and writing the pages before. Pages come out in
    order; a refusal or an unreadable page is raised after every page before it.

    Args:
        endpoint: The resource's names and credentials.
        url: First page's URL.
        params: First page's query parameters.
        reader: Parses each page into records (and sets bad ones aside).
        next_request: ``(url, params)`` of the page after, or None after the last page.
        depth: Most pages fetched and parsed but not yet consumed.

    Yields:
        Each response with its parsed page, in order.
    """

    def walk() -> Iterator[tuple[requests.Response, Page]]:
        request: Request | None = (url, params)
        while request is not None:
            response = _fetch(endpoint, request)
            page = _parsed(endpoint, reader, response)
            request = next_request(response, page)
            yield response, page

    return ahead(walk(), depth, f"{endpoint.source}-{endpoint.resource}-pages")


def linked_pages_of(
    endpoint: Endpoint,
    starts: Iterable[Request],
    reader: PageReader,
    next_link: Callable[[requests.Response], Request | None],
    *,
    depth: int = PAGES_AHEAD,
) -> Iterator[tuple[requests.Response, Page]]:
    """Walk pages whose next page the response headers name (a ``Link`` header), from each
    of ``starts`` in turn.

    As :func:`pages_of`, with one more thread: as the next request is known before the body is
    parsed, requests run ahead of parsing, so the server's work overlaps with it too, and the
    walk goes from one start to the next without waiting for the consumer. ``depth`` bounds
    each of the two stages, so up to about twice as many pages are held (or have been
    requested when a consumer stops early): pages the walk reads anyway, sent sooner.
    """

    def walk() -> Iterator[requests.Response]:
        for start in starts:
            request: Request | None = start
            while request is not None:
                response = _fetch(endpoint, request)
                request = next_link(response)
                yield response

    def parse(responses: Iterator[requests.Response]) -> Iterator[tuple[requests.Response, Page]]:
        try:
            for response in responses:
                yield response, _parsed(endpoint, reader, response)
        finally:
            responses.close()  # stops the requests too

    name = f"{endpoint.source}-{endpoint.resource}"
    return ahead(parse(ahead(walk(), depth, f"{name}-requests")), depth, f"{name}-pages")


def _fetch(endpoint: Endpoint, request: Request) -> requests.Response:
    """One page (the session retries), or the refusal that explains why it cannot be had."""
    response = endpoint.session.get(request[0], params=request[1], headers=endpoint.headers)
    problem = refusal(response, endpoint.source, endpoint.resource, endpoint.credentials_hint)
    if problem is not None:
        raise problem
    return response


def _parsed(endpoint: Endpoint, reader: PageReader, response: requests.Response) -> Page:
    try:
        return reader.parse(response.content)
    except ValueError as exc:
        raise SourceApiError(
            endpoint.source,
            endpoint.resource,
            endpoint_label(response.url),
            response.status_code,
            f"{endpoint.source} API answered {endpoint_label(response.url)} with "
            f"an unreadable page: {exc}",
        ) from None


def account_page(run: IngestRun, ledger: str, response: requests.Response, page: Page) -> None:
    """Count a page's records as read and quarantine its rejected records with their page."""
    run.read(ledger, page.read)
    if page.rejected:
        endpoint = endpoint_label(response.url)
        query = urlsplit(response.url).query or "first page"
        for bad in page.rejected:
            run.reject(ledger, endpoint, f"{query}; record {bad.index}", bad.reason, bad.payload)


# --------------------------------------------------------------------------------------------
# Incremental cursors


class Cursor:
    """An updated-since cursor in the resource's dlt state, with an overlap window.

    The state keeps dlt's own incremental layout (``incremental.<field>.last_value`` and
    ``unique_hashes``), so a pipeline loaded by an earlier version resumes where it stopped.
    Each run asks for ``last_value - lag``; with no lag, records at exactly ``last_value`` that
    were loaded before are skipped by key (dlt's boundary deduplication); with a lag the
    overlap is re-read and the merge makes it upserts.

    Args:
        column: Cursor column (``updated_at``, ``date``).
        initial: Where the first run starts (ISO-8601).
        lag: Overlap, seconds for a timestamp cursor, days for a date cursor.
        key: Primary key column, for the boundary deduplication.
    """

    def __init__(self, column: str, *, initial: str, lag: float, key: str = "id") -> None:
        self.column = column
        self.key = key
        self.lag = lag
        self.is_date = len(initial) == 10
        state = dlt.current.resource_state().setdefault("incremental", {})
        self.state = state.setdefault(column, {"initial_value": initial, "last_value": None})
        last = self.state.get("last_value")
        self.last = _instant(last) if last else None
        self.hashes = set(self.state.get("unique_hashes") or []) if not lag else set()
        self.start = self.last if self.last is not None else _instant(initial)
        if self.last is not None and lag:
            self.start -= timedelta(days=lag) if self.is_date else timedelta(seconds=lag)
        self._max: datetime | None = None
        self._at_max: set[str] = set()
        self._cap: datetime | None = None

    @property
    def start_param(self) -> str:
        """The value of the API's updated-since parameter."""
        return _iso(self.start, self.is_date)

    def admit(self, table: pa.Table) -> tuple[pa.Table, int]:
        """Drop rows before the start and, without overlap, rows loaded at the last value.

        Returns:
            The rows to load and how many were dropped as already loaded.
        """
        values = self._values(table)
        if self.is_date:
            start = pa.scalar(self.start.date(), pa.date32())
        else:
            start = pa.scalar(self.start, values.type)
        keep = pc.greater_equal(values, start)
        if self.hashes and self.last is not None:
            last = pa.scalar(self.last.date() if self.is_date else self.last, values.type)
            at_last = pc.equal(values, last)
            if pc.any(at_last).as_py():
                keys = table.column(self.key).filter(at_last).to_pylist()
                seen = [digest_dedup_value(k) in self.hashes for k in keys]
                mask = np.zeros(len(table), dtype=bool)
                mask[np.flatnonzero(at_last.to_numpy(zero_copy_only=False))] = seen
                keep = pc.and_(keep, pc.invert(pa.array(mask)))
        kept = table.filter(keep) if not pc.all(keep).as_py() else table
        return kept, len(table) - len(kept)

    def advance(self, table: pa.Table) -> None:
        """Move the cursor over rows about to be loaded."""
        if len(table) == 0:
            return
        values = self._values(table)
        top = pc.max(values).as_py()
        if top is None:
            return
        top = _instant(top.isoformat()) if self.is_date else top
        if self._max is None or top > self._max:
            self._max, self._at_max = top, set()
        if top == self._max:
            scalar = pa.scalar(top.date() if self.is_date else top, values.type)
            keys = table.column(self.key).filter(pc.equal(values, scalar)).to_pylist()
            self._at_max.update(digest_dedup_value(k) for k in keys)

    def _values(self, table: pa.Table) -> pa.ChunkedArray:
        values = table.column(self.column)
        if self.is_date and not pa.types.is_date32(values.type):
            return pc.cast(values, pa.date32())  # dates are parsed as text, then typed
        return values

    def hold_before(self, value: datetime) -> None:
        """Keep the cursor at or before ``value`` so the next run reads that record again."""
        self._cap = value if self._cap is None else min(self._cap, value)

    def save(self) -> None:
        """Store the new last value (never moving back) in the resource state."""
        if self._max is None:
            return
        new, hashes = self._max, self._at_max
        if self._cap is not None and self._cap <= new:
            new, hashes = self._cap, set()
        if self.last is not None and new < self.last:
            return
        if self.last is not None and new == self.last:
            hashes = hashes | self.hashes
        self.state["last_value"] = _iso(new, self.is_date)
        self.state["unique_hashes"] = sorted(hashes) if not self.lag else []


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime, is_date: bool) -> str:
    if is_date:
        return value.date().isoformat()
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


# --------------------------------------------------------------------------------------------
# The simulated company's server

_SIMULATORS: dict[tuple[Path, str], str] = {}
_SIMULATORS_LOCK = threading.Lock()
_SHUTDOWN = ExitStack()  # reusable: close() empties it and it accepts new servers afterwards


def simulator_base_url(paths: Paths, token: str, *, store: str) -> str:
    """The simulated company's API server for ``paths``, started on first use.

    One server per data directory and token serves the REST source being ingested; it stops when
    that ingest ends (``ingestion.registry.ingest``) or at exit. It runs in a child process, so
    serving pages does not take turns with reading them.

    Args:
        paths: Data-directory layout; the company is ``paths.sources``.
        token: Token the server accepts.
        store: Store the caller needs, relative to the company (``wms/wms.sqlite``), checked
            first so a missing company fails with advice instead of retried 503s.

    Returns:
        ``http://127.0.0.1:PORT``.

    Raises:
        FileNotFoundError: The store has not been simulated.
    """
    from simulator.server import running_server_process

    company = paths.sources.resolve()
    if not (company / store).exists():
        raise FileNotFoundError(
            f"no API configured and no simulated store at {company / store}: "
            "run `trueup simulate` first, or configure the API's base URL"
        )
    with _SIMULATORS_LOCK:
        key = (company, token)
        if key not in _SIMULATORS:
            _SIMULATORS[key] = _SHUTDOWN.enter_context(running_server_process(company, token))
        return _SIMULATORS[key]


def stop_simulators() -> None:
    """Stop every simulator server this process started (they also stop at exit)."""
    with _SIMULATORS_LOCK:
        _SHUTDOWN.close()
        _SIMULATORS.clear()


atexit.register(stop_simulators)
