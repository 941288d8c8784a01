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
``x12_transactions``              set key: one row per set *loaded* (its documents are loaded)
``x12_segments``                  set key + ``row_index`` (segment position in the set, ST = 0)
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
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources.filesystem import filesystem

from ingestion.config import setting, setting_list, source_dir
from ingestion.files import TableSpec
from ingestion.pipeline import IngestRun
from trueup.settings import Paths
from trueup.x12 import (
    DOCUMENT_TABLES,
    Group,
    Interchange,
    ParseResult,
    Transaction,
    classify_all,
    documents,
    parse,
    rejections,
)

SOURCE = "edi"
# The conservation ledger counts transaction sets under this name; quarantine rows use it too.
SETS = "x12_transaction_sets"
DEFAULT_FILE_GLOBS: tuple[str, ...] = ("**/*.x12", "**/*.edi", "**/*.txt")
DEFAULT_FILES_PER_BATCH = 200
# Flush a batch early once this many rows wait, so a few huge files do not hold GBs of dicts.
MAX_PENDING_ROWS = 300_000

SET_KEY: tuple[str, ...] = (
    "isa_sender_id",
    "isa_receiver_id",
    "isa_control_number",
    "gs_control_number",
    "st_control_number",
)
HEADER_TABLES: frozenset[str] = frozenset(
    {
        "x12_850_headers",
        "x12_855_headers",
        "x12_856_shipments",
        "x12_810_headers",
        "x12_820_payments",
        "x12_940_orders",
        "x12_945_shipments",
        "x12_846_headers",
        "x12_180_headers",
        "x12_997_acks",
    }
)


def _table_specs() -> dict[str, TableSpec]:
    specs = {
        name: TableSpec(name, SET_KEY if name in HEADER_TABLES else (*SET_KEY, "row_index"))
        for name in DOCUMENT_TABLES
    }
    specs["x12_transactions"] = TableSpec("x12_transactions", SET_KEY)
    specs["x12_segments"] = TableSpec("x12_segments", (*SET_KEY, "row_index"))
    specs["x12_interchanges"] = TableSpec(
        "x12_interchanges", ("source_file", "byte_start"), merge_key=("source_file",)
    )
    return specs


TABLES: dict[str, TableSpec] = _table_specs()


# ---------------------------------------------------------------------------------------------
# Source


def build_source(
    run: IngestRun,
    paths: Paths | None = None,
    *,
    bucket_url: str | None = None,
    file_globs: Sequence[str] | None = None,
    files_per_batch: int | None = None,
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
        files_per_batch: Files parsed per yielded batch of arrow tables; default from
            ``sources.edi.files_per_batch`` or 200.

    Returns:
        The ``raw_edi`` dlt source.
    """
    root = bucket_url or source_dir(SOURCE, env="TRUEUP_EDI_DIR", subdir="edi", paths=paths)
    globs = file_globs or setting_list(SOURCE, "file_globs", env="TRUEUP_EDI_FILE_GLOBS")
    per_batch = files_per_batch or int(
        setting(SOURCE, "files_per_batch", default=DEFAULT_FILES_PER_BATCH)
    )
    return raw_edi(
        run=run,
        edi_bucket_url=root,
        edi_file_globs=list(globs or DEFAULT_FILE_GLOBS),
        edi_files_per_batch=per_batch,
    )


# Arguments are passed explicitly by build_source and named so that dlt's config injection can
# never fill them from an unrelated variable (an argument called `path` picked up $PATH).
@dlt.source(name="raw_edi", section=SOURCE)
def raw_edi(
    run: Any = None,
    edi_bucket_url: str = dlt.config.value,
    edi_file_globs: list[str] | None = None,
    edi_files_per_batch: int = DEFAULT_FILES_PER_BATCH,
) -> Any:
    """X12 files as ``x12_*`` tables; see the module docstring for tables, keys and statuses.

    Args:
        run: The :class:`~ingestion.pipeline.IngestRun` receiving counts and quarantined
            records. Without one (a bare ``pipeline.run(raw_edi(...))``) counts and rejects are
            discarded: use :func:`ingestion.registry.ingest` to keep them.
        edi_bucket_url: Folder or fsspec URL with the EDI files.
        edi_file_globs: Globs of the files to read, relative to ``edi_bucket_url``.
        edi_files_per_batch: Files parsed per yielded batch.

    Returns:
        The single ``x12_files`` resource, which writes every ``x12_*`` table.
    """
    return x12_files(
        run if run is not None else IngestRun(SOURCE),
        edi_bucket_url,
        list(edi_file_globs or DEFAULT_FILE_GLOBS),
        edi_files_per_batch,
    )


def x12_files(run: IngestRun, bucket_url: str, file_globs: list[str], files_per_batch: int) -> Any:
    """The resource reading new X12 files and yielding their tables as arrow.

    Args:
        run: Run context.
        bucket_url: Folder or fsspec URL.
        file_globs: Globs of the files to read.
        files_per_batch: Files per yielded batch.

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
        batch = _Batch()
        for item in _list(bucket_url, file_globs):
            path = item["relative_path"]
            stat = {"size": item["size_in_bytes"], "mtime": str(item["modification_date"])}
            known = known_files.get(path)
            if known and known["size"] == stat["size"] and known["mtime"] == stat["mtime"]:
                _skip_file(run, known["units"])
                continue
            data = item.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if known and known["sha256"] == digest:  # touched, not changed
                _skip_file(run, known["units"])
                known_files[path] = {**known, **stat}
                continue
            units = read_x12(run, path, data, seen, batch)
            known_files[path] = {**stat, "sha256": digest, "units": units}
            run.file_read(SETS, path)
            if batch.files >= files_per_batch or batch.pending_rows >= MAX_PENDING_ROWS:
                yield from batch.flush(hinted)
        yield from batch.flush(hinted)

    return read_files()


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


def location(relative_path: str) -> tuple[str | None, str | None]:
    """``(direction, partner)`` of a file from its path: ``inbound/<partner>/<file>``.

    Args:
        relative_path: Path relative to the source root, ``/``-separated.

    Returns:
        ``direction`` is ``inbound``/``outbound`` when the first folder says so, else None;
        ``partner`` is the folder after it (without a direction folder: the folder holding the
        file; None at the root).
    """
    parts = relative_path.split("/")[:-1]
    if parts and parts[0] in ("inbound", "outbound"):
        return parts[0], parts[1] if len(parts) > 1 else None
    return None, parts[-1] if parts else None


# ---------------------------------------------------------------------------------------------
# One file


def interchange_key(ic: Interchange) -> str:
    """The state key of an interchange: sender and receiver qualifier and ID, ISA13."""
    return "|".join(ic.key)


def read_x12(
    run: IngestRun,
    path: str,
    data: bytes,
    seen: dict[str, dict[str, str]],
    batch: _Batch,
) -> int:
    """Parse one file, decide each set's fate, quarantine and count, and add its rows to ``batch``.

    Args:
        run: Run context (counts under :data:`SETS`, quarantine).
        path: File path relative to the source root (``source_file`` of every row).
        data: The file's bytes.
        seen: Interchange key → ``{"sha256", "file"}`` of every interchange loaded so far; new
            interchanges are added.
        batch: Rows waiting to be yielded.

    Returns:
        The file's input units (sets plus rejected units holding no set), for skipping it later.
    """
    result = parse(data, path)
    direction, partner = location(path)
    file = _FileRows(path, direction, partner)
    units = 0
    rejected = rejections(result)
    pos = 0
    if rejected and rejected[0]["level"] == "file":
        # Text outside any envelope, or no X12 at all: one unit, holding no set.
        payload = rejected[0]["raw_payload"] if result.interchanges else data
        _reject_unit(run, path, rejected[0], payload)
        units += 1
        pos = 1
    audit = documents(result, include_segments=False)
    tx_audit = iter(audit["x12_transactions"])
    statuses = _classify(result, seen)
    for ic, ic_row in zip(result.interchanges, audit["x12_interchanges"], strict=True):
        status, original, reread = statuses.get(id(ic), ("rejected_interchange", None, False))
        counts = {"found": 0, "loaded": 0, "quarantined": 0, "skipped": 0}
        ic_rej = None
        if ic.rejected:
            ic_rej, pos = rejected[pos], pos + 1
        for gr in ic.groups:
            gr_rej = None
            if not ic.rejected and gr.rejected:
                gr_rej, pos = rejected[pos], pos + 1
            for tx in gr.transactions:
                tx_row = next(tx_audit)
                counts["found"] += 1
                tx_rej = None
                if not ic.rejected and not gr.rejected and tx.rejected:
                    tx_rej, pos = rejected[pos], pos + 1
                unit = ic_rej or gr_rej or tx_rej
                if status == "retransmission" or reread:
                    # Already loaded (or quarantined) when first received: counted, not doubled.
                    counts["skipped"] += 1
                    run.skip_duplicates(SETS, 1)
                elif unit is not None:
                    counts["quarantined"] += 1
                    _reject_set(run, path, ic, gr, tx, unit)
                elif status == "control_number_reuse":
                    counts["quarantined"] += 1
                    _reject_reuse(run, path, ic, gr, tx, original)
                else:
                    counts["loaded"] += 1
                    file.add_set(tx, tx_row)
            if gr_rej is not None and not gr.transactions:
                _reject_unit(run, path, gr_rej, gr_rej["raw_payload"])
                units += 1
        if ic_rej is not None and counts["found"] == 0:
            _reject_unit(run, path, ic_rej, ic_rej["raw_payload"])
            units += 1
        units += counts["found"]
        file.add_interchange(ic_row, status, original, counts)
    run.read(SETS, units)
    batch.add(file)
    return units


def _classify(
    result: ParseResult, seen: dict[str, dict[str, str]]
) -> dict[int, tuple[str, str | None, bool]]:
    """Status, original file and "already loaded from this very file" per accepted interchange.

    New interchanges are recorded in ``seen``. Rejected interchanges are left out: they do not
    claim their control number. A changed file read again holds interchanges first received
    from that same path: they keep status ``new`` and are not loaded twice.
    """
    accepted = [ic for ic in result.interchanges if not ic.rejected]
    before = {k: seen[k] for ic in accepted if (k := interchange_key(ic)) in seen}
    known = {
        ic.key: before[interchange_key(ic)]["sha256"]
        for ic in accepted
        if interchange_key(ic) in before
    }
    classified, _ = classify_all(accepted, known)
    out: dict[int, tuple[str, str | None, bool]] = {}
    for ic, status in classified:
        key = interchange_key(ic)
        if status == "new":
            seen[key] = {"sha256": ic.raw_sha256, "file": result.source_name}
            out[id(ic)] = ("new", None, False)
        elif status == "retransmission" and before.get(key, {}).get("file") == result.source_name:
            out[id(ic)] = ("new", None, True)
        else:
            out[id(ic)] = (status, seen[key]["file"], False)
    return out


def _envelope_text(ic: Interchange, gr: Group) -> str:
    """The ISA and GS segments around a set, shown with a set its envelope rejected."""
    term = ic.delimiters.segment if ic.delimiters else "~"
    gs_at = gr.segment_start - ic.segment_start
    isa = ic.raw_segments[0] if ic.raw_segments else ""
    gs = ic.raw_segments[gs_at] if 0 <= gs_at < len(ic.raw_segments) else ""
    return f"{isa}{term}{gs}{term}"


def _set_text(ic: Interchange, tx: Transaction) -> str:
    term = ic.delimiters.segment if ic.delimiters else "~"
    return term.join(tx.raw_segments) + term


def _locator(isa13: Any, gs06: Any, st02: Any, segment: Any, byte: Any) -> str:
    """``ISA13=… GS06=… ST02=… segment N byte B``: control numbers and position in the file."""
    parts = [
        f"{name}={value}"
        for name, value in (("ISA13", isa13), ("GS06", gs06), ("ST02", st02))
        if value is not None
    ]
    if segment is not None:
        parts.append(f"segment {segment}")
    if byte is not None:
        parts.append(f"byte {byte}")
    return " ".join(parts)


def _reject_set(
    run: IngestRun,
    path: str,
    ic: Interchange,
    gr: Group,
    tx: Transaction,
    unit: dict[str, Any],
) -> None:
    """Quarantine one set with the reason of the unit (set, group or interchange) rejecting it."""
    level = unit["level"]
    segment = unit["segment_index"]
    if level == "transaction":
        reason = f"transaction set {tx.set_id} rejected [{unit['codes']}]: {unit['reason']}"
        payload = unit["raw_payload"]
    else:
        name = f"group GS06={gr.control_number}" if level == "group" else "interchange"
        reason = f"{name} rejected [{unit['codes']}]: {unit['reason']}"
        payload = _envelope_text(ic, gr) + _set_text(ic, tx)
        segment = tx.first_segment_index if segment is None else segment
    locator = _locator(
        ic.control_number, gr.control_number, tx.control_number, segment, ic.byte_start
    )
    run.reject(SETS, path, locator, reason, payload)


def _reject_reuse(
    run: IngestRun, path: str, ic: Interchange, gr: Group, tx: Transaction, original: str | None
) -> None:
    """Quarantine one set of an interchange reusing a control number with other content."""
    reason = (
        f"[TA1:025] control number reuse: interchange ISA13={ic.control_number} from "
        f"{ic.sender_qual}:{ic.sender_id} to {ic.receiver_qual}:{ic.receiver_id} was first "
        f"received in {original} with different content; not loaded"
    )
    locator = _locator(
        ic.control_number,
        gr.control_number,
        tx.control_number,
        tx.first_segment_index,
        ic.byte_start,
    )
    run.reject(SETS, path, locator, reason, _envelope_text(ic, gr) + _set_text(ic, tx))


def _reject_unit(
    run: IngestRun, path: str, unit: dict[str, Any], payload: str | bytes | None
) -> None:
    """Quarantine a rejected unit holding no transaction set (file, empty group, bad ISA)."""
    level = unit["level"]
    note = "" if level == "file" else " (holds no transaction set)"
    reason = f"{level} rejected [{unit['codes']}]: {unit['reason']}{note}"
    locator = _locator(
        unit["interchange_control"],
        unit["group_control"],
        None,
        unit["segment_index"],
        unit["byte_offset"]
        if unit["byte_offset"] is not None
        else (0 if level == "file" else None),
    )
    run.reject(SETS, path, locator, reason, payload)


# ---------------------------------------------------------------------------------------------
# Rows → arrow


@dataclass
class _FileRows:
    """The rows one file contributes, before they join a batch."""

    path: str
    direction: str | None
    partner: str | None
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    segments: dict[str, list[Any]] = field(default_factory=dict)
    rows: int = 0

    def _extend(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.tables.setdefault(table, []).extend(rows)
        self.rows += len(rows)

    def add_set(self, tx: Transaction, tx_row: dict[str, Any]) -> None:
        """A loaded set: its document rows, its ``x12_transactions`` row and its segments."""
        for table, rows in (tx.rows or {}).items():
            if table in HEADER_TABLES:
                if len(rows) > 1:
                    # A mapper contract change: better to stop than to merge rows away.
                    raise RuntimeError(
                        f"{self.path}: {table} got {len(rows)} rows for set "
                        f"{tx.control_number}; header tables hold one row per set"
                    )
            else:
                for i, row in enumerate(rows):
                    row["row_index"] = i
            self._extend(table, rows)
        self._extend("x12_transactions", [tx_row])
        # Built as columns: this is the largest table and dicts per segment cost twice as much.
        keys = {k: tx_row[k] for k in SET_KEY}
        seg = self.segments
        if not seg:
            seg.update({k: [] for k in ("source_file", *SET_KEY)})
            seg.update(row_index=[], segment_index=[], segment_id=[], segment_text=[])
        n = len(tx.raw_segments)
        seg["source_file"].extend([self.path] * n)
        for k in SET_KEY:
            seg[k].extend([keys[k]] * n)
        seg["row_index"].extend(range(n))
        seg["segment_index"].extend(range(tx.first_segment_index, tx.first_segment_index + n))
        sep = tx.element_separator
        seg["segment_id"].extend(s.partition(sep)[0] for s in tx.raw_segments)
        seg["segment_text"].extend(tx.raw_segments)
        self.rows += n

    def add_interchange(
        self, row: dict[str, Any], status: str, original: str | None, counts: dict[str, int]
    ) -> None:
        """One ``x12_interchanges`` row: the receipt, its status and what became of its sets."""
        row["status"] = status
        row["original_file"] = original if status != "new" else None
        for name, n in counts.items():
            row[f"sets_{name}"] = n
        self._extend("x12_interchanges", [row])


class _Batch:
    """Rows of several files, turned into one arrow table per destination table on flush."""

    def __init__(self) -> None:
        self.parts: list[_FileRows] = []
        self.files = 0
        self.pending_rows = 0

    def add(self, file: _FileRows) -> None:
        self.parts.append(file)
        self.files += 1
        self.pending_rows += file.rows

    def flush(self, hinted: set[str]) -> Iterator[Any]:
        """Yield one hinted arrow table per table with rows, and empty the batch."""
        parts, self.parts, self.files, self.pending_rows = self.parts, [], 0, 0
        names = dict.fromkeys(t for p in parts for t in p.tables)
        for name in names:
            rows: list[dict[str, Any]] = []
            origin: list[_FileRows] = []
            for p in parts:
                chunk = p.tables.get(name)
                if chunk:
                    rows.extend(chunk)
                    origin.extend([p] * len(chunk))
            yield _mark(name, _rows_to_arrow(name, rows, origin), hinted)
        seg_parts = [p for p in parts if p.segments]
        if seg_parts:
            yield _mark("x12_segments", _segments_to_arrow(seg_parts), hinted)


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """Arrow table whose key fields are NOT NULL, as dlt's primary-key hints declare them."""
    # dlt also holds source_file NOT NULL in every table (the merge key of x12_interchanges).
    keys = {*TABLES[name].primary_key, "source_file"}
    schema = pa.schema([pa.field(c, a.type, nullable=c not in keys) for c, a in columns.items()])
    return pa.Table.from_arrays(list(columns.values()), schema=schema)


def _mark(name: str, table: pa.Table, hinted: set[str]) -> Any:
    """Route ``table`` to its destination table; full hints only the first time (cheaper)."""
    if name not in hinted:
        hinted.add(name)
        # A table variant: without it the hints replace the whole resource's, and the next
        # table would inherit this one's primary key.
        hints = dlt.mark.make_hints(**TABLES[name].hints())
        return dlt.mark.with_hints(table, hints, create_table_variant=True)
    return dlt.mark.with_table_name(table, name)


def _rows_to_arrow(name: str, rows: list[dict[str, Any]], origin: list[_FileRows]) -> pa.Table:
    """Rows of one table (dicts from the mappers) as arrow, with ``direction`` and ``partner``."""
    names = list(rows[0])
    # Mappers may add a column only on some rows; set.union scans the keys in C.
    extra = set().union(*rows).difference(names)
    names.extend(sorted(extra))
    try:
        # itemgetter + zip transpose in C: several times faster than a comprehension per column.
        values = list(zip(*map(itemgetter(*names), rows), strict=True)) if len(names) > 1 else None
    except KeyError:
        values = None
    if values is None:
        values = [[r.get(c) for r in rows] for c in names]
    columns = {c: _column(c, v) for c, v in zip(names, values, strict=True)}
    columns["direction"] = pa.array([o.direction for o in origin], pa.string())
    columns["partner"] = pa.array([o.partner for o in origin], pa.string())
    return _table(name, columns)


# Non-text columns of the x12 mappers and of this module. Declared rather than inferred so a
# batch where a column is all null still materializes it with the right type (dbt staging can
# rely on every column), and a column never changes type between batches.
INT_COLUMNS: frozenset[str] = frozenset(
    [
        "byte_end",
        "byte_start",
        "element_position",
        "element_ref",
        "first_segment_index",
        "group_count",
        "hl_count",
        "item_count",
        "lading_quantity",
        "line_count",
        "line_index",
        "order_count",
        "pack_count",
        "remit_index",
        "remittance_count",
        "row_index",
        "segment_count",
        "segment_index",
        "segment_position",
        "sets_accepted",
        "sets_found",
        "sets_included",
        "sets_loaded",
        "sets_quarantined",
        "sets_received",
        "sets_skipped",
        "tare_count",
        "terms_discount_days",
        "terms_net_days",
    ]
)
FLOAT_COLUMNS: frozenset[str] = frozenset(
    [
        "ack_quantity",
        "adjustment_amount",
        "allowance_total",
        "amount",
        "amount_subject_to_discount",
        "amount_total",
        "charge_total",
        "discount_amount",
        "extended_amount",
        "gross_weight",
        "invoice_amount",
        "pack",
        "pack_size",
        "paid_amount",
        "percent",
        "quantity",
        "quantity_difference",
        "quantity_ordered",
        "quantity_shipped",
        "quantity_total",
        "rate",
        "signed_amount",
        "terms_discount_amount",
        "terms_discount_percent",
        "total_amount",
        "total_quantity",
        "total_units",
        "total_weight",
        "unit_price",
        "units_shipped",
    ]
)
BOOL_COLUMNS: frozenset[str] = frozenset(
    {"mapped", "is_credit_memo", "sscc_check_digit_ok", "pack_sscc_check_digit_ok"}
)


def column_type(name: str) -> pa.DataType:
    """The arrow type of an ``x12_*`` column, by name (text unless declared otherwise).

    Args:
        name: Column name as the mappers write it.

    Returns:
        ``int64``, ``float64``, ``bool``, ``date32`` for ISO dates (``*_date`` and ``date``;
        ``isa_date`` is the envelope's raw YYMMDD and stays text) or ``string``.
    """
    if name in INT_COLUMNS:
        return pa.int64()
    if name in FLOAT_COLUMNS:
        return pa.float64()
    if name in BOOL_COLUMNS:
        return pa.bool_()
    if (name == "date" or name.endswith("_date")) and name != "isa_date":
        return pa.date32()
    return pa.string()


def _column(name: str, values: Sequence[Any]) -> pa.Array:
    """One column in its declared type (converting without inference where arrow can)."""
    want = column_type(name)
    if want == pa.date32():
        # Mappers give ISO text; arrow converts it to DATE in one vectorised cast.
        return pa.array(values, pa.string()).cast(want)
    if want != pa.string():
        return pa.array(values, want)
    array = pa.array(values)
    if pa.types.is_null(array.type) or not pa.types.is_string(array.type):
        # All null: text is the declared type. Not text: a column this module does not know
        # yet, keep what the mapper produced.
        return array.cast(pa.string()) if pa.types.is_null(array.type) else array
    return array


def _segments_to_arrow(parts: list[_FileRows]) -> pa.Table:
    columns: dict[str, pa.Array] = {}
    for name in parts[0].segments:
        kind = pa.int64() if name in ("row_index", "segment_index") else pa.string()
        values = [v for p in parts for v in p.segments[name]]
        columns[name] = pa.array(values, kind)
    counts = [len(p.segments["row_index"]) for p in parts]
    columns["direction"] = pa.array(
        [p.direction for p, n in zip(parts, counts, strict=True) for _ in range(n)], pa.string()
    )
    columns["partner"] = pa.array(
        [p.partner for p, n in zip(parts, counts, strict=True) for _ in range(n)], pa.string()
    )
    return _table("x12_segments", columns)
