"""Several sources at once: extracts in worker processes, loads one at a time in this one.

A source's extract and normalize (reading files, APIs or the ERP database, parsing, writing the
load package) touch no warehouse, and most of it holds Python's GIL: two sources extracted in two
processes use both cores, where threads in one process would take turns. DuckDB has one writer,
so loads stay serial, here, in the order the extracts finish, overlapping the extracts still
running. Each worker process extracts one source and exits, so the memory an extract leaves
behind (gigabytes for EDI at 10M order lines) goes back to the system before the next one.

Everything that opens the warehouse before an extract (finishing a crashed run's pending load,
listing the tables that already hold rows) happens here first, for every source, while no
worker runs yet.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from ingestion.pipeline import (
    Extracted,
    IngestResult,
    Progress,
    before_extract,
    extract_and_normalize,
    load_and_record,
    warehouse_held_open,
)
from trueup.settings import Paths

# Larger first, so the long extracts start at once and the short ones fill the gaps.
EXTRACT_ORDER = ("edi", "erp", "carrier", "wms", "shopify", "amazon")
WORKERS_ENV = "TRUEUP_INGEST_WORKERS"
# Sources read from an API server, extracted one at a time: a simulated server maps its whole
# store (4-6 GiB of page cache at 10M order lines, counted in the run's RSS), and a real one
# rate-limits a second client of the same account anyway.
API_SOURCES = frozenset({"wms", "shopify"})
# Imported once by the fork server rather than by every worker.
PRELOAD = ["ingestion.pipeline", "ingestion.files", "ingestion.json_pages", "ingestion.sql_arrow"]


@dataclass
class SourceOutcome:
    """One source of :func:`ingest_sources`: its result, or the error that stopped it."""

    source: str
    result: IngestResult | None = None
    error: BaseException | None = None
    details: Any = None  # what the caller's ``describe`` returned for it


# Reads what the caller wants to know about a loaded source, through the held connection.
Describe = Callable[[IngestResult, Any], Any]


def default_workers() -> int:
    """Extract processes: ``TRUEUP_INGEST_WORKERS``, default one per core, at most two.

    Two workers and the loading process share two cores well; a third extract would only
    compete for them and add its memory (an extract at 10M order lines holds up to ~5 GiB).
    """
    configured = os.environ.get(WORKERS_ENV)
    if configured:
        workers = int(configured)
        if workers < 0:
            raise ValueError(f"{WORKERS_ENV} must be 0 or more, got {configured!r}")
        return workers
    return max(1, min(2, os.cpu_count() or 1))


def ingest_sources(
    names: Sequence[str],
    *,
    paths: Paths | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    check: bool = True,
    describe: Describe | None = None,
) -> Iterator[SourceOutcome]:
    """Ingest ``names``, yielding each source's outcome as soon as it is loaded.

    One source's failure (an unreachable API, a conservation error) does not stop the others.
    The warehouse is held open in this process throughout (``warehouse_held_open``): a caller
    reads it between outcomes through ``describe``, not a connection of its own.

    Args:
        names: Registered source names.
        paths: Data-directory layout; defaults to ``$TRUEUP_DATA_DIR``.
        progress: Called with progress lines, from this process's threads only.
        workers: Extract processes (default :func:`default_workers`); 0 extracts in this
            process, one source after another, as :func:`ingestion.registry.ingest` does.
        check: Fail a source whose counts do not balance (its outcome's ``error`` is the
            ``ConservationError``, raised after its audit was written).
        describe: Called with each loaded source's result and the held connection (None for
            another destination); its return value is the outcome's ``details``.
    """
    paths = paths or Paths.from_env()
    workers = default_workers() if workers is None else workers
    ordered = sorted(names, key=lambda n: EXTRACT_ORDER.index(n) if n in EXTRACT_ORDER else 99)
    with warehouse_held_open(paths) as con:
        filled: dict[str, set[str]] = {}
        for name in ordered:
            try:
                filled[name] = before_extract(name, paths, progress)
            except Exception as exc:
                yield SourceOutcome(name, error=exc)
        ordered = [name for name in ordered if name in filled]
        if workers == 0 or len(ordered) <= 1:
            outcomes = (_in_process(n, paths, progress, filled[n], check) for n in ordered)
        else:
            outcomes = _in_workers(ordered, paths, progress, filled, workers, check)
        for outcome in outcomes:
            if describe is not None and outcome.result is not None:
                outcome.details = describe(outcome.result, con)
            yield outcome


def _in_process(
    name: str, paths: Paths, progress: Progress | None, filled: set[str], check: bool
) -> SourceOutcome:
    try:
        extracted = _extract(name, paths, progress, filled)
        return SourceOutcome(
            name, load_and_record(extracted, paths=paths, progress=progress, check=check)
        )
    except Exception as exc:
        return SourceOutcome(name, error=exc)


def _extract(name: str, paths: Paths, progress: Progress | None, filled: set[str]) -> Extracted:
    """Extract and normalize one registered source, in this process or a worker."""
    from ingestion.http_client import stop_simulators
    from ingestion.registry import builder

    build = builder(name)
    try:
        return extract_and_normalize(
            name, lambda run: build(run, paths), paths=paths, progress=progress, filled=filled
        )
    finally:
        # A simulated API server started for this source stops with it (it maps its stores).
        stop_simulators()


def next_source(waiting: Sequence[str], extracting: set[str]) -> str | None:
    """The first of ``waiting`` that may start now: any, except a second API source."""
    for name in waiting:
        if not (name in API_SOURCES and extracting & API_SOURCES):
            return name
    return None


def _in_workers(
    names: list[str],
    paths: Paths,
    progress: Progress | None,
    filled: dict[str, set[str]],
    workers: int,
    check: bool,
) -> Iterator[SourceOutcome]:
    # Not fork: the parent runs threads (Dagster's, DuckDB's) that a fork would copy mid-flight.
    # A fork server is a fresh single-threaded process that imports dlt and pyarrow once; each
    # worker forks from it ready to extract, instead of spending ~2 s importing them (a day's
    # data takes about as long to extract).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    notes: Any = context.Queue()
    relay = _Relay(notes, progress)
    slots = min(workers, len(names))
    pool = ProcessPoolExecutor(
        max_workers=slots,
        mp_context=context,
        initializer=_worker_init,
        initargs=(notes,),
        max_tasks_per_child=1,
    )
    waiting = list(names)
    pending: dict[Future, str] = {}

    def start_next() -> bool:
        """Hand a free worker the next source that may extract beside those extracting now."""
        name = next_source(waiting, set(pending.values())) if len(pending) < slots else None
        if name is None:
            return False
        waiting.remove(name)
        task = (_extract_in_worker, name, paths, filled[name], dict(os.environ))
        pending[pool.submit(*task)] = name
        return True

    try:
        while start_next():
            pass
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                name = pending.pop(future)
                while start_next():  # before this one loads: the next extract overlaps the load
                    pass
                try:
                    extracted = future.result()  # the worker's error, if it failed
                    result = load_and_record(extracted, paths=paths, progress=relay, check=check)
                except Exception as exc:
                    yield SourceOutcome(name, error=exc)
                    continue
                yield SourceOutcome(name, result)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        relay.close()


class _Relay:
    """Passes the workers' progress lines (and this process's) to ``progress``, one at a time,
    from one thread: callers such as Dagster's log are not all safe to call concurrently."""

    def __init__(self, notes: Any, progress: Progress | None) -> None:
        self.notes = notes
        self.progress = progress
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, name="ingest-progress", daemon=True)
        self.thread.start()

    def __call__(self, message: str) -> None:
        if self.progress is not None:
            with self.lock:
                self.progress(message)

    def _drain(self) -> None:
        while True:
            try:
                message = self.notes.get(timeout=0.5)
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return
            if message is None:
                return
            self(message)

    def close(self) -> None:
        self.notes.put(None)
        self.thread.join(timeout=10)
        self.notes.close()


_worker_notes: Any = None


def _worker_init(notes: Any) -> None:
    global _worker_notes
    _worker_notes = notes


def _extract_in_worker(
    name: str, paths: Paths, filled: set[str], environ: dict[str, str]
) -> Extracted:
    """Extract and normalize one source in a worker process (no warehouse is opened).

    ``environ`` is the caller's environment now: a fork server's children inherit the one it
    started with, and sources read their settings from the environment.
    """
    os.environ.clear()
    os.environ.update(environ)
    return _extract(name, paths, _worker_notes.put, filled)
