"""Turn accepted transaction sets into flat rows, and rejected units into quarantine rows.

Tables (every row starts with ``source_file, isa_sender_id, isa_receiver_id,
isa_control_number, gs_control_number, st_control_number`` and carries its document number):

- ``x12_850_headers`` / ``x12_850_lines``: po_number
- ``x12_855_headers`` / ``x12_855_lines``: po_number
- ``x12_856_shipments`` / ``x12_856_hl`` / ``x12_856_items``: shipment_id
- ``x12_810_headers`` / ``x12_810_lines`` / ``x12_810_allowances_charges``: invoice_number
- ``x12_820_payments`` / ``x12_820_remittances`` / ``x12_820_adjustments``: trace_number
- ``x12_940_orders`` / ``x12_940_lines``: depositor_order_number
- ``x12_945_shipments`` / ``x12_945_lines``: depositor_order_number, shipment_id
- ``x12_846_headers`` / ``x12_846_quantities``: report_number
- ``x12_180_headers`` / ``x12_180_lines``: rma_number
- ``x12_997_acks`` / ``x12_997_set_acks`` / ``x12_997_errors``: ack_group_control (997 and 999)
- ``x12_interchanges``, ``x12_transactions``: one row per unit with its status, so that
  "sets received = sets loaded + sets rejected" can be checked downstream; a set's row also
  keeps its segments verbatim for audit (``segments``: each segment followed by the
  interchange's segment terminator, ``ST`` to ``SE``)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trueup.x12.map_asn import map_856
from trueup.x12.map_finance import map_810, map_820
from trueup.x12.map_orders import map_850, map_855
from trueup.x12.map_returns_acks import map_180, map_997
from trueup.x12.map_warehouse import map_846, map_940, map_945
from trueup.x12.mapping import MapContext, Row, paused_gc
from trueup.x12.model import Group, Interchange, ParseResult, Transaction, X12Error
from trueup.x12.values import MappingError

Mapper = Callable[[list[list[str]], MapContext], None]

MAPPERS: dict[str, Mapper] = {
    "850": map_850,
    "855": map_855,
    "856": map_856,
    "810": map_810,
    "820": map_820,
    "940": map_940,
    "945": map_945,
    "846": map_846,
    "180": map_180,
    "997": map_997,
    "999": map_997,
}

DOCUMENT_TABLES: tuple[str, ...] = (
    "x12_850_headers",
    "x12_850_lines",
    "x12_855_headers",
    "x12_855_lines",
    "x12_856_shipments",
    "x12_856_hl",
    "x12_856_items",
    "x12_810_headers",
    "x12_810_lines",
    "x12_810_allowances_charges",
    "x12_820_payments",
    "x12_820_remittances",
    "x12_820_adjustments",
    "x12_940_orders",
    "x12_940_lines",
    "x12_945_shipments",
    "x12_945_lines",
    "x12_846_headers",
    "x12_846_quantities",
    "x12_180_headers",
    "x12_180_lines",
    "x12_997_acks",
    "x12_997_set_acks",
    "x12_997_errors",
)
AUDIT_TABLES: tuple[str, ...] = ("x12_interchanges", "x12_transactions")


def envelope_keys(source: str, ic: Interchange, gr: Group, tx: Transaction) -> Row:
    """Columns that tie a row back to its file, interchange, group and set."""
    return {
        "source_file": source,
        "isa_sender_id": ic.sender_id,
        "isa_receiver_id": ic.receiver_id,
        "isa_control_number": ic.control_number,
        "gs_control_number": gr.control_number,
        "st_control_number": tx.control_number,
    }


def map_transactions(result: ParseResult) -> None:
    """Run the mapper of every accepted set; a set whose content cannot be read is rejected.

    Idempotent: sets already mapped are left alone.
    """
    with paused_gc():
        _map_all(result)


def _map_all(result: ParseResult) -> None:
    for ic, gr, tx in result.accepted_transactions():
        mapper = MAPPERS.get(tx.set_id)
        if mapper is None or tx.rows is not None:
            continue
        ctx = MapContext(
            envelope_keys(result.source_name, ic, gr, tx),
            ic.delimiters.component if ic.delimiters else ">",
        )
        try:
            # Split locally instead of through tx.segments so the element lists are freed
            # as soon as the set is mapped.
            sep = tx.element_separator
            mapper([s.split(sep) for s in tx.raw_segments], ctx)
        except MappingError as exc:
            _reject(result, ic, gr, tx, ctx, exc.reason)
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            # A mapper bug must cost one set, never the file.
            _reject(result, ic, gr, tx, ctx, f"unexpected content: {exc!r}")
        else:
            tx.rows = ctx.tables
    result.mapped = True


def _reject(
    result: ParseResult,
    ic: Interchange,
    gr: Group,
    tx: Transaction,
    ctx: MapContext,
    reason: str,
) -> None:
    raw = tx.raw_segments[ctx.at] if ctx.at < len(tx.raw_segments) else "?"
    seg = raw.split(tx.element_separator)
    tx.errors.append(
        X12Error(
            "transaction",
            "AK5:5",
            f"{seg[0]} segment: {reason}",
            result.source_name,
            segment_index=tx.first_segment_index + ctx.at,
            interchange_control=ic.control_number,
            group_control=gr.control_number,
            set_control=tx.control_number,
        )
    )
    tx.rejected = True
    tx.rows = None


def segment_text(ic: Interchange, segments: list[str]) -> str:
    """``segments`` as the interchange wrote them: each followed by its segment terminator."""
    term = ic.delimiters.segment if ic.delimiters else "~"
    return term.join(segments) + term


def _status(ic: Interchange, gr: Group | None, tx: Transaction | None) -> str:
    if ic.rejected:
        return "rejected_interchange"
    if gr is not None and gr.rejected:
        return "rejected_group"
    if tx is not None and tx.rejected:
        return "rejected"
    return "accepted"


def documents(result: ParseResult) -> dict[str, list[Row]]:
    """All tables for one parsed file, keyed by table name (every known table is present)."""
    if not result.mapped:
        map_transactions(result)
    with paused_gc():
        return _collect(result)


def _collect(result: ParseResult) -> dict[str, list[Row]]:
    tables: dict[str, list[Row]] = {name: [] for name in (*DOCUMENT_TABLES, *AUDIT_TABLES)}
    source = result.source_name
    for ic in result.interchanges:
        d = ic.delimiters
        tables["x12_interchanges"].append(
            {
                "source_file": source,
                "isa_sender_qual": ic.sender_qual,
                "isa_sender_id": ic.sender_id,
                "isa_receiver_qual": ic.receiver_qual,
                "isa_receiver_id": ic.receiver_id,
                "isa_control_number": ic.control_number,
                "isa_date": ic.date,
                "isa_time": ic.time,
                "version": ic.version,
                "usage": ic.usage,
                "element_separator": d.element if d else None,
                "component_separator": d.component if d else None,
                "segment_terminator": d.segment if d else None,
                "group_count": len(ic.groups),
                "raw_sha256": ic.raw_sha256,
                "byte_start": ic.byte_start,
                "byte_end": ic.byte_end,
                "status": _status(ic, None, None),
            }
        )
        for gr in ic.groups:
            for tx in gr.transactions:
                status = _status(ic, gr, tx)
                keys = envelope_keys(source, ic, gr, tx)
                tables["x12_transactions"].append(
                    {
                        **keys,
                        "functional_id": gr.functional_id,
                        "gs_version": gr.version,
                        "set_id": tx.set_id,
                        "segment_count": len(tx.raw_segments),
                        "first_segment_index": tx.first_segment_index,
                        "mapped": tx.rows is not None,
                        "status": status,
                        # One text per set, not a row per segment: at 10M order lines the
                        # segment rows were 91M, the warehouse's largest table.
                        "segments": segment_text(ic, tx.raw_segments),
                    }
                )
                if status != "accepted":
                    continue
                for name, rows in (tx.rows or {}).items():
                    tables.setdefault(name, []).extend(rows)
    return tables


def rejections(result: ParseResult) -> list[dict[str, Any]]:
    """One quarantine row per rejected unit (file, interchange, group or set) with its raw text.

    Units inside a rejected unit get no row of their own: the parent's payload contains them.
    """
    rows: list[dict[str, Any]] = []
    source = result.source_name

    def row(level: str, errors: list[X12Error], payload: str, **ids: Any) -> None:
        errs = [e for e in errors if e.severity == "error"]
        rows.append(
            {
                "source_file": source,
                "level": level,
                "interchange_control": ids.get("ic"),
                "group_control": ids.get("gr"),
                "set_control": ids.get("tx"),
                "set_id": ids.get("set_id"),
                "segment_index": errs[0].segment_index if errs else None,
                "byte_offset": errs[0].byte_offset if errs else None,
                "codes": ",".join(e.code for e in errs),
                "reason": "; ".join(e.reason for e in errs),
                "raw_payload": payload,
            }
        )

    file_errors = [e for e in result.errors if e.severity == "error"]
    if file_errors:
        row("file", file_errors, "\n".join(result.stray_text))
    for ic in result.interchanges:
        if ic.rejected:
            row("interchange", ic.errors, ic.raw_text, ic=ic.control_number)
            continue
        for gr in ic.groups:
            if gr.rejected:
                lo = gr.segment_start - ic.segment_start
                hi = (gr.segment_end or gr.segment_start) - ic.segment_start
                payload = segment_text(ic, ic.raw_segments[lo : hi + 1])
                row("group", gr.errors, payload, ic=ic.control_number, gr=gr.control_number)
                continue
            for tx in gr.transactions:
                if tx.rejected:
                    row(
                        "transaction",
                        tx.errors,
                        segment_text(ic, tx.raw_segments),
                        ic=ic.control_number,
                        gr=gr.control_number,
                        tx=tx.control_number,
                        set_id=tx.set_id,
                    )
    return rows
