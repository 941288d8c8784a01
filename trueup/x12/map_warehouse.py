"""940 shipping orders, 945 shipping advices and 846 inventory advices to rows."""

from __future__ import annotations

from trueup.x12.mapping import MapContext, Row, first_component, require, text
from trueup.x12.values import date, el, integer, num, product_ids


def _party(head: Row, s: list[str], roles: dict[str, str]) -> None:
    prefix = roles.get(el(s, 1))
    if prefix:
        head[f"{prefix}_name"], head[f"{prefix}_id"] = text(s, 2), text(s, 4)


def map_940(segs: list[list[str]], ctx: MapContext) -> None:
    """940 → ``x12_940_orders`` and ``x12_940_lines`` (one per W01)."""
    head = ctx.row(
        depositor_order_number=None,
        purpose=None,
        po_number=None,
        ship_to_name=None,
        ship_to_id=None,
        depositor_name=None,
        depositor_id=None,
        warehouse_name=None,
        warehouse_id=None,
        requested_ship_date=None,
        requested_delivery_date=None,
        shipment_payment=None,
        transport_mode=None,
        routing=None,
        carrier_scac=None,
        total_quantity=None,
        total_weight=None,
        weight_uom=None,
        line_count=0,
    )
    lines: list[Row] = []
    lx: str | None = None
    roles = {"ST": "ship_to", "DE": "depositor", "WH": "warehouse"}
    for k, s in enumerate(segs):
        ctx.at = k
        tag = s[0]
        if tag == "LX":
            lx = text(s, 1)
        elif tag == "W01":
            lines.append(
                ctx.row(
                    depositor_order_number=None,
                    line_index=len(lines) + 1,
                    lx=lx,
                    quantity=num(s, 1),
                    uom=text(s, 2),
                    upc_case_code=text(s, 3),
                    **product_ids(s, 4, 7),
                    lot_number=text(s, 13),
                )
            )
        elif tag == "W05":
            head.update(purpose=text(s, 1), depositor_order_number=text(s, 2), po_number=text(s, 3))
        elif tag == "N1":
            _party(head, s, roles)
        elif tag == "G62":
            col = {"10": "requested_ship_date", "02": "requested_delivery_date"}.get(el(s, 1))
            if col:
                head[col] = date(s, 2)
        elif tag == "W66":
            head.update(
                shipment_payment=text(s, 1),
                transport_mode=text(s, 2),
                routing=text(s, 5),
                carrier_scac=text(s, 10),
            )
        elif tag == "W76":
            head.update(total_quantity=num(s, 1), total_weight=num(s, 2), weight_uom=text(s, 3))
    order = require(head["depositor_order_number"], "W0502 depositor order number")
    head["line_count"] = len(lines)
    for row in lines:
        row["depositor_order_number"] = order
    ctx.add("x12_940_orders", head)
    ctx.tables.setdefault("x12_940_lines", []).extend(lines)


def map_945(segs: list[list[str]], ctx: MapContext) -> None:
    """945 → ``x12_945_shipments`` and ``x12_945_lines`` (one per W12, lot from W1209/N9 LT)."""
    head = ctx.row(
        depositor_order_number=None,
        shipment_id=None,
        ship_date=None,
        po_number=None,
        status=None,
        ship_to_name=None,
        ship_to_id=None,
        shipped_date=None,
        transport_mode=None,
        carrier_scac=None,
        routing=None,
        shipment_payment=None,
        total_units=None,
        total_weight=None,
        weight_uom=None,
        line_count=0,
    )
    lines: list[Row] = []
    line: Row | None = None
    lx: str | None = None
    for k, s in enumerate(segs):
        ctx.at = k
        tag = s[0]
        if tag == "LX":
            lx, line = text(s, 1), None
        elif tag == "W12":
            line = ctx.row(
                depositor_order_number=None,
                shipment_id=None,
                line_index=len(lines) + 1,
                lx=lx,
                status=text(s, 1),
                quantity_ordered=num(s, 2),
                quantity_shipped=num(s, 3),
                quantity_difference=num(s, 4),
                uom=text(s, 5),
                upc_case_code=text(s, 6),
                **product_ids(s, 7, 8),
                lot_number=text(s, 9),
                order_line_number=None,
            )
            lines.append(line)
        elif tag == "N9" and line is not None and el(s, 1) in ("LT", "LOT"):
            line["lot_number"] = line["lot_number"] or text(s, 2)
        elif tag == "N9" and line is not None and el(s, 1) == "LI":
            # The depositor's order line number: ties the shipped line to its order line.
            line["order_line_number"] = text(s, 2)
        elif tag == "W06":
            head.update(
                status=text(s, 1),
                depositor_order_number=text(s, 2),
                ship_date=date(s, 3),
                shipment_id=text(s, 4),
                po_number=text(s, 6),
            )
        elif tag == "N1":
            _party(head, s, {"ST": "ship_to"})
        elif tag == "G62" and el(s, 1) == "11":
            head["shipped_date"] = date(s, 2)
        elif tag == "W27":
            head.update(
                transport_mode=text(s, 1),
                carrier_scac=text(s, 2),
                routing=text(s, 3),
                shipment_payment=text(s, 4),
            )
        elif tag == "W03":
            head.update(total_units=num(s, 1), total_weight=num(s, 2), weight_uom=text(s, 3))
    order = require(head["depositor_order_number"], "W0602 depositor order number")
    head["line_count"] = len(lines)
    for row in lines:
        row["depositor_order_number"], row["shipment_id"] = order, head["shipment_id"]
    ctx.add("x12_945_shipments", head)
    ctx.tables.setdefault("x12_945_lines", []).extend(lines)


def _qualified_id(seg: list[str], first: int, qualifier: str) -> str | None:
    """The ID paired with ``qualifier`` among the qualifier/ID pairs from element ``first``."""
    for q in range(first, len(seg) - 1, 2):
        if seg[q].strip() == qualifier:
            return seg[q + 1].strip() or None
    return None


def map_846(segs: list[list[str]], ctx: MapContext) -> None:
    """846 → ``x12_846_headers`` and ``x12_846_quantities`` (one row per QTY, one per SDQ pair).

    QTY01 keeps its qualifier (``33`` available, ``17`` on hand, ``63`` on order...); SDQ rows
    carry the location and qualifier ``SDQ``.
    """
    head = ctx.row(
        report_number=None,
        purpose=None,
        report_type=None,
        report_date=None,
        report_time=None,
        warehouse_name=None,
        warehouse_id=None,
        supplier_name=None,
        supplier_id=None,
    )
    rows: list[Row] = []
    item: Row | None = None
    item_rows: list[Row] = []
    comp = ctx.component
    for k, s in enumerate(segs):
        ctx.at = k
        tag = s[0]
        if tag == "LIN":
            item = ctx.row(
                report_number=None,
                line_number=text(s, 1),
                **product_ids(s, 2),
                lot_number=_qualified_id(s, 2, "LT"),
                description=None,
            )
            item_rows = []
        elif item is not None and tag == "QTY":
            uom = first_component(text(s, 3), comp)
            row = dict(item, qualifier=text(s, 1), quantity=num(s, 2), uom=uom, location=None)
            item_rows.append(row)
            rows.append(row)
        elif item is not None and tag == "SDQ":
            uom = text(s, 1)
            for q in range(3, len(s) - 1, 2):
                if el(s, q):
                    row = dict(item, qualifier="SDQ", quantity=num(s, q + 1), uom=uom)
                    row["location"] = el(s, q)
                    item_rows.append(row)
                    rows.append(row)
        elif item is not None and tag == "PID":
            item["description"] = item["description"] or text(s, 5)
            for row in item_rows:
                row["description"] = item["description"]
        elif tag == "BIA":
            head.update(
                purpose=text(s, 1),
                report_type=text(s, 2),
                report_number=text(s, 3),
                report_date=date(s, 4),
                report_time=text(s, 5),
            )
        elif tag == "N1" and item is None:
            _party(head, s, {"WH": "warehouse", "SU": "supplier"})
        elif tag == "CTT":
            integer(s, 1)  # validated only: the count is derivable from the rows
    report = require(head["report_number"], "BIA03 report number")
    for row in rows:
        row["report_number"] = report
        row.setdefault("date", None)
    ctx.add("x12_846_headers", head)
    ctx.tables.setdefault("x12_846_quantities", []).extend(rows)
