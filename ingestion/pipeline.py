"""The one way a source is loaded: pipeline factory, run context and runner.

A source module only builds dlt resources; :func:`run_ingest` gives every source the same run:
finish anything a crashed run left pending, extract / normalize / load with progress output,
write the run's quarantined records and per-resource balances to ``raw_quarantine``, then check
conservation. Names:

=================  ===============================  ==============================
source             dlt pipeline                     dataset (schema in DuckDB)
=================  ===============================  ==============================
``<source>``       ``trueup_<source>``              ``raw_<source>``
quarantine/audit   ``trueup_quarantine``            ``raw_quarantine``
=================  ===============================  ==============================
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.common.destination import Destination
from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

from ingestion import conservation
from ingestion.conservation import Ledger, ResourceAudit
from ingestion.first_load import append_where_nothing_to_merge, filled_tables, restore_merge
from ingestion.quarantine import DATASET as QUARANTINE_DATASET
from ingestion.quarantine import REJECTED_TABLE, Quarantine
from trueup.settings import Paths, duckdb_memory_limit

Progress = Callable[[str], None]


def dataset_name(source: str) -> str:
    """The dataset (DuckDB schema) a source loads into: ``raw_<source>``."""
    return f"raw_{source}"


def pipeline_name(source: str) -> str:
    """The dlt pipeline of a source: ``trueup_<source>`` (its state lives under this name)."""
    return f"trueup_{source}"


# DuckDB's share of RAM while dlt loads: less than dbt's 40%, because the loading process also
# holds what the extract left behind (~5 GiB at 10M order lines), and the two together crossed
# 12 GiB loading EDI. A load streams files into tables and merges on keys; it needs no more.
LOAD_MEMORY_SHARE = 0.25


# Warehouses this process holds open (warehouse_held_open), by file: loads reuse the connection.
_HELD: dict[str, Any] = {}


def _destination_name() -> str:
    return os.environ.get("TRUEUP_DESTINATION") or dlt.config.get("trueup.destination") or "duckdb"


def _default_duckdb() -> bool:
    """Whether the warehouse is the default DuckDB file (no other destination configured)."""
    return _destination_name() == "duckdb" and not dlt.secrets.get("destination.duckdb.credentials")


@contextlib.contextmanager
def warehouse_held_open(paths: Paths) -> Iterator[Any]:
    """Hold the DuckDB warehouse open in this process while several sources load into it.

    On its own, dlt opens the file for each stage of a load and closes it afterwards, and every
    close checkpoints: a dozen opens and checkpoints per source, plus the audit's. Held open,
    a no-new-data ingest of six sources at 1M order lines took 5 s instead of 17. One
    checkpoint happens when the hold ends.

    Yields:
        The connection, or None when the destination is not the default DuckDB file. Read
        through it while held: DuckDB refuses a second connection to the file in this process.
    """
    if not _default_duckdb():
        yield None
        return
    import duckdb

    key = str(paths.warehouse)
    if key in _HELD:  # held already, by a caller up the stack
        yield _HELD[key]
        return
    paths.warehouse.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(key)
    try:
        for name, value in _load_settings().items():
            con.execute(f"set {name} = ?", [value])
        _HELD[key] = con
        yield con
    finally:
        _HELD.pop(key, None)
        con.close()


def _load_settings() -> dict[str, Any]:
    # No raw table has a meaningful row order (staging orders or aggregates everything), and
    # without the guarantee DuckDB copies staging files and merges on every core (~10% off the
    # load phase).
    return {
        "preserve_insertion_order": False,
        "memory_limit": duckdb_memory_limit(share=LOAD_MEMORY_SHARE),
    }


def destination(paths: Paths | None = None) -> Destination | str:
    """The warehouse every pipeline loads into.

    ``TRUEUP_DESTINATION`` (or dlt config ``trueup.destination``) names a dlt destination,
    default ``duckdb``. Its credentials come from dlt config as usual
    (``DESTINATION__POSTGRES__CREDENTIALS``...); for DuckDB without configured credentials the
    file is ``Paths.warehouse``.

    Args:
        paths: Data-directory layout; defaults to ``$TRUEUP_DATA_DIR``.

    Returns:
        A destination instance, or a destination name dlt resolves from its config.
    """
    if _default_duckdb():
        paths = paths or Paths.from_env()
        held = _HELD.get(str(paths.warehouse))
        if held is not None:
            return dlt.destinations.duckdb(credentials=held)
        creds = DuckDbCredentials(str(paths.warehouse))
        # dlt applies these with SET after connecting, not as connect options, so they never
        # clash with the configuration of another connection to the file.
        creds.global_config = _load_settings()
        return dlt.destinations.duckdb(credentials=creds)
    return _destination_name()


def make_pipeline(source: str, paths: Paths | None = None, *, dataset: str | None = None):
    """Create (or reopen) the dlt pipeline of one source.

    Args:
        source: Source name; pipeline ``trueup_<source>``.
        paths: Data-directory layout; defaults to ``$TRUEUP_DATA_DIR``.
        dataset: Dataset override; default ``raw_<source>``.

    Returns:
        The ``dlt.Pipeline``; its working state lives in ``Paths.dlt_pipelines``.
    """
    paths = paths or Paths.from_env()
    # Arrow tables load without dlt's load id unless asked: with it, every raw row says which
    # load wrote (or last merged) it, so controls validate only the newest load.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    return dlt.pipeline(
        pipeline_name=pipeline_name(source),
        destination=destination(paths),
        dataset_name=dataset or dataset_name(source),
        pipelines_dir=str(paths.dlt_pipelines),
    )


@dataclass
class IngestRun:
    """What a source's resources report to the framework while they read.

    Sources receive one per run from :func:`run_ingest` and call, per resource:
    :meth:`read` for every record read (the independent input count), :meth:`reject` for every
    record quarantined, :meth:`skip_duplicates` for records knowingly skipped as already loaded,
    and :meth:`tables` when a resource's rows land in tables not named after it.
    """

    source: str
    progress: Progress | None = None
    quarantine: Quarantine = field(init=False)
    ledger: Ledger = field(default_factory=Ledger)
    _last_note: float = 0.0

    def __post_init__(self) -> None:
        self.quarantine = Quarantine(self.source)

    def read(self, resource: str, n: int = 1) -> None:
        """Count ``n`` records read from the source (before any parsing or filtering)."""
        self.ledger.resource(resource).input_records += n

    def reject(
        self,
        resource: str,
        file_or_endpoint: str | None,
        locator: str | None,
        reason: str,
        raw_payload: str | bytes | None,
    ) -> None:
        """Quarantine one record; see :meth:`Quarantine.reject` for the arguments."""
        self.quarantine.reject(resource, file_or_endpoint, locator, reason, raw_payload)

    def skip_duplicates(self, resource: str, n: int) -> None:
        """Count ``n`` records skipped because they were already loaded."""
        self.ledger.resource(resource).duplicates_skipped += n

    def file_read(self, resource: str, name: str | None = None) -> None:
        """Count one file read (and report progress now and then)."""
        counts = self.ledger.resource(resource)
        counts.files_read += 1
        self.note(
            f"{self.source}.{resource}: {counts.files_read:,} files, "
            f"{counts.input_records:,} records read",
            throttle=True,
        )

    def file_skipped(self, resource: str) -> None:
        """Count one file skipped as already loaded."""
        self.ledger.resource(resource).files_skipped += 1

    def tables(self, resource: str, *tables: str) -> None:
        """Declare the destination tables holding ``resource``'s rows (default: its name)."""
        self.ledger.resource(resource).tables = tables

    def note(self, message: str, *, throttle: bool = False) -> None:
        """Report progress; throttled notes are shown at most every two seconds."""
        if self.progress is None:
            return
        now = time.monotonic()
        if throttle and now - self._last_note < 2.0:
            return
        self._last_note = now
        self.progress(message)


@dataclass
class IngestResult:
    """The outcome of one source run."""

    source: str
    load_id: str
    seconds: float
    audits: list[ResourceAudit]

    @property
    def input_records(self) -> int:
        return sum(a.input_records for a in self.audits)

    @property
    def loaded(self) -> int:
        return sum(a.loaded for a in self.audits)

    @property
    def quarantined(self) -> int:
        return sum(a.quarantined for a in self.audits)

    @property
    def duplicates_skipped(self) -> int:
        return sum(a.duplicates_skipped for a in self.audits)

    def audit(self, resource: str) -> ResourceAudit:
        """The balance of one resource (KeyError if it read nothing)."""
        for audit in self.audits:
            if audit.resource == resource:
                return audit
        raise KeyError(resource)


Builder = Callable[[IngestRun], Any]


def run_ingest(
    source: str,
    build: Builder,
    *,
    paths: Paths | None = None,
    progress: Progress | None = None,
    check: bool = True,
    tamper: Callable[[dict[str, int]], dict[str, int]] | None = None,
) -> IngestResult:
    """Load one source: extract, normalize, load, record quarantine and audit, check.

    The same steps :mod:`ingestion.parallel` runs split over processes:
    :func:`before_extract`, :func:`extract_and_normalize` (touches no warehouse),
    :func:`load_and_record`.

    Args:
        source: Source name (pipeline ``trueup_<source>``, dataset ``raw_<source>``).
        build: Returns the dlt source, resource or list of resources to load, given the run
            context the resources report counts and rejects to.
        paths: Data-directory layout; defaults to ``$TRUEUP_DATA_DIR``.
        progress: Called with human-readable progress lines.
        check: Raise :class:`~ingestion.conservation.ConservationError` when counts differ.
        tamper: Test hook altering the loaded row counts before the audit, to prove the check
            catches a lost record.

    Returns:
        Per-resource counts, the load id and the elapsed seconds.

    Raises:
        ConservationError: When ``check`` and a resource's counts do not balance (after the
            audit has been written).
    """
    paths = paths or Paths.from_env()
    filled = before_extract(source, paths, progress)
    extracted = extract_and_normalize(source, build, paths=paths, progress=progress, filled=filled)
    return load_and_record(extracted, paths=paths, progress=progress, check=check, tamper=tamper)


@dataclass
class Extracted:
    """A source extracted and normalized into a load package on disk, not loaded yet.

    Picklable: :mod:`ingestion.parallel` extracts in a worker process and loads in the parent.
    """

    source: str
    run: IngestRun  # counts and quarantine (its progress callback is dropped)
    load_id: str
    row_counts: dict[str, int]  # rows normalized per destination table
    appended: list[str]  # merge tables switched to append for this load (first_load)
    started_at: datetime
    seconds: float  # extract + normalize


def before_extract(source: str, paths: Paths, progress: Progress | None = None) -> set[str]:
    """What must touch the warehouse before a source is extracted; returns its filled tables.

    Finishes a load a crashed run left pending (so its rows are not counted as the next run's),
    and lists the source's tables that already hold rows (the first-load switch needs it, and
    an extract in another process must not open the warehouse: DuckDB has one writer).
    """
    pipeline = make_pipeline(source, paths)
    if pipeline.has_pending_data:
        if progress:
            progress(f"{source}: finishing a pending load from an earlier run")
        pipeline.normalize()
        pipeline.load()
    return filled_tables(pipeline)


def extract_and_normalize(
    source: str,
    build: Builder,
    *,
    paths: Paths,
    progress: Progress | None = None,
    filled: set[str] | None = None,
) -> Extracted:
    """Extract and normalize one source into a load package; the warehouse is not opened
    when ``filled`` (the tables holding rows, from :func:`before_extract`) is given."""
    started_at = datetime.now(UTC)
    t0 = time.perf_counter()
    run = IngestRun(source, progress)
    pipeline = make_pipeline(source, paths)
    run.note(f"{source}: extracting")
    extract_info = pipeline.extract(build(run))
    appended = append_where_nothing_to_merge(pipeline, filled)  # gives them back if it fails
    try:
        run.note(f"{source}: normalizing")
        normalize_info = pipeline.normalize()
    except BaseException:
        restore_merge(pipeline, appended)
        raise
    load_id = extract_info.loads_ids[-1] if extract_info.loads_ids else None
    run.progress = None
    return Extracted(
        source=source,
        run=run,
        load_id=load_id or f"noop-{started_at:%Y%m%dT%H%M%S%f}",
        row_counts=dict(normalize_info.row_counts) if normalize_info else {},
        appended=appended,
        started_at=started_at,
        seconds=time.perf_counter() - t0,
    )


def load_and_record(
    extracted: Extracted,
    *,
    paths: Paths,
    progress: Progress | None = None,
    check: bool = True,
    tamper: Callable[[dict[str, int]], dict[str, int]] | None = None,
) -> IngestResult:
    """Load an extracted package, write quarantine and audit, check conservation.

    Args:
        extracted: What :func:`extract_and_normalize` left (in this process or another).
        paths: Data-directory layout.
        progress: Called with human-readable progress lines.
        check: Raise :class:`~ingestion.conservation.ConservationError` when counts differ.
        tamper: Test hook altering the loaded row counts before the audit.

    Returns:
        Per-resource counts, the load id and the seconds from extract start to now.
    """
    source, run = extracted.source, extracted.run
    run.progress = progress
    t0 = time.perf_counter()
    # Reopened from disk: the package, state and schema the extract left are the pipeline's.
    pipeline = make_pipeline(source, paths)
    try:
        run.note(f"{source}: loading")
        pipeline.load()
    finally:
        restore_merge(pipeline, extracted.appended)

    loaded_rows = dict(extracted.row_counts)
    if tamper:
        loaded_rows = tamper(loaded_rows)
    naming = pipeline.default_schema.naming if pipeline.default_schema_name else None
    for counts in run.ledger.counts.values():
        if naming and counts.tables:
            counts.tables = tuple(naming.normalize_table_identifier(t) for t in counts.tables)
    quarantined = dict(run.quarantine._per_resource)
    audits = run.ledger.audit(source, _normalized(loaded_rows, run, pipeline), quarantined)
    finished_at = datetime.now(UTC)
    _record(paths, run.quarantine, audits, extracted.load_id, extracted.started_at, finished_at)

    seconds = extracted.seconds + time.perf_counter() - t0
    result = IngestResult(source, extracted.load_id, seconds, audits)
    run.note(
        f"{source}: loaded {result.loaded:,}, quarantined {result.quarantined:,}, "
        f"skipped {result.duplicates_skipped:,} in {result.seconds:.1f} s"
    )
    if check:
        conservation.check(source, audits)
    return result


def _normalized(loaded_rows: dict[str, int], run: IngestRun, pipeline: Any) -> dict[str, int]:
    """Loaded counts keyed so a resource named like its table finds its rows."""
    if not pipeline.default_schema_name:
        return loaded_rows
    naming = pipeline.default_schema.naming
    by_resource = dict(loaded_rows)
    for name, counts in run.ledger.counts.items():
        table = naming.normalize_table_identifier(name)
        if not counts.tables and table != name and table in loaded_rows:
            by_resource[name] = loaded_rows[table]
    return by_resource


def _record(
    paths: Paths,
    quarantine: Quarantine,
    audits: list[ResourceAudit],
    load_id: str,
    started_at: datetime,
    finished_at: datetime,
) -> None:
    """Write the run's rejected records and balances to ``raw_quarantine`` (append-only)."""
    resources = [
        dlt.resource(
            conservation.audit_table(audits, load_id, started_at, finished_at),
            name=conservation.AUDIT_TABLE,
            write_disposition="append",
        )
    ]
    # Written even when empty, so the table exists for downstream models from the first run.
    resources.append(
        dlt.resource(quarantine.to_arrow(load_id), name=REJECTED_TABLE, write_disposition="append")
    )
    make_pipeline("quarantine", paths, dataset=QUARANTINE_DATASET).run(resources)
