"""Returns: RMA → WMS return receipt → credit memo (and the channel refund), with ground truth.

Credits are issued on receipt for every channel (B2B practice; the simulated marketplaces follow
the same rule), so a credit before any receipt is always a true exception.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.billing import Billing, frac
from simulator.discrepancies import DEFECT, VARIANT, TruthLog
from simulator.fulfilment import NEVER, RULES, Counters, Fulfilment, fmt_ids
from simulator.timing import DAY, HOUR


@dataclass
class Returns:
    """One RMA per returned order line (one line per RMA)."""

    rmas: pd.DataFrame


def build_returns(
    f: Fulfilment, b: Billing, counters: Counters, as_of: int, truth: TruthLog
) -> Returns:
    """Plan RMAs, receipts and credits for orders that have a return; log their ground truth."""
    o = f.orders
    inv = b.invoices
    first = inv[~inv["is_dup"]].drop_duplicates("o").set_index("o")
    cand = o[o["has_return"] & o.index.isin(first.index)]
    il = b.invoice_lines
    il_key = il.assign(o=inv["o"].to_numpy()[il["i"].to_numpy()])
    il_key = il_key[~inv["is_dup"].to_numpy()[il["i"].to_numpy()]]
    il_key = il_key.drop_duplicates(["o", "so_line_no"]).set_index(["o", "so_line_no"])
    keys = list(zip(cand.index, cand["return_line"], strict=True))
    ok = np.array([k in il_key.index for k in keys], dtype=bool)
    cand = cand[ok]
    keys = [k for k, good in zip(keys, ok, strict=True) if good]
    if cand.empty:
        return Returns(pd.DataFrame())
    line = il_key.loc[keys]
    ex = cand["extra"].to_numpy()
    rq = 1 + np.floor(frac(ex, 20) * line["qty"].to_numpy()).astype(np.int64)
    rq = np.minimum(rq, line["qty"].to_numpy())
    r = pd.DataFrame(
        {
            "o": cand.index.to_numpy(),
            "rma_no": fmt_ids("RMA", counters.take("rma", cand["rma_at"].to_numpy())),
            "so_no": cand["so_no"].to_numpy(),
            "customer_no": cand["customer_no"].to_numpy(),
            "channel": cand["channel"].to_numpy(),
            "channel_order_ref": cand["channel_order_ref"].to_numpy(),
            "warehouse_code": np.where(
                cand["warehouse_code"].to_numpy() == "3PL-CENTRAL",
                "DC-EAST",
                cand["warehouse_code"].to_numpy(),
            ),
            "invoice_no": line["invoice_no"].to_numpy(),
            "line_no": cand["return_line"].to_numpy(),
            "correlation_id": line["correlation_id"].to_numpy(),
            "item": line["item"].to_numpy(),
            "item_no": line["item_no"].to_numpy(),
            "uom": line["uom"].to_numpy(),
            "factor": line["factor"].to_numpy(),
            "qty": rq,
            "price_c": line["price_c"].to_numpy(),
            "channel_line_ref": f.lines.set_index(["o", "line_no"])["channel_line_ref"]
            .reindex(keys)
            .to_numpy(),
            "rma_at": cand["rma_at"].to_numpy(),
            "receipt_at": cand["rreceipt_at"].to_numpy(),
            "credit_at": cand["credit_at"].to_numpy(),
            "defect": cand["defect"].to_numpy(),
            "variant": cand["variant"].to_numpy(),
            "extra": ex,
            "reason": np.array(["DA", "DM", "WG", "CO", "EI"])[(frac(ex, 21) * 5).astype(int)],
        }
    )
    r["qty_base"] = r["qty"] * r["factor"]
    r["expected_c"] = r["qty"] * r["price_c"]
    d = r["defect"].to_numpy()
    never = NEVER
    no_receipt = np.isin(
        d, [DEFECT["return_credited_not_received"], DEFECT["rma_open_past_window"]]
    )
    r.loc[no_receipt, "receipt_at"] = never
    no_credit = np.isin(d, [DEFECT["return_received_not_credited"], DEFECT["rma_open_past_window"]])
    r.loc[no_credit, "credit_at"] = never
    cnr = d == DEFECT["return_credited_not_received"]
    r.loc[cnr, "credit_at"] = r["rma_at"].to_numpy()[cnr] + np.round(
        (1 + 2 * frac(ex[cnr], 22)) * DAY
    ).astype(np.int64)
    exp = r["expected_c"].to_numpy()
    delta = np.maximum(200, np.round(exp * (0.1 + 0.2 * frac(ex, 23)))).astype(np.int64)
    credit = np.where(
        d == DEFECT["credit_amount_mismatch"],
        np.where(exp - delta > 0, exp - delta, exp + delta),
        exp,
    )
    credit = np.where(
        (r["variant"].to_numpy() == VARIANT["credit_within_tol"]) & (exp > 100), exp - 25, credit
    )
    r["credit_c"] = credit.astype(np.int64)
    # never-issued credits and receipts get no number ('' ids are never written anywhere)
    cm = counters.take("credit_memo", r["credit_at"].to_numpy())
    rr = counters.take("return_receipt", r["receipt_at"].to_numpy())
    r["credit_memo_no"] = np.where(cm > 0, fmt_ids("CM", cm), "")
    r["return_receipt_no"] = np.where(rr > 0, fmt_ids("RR", rr), "")
    r["edi180_at"] = r["rma_at"] - np.round((1 + 3 * frac(ex, 24)) * HOUR).astype(np.int64)
    _truth_returns(r, as_of, truth)
    return Returns(r)


def _truth_returns(r: pd.DataFrame, as_of: int, truth: TruthLog) -> None:
    for x in r[r["rma_at"] < as_of].itertuples():
        received = x.receipt_at < as_of
        credited = x.credit_at < as_of
        docs = {"rma_no": x.rma_no, "invoice_no": x.invoice_no, "so_no": x.so_no}
        if received:
            docs["return_receipt_no"] = x.return_receipt_no
        if credited:
            docs["credit_memo_no"] = x.credit_memo_no
        corr = x.correlation_id
        if credited and not received:
            truth.exception(
                "return_credited_not_received",
                x.rma_no,
                corr,
                docs,
                x.credit_c,
                "erp",
                "credit memo with no return receipt",
            )
            continue
        if credited and x.credit_c != x.expected_c:
            if (
                abs(x.credit_c - x.expected_c)
                <= RULES["credit_amount_mismatch"].tolerance_abs * 100
            ):
                truth.near_miss(
                    "within_tolerance",
                    "credit_amount_mismatch",
                    x.rma_no,
                    corr,
                    docs,
                    "credit off by cents",
                )
            else:
                truth.exception(
                    "credit_amount_mismatch",
                    x.rma_no,
                    corr,
                    docs,
                    x.credit_c - x.expected_c,
                    "erp",
                    "credit differs from received qty x invoiced price",
                )
        if received and not credited:
            if as_of - x.receipt_at > RULES["return_received_not_credited"].sla_s:
                truth.exception(
                    "return_received_not_credited",
                    x.rma_no,
                    corr,
                    docs,
                    x.expected_c,
                    "wms",
                    "return received, never credited",
                )
            else:
                truth.near_miss(
                    "lag_within_sla",
                    "return_received_not_credited",
                    x.rma_no,
                    corr,
                    docs,
                    "credit not yet issued, inside the SLA",
                )
        if not received and not credited:
            if as_of - x.rma_at > RULES["rma_open_past_window"].sla_s:
                truth.exception(
                    "rma_open_past_window",
                    x.rma_no,
                    corr,
                    docs,
                    x.expected_c,
                    "erp",
                    "nothing received within the RMA window",
                )
            else:
                truth.near_miss(
                    "return_within_window",
                    "rma_open_past_window",
                    x.rma_no,
                    corr,
                    docs,
                    "RMA open, still inside its window",
                )
