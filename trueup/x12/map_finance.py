"""810 invoices and 820 remittance advices to header, line and adjustment rows."""

from __future__ import annotations

from trueup.x12.mapping import MapContext, Row, require, text
from trueup.x12.values import date, el, implied2, integer, num, product_ids


def _sac_row(ctx: MapContext, s: list[str], line_number: str | None) -> Row:
    amount = implied2(s, 5)
    indicator = text(s, 1)
    signed = None if amount is None else (-amount if indicator == "A" else amount)
    return ctx.row(
        invoice_number=None,
        line_number=line_number,
        indicator=indicator,
        code=text(s, 2),
        amount=amount,
        signed_amount=signed,
        percent=num(s, 7),
        rate=num(s, 8),
        handling=text(s, 12),
        description=text(s, 15),
    )


def map_810(segs: list[list[str]], ctx: MapContext) -> None:
    """810 → ``x12_810_headers``, ``x12_810_lines``, ``x12_810_allowances_charges``.

    TDS and SAC amounts are N2 (two implied decimals). BIG07 ``CR`` marks a credit memo.
    """
    head = ctx.row(
        invoice_number=None,
        invoice_date=None,
        po_number=None,
        po_date=None,
        release_number=None,
        transaction_type=None,
        is_credit_memo=False,
        currency=None,
        vendor_number=None,
        bol_number=None,
        ship_date=None,
        ship_to_name=None,
        ship_to_id=None,
        bill_to_name=None,
        bill_to_id=None,
        remit_to_name=None,
        terms_type=None,
        terms_basis=None,
        terms_discount_percent=None,
        terms_discount_days=None,
        terms_net_days=None,
        terms_discount_amount=None,
        total_amount=None,
        amount_subject_to_discount=None,
        carrier_scac=None,
        total_units=None,
        line_count=None,
        allowance_total=0.0,
        charge_total=0.0,
    )
    lines: list[Row] = []
    sacs: list[Row] = []
    line: Row | None = None
    for k, s in enumerate(segs):
        ctx.at = k
        tag = s[0]
        if tag == "IT1":
            qty, price = num(s, 2), num(s, 4)
            line = ctx.row(
                invoice_number=None,
                line_index=len(lines) + 1,
                line_number=text(s, 1),
                quantity=qty,
                uom=text(s, 3),
                unit_price=price,
                price_basis=text(s, 5),
                **product_ids(s, 6),
                description=None,
                extended_amount=None if qty is None or price is None else round(qty * price, 2),
            )
            lines.append(line)
        elif tag == "SAC":
            sac = _sac_row(ctx, s, line["line_number"] if line is not None else None)
            sacs.append(sac)
            if line is None and sac["amount"] is not None:
                key = "allowance_total" if sac["indicator"] == "A" else "charge_total"
                head[key] = round(head[key] + sac["amount"], 2)
        elif tag == "TDS":
            line = None  # summary area: later SACs are invoice-level
            head.update(total_amount=implied2(s, 1), amount_subject_to_discount=implied2(s, 2))
        elif line is not None:
            if tag == "PID":
                line["description"] = line["description"] or text(s, 5)
        elif tag == "BIG":
            head.update(
                invoice_date=date(s, 1),
                invoice_number=text(s, 2),
                po_date=date(s, 3),
                po_number=text(s, 4),
                release_number=text(s, 5),
                transaction_type=text(s, 7),
                is_credit_memo=el(s, 7) == "CR",
            )
        elif tag == "REF" and el(s, 1) in ("IA", "BM", "PO"):
            col = {"IA": "vendor_number", "BM": "bol_number", "PO": "po_number"}[el(s, 1)]
            head[col] = head[col] or text(s, 2)
        elif tag == "N1" and el(s, 1) in ("ST", "BT", "RI", "RE"):
            q = el(s, 1)
            if q in ("RI", "RE"):
                head["remit_to_name"] = text(s, 2)
            else:
                prefix = "ship_to" if q == "ST" else "bill_to"
                head[f"{prefix}_name"], head[f"{prefix}_id"] = text(s, 2), text(s, 4)
        elif tag == "ITD":
            head.update(
                terms_type=text(s, 1),
                terms_basis=text(s, 2),
                terms_discount_percent=num(s, 3),
                terms_discount_days=integer(s, 5),
                terms_net_days=integer(s, 7),
                terms_discount_amount=implied2(s, 8),
            )
        elif tag == "DTM" and el(s, 1) == "011":
            head["ship_date"] = date(s, 2)
        elif tag == "CUR":
            head["currency"] = text(s, 2)
        elif tag == "CAD":
            head["carrier_scac"] = text(s, 4)
            if el(s, 7) == "BM":
                head["bol_number"] = head["bol_number"] or text(s, 8)
        elif tag == "ISS":
            head["total_units"] = num(s, 1)
        elif tag == "CTT":
            head["line_count"] = integer(s, 1)
    invoice = require(head["invoice_number"], "BIG02 invoice number")
    for row in (*lines, *sacs):
        row["invoice_number"] = invoice
    ctx.add("x12_810_headers", head)
    ctx.tables.setdefault("x12_810_lines", []).extend(lines)
    ctx.tables.setdefault("x12_810_allowances_charges", []).extend(sacs)


def map_820(segs: list[list[str]], ctx: MapContext) -> None:
    """820 → ``x12_820_payments``, ``x12_820_remittances`` (RMR), ``x12_820_adjustments`` (ADX).

    RMR04 is the amount paid, RMR05 the invoice amount, RMR06 the discount taken; ADX01 is a
    signed adjustment whose reason is ADX02.
    """
    head = ctx.row(
        trace_number=None,
        trace_type=None,
        originator_id=None,
        handling=None,
        total_amount=None,
        credit_debit=None,
        payment_method=None,
        payment_format=None,
        payment_date=None,
        currency=None,
        payer_name=None,
        payer_id=None,
        payee_name=None,
        payee_id=None,
        remittance_count=0,
    )
    remits: list[Row] = []
    adjustments: list[Row] = []
    remit: Row | None = None
    entity: str | None = None
    for k, s in enumerate(segs):
        ctx.at = k
        tag = s[0]
        if tag == "RMR":
            remit = ctx.row(
                trace_number=None,
                entity=entity,
                remit_index=len(remits) + 1,
                ref_qualifier=text(s, 1),
                ref_number=text(s, 2),
                paid_amount=num(s, 4),
                invoice_amount=num(s, 5),
                discount_amount=num(s, 6),
                adjustment_amount=0.0,
                invoice_date=None,
                po_number=None,
            )
            remits.append(remit)
        elif tag == "ADX":
            amount = num(s, 1)
            adjustments.append(
                ctx.row(
                    trace_number=None,
                    entity=entity,
                    ref_number=remit["ref_number"] if remit else None,
                    amount=amount,
                    reason=text(s, 2),
                    adx_ref_qualifier=text(s, 3),
                    adx_ref=text(s, 4),
                )
            )
            if remit is not None and amount is not None:
                remit["adjustment_amount"] = round(remit["adjustment_amount"] + amount, 2)
        elif tag == "ENT":
            entity, remit = text(s, 1), None
        elif remit is not None and tag == "REF" and el(s, 1) == "PO":
            remit["po_number"] = text(s, 2)
        elif remit is not None and tag == "DTM":
            remit["invoice_date"] = remit["invoice_date"] or date(s, 2)
        elif tag == "BPR":
            head.update(
                handling=text(s, 1),
                total_amount=num(s, 2),
                credit_debit=text(s, 3),
                payment_method=text(s, 4),
                payment_format=text(s, 5),
                payment_date=date(s, 16),
            )
        elif tag == "TRN":
            head.update(trace_type=text(s, 1), trace_number=text(s, 2), originator_id=text(s, 3))
        elif tag == "CUR":
            head["currency"] = text(s, 2)
        elif tag == "N1" and el(s, 1) in ("PR", "PE"):
            prefix = "payer" if el(s, 1) == "PR" else "payee"
            head[f"{prefix}_name"], head[f"{prefix}_id"] = text(s, 2), text(s, 4)
    trace = require(head["trace_number"], "TRN02 trace number")
    head["remittance_count"] = len(remits)
    for row in (*remits, *adjustments):
        row["trace_number"] = trace
    ctx.add("x12_820_payments", head)
    ctx.tables.setdefault("x12_820_remittances", []).extend(remits)
    ctx.tables.setdefault("x12_820_adjustments", []).extend(adjustments)
