"""Pieces both APIs share: the response value, the error that becomes one, parameter parsing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl


@dataclass
class Response:
    """What a route answers; the HTTP handler only writes it out."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    rows: int | None = None  # for the request log line

    @classmethod
    def json(cls, status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
        """A JSON response from a Python value."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        return cls(status, body, headers or {})


class ApiError(Exception):
    """A request the API refuses; ``payload`` is the JSON body in the API's own error shape."""

    def __init__(self, status: int, payload: object, headers: dict[str, str] | None = None):
        super().__init__(f"{status}: {payload}")
        self.status = status
        self.payload = payload
        self.headers = headers or {}

    def to_response(self) -> Response:
        return Response.json(self.status, self.payload, self.headers)


def parse_query(query: str) -> dict[str, str]:
    """Query string to a dict, refusing a parameter given twice (which one would win is a guess).

    Raises:
        ValueError: naming the repeated parameter.
    """
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in params:
            raise ValueError(key)
        params[key] = value
    return params


def parse_instant(text: str) -> datetime:
    """Parse an ISO-8601 date or date-time as an aware UTC datetime (naive means UTC).

    A ``+`` left unencoded in a query string arrives as a space (``10:00:00 02:00``); it is
    put back, because that client bug is common and the intent is unambiguous.

    Raises:
        ValueError: if the text is not ISO-8601.
    """
    text = text.strip()
    if _SPACE_OFFSET.fullmatch(text):
        head, _, offset = text.rpartition(" ")
        text = f"{head}+{offset}"
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_SPACE_OFFSET = re.compile(r".*T\d\d:\d\d(:\d\d(\.\d+)?)? \d\d(:?\d\d)?")


def utc_lower_bound(text: str) -> str:
    """An ISO-8601 instant as the text to compare ``updated_at >= bound`` against.

    Stored timestamps are UTC text of second precision (``2026-01-05T10:00:00Z``). The bound is
    the 19-character ``YYYY-MM-DDTHH:MM:SS`` prefix without a suffix: every stored value of that
    second sorts after it whatever its suffix (``Z``, ``+00:00``, ``.000Z``), so the comparison
    stays a plain index range. Fractions round up, because a record stamped in an earlier
    second is older than asked for.

    Raises:
        ValueError: if the text is not ISO-8601.
    """
    value = parse_instant(text)
    if value.microsecond:
        value = value.replace(microsecond=0) + timedelta(seconds=1)
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def utc_upper_bound(text: str) -> str:
    """An ISO-8601 instant as the text to compare ``updated_at < bound`` against.

    The bound is the start of the next second, so the maximum is inclusive as Shopify's
    ``updated_at_max`` is.

    Raises:
        ValueError: if the text is not ISO-8601.
    """
    value = parse_instant(text).replace(microsecond=0) + timedelta(seconds=1)
    return value.strftime("%Y-%m-%dT%H:%M:%S")
