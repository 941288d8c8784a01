"""180 return authorizations and 997/999 acknowledgments to rows."""

from __future__ import annotations

import re

from trueup.x12.mapping import MapContext, Row, first_component, require, text
from trueup.x12.values import MappingError, date, el, integer, num, product_ids

_FUNCTIONAL_ID = re.compile(r"[A-Z]{2}")
_SET_STATUS = frozenset("AEMRWX")
_GROUP_STATUS = frozenset("AEMPRWX")


def map_180(segs: list[list[str]], ctx: MapContext) -> None:
    """180 → ``x12_180_headers`` and ``x12_180_lines`` (BLI, or LIN/SLN as some guides send)."""
    head = ctx.row(
        rma_number=None,
        purpose=None,
        reference=None,
        request_date=None,
        disposition=None,
        reason=None,
        response=None,
        po_number=None,
    )
    lines: list[Row] = []
    line: Row | None = None

    def new_line(ids: dict, qty: float | None, uom: str | None, price: float | None) -> Row:
        row = ctx.row(
            rma_number=None,
            line_index=len(lines) + 1,
            **ids,
            quantity=qty,
            uom=uom,
            unit_price=price,
            disposition=None,
            reason=None,
            line_rma_number=None,
            description=None,
        )
        lines.append(row)
        return row

    for k, s in enumerate(segs):
        ctx.at = k
        tag = s[0]
        q = el(s, 1)
        if tag == "BLI":
            line = new_line(product_ids(s, 1, 2), num(s, 3), text(s, 4), num(s, 5))
        elif tag == "LIN":
            line = new_line(product_ids(s, 2), None, None, None)
        elif tag == "SLN":
            qty, uom, price = num(s, 4), text(s, 5), num(s, 6)
            if line is not None and line["quantity"] is None:
                line.update(quantity=qty, uom=uom, unit_price=price)
            else:
                ids = product_ids(s, 9)
                line = new_line(ids, qty, uom, price)
        elif tag == "QTY" and line is not None and line["quantity"] is None:
            line.update(quantity=num(s, 2), uom=first_component(text(s, 3), ctx.component))
        elif tag == "RDR":
            target = line if line is not None else head
            target.update(disposition=text(s, 1), reason=text(s, 2))
            if line is None:
                head["response"] = text(s, 3)
        elif tag == "N9" and q in ("QJ", "RZ"):
            if line is None:
                head["rma_number"] = head["rma_number"] or text(s, 2)
            else:
                line["line_rma_number"] = text(s, 2)
        elif tag == "PID" and line is not None:
            line["description"] = line["description"] or text(s, 5)
        elif tag == "BGN":
            head.update(purpose=text(s, 1), reference=text(s, 2), request_date=date(s, 3))
        elif tag == "PRF" and line is None:
            head["po_number"] = text(s, 1)
    # Without an N9 RMA the request reference (BGN02) is the only document number.
    rma = require(head["rma_number"] or head["reference"], "N9 QJ/RZ or BGN02 RMA number")
    head["rma_number"] = rma
    for row in lines:
        row["rma_number"] = rma
    ctx.add("x12_180_headers", head)
    ctx.tables.setdefault("x12_180_lines", []).extend(lines)


def map_997(segs: list[list[str]], ctx: MapContext) -> None:
    """997/999 → ``x12_997_acks`` (AK1/AK9), ``x12_997_set_acks`` (AK2/AK5 or IK5) and
    ``x12_997_errors`` (AK3/AK4 or IK3/IK4).

    Structure is checked because an acknowledgment that cannot be read must not silently
    confirm anything: AK1 must open the body, AK5/IK5 must follow an AK2, codes must be known.
    """
    head = ctx.row(
        ack_functional_id=None,
        ack_group_control=None,
        group_status=None,
        sets_included=None,
        sets_received=None,
        sets_accepted=None,
        group_error_codes=None,
    )
    set_acks: list[Row] = []
    errors: list[Row] = []
    set_ack: Row | None = None
    seen_ak1 = False
    last_segment_error: Row | None = None
    comp = ctx.component
    for k, s in enumerate(segs):
        ctx.at = k
        tag = s[0]
        if tag in ("ST", "SE"):
            continue
        if not seen_ak1 and tag != "AK1":
            raise MappingError(f"{tag} before AK1: acknowledgment structure broken (AK3 code 2)")
        if tag == "AK1":
            seen_ak1 = True
            if not _FUNCTIONAL_ID.fullmatch(el(s, 1)):
                raise MappingError(f"AK101 {el(s, 1)!r} is not a functional identifier code")
            integer(s, 2)
            head.update(ack_functional_id=el(s, 1), ack_group_control=el(s, 2))
        elif tag == "AK2":
            if len(s) > 4:
                raise MappingError(f"AK2 has {len(s) - 1} elements, at most 3 allowed (AK4 3)")
            set_ack = ctx.row(
                ack_group_control=head["ack_group_control"],
                set_id=text(s, 1),
                set_control=text(s, 2),
                status=None,
                error_codes=None,
            )
            set_acks.append(set_ack)
        elif tag in ("AK3", "IK3"):
            if set_ack is None:
                raise MappingError(f"{tag} outside an AK2 loop")
            last_segment_error = ctx.row(
                ack_group_control=head["ack_group_control"],
                set_control=set_ack["set_control"],
                segment_id=text(s, 1),
                segment_position=integer(s, 2),
                loop_id=text(s, 3),
                segment_error=text(s, 4),
                element_position=None,
                element_ref=None,
                element_error=None,
                bad_value=None,
            )
            errors.append(last_segment_error)
        elif tag in ("AK4", "IK4"):
            if set_ack is None:
                raise MappingError(f"{tag} outside an AK2 loop")
            position = first_component(text(s, 1), comp)
            if position is not None and not position.isdigit():
                raise MappingError(f"{tag}01 {position!r} is not an element position")
            row = (
                dict(last_segment_error)
                if last_segment_error
                else ctx.row(
                    ack_group_control=head["ack_group_control"],
                    set_control=set_ack["set_control"],
                    segment_id=None,
                    segment_position=None,
                    loop_id=None,
                    segment_error=None,
                )
            )
            row.update(
                element_position=int(position) if position else None,
                element_ref=integer(s, 2),
                element_error=text(s, 3),
                bad_value=text(s, 4),
            )
            if last_segment_error is not None and last_segment_error["element_error"] is None:
                last_segment_error.update(row)
            else:
                errors.append(row)
        elif tag in ("AK5", "IK5"):
            if set_ack is None:
                raise MappingError(f"{tag} outside an AK2 loop")
            if el(s, 1) not in _SET_STATUS:
                raise MappingError(f"{tag}01 {el(s, 1)!r} is not an acknowledgment code")
            codes = [c.strip() for c in s[2:] if c.strip()]
            set_ack.update(status=el(s, 1), error_codes=",".join(codes) or None)
            set_ack, last_segment_error = None, None
        elif tag == "AK9":
            if el(s, 1) not in _GROUP_STATUS:
                raise MappingError(f"AK901 {el(s, 1)!r} is not an acknowledgment code")
            codes = [c.strip() for c in s[5:] if c.strip()]
            head.update(
                group_status=el(s, 1),
                sets_included=integer(s, 2),
                sets_received=integer(s, 3),
                sets_accepted=integer(s, 4),
                group_error_codes=",".join(codes) or None,
            )
    require(head["ack_group_control"], "AK102 acknowledged group control number")
    ctx.add("x12_997_acks", head)
    ctx.tables.setdefault("x12_997_set_acks", []).extend(set_acks)
    ctx.tables.setdefault("x12_997_errors", []).extend(errors)
