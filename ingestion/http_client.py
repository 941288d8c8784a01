"""What trueup's REST API sources (WMS, Shopify) share: retries, errors, auditing, the simulator.

Both sources are declared with dlt's ``rest_api`` source; this module adds what the declaration
cannot say:

- **Retries** (:class:`HttpPolicy`, :func:`retrying_session`): dlt's retrying ``requests`` client
  retries 429, 5xx, connection errors and timeouts with exponential backoff and honours
  ``Retry-After``. ``rest_api`` builds that client with dlt's built-in defaults (60 s timeout,
  5 attempts) unless it is given a session, so the source passes one built from trueup settings.
- **Clear refusals** (:func:`refusal_hook`): a wrong token or an unknown endpoint fails at once
  with :class:`SourceApiError` naming the source, resource and endpoint, instead of dlt's
  generic ``HTTPError`` (and is never retried).
- **Conservation and quarantine** (:func:`audit_resource`): every record on every page is counted
  before anything can drop it; a record dlt could not load faithfully (no key, no cursor, or a
  value its column's type cannot hold) is quarantined with its endpoint and page instead of
  silently becoming a variant column or a dropped row.
- **The simulated company** (:func:`simulator_base_url`): with no API configured, the sources read
  the simulator's own server, started once per process on a free port.
"""

from __future__ import annotations

import atexit
import json
import re
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import dlt
import requests
from dlt.common.data_types import coerce_value, py_type_to_sc_type
from dlt.common.schema.detections import is_iso_timestamp
from dlt.extract.items_transform import ItemTransform
from dlt.extract.resource import DltResource
from dlt.sources.helpers.requests.retry import Client

from ingestion.config import setting
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
        dlt's retrying session; ``raise_for_status`` is off because ``rest_api`` raises from
        its own response hooks, which is what lets the retry see the status.
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


def refusal_hook(source: str, resource: str, credentials_hint: str) -> Callable[..., None]:
    """A ``rest_api`` response action that turns a final refusal into :class:`SourceApiError`.

    429 and 5xx are left to the retrying session (``rest_api`` raises ``HTTPError`` for them
    after this hook, which is what the retry reacts to).

    Args:
        source: Source name, for the message.
        resource: Resource name, for the message.
        credentials_hint: How to set the credentials, quoted when they are refused.
    """

    def hook(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        status = response.status_code
        if status < 400 or status == 429 or status >= 500:
            return
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
        else:
            message = (
                f"{source} API rejected the request for resource '{resource}' at {endpoint} "
                f"({status}): {body}"
            )
        raise SourceApiError(source, resource, endpoint, status, message)

    return hook


# --------------------------------------------------------------------------------------------
# Conservation and quarantine


@dataclass(frozen=True)
class RecordRules:
    """What every record of a resource must have to be loaded faithfully.

    Args:
        key: Primary key field; a record without it cannot be merged.
        cursor: Incremental cursor field, an ISO-8601 date or timestamp; None for a resource
            read without a cursor.
    """

    key: str = "id"
    cursor: str | None = "updated_at"


def audit_resource(
    run: IngestRun,
    resource: DltResource,
    *,
    source: str,
    rules: RecordRules | None = None,
    ledger_name: str | None = None,
) -> DltResource:
    """Count, validate and quarantine the records of a ``rest_api`` resource, page by page.

    Adds two steps to the resource: right after the HTTP pages come in (before dlt's
    incremental filter), :class:`_PageAudit` counts every record as read and quarantines the
    ones that cannot be loaded faithfully; after the incremental filter, :class:`_PassedCount`
    takes back what passed, so what the filter dropped is counted as already loaded.

    Args:
        run: The run receiving counts and rejects.
        resource: A resource built by ``rest_api_source``.
        source: Source name.
        rules: Required fields; default ``id`` and ``updated_at``.
        ledger_name: The ledger entry to count under (default: the resource's name). Loaded
            rows are counted per destination table, so a resource writing into another
            resource's table must count under that resource.

    Returns:
        The same resource.
    """
    name = ledger_name or resource.name
    run.ledger.resource(name)  # a resource that reads nothing still gets an audit row
    # Index 0 is the paginating generator, so index 1 sees each page as it arrives.
    resource.add_step(_PageAudit(run, source, name, rules or RecordRules()), insert_at=1)
    resource.add_step(_PassedCount(run, name))
    return resource


class _PageAudit(ItemTransform[Any, dict[str, Any]]):
    """Counts a page's records and quarantines those dlt could not load as they are.

    A value whose type no longer fits its column (``"many"`` arriving in an integer column) would
    otherwise become a variant column (``cartons__v_text``) or, under a ``discard_row`` contract,
    vanish uncounted. Column types come from the schema dlt stored on earlier runs; a column
    seen for the first time takes the type of its first value, as dlt's own inference does.
    Coercible values (``"12"`` for an integer) pass: dlt coerces them the same way.
    """

    def __init__(self, run: IngestRun, source: str, resource: str, rules: RecordRules) -> None:
        super().__init__(lambda item: item)
        self.run = run
        self.source = source
        self.resource = resource
        self.pages = 0
        self.rules = rules
        self.learned: dict[str, dict[str, str]] = {}
        self._names: dict[str, str] = {}

    def __call__(self, item: Any, meta: Any = None) -> Any:
        records = item if isinstance(item, list) else [item]
        self.run.read(self.resource, len(records))
        response = getattr(item, "response", None)
        url = response.url if response is not None else ""
        endpoint = endpoint_label(url) if url else None
        query = urlsplit(url).query
        schema = dlt.current.source_schema()
        kept = []
        for index, record in enumerate(records):
            reason = self._problem(record, schema)
            if reason is None:
                kept.append(record)
                continue
            self.run.reject(
                self.resource,
                endpoint,
                f"{query or 'first page'}; record {index}",
                reason,
                json.dumps(record, default=str),
            )
        # Provisionally "already loaded"; _PassedCount takes back whatever passes the cursor.
        self.run.skip_duplicates(self.resource, len(kept))
        self.pages += 1
        read = self.run.ledger.resource(self.resource).input_records
        self.run.note(
            f"{self.source}.{self.resource}: {self.pages:,} pages, {read:,} records read",
            throttle=True,
        )
        return kept or None

    def _problem(self, record: Any, schema: Any) -> str | None:
        """Why the record cannot be loaded, or None."""
        if not isinstance(record, dict):
            return f"record is a {type(record).__name__}, not an object"
        key, cursor = self.rules.key, self.rules.cursor
        if record.get(key) in (None, ""):
            return f"missing primary key '{key}'"
        if cursor is not None and not _is_iso(record.get(cursor)):
            return f"'{cursor}' value {record.get(cursor)!r} is not an ISO-8601 date or timestamp"
        return self._misfit(record, self.resource, "", schema)

    def _misfit(self, record: dict[str, Any], table: str, prefix: str, schema: Any) -> str | None:
        """The first value that cannot be coerced to its column's type (nested tables too)."""
        known = schema.tables.get(table, {}).get("columns", {})
        learned = self.learned.setdefault(table, {})
        for field, value in record.items():
            if value is None:
                continue
            column = prefix + self._name(field, schema)
            if isinstance(value, dict):
                # dlt flattens a nested object into its parent's columns: a__b.
                problem = self._misfit(value, table, column + "__", schema)
                if problem:
                    return problem
                continue
            if isinstance(value, list):
                child = f"{table}__{column}"
                for element in value:
                    if isinstance(element, dict):
                        problem = self._misfit(element, child, "", schema)
                        if problem:
                            return problem
                continue
            expected = known.get(column, {}).get("data_type") or learned.get(column)
            found = py_type_to_sc_type(type(value))
            if expected is None:
                if found == "text" and (_ISO_INSTANT.match(value) or is_iso_timestamp(str, value)):
                    found = "timestamp"  # dlt's default iso_timestamp detection
                learned[column] = found
                continue
            if found == expected or (expected == "timestamp" and _ISO_INSTANT.match(str(value))):
                continue
            try:
                coerce_value(expected, found, value)
            except Exception:
                where = column if table == self.resource else f"{table}.{column}"
                return f"'{where}' value {value!r} does not fit the column's type {expected}"
        return None

    def _name(self, field: str, schema: Any) -> str:
        name = self._names.get(field)
        if name is None:
            name = self._names[field] = schema.naming.normalize_identifier(field)
        return name


class _PassedCount(ItemTransform[Any, dict[str, Any]]):
    """Takes back the provisional "already loaded" count for records that passed the cursor."""

    # After dlt's incremental step (affinity 1), whatever the order steps are added in.
    placement_affinity: ClassVar[float] = 1.5

    def __init__(self, run: IngestRun, resource: str) -> None:
        super().__init__(lambda item: item)
        self.run = run
        self.resource = resource

    def __call__(self, item: Any, meta: Any = None) -> Any:
        passed = len(item) if isinstance(item, list) else 1
        self.run.ledger.resource(self.resource).duplicates_skipped -= passed
        return item


def _is_iso(value: object) -> bool:
    """An ISO-8601 date or date-time string (what the cursor compares and the API filters on)."""
    if not isinstance(value, str):
        return False
    if _ISO_INSTANT.match(value):
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


# Fast path for the common shape (2026-01-05T10:00:00Z, with fraction or offset).
_ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


# --------------------------------------------------------------------------------------------
# The simulated company's server

_SIMULATORS: dict[tuple[Path, str], str] = {}
_SIMULATORS_LOCK = threading.Lock()
_SHUTDOWN = ExitStack()  # reusable: close() empties it and it accepts new servers afterwards


def simulator_base_url(paths: Paths, token: str, *, store: str) -> str:
    """The simulated company's API server for ``paths``, started on first use.

    One server per data directory and token serves every REST source of the process and stops
    at exit: the server re-reads a store the simulator rewrites, so it never goes stale.

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
    from simulator.server import running_server

    company = paths.sources.resolve()
    if not (company / store).exists():
        raise FileNotFoundError(
            f"no API configured and no simulated store at {company / store}: "
            "run `trueup simulate` first, or configure the API's base URL"
        )
    with _SIMULATORS_LOCK:
        key = (company, token)
        if key not in _SIMULATORS:
            _SIMULATORS[key] = _SHUTDOWN.enter_context(
                running_server(company, token=token, quiet=True)
            )
        return _SIMULATORS[key]


def stop_simulators() -> None:
    """Stop every simulator server this process started (they also stop at exit)."""
    with _SIMULATORS_LOCK:
        _SHUTDOWN.close()
        _SIMULATORS.clear()


atexit.register(stop_simulators)
