"""Conservation: every record a source read is loaded, quarantined or knowingly skipped.

Per source, resource and run::

    input_records == loaded + quarantined + duplicates_skipped

The counts come from different places on purpose, so a record lost anywhere in between shows up:

- ``input_records`` is counted by the source while it reads (non-blank lines of a file, rows a
  query returned, records on an API page, X12 transaction sets);
- ``loaded`` is what dlt normalized into the destination tables for this load (rows inserted or
  upserted), taken from dlt's own normalize counts, never from the source's counter;
- ``quarantined`` is what went to ``raw_quarantine.rejected_records``;
- ``duplicates_skipped`` is what the source skipped as already loaded: files already loaded
  (same name and stat, or same content under another name), records repeated inside a run, and
  rows dlt's incremental cursor filtered at its boundary.

The runner persists one row per resource and run in ``raw_quarantine.load_audit`` before it checks,
so a failed check is on record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

AUDIT_TABLE = "load_audit"

AUDIT_SCHEMA = pa.schema(
    [
        pa.field("load_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("resource", pa.string(), nullable=False),
        pa.field("input_records", pa.int64(), nullable=False),
        pa.field("loaded", pa.int64(), nullable=False),
        pa.field("quarantined", pa.int64(), nullable=False),
        pa.field("duplicates_skipped", pa.int64(), nullable=False),
        pa.field("files_read", pa.int64(), nullable=False),
        pa.field("files_skipped", pa.int64(), nullable=False),
        pa.field("balanced", pa.bool_(), nullable=False),
        pa.field("started_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("finished_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


class ConservationError(RuntimeError):
    """Records were lost or invented between reading a source and loading it."""

    def __init__(self, source: str, audits: list[ResourceAudit]) -> None:
        self.source = source
        self.audits = audits
        lines = [
            f"  {a.resource}: input {a.input_records:,} != loaded {a.loaded:,} + quarantined "
            f"{a.quarantined:,} + duplicates skipped {a.duplicates_skipped:,} "
            f"(difference {a.difference:+,})"
            for a in audits
        ]
        super().__init__(f"conservation check failed for source '{source}':\n" + "\n".join(lines))


@dataclass
class ResourceCounts:
    """What a source counted for one resource while reading."""

    input_records: int = 0
    duplicates_skipped: int = 0
    files_read: int = 0
    files_skipped: int = 0
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class ResourceAudit:
    """One resource's balance for one run (a row of ``raw_quarantine.load_audit``)."""

    source: str
    resource: str
    input_records: int
    loaded: int
    quarantined: int
    duplicates_skipped: int
    files_read: int = 0
    files_skipped: int = 0

    @property
    def difference(self) -> int:
        """Records read but neither loaded, quarantined nor skipped (negative: invented)."""
        return self.input_records - self.loaded - self.quarantined - self.duplicates_skipped

    @property
    def balanced(self) -> bool:
        return self.difference == 0


@dataclass
class Ledger:
    """The per-resource counters of one source run."""

    counts: dict[str, ResourceCounts] = field(default_factory=dict)

    def resource(self, name: str) -> ResourceCounts:
        """The counters of ``name``, created on first use."""
        return self.counts.setdefault(name, ResourceCounts())

    def audit(
        self,
        source: str,
        loaded_rows: dict[str, int],
        quarantined: dict[str, int],
    ) -> list[ResourceAudit]:
        """Balance every resource that read, loaded or rejected something.

        Args:
            source: Source name.
            loaded_rows: Rows dlt normalized per destination table in this run.
            quarantined: Records rejected per resource in this run.

        Returns:
            One audit per resource, sorted by name.
        """
        names = set(self.counts) | set(quarantined)
        audits = []
        for name in sorted(names):
            counts = self.resource(name)
            tables = counts.tables or (name,)
            audits.append(
                ResourceAudit(
                    source=source,
                    resource=name,
                    input_records=counts.input_records,
                    loaded=sum(loaded_rows.get(t, 0) for t in tables),
                    quarantined=quarantined.get(name, 0),
                    duplicates_skipped=counts.duplicates_skipped,
                    files_read=counts.files_read,
                    files_skipped=counts.files_skipped,
                )
            )
        return audits


def check(source: str, audits: Iterable[ResourceAudit]) -> None:
    """Raise :class:`ConservationError` naming every unbalanced resource.

    Args:
        source: Source name, for the message.
        audits: The run's per-resource balances.

    Raises:
        ConservationError: When any resource's counts do not add up.
    """
    broken = [a for a in audits if not a.balanced]
    if broken:
        raise ConservationError(source, broken)


def audit_table(
    audits: list[ResourceAudit], load_id: str, started_at: datetime, finished_at: datetime
) -> pa.Table:
    """The audits as rows of ``raw_quarantine.load_audit``."""
    rows = [
        {
            "load_id": load_id,
            "source": a.source,
            "resource": a.resource,
            "input_records": a.input_records,
            "loaded": a.loaded,
            "quarantined": a.quarantined,
            "duplicates_skipped": a.duplicates_skipped,
            "files_read": a.files_read,
            "files_skipped": a.files_skipped,
            "balanced": a.balanced,
            "started_at": started_at,
            "finished_at": finished_at,
        }
        for a in audits
    ]
    return pa.Table.from_pylist(rows, schema=AUDIT_SCHEMA)
