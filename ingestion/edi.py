"""X12 EDI files → ``raw_edi``: documents, envelopes and segments, each set loaded once.

Reads ``edi/inbound/<partner>/*.x12`` and ``edi/outbound/<partner>/*.x12`` (see
docs/simulated-company.md) with dlt's ``filesystem`` listing, parses every new or changed file
with :mod:`trueup.x12` and yields one pyarrow table per destination table and batch of files.
Every row carries ``direction`` (``inbound``/``outbound``, the first folder) and ``partner``
(the folder below it).

Tables and keys (all ``merge``; "set key" = ``isa_sender_id, isa_receiver_id,
isa_control_number, gs_control_number, st_control_number``):

================================  ==============================================================
table                             primary key
================================  ==============================================================
header tables (one row per set):  set key
``x12_850_headers``,
``x12_855_headers``,
``x12_856_shipments``,
``x12_810_headers``,
``x12_820_payments``,
``x12_940_orders``,
``x12_945_shipments``,
``x12_846_headers``,
``x12_180_headers``,
``x12_997_acks``
every other document table        set key + ``row_index`` (0-based position of the row among its
(``_lines``, ``_hl``, ``_items``,  set's rows of that table: mappers give no line number that is
``_allowances_charges`` ...)      present and unique in every table)
``x12_transactions``              set key: one row per set *loaded* (its documents are loaded),
                                  with the set's segments verbatim (``segments``, each one
                                  followed by the interchange's segment terminator) for audit
``x12_interchanges``              ``source_file, byte_start`` (merge key ``source_file``): one
                                  row per interchange *received*, whatever happened to it
================================  ==============================================================

What happens to an interchange (``x12_interchanges.status``):

- ``new``: its accepted sets are loaded; its key (sender and receiver qualifier and ID, ISA13)
  and the SHA-256 of its exact bytes are kept in the resource's dlt state, with its file;
- ``retransmission``: same key, same bytes as one loaded before (also inside another file or
  the same run): recorded, its sets are skipped (``duplicates_skipped``), nothing doubles;
- ``control_number_reuse``: same key, different bytes: recorded, every set quarantined with a
  reason naming the file the key was first received in; its documents are not loaded;
- ``rejected_interchange``: the envelope is unusable (see the rejection policy in
  ``trueup.x12.envelope``); every set quarantined. Such an interchange does not claim its key,
  so a corrected resend with the same ISA13 is ``new``.

Quarantine and conservation: the unit counted is the **transaction set** (ledger resource
``x12_transaction_sets``, declared table ``x12_transactions``)::

    sets found + envelope units holding no set == sets loaded + quarantined + skipped

Every set that is not loaded and not a retransmission gets one row in
``raw_quarantine.rejected_records``: the reason of the unit that rejected it (set, group,
interchange, or control-number reuse), a locator with ISA13/GS06/ST02, segment index and byte
offset, and its raw text (preceded by its ISA and GS when an envelope rejected it). A rejected
unit that holds no set (a file that is not X12 at all, stray text outside envelopes, an
unreadable ISA, an empty group) is one record on its own, and is counted as one input record.

Files: a file already read (same relative path, size and modification time, or same path and
content) is not read again; the record lives in the resource state, which dlt stores in the
destination. Identical content under a new name *is* parsed, so its interchanges are recorded as
retransmissions.

Speed: parsing and mapping (:mod:`ingestion.edi_map`) run in a pool of spawned worker processes
(``sources.edi.workers``, default one per CPU) on chunks of files, and return arrow tables; this
process lists and hashes files, settles each interchange against the dlt state in file order,
slices away the rows of interchanges it does not load, and hands the tables to dlt. Chunks are
cut by file order and size only, so pooled and serial runs load the same rows in the same order.
Small runs (under ``POOL_MIN_BYTES`` to parse) stay in-process. The merged tables are declared
``deduplicated``: the state above already guarantees a set key once per load, so dlt skips its
per-key ``ROW_NUMBER()`` pass over the staging table.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources.filesystem import filesystem

from ingestion.config import setting, setting_list, source_dir
from ingestion.edi_map import (
    HEADER_TABLES,
    SET_KEY,
    Chunk,
    FileFacts,
    column_type,
    location,
    map_chunk,
    reuse_reject,
    rows_to_arrow,
)
from ingestion.files import TableSpec
from ingestion.pipeline import IngestRun
from trueup.settings import Paths
from trueup.x12 import DOCUMENT_TABLES, classify, parse

__all__ = ["SETS", "TABLES", "build_source", "column_type", "location", "raw_edi"]

SOURCE = "edi"
# The conservation ledger counts transaction sets under this name; quarantine rows use it too.
SETS = "x12_transaction_sets"
DEFAULT_FILE_GLOBS: tuple[str, ...] = ("**/*.x12", "**/*.edi", "**/*.txt")
# A chunk (one task for a worker, one yield per table) closes at this many files or bytes.
DEFAULT_FILES_PER_BATCH = 200
CHUNK_BYTES = 2_000_000
# Below this many bytes to parse, starting worker processes costs more than it saves.
POOL_MIN_BYTES = 8_000_000
# Each worker holds a few chunks of rows; past a handful, dlt in this process is the bottleneck.
MAX_WORKERS = 8
# Rows per load file (unless sources.edi.data_writer.file_max_items says otherwise).
FILE_MAX_ROWS = 500_000
# The source keys sets by ISA13/GS06/ST02 and loads each once per run (file and interchange
# state): declared deduplicated, dlt's merge skips its ROW_NUMBER() pass over staging.
MERGE = {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}


def _table_specs() -> dict[str, TableSpec]:
    specs = {
        name: TableSpec(name, SET_KEY if name in HEADER_TABLES else (*SET_KEY, "row_index"), MERGE)
        for name in DOCUMENT_TABLES
    }
    specs["x12_transactions"] = TableSpec("x12_transactions", SET_KEY, MERGE)
    specs["x12_interchanges"] = TableSpec(
        "x12_interchanges", ("source_file", "byte_start"), MERGE, merge_key=("source_file",)
    )
    return specs


TABLES: dict[str, TableSpec] = _table_specs()


# ---------------------------------------------------------------------------------------------
# Source


def default_workers() -> int:
    """One mapping process per CPU this process may run on, at most ``MAX_WORKERS``."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def build_source(
    run: IngestRun,
    paths: Paths | None = None,
    *,
    bucket_url: str | None = None,
    file_globs: Sequence[str] | None = None,
    files_per_batch: int | None = None,
    workers: int | None = None,
) -> Any:
    """The EDI source for one run (the registry's entry point for ``trueup ingest --source edi``).

    Args:
        run: Run context receiving counts and rejects.
        paths: Data-directory layout (default ``$TRUEUP_DATA_DIR``).
        bucket_url: Folder holding ``inbound/`` and ``outbound/``; default from
            ``TRUEUP_EDI_DIR`` / ``sources.edi.bucket_url`` (``SOURCES__EDI__BUCKET_URL``) /
            ``$TRUEUP_DATA_DIR/sources/edi``.
        file_globs: Files to read relative to ``bucket_url``; default from
            ``TRUEUP_EDI_FILE_GLOBS`` / ``sources.edi.file_globs`` (list or comma-separated) /
            ``**/*.x12, **/*.edi, **/*.txt``.
        files_per_batch: Most files per chunk (one worker task, one yielded table per table);
            default from ``sources.edi.files_per_batch`` or 200. A chunk also closes at
            ``CHUNK_BYTES``.
        workers: Processes parsing and mapping files; default from ``TRUEUP_EDI_WORKERS`` /
            ``sources.edi.workers`` / the CPUs available (at most 8). 1 maps in this process.

    Returns:
        The ``raw_edi`` dlt source.
    """
    root = bucket_url or source_dir(SOURCE, env="TRUEUP_EDI_DIR", subdir="edi", paths=paths)
    globs = file_globs or setting_list(SOURCE, "file_globs", env="TRUEUP_EDI_FILE_GLOBS")
    per_batch = files_per_batch or int(
        setting(SOURCE, "files_per_batch", default=DEFAULT_FILES_PER_BATCH)
    )
    pool = workers or int(
        setting(SOURCE, "workers", env="TRUEUP_EDI_WORKERS", default=default_workers())
    )
    if dlt.config.get(f"sources.{SOURCE}.data_writer.file_max_items") is None:
        # Load files of bounded size: a large table then loads as several copy jobs running
        # side by side, not one long copy the whole load waits for.
        dlt.config[f"sources.{SOURCE}.data_writer.file_max_items"] = FILE_MAX_ROWS
    return raw_edi(
        run=run,
        edi_bucket_url=root,
        edi_file_globs=list(globs or DEFAULT_FILE_GLOBS),
        edi_files_per_batch=per_batch,
        edi_workers=pool,
    )


# Arguments are passed explicitly by build_source and named so that dlt's config injection can
# never fill them from an unrelated variable (an argument called `path` picked up $PATH).
@dlt.source(name="raw_edi", section=SOURCE)
def raw_edi(
    run: Any = None,
    edi_bucket_url: str = dlt.config.value,
    edi_file_globs: list[str] | None = None,
    edi_files_per_batch: int = DEFAULT_FILES_PER_BATCH,
    edi_workers: int = 1,
) -> Any:
    """X12 files as ``x12_*`` tables; see the module docstring for tables, keys and statuses.

    Args:
        run: The :class:`~ingestion.pipeline.IngestRun` receiving counts and quarantined
            records. Without one (a bare ``pipeline.run(raw_edi(...))``) counts and rejects are
            discarded: use :func:`ingestion.registry.ingest` to keep them.
        edi_bucket_url: Folder or fsspec URL with the EDI files.
        edi_file_globs: Globs of the files to read, relative to ``edi_bucket_url``.
        edi_files_per_batch: Most files per chunk.
        edi_workers: Worker processes mapping files (1: in this process).

    Returns:
        The single ``x12_files`` resource, which writes every ``x12_*`` table.
    """
    return x12_files(
        run if run is not None else IngestRun(SOURCE),
        edi_bucket_url,
        list(edi_file_globs or DEFAULT_FILE_GLOBS),
        edi_files_per_batch,
        edi_workers,
    )


def x12_files(
    run: IngestRun,
    bucket_url: str,
    file_globs: list[str],
    files_per_batch: int,
    workers: int = 1,
) -> Any:
    """The resource reading new X12 files and yielding their tables as arrow.

    Args:
        run: Run context.
        bucket_url: Folder or fsspec URL.
        file_globs: Globs of the files to read.
        files_per_batch: Most files per chunk.
        workers: Worker processes mapping files (1: in this process).

    Returns:
        A dlt resource named ``x12_files``.
    """
    run.tables(SETS, "x12_transactions")

    @dlt.resource(name="x12_files", write_disposition="merge")
    def read_files() -> Iterator[Any]:
        state = dlt.current.resource_state()
        known_files: dict[str, dict[str, Any]] = state.setdefault("files", {})
        seen: dict[str, dict[str, str]] = state.setdefault("interchanges", {})
        hinted: set[str] = set()
        todo = []
        for item in _list(bucket_url, file_globs):
            stat = {"size": item["size_in_bytes"], "mtime": str(item["modification_date"])}
            known = known_files.get(item["relative_path"])
            if known and known["size"] == stat["size"] and known["mtime"] == stat["mtime"]:
                _skip_file(run, known["units"])
            else:
                todo.append((item, stat))
        pooled = workers > 1 and sum(s["size"] for _, s in todo) >= POOL_MIN_BYTES
        chunks = _chunks(run, todo, known_files, files_per_batch)
        for files, chunk in _mapped(chunks, workers if pooled else 1):
            keep: list[bool] = []
            ic_rows: list[dict[str, Any]] = []
            ic_runs: list[list[Any]] = []
            for (path, stat, digest, data), facts in zip(files, chunk.files, strict=True):
                units, rows, loaded = _settle(run, path, data, facts, seen)
                known_files[path] = {**stat, "sha256": digest, "units": units}
                run.file_read(SETS, path)
                keep.extend(loaded)
                ic_rows.extend(rows)
                ic_runs.append([len(rows), *location(path)])
            for name, table in chunk.tables.items():
                kept = _keep(table, chunk.offsets[name], keep)
                if kept.num_rows:
                    yield _mark(name, kept, hinted)
            if ic_rows:
                yield _mark(
                    "x12_interchanges", rows_to_arrow("x12_interchanges", ic_rows, ic_runs), hinted
                )

    return read_files()


# A file to map: relative path, stat record, SHA-256, bytes.
_File = tuple[str, dict[str, Any], str, bytes]


def _chunks(
    run: IngestRun,
    todo: list[tuple[Any, dict[str, Any]]],
    known_files: dict[str, dict[str, Any]],
    files_per_batch: int,
) -> Iterator[list[_File]]:
    """Read the new or changed files in order and group them into chunks to map."""
    chunk: list[_File] = []
    size = 0
    for item, stat in todo:
        path = item["relative_path"]
        data = item.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        known = known_files.get(path)
        if known and known["sha256"] == digest:  # touched, not changed
            _skip_file(run, known["units"])
            known_files[path] = {**known, **stat}
            continue
        chunk.append((path, stat, digest, data))
        size += len(data)
        if len(chunk) >= files_per_batch or size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _mapped(chunks: Iterator[list[_File]], workers: int) -> Iterator[tuple[list[_File], Chunk]]:
    """Map chunks in order: in this process, or in a pool keeping a few chunks in flight.

    A pool that breaks (a worker killed, or a caller's script that spawns again on import for
    want of an ``if __name__ == "__main__"`` guard) costs speed, not the run: the chunks it
    had not returned are mapped here.
    """
    if workers <= 1:
        for files in chunks:
            yield files, map_chunk(_contents(files))
        return
    # Spawned, not forked: this process holds dlt's and arrow's threads (and may hold DuckDB).
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    pending: deque[tuple[list[_File], Future[Chunk] | None]] = deque()
    broken = False

    def result(files: list[_File], future: Future[Chunk] | None) -> Chunk:
        nonlocal broken
        if future is not None and not broken:
            try:
                return future.result()
            except BrokenProcessPool:
                broken = True
        return map_chunk(_contents(files))

    try:
        for files in chunks:
            future = None
            if not broken:
                try:
                    future = pool.submit(map_chunk, _contents(files))
                except BrokenProcessPool:
                    broken = True
            pending.append((files, future))
            if len(pending) > 2 * workers:
                done, future = pending.popleft()
                yield done, result(done, future)
        while pending:
            done, future = pending.popleft()
            yield done, result(done, future)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _contents(files: list[_File]) -> list[tuple[str, bytes]]:
    return [(path, data) for path, _, _, data in files]


def _skip_file(run: IngestRun, units: int) -> None:
    """An unchanged file: its sets count as read and skipped, so the ledger stays comparable."""
    run.read(SETS, units)
    run.skip_duplicates(SETS, units)
    run.file_skipped(SETS)


def _list(bucket_url: str, file_globs: list[str]) -> Iterator[Any]:
    """Every file matching any glob once, oldest first (the first received is the original)."""
    items: dict[str, Any] = {}
    for glob in file_globs:
        # Iterating a resource outside a pipeline yields single items, not pages.
        for item in filesystem(bucket_url=bucket_url, file_glob=glob):
            items.setdefault(item["relative_path"], item)
    yield from sorted(items.values(), key=lambda i: (i["modification_date"], i["relative_path"]))


# ---------------------------------------------------------------------------------------------
# One file's fate


def _settle(
    run: IngestRun,
    path: str,
    data: bytes,
    facts: FileFacts,
    seen: dict[str, dict[str, str]],
) -> tuple[int, list[dict[str, Any]], list[bool]]:
    """Decide each interchange's and set's fate, quarantine and count.

    Args:
        run: Run context (counts under :data:`SETS`, quarantine).
        path: File path relative to the source root.
        data: The file's bytes (parsed again only to quote sets of a reused control number).
        facts: What mapping the file found.
        seen: Interchange key → ``{"sha256", "file"}`` of every interchange loaded so far; new
            interchanges are added.

    Returns:
        The file's input units (sets plus rejected units holding no set), its
        ``x12_interchanges`` rows, and per interchange whether its mapped rows are loaded.
    """
    units = 0
    if facts.file_reject is not None:
        run.reject(SETS, path, *facts.file_reject)
        units += 1
    statuses = _classify(facts, seen)
    rows: list[dict[str, Any]] = []
    loaded: list[bool] = []
    reparsed = None
    for i, ic in enumerate(facts.interchanges):
        status, original, reread = statuses.get(i, ("rejected_interchange", None, False))
        counts = {"found": 0, "loaded": 0, "quarantined": 0, "skipped": 0}
        for kind, reject, g, t in ic.items:
            if kind == "unit":
                run.reject(SETS, path, *reject)
                units += 1
                continue
            counts["found"] += 1
            if status == "retransmission" or reread:
                # Already loaded (or quarantined) when first received: counted, not doubled.
                counts["skipped"] += 1
                run.skip_duplicates(SETS, 1)
            elif reject is not None:
                counts["quarantined"] += 1
                run.reject(SETS, path, *reject)
            elif status == "control_number_reuse":
                counts["quarantined"] += 1
                # Rare: the set's text is quoted from a second, envelope-only parse.
                reparsed = reparsed or parse(data, path, map_documents=False)
                pic = reparsed.interchanges[i]
                gr = pic.groups[g]
                run.reject(SETS, path, *reuse_reject(pic, gr, gr.transactions[t], original))
            else:
                counts["loaded"] += 1
        if ic.empty_reject is not None:
            run.reject(SETS, path, *ic.empty_reject)
            units += 1
        units += counts["found"]
        loaded.append(status == "new" and not reread)
        row = dict(ic.row)
        row["status"] = status
        row["original_file"] = original if status != "new" else None
        for name, n in counts.items():
            row[f"sets_{name}"] = n
        rows.append(row)
    run.read(SETS, units)
    return units, rows, loaded


def _classify(
    facts: FileFacts, seen: dict[str, dict[str, str]]
) -> dict[int, tuple[str, str | None, bool]]:
    """Status, original file and "already loaded from this very file" per accepted interchange.

    New interchanges are recorded in ``seen``, in file order, so a duplicate inside the same
    file or run is caught too. Rejected interchanges are left out: they do not claim their
    control number. A changed file read again holds interchanges first received from that same
    path: they keep status ``new`` and are not loaded twice.
    """
    accepted = [(i, ic) for i, ic in enumerate(facts.interchanges) if not ic.rejected]
    before = {ic.key: seen[ic.key] for _, ic in accepted if ic.key in seen}
    hashes = {key: value["sha256"] for key, value in before.items()}
    out: dict[int, tuple[str, str | None, bool]] = {}
    for i, ic in accepted:
        status = classify(ic.key, ic.raw_sha256, hashes)  # type: ignore[arg-type]
        hashes.setdefault(ic.key, ic.raw_sha256)
        if status == "new":
            seen[ic.key] = {"sha256": ic.raw_sha256, "file": facts.path}
            out[i] = ("new", None, False)
        elif status == "retransmission" and before.get(ic.key, {}).get("file") == facts.path:
            out[i] = ("new", None, True)
        else:
            out[i] = (status, seen[ic.key]["file"], False)
    return out


# ---------------------------------------------------------------------------------------------
# Tables → dlt


def _keep(table: pa.Table, offsets: list[int], keep: list[bool]) -> pa.Table:
    """The rows of the interchanges to load (``offsets[i]`` is where interchange ``i`` starts)."""
    if all(keep):
        return table
    ranges: list[list[int]] = []
    for i, wanted in enumerate(keep):
        start, end = offsets[i], offsets[i + 1]
        if not wanted or start == end:
            continue
        if ranges and ranges[-1][1] == start:
            ranges[-1][1] = end
        else:
            ranges.append([start, end])
    if not ranges:
        return table.slice(0, 0)
    return pa.concat_tables([table.slice(a, b - a) for a, b in ranges])


def _mark(name: str, table: pa.Table, hinted: set[str]) -> Any:
    """Route ``table`` to its destination table; full hints only the first time (cheaper)."""
    if name not in hinted:
        hinted.add(name)
        # A table variant: without it the hints replace the whole resource's, and the next
        # table would inherit this one's primary key.
        hints = dlt.mark.make_hints(**TABLES[name].hints())
        return dlt.mark.with_hints(table, hints, create_table_variant=True)
    return dlt.mark.with_table_name(table, name)
