"""850 purchase orders and 855 PO acknowledgments to header and line rows."""

from __future__ import annotations

from trueup.x12.mapping import MapContext, Row, require, text
from trueup.x12.values import date, el, integer, num, product_ids

# DTM qualifiers on a PO header [DOMAIN 1.3].
_PO_DATES = {
    "002": "requested_delivery_date",
    "010": "requested_ship_date",
    "037": "ship_not_before",
    "038": "ship_no_later",
    "001": "cancel_after_date",
}


def _po1_line(ctx: MapContext, seg: list[str], index: int) -> Row:
    return ctx.row(
        po_number=None,
        line_index=index,
        line_number=text(seg, 1),
        quantity=num(seg, 2),
        uom=text(seg, 3),
        unit_price=num(seg, 4),
        price_basis=text(seg, 5),
        **product_ids(seg, 6),
        description=None,
    )


def map_850(segs: list[list[str]], ctx: MapContext) -> None:
    """850 → ``x12_850_headers`` (one row) and ``x12_850_lines`` (one row per PO1)."""
    head = ctx.row(
        po_number=None,
        purpose=None,
        po_type=None,
        release_number=None,
        po_date=None,
        department=None,
        vendor_number=None,
        currency=None,
        **dict.fromkeys(_PO_DATES.values()),
        ship_to_name=None,
        ship_to_id=None,
        bill_to_name=None,
        bill_to_id=None,
        terms_net_days=None,
        line_count=None,
        quantity_total=None,
        amount_total=None,
    )
    lines: list[Row] = []
    line: Row | None = None
    for k, s in enumerate(segs):
        ctx.at = k
        tag = s[0]
        if tag == "PO1":
            line = _po1_line(ctx, s, len(lines) + 1)
            line.update(pack=None, pack_size=None, pack_uom=None)
            lines.append(line)
        elif line is not None and tag == "PID":
            line["description"] = line["description"] or text(s, 5)
        elif line is not None and tag == "PO4":
            line.update(pack=num(s, 1), pack_size=num(s, 2), pack_uom=text(s, 3))
        elif tag == "BEG":
            head.update(
                purpose=text(s, 1),
                po_type=text(s, 2),
                po_number=text(s, 3),
                release_number=text(s, 4),
                po_date=date(s, 5),
            )
        elif tag == "CTT":
            head.update(line_count=integer(s, 1), quantity_total=num(s, 2))
        elif tag == "AMT" and el(s, 1) in ("TT", "1"):
            head["amount_total"] = num(s, 2)
        elif line is not None:
            continue  # detail-level N1/REF/DTM belong to the line, not the header
        elif tag == "REF":
            col = {"DP": "department", "IA": "vendor_number"}.get(el(s, 1))
            if col:
                head[col] = text(s, 2)
        elif tag == "DTM":
            col = _PO_DATES.get(el(s, 1))
            if col:
                head[col] = date(s, 2)
        elif tag == "N1" and el(s, 1) in ("ST", "BT"):
            prefix = "ship_to" if el(s, 1) == "ST" else "bill_to"
            head[f"{prefix}_name"] = text(s, 2)
            head[f"{prefix}_id"] = text(s, 4)
        elif tag == "CUR":
            head["currency"] = text(s, 2)
        elif tag == "ITD":
            head["terms_net_days"] = integer(s, 7)
    po = require(head["po_number"], "BEG03 purchase order number")
    for row in lines:
        row["po_number"] = po
    ctx.add("x12_850_headers", head)
    ctx.tables.setdefault("x12_850_lines", []).extend(lines)


def map_855(segs: list[list[str]], ctx: MapContext) -> None:
    """855 → ``x12_855_headers`` and ``x12_855_lines`` (one row per ACK, or per PO1 without)."""
    head = ctx.row(
        po_number=None,
        purpose=None,
        ack_type=None,
        po_date=None,
        seller_order_number=None,
        ack_date=None,
        line_count=None,
    )
    lines: list[Row] = []
    line: Row | None = None
    acked = False

    def flush() -> None:
        if line is not None and not acked:
            lines.append(
                dict(line, ack_status=None, ack_quantity=None, ack_uom=None, ack_date=None)
            )

    for k, s in enumerate(segs):
        ctx.at = k
        tag = s[0]
        if tag == "PO1":
            flush()
            line, acked = _po1_line(ctx, s, len(lines) + 1), False
        elif tag == "PID" and line is not None:
            line["description"] = line["description"] or text(s, 5)
        elif tag == "ACK" and line is not None:
            acked = True
            lines.append(
                dict(
                    line,
                    line_index=len(lines) + 1,
                    ack_status=text(s, 1),
                    ack_quantity=num(s, 2),
                    ack_uom=text(s, 3),
                    ack_date=date(s, 5),
                )
            )
        elif tag == "BAK":
            head.update(
                purpose=text(s, 1),
                ack_type=text(s, 2),
                po_number=text(s, 3),
                po_date=date(s, 4),
                seller_order_number=text(s, 8),
                ack_date=date(s, 9),
            )
        elif tag == "CTT":
            head["line_count"] = integer(s, 1)
    flush()
    po = require(head["po_number"], "BAK03 purchase order number")
    for row in lines:
        row["po_number"] = po
    ctx.add("x12_855_headers", head)
    ctx.tables.setdefault("x12_855_lines", []).extend(lines)
