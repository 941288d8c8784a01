"""Billing and money: ERP invoices (per shipment or consolidated), their 810s, customer payments
(820 remittances and cash receipts), Shopify charges and Amazon settlement lines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.discrepancies import DEFECT, VARIANT, TruthLog
from simulator.fulfilment import RULES, Counters, Fulfilment, fmt_ids
from simulator.master_data import FEE_RATES, TERMS, MasterData
from simulator.timing import DAY, HOUR, zfill


def half_up(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """Integer division rounding halves up (what SQL ``round`` does), for non-negative values.

    numpy's ``round`` rounds halves to even; a reconciliation in SQL would then disagree by a cent.
    """
    return (np.asarray(numerator, dtype=np.int64) * 2 + denominator) // (2 * denominator)


def frac(x: np.ndarray, k: int) -> np.ndarray:
    """A deterministic uniform in [0, 1) derived from another uniform (k selects which)."""
    return (np.asarray(x) * (9973 * (k + 1))) % 1.0


@dataclass
class Billing:
    """Invoices and everything money-related planned for a block."""

    invoices: pd.DataFrame
    invoice_lines: pd.DataFrame
    edi810: pd.DataFrame  # one row per 810 (= per EDI invoice): sent_at, tds_c
    edi810_lines: pd.DataFrame
    remits: pd.DataFrame  # one row per 820 RMR (invoice paid in a remittance)
    receipts: pd.DataFrame  # ERP cash receipts
    applications: pd.DataFrame  # ERP cash applications
    shopify_txns: pd.DataFrame  # Shopify balance transactions (charges)
    amazon_rows: pd.DataFrame  # Amazon settlement detail lines (orders)


def build_billing(
    f: Fulfilment, master: MasterData, counters: Counters, as_of: int, truth: TruthLog
) -> Billing:
    """Plan invoices, 810s and payments; log billing, EDI-invoice and cash ground truth."""
    sh, sl, o = f.shipments, f.shipment_lines, f.orders
    d = sh["defect"].to_numpy()
    v = sh["variant"].to_numpy()
    billable = (d != DEFECT["wms_shipment_not_posted"]) & (d != DEFECT["shipped_not_invoiced"])
    consolidated = v == VARIANT["split_consolidated"]
    grp_k = np.where(consolidated, 1, sh["k"].to_numpy())
    cand = np.flatnonzero(billable)
    keys = sh["o"].to_numpy()[cand] * 4 + grp_k[cand]
    uniq, first = np.unique(keys, return_index=True)
    inv_of_s = np.full(len(sh), -1)
    inv_pos = np.searchsorted(uniq, keys)
    inv_of_s[cand] = inv_pos
    lead = cand[first]  # the shipment whose row gives the invoice header
    # numbers of the invoices and of their injected duplicates, by the day each is created
    inv_at = sh["invoiced_at"].to_numpy()[lead]
    dup_i = np.flatnonzero(d[lead] == DEFECT["duplicate_invoice"])
    inv_num = counters.take(
        "invoice", np.r_[inv_at, inv_at[dup_i] + sh["dup_lag"].to_numpy()[lead][dup_i]]
    )
    inv = pd.DataFrame(
        {
            "invoice_no": fmt_ids("IN", inv_num[: len(lead)]),
            "o": sh["o"].to_numpy()[lead],
            "s": lead,
            "so_no": sh["so_no"].to_numpy()[lead],
            "customer_no": sh["customer_no"].to_numpy()[lead],
            "channel": sh["channel"].to_numpy()[lead],
            "invoiced_at": inv_at,
            "defect": d[lead],
            "variant": v[lead],
            "extra": sh["extra"].to_numpy()[lead],
            "dup_lag": sh["dup_lag"].to_numpy()[lead],
            "is_consolidated": consolidated[lead],
            "is_dup": False,
            "original_invoice_no": "",
        }
    )

    # invoice lines: shipment lines of billable shipments (+ the unshipped line when injected)
    sl_inv = inv_of_s[sl["s"].to_numpy()]
    keep = sl_inv >= 0
    il = pd.DataFrame(
        {
            "i": sl_inv[keep],
            "shipment_id": sl["shipment_id"].to_numpy()[keep],
            "so_no": sl["so_no"].to_numpy()[keep],
            "so_line_no": sl["line_no"].to_numpy()[keep],
            "correlation_id": sl["correlation_id"].to_numpy()[keep],
            "item": sl["item"].to_numpy()[keep],
            "item_no": sl["item_no"].to_numpy()[keep],
            "uom": sl["uom"].to_numpy()[keep],
            "factor": sl["factor"].to_numpy()[keep],
            "qty": sl["qty"].to_numpy()[keep],
            "price_c": sl["price_c"].to_numpy()[keep],
            "ship_qty": sl["qty"].to_numpy()[keep],
            "ordered_qty": sl["ordered_qty"].to_numpy()[keep],
            "shipped": True,
        }
    )
    ln = f.lines
    ins = o["inv_ns_line"].to_numpy()
    oi_ns = np.flatnonzero(ins > 0)
    if len(oi_ns):
        first_s = pd.Series(np.arange(len(sh)))[sh["k"].to_numpy() == 1]
        s_of_o = dict(zip(sh["o"].to_numpy()[first_s.to_numpy()], first_s.to_numpy(), strict=True))
        rows = []
        # position of each (order, line_no) wanted: one hashed lookup, not a dict of every line
        line_key = ln["o"].to_numpy().astype(np.int64) * 100_000 + ln["line_no"].to_numpy()
        li_of = pd.Index(line_key).get_indexer(oi_ns.astype(np.int64) * 100_000 + ins[oi_ns])
        assert (li_of >= 0).all(), "an injected invoice line points at no order line"
        for oi, li in zip(oi_ns, li_of.tolist(), strict=True):
            s = s_of_o.get(oi)
            if s is None or inv_of_s[s] < 0:
                continue
            r = ln.iloc[li]
            rows.append(
                {
                    "i": inv_of_s[s],
                    "shipment_id": sh["shipment_id"].iat[s],
                    "so_no": r.so_no,
                    "so_line_no": r.line_no,
                    "correlation_id": r.correlation_id,
                    "item": r["item"],
                    "item_no": r.item_no,
                    "uom": r.uom,
                    "factor": r.factor,
                    "qty": r.qty,
                    "price_c": r.price_c,
                    "ship_qty": 0,
                    "ordered_qty": r.qty,
                    "shipped": False,
                }
            )
        if rows:
            il = pd.concat([il, pd.DataFrame(rows)], ignore_index=True)
    il = il.sort_values(["i", "so_line_no", "shipment_id"], kind="stable").reset_index(drop=True)
    il["inv_line_no"] = il.groupby("i").cumcount() + 1
    il["order_price_c"] = il["price_c"]
    # mutations on the first matching line of the injected order
    mut = o["mutate_line"].to_numpy()[inv["o"].to_numpy()[il["i"].to_numpy()]]
    idef = inv["defect"].to_numpy()[il["i"].to_numpy()]
    ivar = inv["variant"].to_numpy()[il["i"].to_numpy()]
    ex = inv["extra"].to_numpy()[il["i"].to_numpy()]
    on = (il["so_line_no"].to_numpy() == mut) & il["shipped"].to_numpy()
    qv = on & (idef == DEFECT["invoice_qty_variance"])
    dq = np.where(frac(ex, 1) < 0.5, -1, 1) * (1 + (frac(ex, 2) * 3).astype(np.int64))
    dq = np.where(il["qty"].to_numpy() + dq < 1, np.abs(dq), dq)
    il.loc[qv, "qty"] = il["qty"].to_numpy()[qv] + dq[qv]
    pv = on & (idef == DEFECT["invoice_price_variance"])
    pc_ = il["price_c"].to_numpy()
    dp = np.maximum(10, np.round(pc_ * (0.06 + 0.14 * frac(ex, 3)))).astype(np.int64)
    dp = np.where((frac(ex, 4) < 0.5) & (pc_ - dp > 0), -dp, dp)
    il.loc[pv, "price_c"] = pc_[pv] + dp[pv]
    pt = on & (ivar == VARIANT["price_within_tol"])
    dpt = (1 + (frac(ex, 5) * 4).astype(np.int64)) * np.where(frac(ex, 6) < 0.5, -1, 1)
    il.loc[pt, "price_c"] = pc_[pt] + dpt[pt]
    ue = on & (ivar == VARIANT["uom_invoice_ea"]) & (il["uom"].to_numpy() == "CA")
    il.loc[ue, "qty"] = il["qty"].to_numpy()[ue] * il["factor"].to_numpy()[ue]
    il.loc[ue, "price_c"] = il["price_c"].to_numpy()[ue] // il["factor"].to_numpy()[ue]
    il.loc[ue, "uom"] = "EA"
    il.loc[ue, "factor"] = 1
    il["qty_base"] = il["qty"] * il["factor"]
    il["ext_c"] = il["qty"] * il["price_c"]
    il["flag"] = np.select([qv, pv, pt, ue], ["qty", "price", "price_tol", "uom"], "")
    il["invoice_no"] = inv["invoice_no"].to_numpy()[il["i"].to_numpy()]
    inv["total_c"] = np.bincount(
        il["i"].to_numpy(), weights=il["ext_c"].to_numpy(), minlength=len(inv)
    ).astype(np.int64)

    # duplicate invoices: a second ERP invoice for the same shipment lines
    if len(dup_i):
        dinv = inv.iloc[dup_i].copy()
        dinv["original_invoice_no"] = dinv["invoice_no"]
        dinv["invoice_no"] = fmt_ids("IN", inv_num[len(lead) :])
        dinv["invoiced_at"] = dinv["invoiced_at"] + dinv["dup_lag"]
        dinv["is_dup"] = True
        new_pos = np.arange(len(inv), len(inv) + len(dup_i))
        remap = dict(zip(dup_i, new_pos, strict=True))
        dil = il[il["i"].isin(dup_i)].copy()
        dil["i"] = dil["i"].map(remap)
        dil["invoice_no"] = dinv["invoice_no"].to_numpy()[dil["i"].to_numpy() - len(inv)]
        inv = pd.concat([inv, dinv], ignore_index=True)
        il = pd.concat([il, dil], ignore_index=True)
    terms = master.cust_terms[f.orders["cust"].to_numpy()[inv["o"].to_numpy()]]
    inv["terms"] = terms
    inv["due_at"] = inv["invoiced_at"] + np.array([TERMS[t][2] for t in terms]) * DAY

    _truth_invoices(sh, sl, inv, il, as_of, truth)
    e810, e810l = _edi810(inv, il, as_of, truth)
    remits, receipts, apps = _payments(o, inv, counters, as_of, truth)
    shop = _shopify_charges(o, inv, as_of, truth)
    amz = _amazon_rows(o, sh, f.lines, inv, as_of, truth)
    return Billing(inv, il, e810, e810l, remits, receipts, apps, shop, amz)


def _truth_invoices(
    sh: pd.DataFrame,
    sl: pd.DataFrame,
    inv: pd.DataFrame,
    il: pd.DataFrame,
    as_of: int,
    truth: TruthLog,
) -> None:
    r_sni = RULES["shipped_not_invoiced"]
    r_ins = RULES["invoiced_not_shipped"]
    # shipment lines posted but not (yet) invoiced
    d = sh["defect"].to_numpy()
    posted = (d != DEFECT["wms_shipment_not_posted"]) & (sh["posted_at"].to_numpy() < as_of)
    uninvoiced = (d == DEFECT["shipped_not_invoiced"]) | (sh["invoiced_at"].to_numpy() >= as_of)
    sel = np.flatnonzero(posted & uninvoiced)
    # shipment lines of each selected shipment, in shipment-line order (no per-shipment scans)
    sl_s = sl["s"].to_numpy()
    by_s = np.argsort(sl_s, kind="stable")
    lo = np.searchsorted(sl_s[by_s], sel, "left").tolist()
    hi = np.searchsorted(sl_s[by_s], sel, "right").tolist()
    s_id, s_so = sh["shipment_id"].to_numpy(), sh["so_no"].to_numpy()
    s_at, s_var, s_k = sh["shipped_at"].to_numpy(), sh["variant"].to_numpy(), sh["k"].to_numpy()
    l_corr, l_qty, l_pc = (sl[c].to_numpy() for c in ("correlation_id", "qty", "price_c"))
    for s, a, b in zip(sel.tolist(), lo, hi, strict=True):
        age = as_of - s_at[s]
        for j in by_s[a:b].tolist():
            corr = l_corr[j]
            key = f"{s_id[s]}:{corr}"
            docs = {"shipment_id": s_id[s], "so_no": s_so[s]}
            if d[s] == DEFECT["shipped_not_invoiced"] and age > r_sni.sla_s:
                truth.exception(
                    "shipped_not_invoiced",
                    key,
                    corr,
                    docs,
                    l_qty[j] * l_pc[j],
                    "erp",
                    "ship confirm never invoiced",
                )
            elif s_var[s] == VARIANT["split_consolidated"] and s_k[s] == 2:
                pass  # covered by the consolidated near-miss below
            else:
                truth.near_miss(
                    "lag_within_sla",
                    "shipped_not_invoiced",
                    key,
                    corr,
                    docs,
                    f"shipped {age / HOUR:.1f} h before as_of",
                )
    ok = inv["invoiced_at"].to_numpy() < as_of
    vis = il[ok[il["i"].to_numpy()]]
    for r in vis[vis["flag"] != ""].itertuples():
        key = f"{r.invoice_no}:{r.correlation_id}"
        docs = {"invoice_no": r.invoice_no, "shipment_id": r.shipment_id, "so_no": r.so_no}
        if r.flag == "qty":
            truth.exception(
                "invoice_qty_variance",
                key,
                r.correlation_id,
                docs,
                abs(r.qty - r.ship_qty) * r.price_c,
                "erp",
                f"invoiced {r.qty} {r.uom}, shipped {r.ship_qty} {r.uom}",
            )
        elif r.flag == "price":
            truth.exception(
                "invoice_price_variance",
                key,
                r.correlation_id,
                docs,
                abs(r.price_c - r.order_price_c) * r.qty,
                "erp",
                f"invoice price {r.price_c / 100:.2f} vs order {r.order_price_c / 100:.2f}",
            )
        elif r.flag == "price_tol":
            truth.near_miss(
                "within_tolerance",
                "invoice_price_variance",
                key,
                r.correlation_id,
                docs,
                "price differs by a few cents, inside tolerance",
            )
        elif r.flag == "uom":
            truth.near_miss(
                "uom_equivalent",
                "invoice_qty_variance",
                key,
                r.correlation_id,
                docs,
                "invoiced in EA, ordered and shipped in CA: same base quantity",
            )
    inv_at = inv["invoiced_at"].to_numpy()
    for r in vis[~vis["shipped"]].itertuples():
        key = f"{r.invoice_no}:{r.correlation_id}"
        docs = {"invoice_no": r.invoice_no, "so_no": r.so_no}
        if as_of - inv_at[r.i] > r_ins.sla_s:
            truth.exception(
                "invoiced_not_shipped",
                key,
                r.correlation_id,
                docs,
                r.qty * r.price_c,
                "erp",
                "invoice line with no shipment line",
            )
        else:
            truth.near_miss(
                "lag_within_sla",
                "invoiced_not_shipped",
                key,
                r.correlation_id,
                docs,
                "invoice younger than the SLA",
            )
    # benign: splits, backorders and consolidated invoices look like qty variances
    var = inv["variant"].to_numpy()[vis["i"].to_numpy()]
    part = vis["shipped"].to_numpy() & (vis["ship_qty"].to_numpy() < vis["ordered_qty"].to_numpy())
    for r, vv in zip(vis[part].itertuples(), var[part], strict=True):
        key = f"{r.invoice_no}:{r.correlation_id}"
        docs = {"invoice_no": r.invoice_no, "shipment_id": r.shipment_id, "so_no": r.so_no}
        if vv == VARIANT["backorder"]:
            truth.near_miss(
                "partial_shipment_backorder",
                "invoice_qty_variance",
                key,
                r.correlation_id,
                docs,
                "rest of the line backordered",
            )
        else:
            truth.near_miss(
                "split_shipment",
                "invoice_qty_variance",
                key,
                r.correlation_id,
                docs,
                "line shipped in two shipments",
            )
    cons = vis[inv["is_consolidated"].to_numpy()[vis["i"].to_numpy()]]
    second = set(
        sh.loc[(sh["k"] == 2) & (sh["variant"] == VARIANT["split_consolidated"]), "shipment_id"]
    )
    for r in cons.itertuples():
        sid = r.shipment_id
        if sid in second:
            truth.near_miss(
                "consolidated_invoice",
                "shipped_not_invoiced",
                f"{sid}:{r.correlation_id}",
                r.correlation_id,
                {"invoice_no": r.invoice_no, "shipment_id": sid},
                "second shipment billed on the same invoice as the first",
            )
    dups = inv[inv["is_dup"] & ok]
    for h in dups.itertuples():
        truth.exception(
            "duplicate_invoice",
            h.invoice_no,
            "",
            {
                "invoice_no": h.invoice_no,
                "original_invoice_no": h.original_invoice_no,
                "so_no": h.so_no,
            },
            h.total_c,
            "erp",
            "same shipment lines invoiced twice",
        )


def _edi810(
    inv: pd.DataFrame, il: pd.DataFrame, as_of: int, truth: TruthLog
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 810 we transmit for every EDI invoice (normally a faithful copy of the ERP invoice)."""
    e = inv[inv["channel"] == "edi"].copy()
    e["sent_at"] = e["invoiced_at"] + np.round(
        (0.5 + 5.5 * frac(e["extra"].to_numpy(), 7)) * HOUR
    ).astype(np.int64)
    lines = il[il["i"].isin(e.index)].copy()
    d = e.loc[lines["i"], "defect"].to_numpy()
    first = lines.groupby("i").cumcount().to_numpy() == 0
    mm = first & (d == DEFECT["edi_invoice_mismatch"]) & ~e.loc[lines["i"], "is_dup"].to_numpy()
    bump = np.maximum(100, np.round(lines["price_c"].to_numpy() * 0.1)).astype(np.int64)
    lines["x_price_c"] = lines["price_c"].to_numpy() + np.where(mm, bump, 0)
    lines["x_ext_c"] = lines["qty"] * lines["x_price_c"]
    tds = lines.groupby("i")["x_ext_c"].sum()
    e["tds_c"] = tds.reindex(e.index).fillna(0).astype(np.int64).to_numpy()
    cent = (e["variant"].to_numpy() == VARIANT["edi810_cent"]) & ~e["is_dup"].to_numpy()
    e["tds_c"] = e["tds_c"] - np.where(cent, 1, 0)
    for h in e[(e["sent_at"] < as_of) & (e["tds_c"] != e["total_c"])].itertuples():
        docs = {"invoice_no": h.invoice_no, "so_no": h.so_no}
        if abs(h.tds_c - h.total_c) <= 1:
            truth.near_miss(
                "within_tolerance",
                "edi_invoice_mismatch",
                h.invoice_no,
                "",
                docs,
                "810 total differs from the ERP by one cent (rounding)",
            )
        else:
            truth.exception(
                "edi_invoice_mismatch",
                h.invoice_no,
                "",
                docs,
                h.tds_c - h.total_c,
                "edi_810",
                "transmitted 810 carries a stale price",
            )
    return e, lines


def _payments(
    o: pd.DataFrame, inv: pd.DataFrame, counters: Counters, as_of: int, truth: TruthLog
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """820 remittances (EDI) and checks/ACH (inside sales), with their ERP cash receipts."""
    pay_lag = (o["paid_at"] - o["invoiced1"]).to_numpy()[inv["o"].to_numpy()]
    payable = (
        (~inv["is_dup"].to_numpy())
        & inv["channel"].isin(["edi", "inside_sales"]).to_numpy()
        & (inv["defect"].to_numpy() != DEFECT["rejected_997"])
    )
    p = inv[payable].copy()
    p["paid_at"] = p["invoiced_at"].to_numpy() + pay_lag[payable]
    disc_pct = np.array([TERMS[t][0] for t in p["terms"]])
    p["discount_c"] = half_up(
        p["total_c"].to_numpy() * np.round(disc_pct * 100).astype(np.int64), 100
    )
    expected = p["total_c"].to_numpy() - p["discount_c"].to_numpy()
    ex = p["extra"].to_numpy()
    short = np.where(
        p["defect"].to_numpy() == DEFECT["remittance_short_pay"],
        np.maximum(2500, np.round(expected * (0.1 + 0.2 * frac(ex, 8)))),
        0,
    )
    short = np.where(
        p["variant"].to_numpy() == VARIANT["shortpay_within_tol"],
        np.round(50 + 400 * frac(ex, 9)),
        short,
    ).astype(np.int64)
    short = np.minimum(short, expected - 1)
    p["short_c"] = short
    p["adx_reason"] = np.where(short >= 2500, np.where(frac(ex, 10) < 0.5, "59", "01"), "")
    p["paid_c"] = expected - short
    p["expected_c"] = expected
    edi = p[p["channel"] == "edi"].copy()
    edi["pay_day"] = edi["paid_at"] // DAY
    # one remittance per customer and payment day
    g = edi.groupby(["customer_no", "pay_day"], sort=True).ngroup().to_numpy()
    ng = int(g.max()) + 1 if len(g) else 0
    edi["remit_idx"] = g
    edi["remit_at"] = edi.groupby("remit_idx")["paid_at"].transform("max")
    g_at = np.zeros(ng, dtype=np.int64)
    g_at[g] = edi["remit_at"].to_numpy()
    trn = counters.take("remit", g_at)
    edi["trace_no"] = np.char.add("EFT", zfill(trn.astype(str), 9))[g] if ng else []
    inside = p[p["channel"] == "inside_sales"].copy()
    # unapplied cash: the customer pays the same invoice a second time, 2-10 days later
    dupc = inside[inside["defect"] == DEFECT["unapplied_cash"]]
    dup_at = dupc["paid_at"].to_numpy() + np.round(
        (2 + 8 * frac(dupc["extra"].to_numpy(), 12)) * DAY
    ).astype(np.int64)
    chk_all = counters.take("check", np.r_[inside["paid_at"].to_numpy(), dup_at])
    chk, chk2 = chk_all[: len(inside)], chk_all[len(inside) :]
    inside["trace_no"] = np.where(
        frac(inside["extra"].to_numpy(), 11) < 0.5,
        np.char.add("CHK", chk.astype(str)),
        np.char.add("ACH", (chk * 7 + 100000).astype(str)),
    )
    inside["remit_at"] = inside["paid_at"]
    # ERP cash receipts: one per remittance / check, posted 0.5-6 h after the money arrives
    rec_e = (
        edi.groupby("remit_idx")
        .agg(
            customer_no=("customer_no", "first"),
            reference=("trace_no", "first"),
            received_at=("remit_at", "first"),
            amount_c=("paid_c", "sum"),
            extra=("extra", "first"),
        )
        .reset_index(drop=True)
    )
    rec_e["method"] = "ACH"
    rec_i = pd.DataFrame(
        {
            "customer_no": inside["customer_no"].to_numpy(),
            "reference": inside["trace_no"].to_numpy(),
            "received_at": inside["remit_at"].to_numpy(),
            "amount_c": inside["paid_c"].to_numpy(),
            "extra": inside["extra"].to_numpy(),
            "method": np.where(
                np.char.startswith(inside["trace_no"].to_numpy().astype(str), "CHK"), "CHK", "ACH"
            ),
        }
    )
    rec_u = pd.DataFrame(
        {
            "customer_no": dupc["customer_no"].to_numpy(),
            "reference": np.char.add("CHK", chk2.astype(str)).astype(object),
            "received_at": dup_at,
            "amount_c": dupc["paid_c"].to_numpy(),
            "extra": dupc["extra"].to_numpy(),
            "method": "CHK",
            "invoice_no": dupc["invoice_no"].to_numpy(),
        }
    )
    receipts = pd.concat([rec_e, rec_i, rec_u.drop(columns=["invoice_no"])], ignore_index=True)
    receipts["posted_at"] = receipts["received_at"] + np.round(
        (0.5 + 5.5 * frac(receipts["extra"].to_numpy(), 13)) * HOUR
    ).astype(np.int64)
    receipts["receipt_no"] = fmt_ids("CR", counters.take("receipt", receipts["posted_at"]))
    receipts["unapplied"] = np.r_[
        np.zeros(len(rec_e) + len(rec_i), bool), np.ones(len(rec_u), bool)
    ]
    ref_to_receipt = dict(
        zip(receipts["reference"].to_numpy(), receipts["receipt_no"].to_numpy(), strict=True)
    )
    remits = pd.concat([edi, inside], ignore_index=True)
    remits["receipt_no"] = remits["trace_no"].map(ref_to_receipt)
    apps = remits[
        ["receipt_no", "invoice_no", "paid_c", "discount_c", "short_c", "adx_reason", "trace_no"]
    ].copy()
    apps["applied_at"] = remits["receipt_no"].map(
        dict(zip(receipts["receipt_no"], receipts["posted_at"], strict=True))
    )
    for r in remits[(remits["remit_at"] < as_of) & (remits["short_c"] > 0)].itertuples():
        key = f"{r.trace_no}:{r.invoice_no}"
        docs = {"trace_no": r.trace_no, "invoice_no": r.invoice_no, "receipt_no": r.receipt_no}
        if r.short_c > RULES["remittance_short_pay"].tolerance_abs * 100:
            truth.exception(
                "remittance_short_pay",
                key,
                "",
                docs,
                r.short_c,
                "edi_820" if r.channel == "edi" else "erp",
                f"short paid, ADX {r.adx_reason}",
            )
        else:
            truth.near_miss(
                "within_tolerance",
                "remittance_short_pay",
                key,
                "",
                docs,
                "short by less than the write-off tolerance",
            )
    posted_at = dict(zip(receipts["receipt_no"], receipts["posted_at"], strict=True))
    for r in rec_u.itertuples():
        rn = ref_to_receipt[r.reference]
        if posted_at[rn] < as_of:
            truth.exception(
                "unapplied_cash",
                r.reference,
                "",
                {"receipt_no": rn, "reference": r.reference, "paid_invoice_no": r.invoice_no},
                r.amount_c,
                "erp",
                "second payment of an invoice already paid",
            )
    return remits, receipts, apps


def _shopify_charges(
    o: pd.DataFrame, inv: pd.DataFrame, as_of: int, truth: TruthLog
) -> pd.DataFrame:
    """Shopify Payments charge per order (captured at checkout) with its fee."""
    s = o[o["channel"] == "shopify"]
    pct, fixed = FEE_RATES["shopify"]
    fee = half_up(s["value_c"].to_numpy() * round(pct * 1000), 1000) + fixed
    bad = s["defect"].to_numpy() == DEFECT["marketplace_settlement_mismatch"]
    over = np.maximum(100, np.round(s["value_c"].to_numpy() * 0.01)).astype(np.int64)
    tx = pd.DataFrame(
        {
            "o": s.index.to_numpy(),
            "order_id": s["channel_order_ref"].to_numpy(),
            "processed_at": s["t0"].to_numpy() + 45,
            "amount_c": s["value_c"].to_numpy(),
            "fee_c": fee + np.where(bad, over, 0),
            "expected_fee_c": fee,
            "type": "charge",
        }
    )
    first_inv = inv[~inv["is_dup"]].groupby("o")["invoiced_at"].min()
    inv_tot = inv[~inv["is_dup"]].groupby("o")["total_c"].sum()
    for r in tx[bad].itertuples():
        ia = first_inv.get(r.o)
        if r.processed_at < as_of and ia is not None and ia < as_of:
            d = abs(r.fee_c - r.expected_fee_c) + abs(r.amount_c - int(inv_tot.get(r.o, 0)))
            truth.exception(
                "marketplace_settlement_mismatch",
                f"shopify:{r.order_id}",
                "",
                {"shopify_order_id": r.order_id, "so_no": o.at[r.o, "so_no"]},
                d,
                "shopify",
                "payment fee above the Shopify Payments rate",
            )
    return tx


def _amazon_rows(
    o: pd.DataFrame,
    sh: pd.DataFrame,
    ln: pd.DataFrame,
    inv: pd.DataFrame,
    as_of: int,
    truth: TruthLog,
) -> pd.DataFrame:
    """Settlement detail lines Amazon posts when an MFN order ships (principal, tax, fees)."""
    a = o[o["channel"] == "amazon"]
    s1 = sh[(sh["channel"] == "amazon") & (sh["k"] == 1)].set_index("o")
    lines = ln[ln["o"].isin(a.index)]
    if lines.empty:
        return pd.DataFrame()
    posted = s1["shipped_at"].reindex(lines["o"]).to_numpy()
    principal = (lines["qty"] * lines["price_c"]).to_numpy()
    tax = np.round(principal * 0.07).astype(np.int64)
    pct = FEE_RATES["amazon"][0]
    fee = half_up(principal * round(pct * 100), 100)
    bad = (
        o["defect"].to_numpy()[lines["o"].to_numpy()] == DEFECT["marketplace_settlement_mismatch"]
    ) & (lines["line_no"].to_numpy() == 1)
    over = np.where(bad, np.maximum(100, np.round(principal * 0.05)), 0).astype(np.int64)
    base = pd.DataFrame(
        {
            "o": lines["o"].to_numpy(),
            "order_id": o["channel_order_ref"].to_numpy()[lines["o"].to_numpy()],
            "shipment_id": s1["shipment_id"].reindex(lines["o"]).to_numpy(),
            "order_item_code": lines["channel_line_ref"].to_numpy(),
            "sku": lines["item_no"].to_numpy(),
            "qty": lines["qty"].to_numpy(),
            "posted_at": posted,
        }
    )
    comps = [
        ("Order", "ItemPrice", "Principal", principal),
        ("Order", "ItemPrice", "Tax", tax),
        ("Order", "ItemWithheldTax", "MarketplaceFacilitatorTax-Principal", -tax),
        ("Order", "ItemFees", "Commission", -(fee + over)),
    ]
    rows = []
    for k, (tt, at, ad, amt) in enumerate(comps):
        r = base.copy()
        r["transaction_type"], r["amount_type"], r["amount_description"] = tt, at, ad
        r["amount_c"] = amt
        r["comp"] = k
        rows.append(r)
    out = pd.concat(rows, ignore_index=True).sort_values(
        ["posted_at", "order_id", "order_item_code", "comp"], kind="stable"
    )
    # ground truth: order in a closed settlement and invoiced in the ERP by as_of
    first_inv = inv[~inv["is_dup"]].groupby("o")["invoiced_at"].min()
    per_o = out[out["o"].isin(o.index[o["defect"] == DEFECT["marketplace_settlement_mismatch"]])]
    over_of_o = pd.Series(over).groupby(lines["o"].to_numpy()).sum()
    for oi, g in per_o.groupby("o"):
        ia = first_inv.get(oi)
        pa_ = int(g["posted_at"].iloc[0])
        if ia is None or ia >= as_of or not settlement_closed(pa_, as_of):
            continue
        d = int(over_of_o[oi])
        truth.exception(
            "marketplace_settlement_mismatch",
            f"amazon:{g['order_id'].iloc[0]}",
            "",
            {"amazon_order_id": g["order_id"].iloc[0], "so_no": o.at[oi, "so_no"]},
            d,
            "amazon_settlement",
            "referral fee above the fee schedule",
        )
    return out


SETTLEMENT_DAYS = 14
_START: list[int] = [0]


def set_settlement_origin(start_epoch: int) -> None:
    """Settlement periods run every 14 days from the first simulated day."""
    _START[0] = start_epoch


def settlement_period(t: np.ndarray | int) -> np.ndarray | int:
    """Index of the 14-day settlement period an instant falls in."""
    return (np.asarray(t) - _START[0]) // (SETTLEMENT_DAYS * DAY)


def settlement_closed(t: int, as_of: int) -> bool:
    """Whether the settlement containing instant t has closed (end <= as_of)."""
    end = _START[0] + (int(settlement_period(t)) + 1) * SETTLEMENT_DAYS * DAY
    return end <= as_of
