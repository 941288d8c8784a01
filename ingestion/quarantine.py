"""Quarantine: records a source could not load, kept with enough context to fix and replay them.

Every source rejects records through :meth:`Quarantine.reject` (usually via
``IngestRun.reject``); the runner writes them to ``raw_quarantine.rejected_records`` with the
run's load id after the source's own load. A bad record never stops the rest of its file or run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

DATASET = "raw_quarantine"
REJECTED_TABLE = "rejected_records"

# A whole corrupt file can be megabytes on one line; keep enough to diagnose, not a copy.
MAX_PAYLOAD_CHARS = 100_000

REJECTED_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("resource", pa.string(), nullable=False),
        pa.field("file_or_endpoint", pa.string()),
        pa.field("locator", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw_payload", pa.string()),
        pa.field("load_id", pa.string()),
        pa.field("rejected_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def _text(payload: str | bytes | None) -> str | None:
    if payload is None:
        return None
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", errors="replace")
    if len(payload) > MAX_PAYLOAD_CHARS:
        return payload[:MAX_PAYLOAD_CHARS] + f"... [truncated, {len(payload):,} chars]"
    return payload


@dataclass
class Quarantine:
    """Collects the rejected records of one source run until the runner writes them."""

    source: str
    _rows: list[tuple[str, str | None, str | None, str, str | None, datetime]] = field(
        default_factory=list
    )
    _per_resource: Counter[str] = field(default_factory=Counter)

    def reject(
        self,
        resource: str,
        file_or_endpoint: str | None,
        locator: str | None,
        reason: str,
        raw_payload: str | bytes | None,
    ) -> None:
        """Quarantine one record.

        Args:
            resource: Resource (table) the record was meant for.
            file_or_endpoint: File path relative to the source root, or API endpoint.
            locator: Where in it: ``line 17``, ``segment 45``, ``page 3``.
            reason: Why it was rejected, specific enough to fix the record.
            raw_payload: The record as received.
        """
        self._rows.append(
            (resource, file_or_endpoint, locator, reason, _text(raw_payload), _utcnow())
        )
        self._per_resource[resource] += 1

    def count(self, resource: str | None = None) -> int:
        """Records rejected so far, for one resource or in total."""
        return self._per_resource[resource] if resource else sum(self._per_resource.values())

    def __len__(self) -> int:
        return len(self._rows)

    def to_arrow(self, load_id: str | None) -> pa.Table:
        """The rejected records as a table in :data:`REJECTED_SCHEMA`, stamped with ``load_id``."""
        columns = list(zip(*self._rows, strict=True)) if self._rows else [[]] * 6
        resource, file_or_endpoint, locator, reason, payload, rejected_at = columns
        n = len(self._rows)
        return pa.table(
            [
                pa.array([self.source] * n, pa.string()),
                pa.array(resource, pa.string()),
                pa.array(file_or_endpoint, pa.string()),
                pa.array(locator, pa.string()),
                pa.array(reason, pa.string()),
                pa.array(payload, pa.string()),
                pa.array([load_id] * n, pa.string()),
                pa.array(rejected_at, pa.timestamp("us", tz="UTC")),
            ],
            schema=REJECTED_SCHEMA,
        )


def _utcnow() -> datetime:
    return datetime.now(UTC)
