"""856 advance ship notices: shipment header, the HL hierarchy, and item rows.

Item rows carry the order (PRF) and the pack/tare they sit in, found by walking HL02 parent
links, so any hierarchy code (S-O-P-I, S-O-I-P, S-P-O-I, S-O-I) reads the same way.
"""

from __future__ import annotations

from trueup.x12.mapping import MapContext, Row, require, text
from trueup.x12.values import (
    MappingError,
    date,
    el,
    integer,
    num,
    product_ids,
    sscc_check_digit_ok,
    sscc_from_man,
)

_LEVELS = {"S": "shipment", "O": "order", "T": "tare", "P": "pack", "I": "item"}


def _shipment_row(ctx: MapContext) -> Row:
    return ctx.row(
        shipment_id=None,
        purpose=None,
        shipment_date=None,
        shipment_time=None,
        hierarchy_structure=None,
        ship_date=None,
        est_delivery_date=None,
        bol_number=None,
        pro_number=None,
        carrier_scac=None,
        transport_mode=None,
        carrier_routing=None,
        packaging_code=None,
        lading_quantity=None,
        gross_weight=None,
        weight_uom=None,
        ship_from_name=None,
        ship_from_id=None,
        ship_to_name=None,
        ship_to_id=None,
        hl_count=None,
        total_units=None,
        order_count=0,
        tare_count=0,
        pack_count=0,
        item_count=0,
    )


def _shipment_level(head: Row, tag: str, s: list[str]) -> None:
    """Segments allowed at the heading or shipment (S) level."""
    q = el(s, 1)
    if tag == "TD1":
        head.update(
            packaging_code=text(s, 1),
            lading_quantity=integer(s, 2),
            gross_weight=num(s, 7),
            weight_uom=text(s, 8),
        )
    elif tag == "TD5":
        if el(s, 2) == "2":
            head["carrier_scac"] = text(s, 3)
        head["transport_mode"] = head["transport_mode"] or text(s, 4)
        head["carrier_routing"] = head["carrier_routing"] or text(s, 5)
    elif tag == "REF" and q in ("BM", "CN"):
        head["bol_number" if q == "BM" else "pro_number"] = text(s, 2)
    elif tag == "DTM" and q in ("011", "017"):
        head["ship_date" if q == "011" else "est_delivery_date"] = date(s, 2)
    elif tag == "N1" and q in ("SF", "ST"):
        prefix = "ship_from" if q == "SF" else "ship_to"
        head[f"{prefix}_name"] = text(s, 2)
        head[f"{prefix}_id"] = text(s, 4)


def map_856(segs: list[list[str]], ctx: MapContext) -> None:
    """856 → ``x12_856_shipments``, ``x12_856_hl`` (every HL) and ``x12_856_items``."""
    head = _shipment_row(ctx)
    nodes: dict[str, Row] = {}
    items: list[Row] = []
    node: Row | None = None
    item: Row | None = None
    for k, s in enumerate(segs):
        ctx.at = k
        tag = s[0]
        if tag == "HL":
            hl_id, parent = el(s, 1), el(s, 2) or None
            if not hl_id or hl_id in nodes:
                raise MappingError(f"HL01 {hl_id!r} is empty or repeated")
            if parent is not None and parent not in nodes:
                raise MappingError(f"HL02 {parent!r} refers to no earlier HL01")
            node = ctx.row(
                shipment_id=None,
                hl_id=hl_id,
                parent_hl_id=parent,
                level_code=el(s, 3),
                level=_LEVELS.get(el(s, 3), "other"),
                po_number=None,
                po_date=None,
                sscc=None,
                sscc_check_digit_ok=None,
            )
            nodes[hl_id] = node
            item = None
            if node["level_code"] == "I":
                item = _new_item(ctx, node, items)
        elif node is None or node["level_code"] == "S":
            if tag == "BSN":
                head.update(
                    purpose=text(s, 1),
                    shipment_id=text(s, 2),
                    shipment_date=date(s, 3),
                    shipment_time=text(s, 4),
                    hierarchy_structure=text(s, 5),
                )
            elif tag == "CTT":
                head.update(hl_count=integer(s, 1), total_units=num(s, 2))
            else:
                _shipment_level(head, tag, s)
        elif tag == "PRF":
            node.update(po_number=text(s, 1), po_date=date(s, 4))
        elif tag == "MAN":
            sscc = sscc_from_man(s)
            if sscc and node["sscc"] is None:
                # Public SSCCs often fail the check digit: flag, never reject [DOMAIN 1.4].
                node.update(sscc=sscc, sscc_check_digit_ok=sscc_check_digit_ok(sscc))
        elif tag in ("LIN", "SN1", "PID"):
            if item is None:
                item = _new_item(ctx, node, items)
            if tag == "LIN":
                item.update(line_number=text(s, 1), **product_ids(s, 2))
            elif tag == "SN1":
                item.update(units_shipped=num(s, 2), uom=text(s, 3), quantity_ordered=num(s, 5))
            else:
                item["description"] = item["description"] or text(s, 5)
        elif tag == "CTT":
            head.update(hl_count=integer(s, 1), total_units=num(s, 2))
    shipment_id = require(head["shipment_id"], "BSN02 shipment ID")
    for n in nodes.values():
        n["shipment_id"] = shipment_id
        level = n["level_code"]
        if level in ("O", "T", "P", "I"):
            key = {"O": "order_count", "T": "tare_count", "P": "pack_count", "I": "item_count"}
            head[key[level]] += 1
    for it in items:
        it["shipment_id"] = shipment_id
        _resolve_ancestors(it, nodes)
    ctx.add("x12_856_shipments", head)
    ctx.tables.setdefault("x12_856_hl", []).extend(nodes.values())
    ctx.tables.setdefault("x12_856_items", []).extend(items)


def _new_item(ctx: MapContext, node: Row, items: list[Row]) -> Row:
    row = ctx.row(
        shipment_id=None,
        hl_id=node["hl_id"],
        parent_hl_id=node["parent_hl_id"],
        order_hl_id=None,
        po_number=None,
        po_date=None,
        tare_hl_id=None,
        tare_sscc=None,
        pack_hl_id=None,
        pack_sscc=None,
        pack_sscc_check_digit_ok=None,
        line_number=None,
        upc=None,
        gtin=None,
        vendor_item=None,
        buyer_item=None,
        sku=None,
        mfr_part=None,
        description=None,
        units_shipped=None,
        uom=None,
        quantity_ordered=None,
    )
    items.append(row)
    return row


def _resolve_ancestors(item: Row, nodes: dict[str, Row]) -> None:
    """Fill the order, tare and pack columns from the nearest ancestors of each level."""
    hl_id: str | None = item["hl_id"]
    hops = 0
    while hl_id is not None and hops <= len(nodes):
        n = nodes[hl_id]
        level = n["level_code"]
        if level == "O" and item["order_hl_id"] is None:
            item.update(order_hl_id=n["hl_id"], po_number=n["po_number"], po_date=n["po_date"])
        elif level == "P" and item["pack_hl_id"] is None:
            item.update(
                pack_hl_id=n["hl_id"],
                pack_sscc=n["sscc"],
                pack_sscc_check_digit_ok=n["sscc_check_digit_ok"],
            )
        elif level == "T" and item["tare_hl_id"] is None:
            item.update(tare_hl_id=n["hl_id"], tare_sscc=n["sscc"])
        hl_id = n["parent_hl_id"]
        hops += 1
