"""X12 files → arrow tables and what the EDI source must decide per set, without dlt.

The CPU-heavy half of :mod:`ingestion.edi`: parsing, mapping and building arrow tables. It
imports no dlt and touches no state, so a process pool can run it (a spawned worker starts in
well under a second). :func:`map_chunk` maps a few files and returns a :class:`Chunk`:

- one arrow table per destination table for every *accepted* set (envelope, group and set
  accepted, mapping succeeded), in file order, with ``row_index``, ``direction`` and ``partner``;
  ``x12_transactions`` (with each set's text) included;
- ``offsets``: where each interchange's rows start in every table, so the source can drop the
  rows of an interchange it finds to be a retransmission or a reused control number (which only
  its dlt state can tell) with a slice, not a re-map;
- per file, the facts the source settles each set with: every interchange's key, content hash,
  audit row and, per set, its quarantine record if an envelope or the mapper rejected it.

The same function runs in-process for small runs, so serial and pooled loads are identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import numpy as np
import pyarrow as pa

from trueup.x12 import Group, Interchange, Transaction, documents, parse, rejections
from trueup.x12.documents import segment_text
from trueup.x12.mapping import paused_gc

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


def primary_key(table: str) -> tuple[str, ...]:
    """The primary key of an ``x12_*`` table (see :mod:`ingestion.edi`)."""
    if table == "x12_interchanges":
        return ("source_file", "byte_start")
    if table in HEADER_TABLES or table == "x12_transactions":
        return SET_KEY
    return (*SET_KEY, "row_index")


# A quarantine record as IngestRun.reject takes it: locator, reason, raw payload.
Reject = tuple[str, str, "str | bytes | None"]


@dataclass
class InterchangeFacts:
    """One interchange as the source needs it to decide the fate of its sets.

    ``items`` lists, in file order, ``("set", reject, group_no, set_no)`` for each set (reject
    is None when the set was accepted and mapped: its rows are in the chunk's tables) and
    ``("unit", reject, -1, -1)`` for a rejected group holding no set. ``empty_reject`` is the
    interchange's own rejection when it holds no set at all.
    """

    key: str
    raw_sha256: str
    rejected: bool
    control_number: str
    sender: str
    receiver: str
    row: dict[str, Any]
    items: list[tuple[str, Reject | None, int, int]] = field(default_factory=list)
    empty_reject: Reject | None = None


@dataclass
class FileFacts:
    """One file: a rejection of text outside any envelope (or of a non-X12 file) and its
    interchanges."""

    path: str
    file_reject: Reject | None
    interchanges: list[InterchangeFacts]


@dataclass
class Chunk:
    """The result of mapping a few files: their facts and the accepted sets' tables."""

    files: list[FileFacts]
    tables: dict[str, pa.Table]
    # table → row offset of every interchange of the chunk (in file order), then the total.
    offsets: dict[str, list[int]]


def map_chunk(files: Sequence[tuple[str, bytes]]) -> Chunk:
    """Parse and map files (path relative to the source root, bytes) into one :class:`Chunk`.

    Pure and deterministic: the same files give the same chunk in any process.
    """
    with paused_gc():
        rows = _ChunkRows()
        facts = [_map_file(path, data, rows) for path, data in files]
        tables, offsets = rows.finish()
    return Chunk(facts, tables, offsets)


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


def interchange_key(ic: Interchange) -> str:
    """The state key of an interchange: sender and receiver qualifier and ID, ISA13."""
    return "|".join(ic.key)


# ---------------------------------------------------------------------------------------------
# One file


def _map_file(path: str, data: bytes, rows: _ChunkRows) -> FileFacts:
    result = parse(data, path)
    direction, partner = location(path)
    rejected = rejections(result)
    pos = 0
    file_reject = None
    if rejected and rejected[0]["level"] == "file":
        # Text outside any envelope, or no X12 at all: one unit, holding no set.
        payload = rejected[0]["raw_payload"] if result.interchanges else data
        file_reject = unit_reject(rejected[0], payload)
        pos = 1
    audit = documents(result)
    tx_rows = iter(audit["x12_transactions"])
    facts = FileFacts(path, file_reject, [])
    for ic, ic_row in zip(result.interchanges, audit["x12_interchanges"], strict=True):
        rows.start_interchange()
        info = InterchangeFacts(
            interchange_key(ic),
            ic.raw_sha256,
            ic.rejected,
            ic.control_number,
            f"{ic.sender_qual}:{ic.sender_id}",
            f"{ic.receiver_qual}:{ic.receiver_id}",
            ic_row,
        )
        ic_rej = None
        if ic.rejected:
            ic_rej, pos = rejected[pos], pos + 1
        for g, gr in enumerate(ic.groups):
            gr_rej = None
            if not ic.rejected and gr.rejected:
                gr_rej, pos = rejected[pos], pos + 1
            for t, tx in enumerate(gr.transactions):
                tx_row = next(tx_rows)
                tx_rej = None
                if not ic.rejected and not gr.rejected and tx.rejected:
                    tx_rej, pos = rejected[pos], pos + 1
                unit = ic_rej or gr_rej or tx_rej
                if unit is None:
                    rows.add_set(tx, tx_row, direction, partner)
                    info.items.append(("set", None, g, t))
                else:
                    info.items.append(("set", set_reject(ic, gr, tx, unit), g, t))
            if gr_rej is not None and not gr.transactions:
                info.items.append(("unit", unit_reject(gr_rej, gr_rej["raw_payload"]), -1, -1))
        if ic_rej is not None and not info.items:
            info.empty_reject = unit_reject(ic_rej, ic_rej["raw_payload"])
        facts.interchanges.append(info)
    return facts


# ---------------------------------------------------------------------------------------------
# Quarantine records


def envelope_text(ic: Interchange, gr: Group) -> str:
    """The ISA and GS segments around a set, shown with a set its envelope rejected."""
    gs_at = gr.segment_start - ic.segment_start
    isa = ic.raw_segments[0] if ic.raw_segments else ""
    gs = ic.raw_segments[gs_at] if 0 <= gs_at < len(ic.raw_segments) else ""
    return segment_text(ic, [isa, gs])


def locator(isa13: Any, gs06: Any, st02: Any, segment: Any, byte: Any) -> str:
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


def set_reject(ic: Interchange, gr: Group, tx: Transaction, unit: dict[str, Any]) -> Reject:
    """One set's record with the reason of the unit (set, group or interchange) rejecting it."""
    level = unit["level"]
    segment = unit["segment_index"]
    if level == "transaction":
        reason = f"transaction set {tx.set_id} rejected [{unit['codes']}]: {unit['reason']}"
        payload = unit["raw_payload"]
    else:
        name = f"group GS06={gr.control_number}" if level == "group" else "interchange"
        reason = f"{name} rejected [{unit['codes']}]: {unit['reason']}"
        payload = envelope_text(ic, gr) + segment_text(ic, tx.raw_segments)
        segment = tx.first_segment_index if segment is None else segment
    where = locator(ic.control_number, gr.control_number, tx.control_number, segment, ic.byte_start)
    return where, reason, payload


def reuse_reject(ic: Interchange, gr: Group, tx: Transaction, original: str | None) -> Reject:
    """One set of an interchange reusing a control number with other content."""
    reason = (
        f"[TA1:025] control number reuse: interchange ISA13={ic.control_number} from "
        f"{ic.sender_qual}:{ic.sender_id} to {ic.receiver_qual}:{ic.receiver_id} was first "
        f"received in {original} with different content; not loaded"
    )
    where = locator(
        ic.control_number,
        gr.control_number,
        tx.control_number,
        tx.first_segment_index,
        ic.byte_start,
    )
    return where, reason, envelope_text(ic, gr) + segment_text(ic, tx.raw_segments)


def unit_reject(unit: dict[str, Any], payload: str | bytes | None) -> Reject:
    """A rejected unit holding no transaction set (file, empty group, bad ISA)."""
    level = unit["level"]
    note = "" if level == "file" else " (holds no transaction set)"
    reason = f"{level} rejected [{unit['codes']}]: {unit['reason']}{note}"
    where = locator(
        unit["interchange_control"],
        unit["group_control"],
        None,
        unit["segment_index"],
        unit["byte_offset"]
        if unit["byte_offset"] is not None
        else (0 if level == "file" else None),
    )
    return where, reason, payload


# ---------------------------------------------------------------------------------------------
# Rows → arrow


class _ChunkRows:
    """Rows of the accepted sets of a chunk, turned into arrow tables at the end."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {}
        # Per table: (rows, direction, partner) runs, one per file contributing rows.
        self.origin: dict[str, list[list[Any]]] = {}
        self.marks: list[dict[str, int]] = []

    def start_interchange(self) -> None:
        self.marks.append({name: len(rows) for name, rows in self.tables.items()})

    def _extend(self, table: str, rows: list[dict[str, Any]], direction: Any, partner: Any) -> None:
        self.tables.setdefault(table, []).extend(rows)
        runs = self.origin.setdefault(table, [])
        if runs and runs[-1][1] == direction and runs[-1][2] == partner:
            runs[-1][0] += len(rows)
        else:
            runs.append([len(rows), direction, partner])

    def add_set(self, tx: Transaction, tx_row: dict[str, Any], direction: Any, partner: Any):
        """An accepted set: its document rows and its ``x12_transactions`` row (with its text)."""
        for table, rows in (tx.rows or {}).items():
            if not rows:
                continue
            if table in HEADER_TABLES:
                if len(rows) > 1:
                    # A mapper contract change: better to stop than to merge rows away.
                    raise RuntimeError(
                        f"{tx_row['source_file']}: {table} got {len(rows)} rows for set "
                        f"{tx.control_number}; header tables hold one row per set"
                    )
            else:
                for i, row in enumerate(rows):
                    row["row_index"] = i
            self._extend(table, rows, direction, partner)
        self._extend("x12_transactions", [tx_row], direction, partner)

    def finish(self) -> tuple[dict[str, pa.Table], dict[str, list[int]]]:
        tables = {
            name: rows_to_arrow(name, rows, self.origin[name])
            for name, rows in self.tables.items()
            if rows
        }
        offsets = {
            name: [m.get(name, 0) for m in self.marks] + [table.num_rows]
            for name, table in tables.items()
        }
        return tables, offsets


def _repeated(values: pa.Array, counts: np.ndarray) -> pa.Array:
    """``values[i]`` repeated ``counts[i]`` times, as a dictionary array."""
    encoded = values.dictionary_encode()
    indices = encoded.indices
    repeated = np.repeat(indices.fill_null(0).to_numpy(), counts)
    mask = None
    if indices.null_count:
        # Parquet cannot store a null inside a dictionary: nulls stay in the indices.
        mask = np.repeat(indices.is_null().to_numpy(zero_copy_only=False), counts)
    return pa.DictionaryArray.from_arrays(
        pa.array(repeated, pa.int32(), mask=mask), encoded.dictionary
    )


def _origin_columns(runs: list[list[Any]]) -> dict[str, pa.Array]:
    """``direction`` and ``partner`` from ``[count, direction, partner]`` runs of rows."""
    counts = np.array([r[0] for r in runs], dtype=np.int64)
    return {
        "direction": _repeated(pa.array([r[1] for r in runs], pa.string()), counts),
        "partner": _repeated(pa.array([r[2] for r in runs], pa.string()), counts),
    }


def table_of(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """Arrow table whose key fields are NOT NULL, as dlt's primary-key hints declare them."""
    # dlt also holds source_file NOT NULL in every table (the merge key of x12_interchanges).
    keys = {*primary_key(name), "source_file"}
    schema = pa.schema([pa.field(c, a.type, nullable=c not in keys) for c, a in columns.items()])
    return pa.Table.from_arrays(list(columns.values()), schema=schema)


def rows_to_arrow(name: str, rows: list[dict[str, Any]], runs: list[list[Any]]) -> pa.Table:
    """Rows of one table (dicts from the mappers) as arrow, with ``direction`` and ``partner``.

    ``runs`` are ``[count, direction, partner]`` for consecutive rows, in order.
    """
    names = list(rows[0])
    # Mappers may add a column only on some rows; set.union scans the keys in C.
    extra = set().union(*rows).difference(names)
    names.extend(sorted(extra))
    with paused_gc():
        try:
            # itemgetter + zip transpose in C: several times faster than a comprehension per
            # column (and twice as fast again without the collector rescanning every row).
            values = (
                list(zip(*map(itemgetter(*names), rows), strict=True)) if len(names) > 1 else None
            )
        except KeyError:
            values = None
        if values is None:
            values = [[r.get(c) for r in rows] for c in names]
        columns = {c: _column(c, v) for c, v in zip(names, values, strict=True)}
    columns.update(_origin_columns(runs))
    return table_of(name, columns)


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
    try:
        return pa.array(values, pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Not text: a column this module does not know yet, keep what the mapper produced.
        return pa.array(values)
