"""Fulfilment: ERP sales orders, WMS/3PL shipments (partial, split, backorder), ERP ship confirms,
carrier assignment and freight accrual vs bill.

Document numbers come from ``Counters``: a document's number is the day it was created and its
rank among that day's documents of its kind, so it depends only on the seed and the document
itself, never on how many days are simulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simulator.discrepancies import DEFECT, VARIANT, TruthLog, load_rules
from simulator.master_data import CARRIERS, MasterData
from simulator.orders import WAREHOUSE_CODES, OrderBlock
from simulator.timing import DAY, HOUR, strs, zfill, zpad

PER_DAY = 100_000  # numbers per day and sequence: number = day * PER_DAY + rank (1-based)
NEVER = np.iinfo(np.int64).max // 2  # instant of a planned event that never happens


@dataclass
class Counters:
    """Document numbers from the calendar: ``day × 100000 + rank`` per sequence and day.

    ``day`` counts from the first simulated day; the rank orders a day's documents by creation
    time, blocks in generation order. Every document is numbered when its block is planned,
    before anything is cut at ``as_of``, and a day's documents all come from blocks that
    ``--days N`` and ``--days N+1`` share. A running counter instead renumbered every document
    after the first one a longer run inserted (duplicate invoices, receipts and remittances are
    planned after a block's other documents), and raw tables merged on those natural keys.
    """

    start: int = 0  # epoch second of day 0
    values: dict[tuple[str, int], int] = field(default_factory=dict)

    def take(self, name: str, at: np.ndarray) -> np.ndarray:
        """Numbers of documents created at instants ``at`` (0 where ``at`` is ``NEVER``)."""
        at = np.asarray(at, dtype=np.int64)
        out = np.zeros(len(at), dtype=np.int64)
        real = np.flatnonzero(at < NEVER)
        if not len(real):
            return out
        order = real[np.argsort(at[real], kind="stable")]
        day = (at[order] - self.start) // DAY
        if day[0] < 0:
            raise ValueError(f"{name}: a document dated before the first simulated day")
        days, first, count = np.unique(day, return_index=True, return_counts=True)
        base = np.array([self.values.get((name, int(d)), 0) for d in days], dtype=np.int64)
        rank = np.arange(len(order)) - np.repeat(first, count) + np.repeat(base, count) + 1
        if int(rank.max()) >= PER_DAY:
            raise ValueError(f"more than {PER_DAY - 1} {name} documents on one day")
        out[order] = day * PER_DAY + rank
        for d, b, c in zip(days.tolist(), base.tolist(), count.tolist(), strict=True):
            self.values[(name, d)] = b + c
        return out


def fmt_ids(prefix: str, nums: np.ndarray, width: int = 8) -> np.ndarray:
    """Vectorised ``<prefix><zero padded number>``."""
    nums = np.asarray(nums)
    if len(nums) == 0:
        return np.array([], dtype=object)
    return strs(prefix, zpad(nums, width))


RULES = load_rules()


@dataclass
class Fulfilment:
    """Sales orders and everything the warehouses and carriers did for them."""

    orders: pd.DataFrame  # one row per order, with ERP ids (so_no) and channel refs
    lines: pd.DataFrame  # one row per order line, with correlation ids
    shipments: pd.DataFrame  # one row per physical shipment (WMS or 3PL)
    shipment_lines: pd.DataFrame
    confirms: pd.DataFrame  # ERP ship confirms (posting), incl. duplicates


def build_fulfilment(
    block: OrderBlock, master: MasterData, counters: Counters, as_of: int, truth: TruthLog
) -> Fulfilment:
    """Assign ERP/channel ids, plan shipments and ship confirms, and log their ground truth."""
    o = block.orders.copy()
    ln = block.lines.copy()
    n = len(o)
    seq = counters.take("so", o["t0"].to_numpy())
    o["so_seq"] = seq
    o["so_no"] = fmt_ids("SO", seq)
    o["customer_no"] = master.customers["customer_no"].to_numpy()[o["cust"].to_numpy()]
    o["ship_to_id"] = master.ship_tos["ship_to_id"].to_numpy()[o["ship_to"].to_numpy()]
    o["zone"] = master.ship_to_zone[o["ship_to"].to_numpy()]
    o["warehouse_code"] = WAREHOUSE_CODES[o["wh"].to_numpy()]
    o["carrier_scac"] = np.array(CARRIERS, dtype=object)[o["carrier"].to_numpy()]
    o["in_erp"] = o["defect"] != DEFECT["channel_order_missing_in_erp"]
    ch = o["channel"].to_numpy()
    # channel order references (what the channel itself calls the order)
    shop_seq = np.zeros(n, dtype=np.int64)
    m = ch == "shopify"
    shop_seq[m] = counters.take("shopify", o["t0"].to_numpy()[m])
    # Amazon's order id: a bijection of the SO number onto 14 scrambled digits (unique)
    scr = (seq * 982451653) % 10**14
    amazon_id = np.char.add(
        np.char.add(np.char.add((111 + seq % 3).astype(str), "-"), zfill(scr // 10**7, 7)),
        np.char.add("-", zfill(scr % 10**7, 7)),
    ).astype(object)
    ref = np.where(
        ch == "edi",
        (4500000000 + seq).astype(str),
        np.where(
            ch == "shopify",
            (5100000000000 + shop_seq * 17).astype(str),
            np.where(ch == "amazon", amazon_id, ""),
        ),
    )
    o["channel_order_ref"] = ref
    o["shopify_name"] = np.where(m, np.char.add("#", (1000 + shop_seq).astype(str)), "")
    o["customer_po"] = np.where(
        ch == "edi",
        ref,
        np.where(ch == "inside_sales", np.char.add("P", (seq % 99991).astype(str)), ref),
    )

    oi = ln["o"].to_numpy()
    ln["so_no"] = o["so_no"].to_numpy()[oi]
    ln["correlation_id"] = strs(ln["so_no"].to_numpy(), "-", zpad(ln["line_no"].to_numpy(), 3))
    ln["item_no"] = master.items["item_no"].to_numpy()[ln["item"].to_numpy()]
    lch = ch[oi]
    sseq = seq[oi]
    ln["channel_line_ref"] = np.where(
        lch == "edi",
        ln["line_no"].astype(str).to_numpy(),
        np.where(
            lch == "shopify",
            (13000000000000 + sseq * 100 + ln["line_no"].to_numpy()).astype(str),
            np.where(
                lch == "amazon",
                (40000000000000 + sseq * 100 + ln["line_no"].to_numpy()).astype(str),
                "",
            ),
        ),
    )
    ln["wh"] = o["wh"].to_numpy()[oi]
    ln["lot_no"] = master.lot_no(ln["item"].to_numpy(), ln["wh"].to_numpy())

    # ---- shipments: shipment 1 for every ERP order; shipment 2 for split/backorder orders
    erp = o["in_erp"].to_numpy()
    two = erp & (o["split_line"].to_numpy() > 0)
    sh_o = np.concatenate([np.flatnonzero(erp), np.flatnonzero(two)])
    sh_k = np.concatenate([np.ones(erp.sum(), dtype=np.int64), np.full(two.sum(), 2)])
    order = np.lexsort((sh_k, sh_o))
    sh_o, sh_k = sh_o[order], sh_k[order]
    ns = len(sh_o)
    is3 = o["wh"].to_numpy()[sh_o] == 2
    pick = lambda c1, c2: np.where(sh_k == 1, o[c1].to_numpy()[sh_o], o[c2].to_numpy()[sh_o])  # noqa: E731
    shipped = pick("shipped1", "shipped2")
    sh_num = np.zeros(ns, dtype=np.int64)
    sh_num[~is3] = counters.take("shipment", shipped[~is3])
    sh_num[is3] = counters.take("shipment3pl", shipped[is3])
    shipment_id = np.where(is3, fmt_ids("3P", sh_num), fmt_ids("SH", sh_num))
    carrier = o["carrier"].to_numpy()[sh_o]
    scac = np.array(CARRIERS, dtype=object)[carrier]
    trk_num = counters.take("tracking", shipped)
    tracking = np.where(
        carrier == 0,
        np.char.add("1ZA1B2C303", zfill(trk_num.astype(str), 8)),
        np.where(
            carrier == 1,
            np.char.add("7", zfill((trk_num * 37).astype(str), 11)),
            zfill((1200000000 + trk_num).astype(str), 10),
        ),
    ).astype(object)
    sh = pd.DataFrame(
        {
            "o": sh_o,
            "k": sh_k,
            "shipment_id": shipment_id,
            "so_no": o["so_no"].to_numpy()[sh_o],
            "channel": ch[sh_o],
            "customer_no": o["customer_no"].to_numpy()[sh_o],
            "ship_to_id": o["ship_to_id"].to_numpy()[sh_o],
            "warehouse_code": o["warehouse_code"].to_numpy()[sh_o],
            "carrier_scac": scac,
            "tracking_no": tracking,
            "pro_no": np.where(carrier == 2, tracking, ""),
            "bol_no": np.where(is3, fmt_ids("BOL3P", sh_num), fmt_ids("BOL", sh_num)),
            "zone": o["zone"].to_numpy()[sh_o],
            "picked_at": np.where(sh_k == 1, o["picked"].to_numpy()[sh_o], shipped - 2 * HOUR),
            "shipped_at": shipped,
            "posted_at": pick("posted1", "posted2"),
            "invoiced_at": pick("invoiced1", "invoiced2"),
            "pickup_at": pick("pickup1", "pickup2"),
            "delivered_at": pick("delivered1", "delivered2"),
            "defect": o["defect"].to_numpy()[sh_o],
            "variant": o["variant"].to_numpy()[sh_o],
            "extra": o["extra"].to_numpy()[sh_o],
            "dup_lag": o["dup_lag"].to_numpy()[sh_o],
            "is_3pl": is3,
        }
    )
    # when the shipment becomes known outside the ERP: WMS at ship time, the 3PL when its 945
    # arrives (a quarter into the posting lag); the 3PL's own stock also drops at that moment
    sh["seen_at"] = np.where(
        is3, sh["shipped_at"] + (sh["posted_at"] - sh["shipped_at"]) // 4, sh["shipped_at"]
    )

    # ---- shipment lines
    lo = ln["o"].to_numpy()
    split_line = o["split_line"].to_numpy()[lo]
    frac = o["split_frac"].to_numpy()[lo]
    q = ln["qty"].to_numpy()
    q1 = np.where(
        split_line == ln["line_no"].to_numpy(),
        np.clip(np.floor(q * frac), 1, np.maximum(q - 1, 1)).astype(np.int64),
        q,
    )
    unshipped = ln["line_no"].to_numpy() == o["inv_ns_line"].to_numpy()[lo]
    in1 = erp[lo] & ~unshipped
    in2 = erp[lo] & (split_line == ln["line_no"].to_numpy())
    first_sh = pd.Series(np.arange(ns))[sh_k == 1]
    first_idx = np.full(n, -1)
    first_idx[sh_o[sh_k == 1]] = first_sh.to_numpy()
    second_idx = np.full(n, -1)
    second_idx[sh_o[sh_k == 2]] = np.flatnonzero(sh_k == 2)
    l_idx = np.concatenate([np.flatnonzero(in1), np.flatnonzero(in2)])
    s_idx = np.concatenate([first_idx[lo[in1]], second_idx[lo[in2]]])
    s_qty = np.concatenate([q1[in1], (q - q1)[in2]])
    ordr = np.lexsort((ln["line_no"].to_numpy()[l_idx], s_idx))
    l_idx, s_idx, s_qty = l_idx[ordr], s_idx[ordr], s_qty[ordr]
    sl = pd.DataFrame(
        {
            "s": s_idx,
            "l": l_idx,
            "shipment_id": shipment_id[s_idx],
            "so_no": ln["so_no"].to_numpy()[l_idx],
            "line_no": ln["line_no"].to_numpy()[l_idx],
            "correlation_id": ln["correlation_id"].to_numpy()[l_idx],
            "item": ln["item"].to_numpy()[l_idx],
            "item_no": ln["item_no"].to_numpy()[l_idx],
            "lot_no": ln["lot_no"].to_numpy()[l_idx],
            "uom": ln["uom"].to_numpy()[l_idx],
            "factor": ln["factor"].to_numpy()[l_idx],
            "qty": s_qty,
            "qty_base": s_qty * ln["factor"].to_numpy()[l_idx],
            "price_c": ln["price_c"].to_numpy()[l_idx],
            "ordered_qty": q[l_idx],
        }
    )
    sl["sl_no"] = sl.groupby("s").cumcount() + 1
    # serial of the pack (one SSCC-18 per shipment line) the 856 carries
    sl["sscc_serial"] = counters.take("sscc", shipped[s_idx])
    sh["n_lines"] = np.bincount(s_idx, minlength=ns)
    sh["value_c"] = np.bincount(
        s_idx, weights=s_qty * sl["price_c"].to_numpy(), minlength=ns
    ).astype(np.int64)
    w = np.bincount(
        s_idx,
        weights=sl["qty_base"].to_numpy() * master.item_weight[sl["item"].to_numpy()],
        minlength=ns,
    )
    sh["weight_lb"] = np.maximum(np.round(w, 1), 0.5)

    # ---- freight: accrual from the rate card; bill = accrual unless injected or benign noise
    billed_w = np.ceil(sh["weight_lb"].to_numpy()).astype(np.int64)
    zi = sh["zone"].to_numpy() - 2
    base = master.rate_base_c[carrier, zi] + master.rate_per_lb_c[carrier, zi] * billed_w
    base = np.maximum(base, master.rate_min_c[carrier, zi])
    fuel = np.round(base * master.fuel_pct[carrier]).astype(np.int64)
    sh["billed_weight"] = billed_w
    sh["freight_base_c"] = base
    sh["freight_fuel_c"] = fuel
    sh["accrual_c"] = base + fuel
    over = sh["defect"].to_numpy() == DEFECT["freight_bill_over_accrual"]
    tol = sh["variant"].to_numpy() == VARIANT["freight_within_tol"]
    acc_over = np.maximum(2500, np.round((base + fuel) * (0.2 + 0.3 * sh["extra"].to_numpy())))
    acc_tol = np.round(25 + 150 * sh["extra"].to_numpy())  # $0.25-$1.75, under the $2.00 floor
    sh["accessorial_c"] = np.where(
        over & (sh["k"] == 1), acc_over, np.where(tol & (sh["k"] == 1), acc_tol, 0)
    ).astype(np.int64)
    sh["accessorial_code"] = np.where(
        sh["accessorial_c"] > 0, np.where(carrier == 2, "LFT", np.where(tol, "DAS", "RES")), ""
    )
    sh["bill_c"] = sh["accrual_c"] + sh["accessorial_c"]

    # ---- ERP ship confirms: posted unless wms_shipment_not_posted; duplicates posted twice
    d = sh["defect"].to_numpy()
    posted = d != DEFECT["wms_shipment_not_posted"]
    dup = d == DEFECT["duplicate_shipment_confirmation"]
    c_s = np.concatenate([np.flatnonzero(posted), np.flatnonzero(dup)])
    c_at = np.concatenate(
        [
            sh["posted_at"].to_numpy()[posted],
            sh["posted_at"].to_numpy()[dup] + sh["dup_lag"].to_numpy()[dup],
        ]
    )
    c_dup = np.concatenate([np.zeros(posted.sum(), bool), np.ones(dup.sum(), bool)])
    ordc = np.lexsort((c_dup, c_s))
    c_s, c_at, c_dup = c_s[ordc], c_at[ordc], c_dup[ordc]
    confirms = pd.DataFrame(
        {
            "s": c_s,
            "posted_at": c_at,
            "is_dup": c_dup,
            "ship_confirm_no": fmt_ids("SC", counters.take("confirm", c_at)),
        }
    )

    _truth_fulfilment(o, sh, sl, confirms, as_of, truth)
    return Fulfilment(o, ln, sh, sl, confirms)


def _docs(**kw: object) -> dict:
    return {k: v for k, v in kw.items() if v not in (None, "")}


def _truth_fulfilment(
    o: pd.DataFrame,
    sh: pd.DataFrame,
    _sl: pd.DataFrame,
    confirms: pd.DataFrame,
    as_of: int,
    truth: TruthLog,
) -> None:
    """Ground truth and near-misses of posting, channel-order entry and shipment-level variants."""
    r_np = RULES["wms_shipment_not_posted"]
    d = sh["defect"].to_numpy()
    not_posted = (d == DEFECT["wms_shipment_not_posted"]) | (sh["posted_at"].to_numpy() >= as_of)
    s_id, s_so, s_tn = (sh[c].to_numpy() for c in ("shipment_id", "so_no", "tracking_no"))
    s_at, s_3pl, s_val = (sh[c].to_numpy() for c in ("shipped_at", "is_3pl", "value_c"))
    for i in np.flatnonzero((sh["seen_at"].to_numpy() < as_of) & not_posted).tolist():
        age = as_of - s_at[i]
        docs = _docs(shipment_id=s_id[i], so_no=s_so[i], tracking_no=s_tn[i])
        src = "945" if s_3pl[i] else "wms"
        if d[i] == DEFECT["wms_shipment_not_posted"] and age > r_np.sla_s:
            truth.exception(
                "wms_shipment_not_posted",
                s_id[i],
                "",
                docs,
                s_val[i],
                src,
                "shipped in the WMS/3PL, never posted as an ERP ship confirm",
            )
        else:
            truth.near_miss(
                "lag_within_sla",
                "wms_shipment_not_posted",
                s_id[i],
                "",
                docs,
                f"shipped {age / HOUR:.1f} h before as_of; posting lag",
            )
    # duplicate ship confirms
    c_dup = confirms["is_dup"].to_numpy()
    c_s, c_no = confirms["s"].to_numpy(), confirms["ship_confirm_no"].to_numpy()
    dup = c_dup & (confirms["posted_at"].to_numpy() < as_of)
    first_of: dict = {}
    for s, scn in zip(c_s[~c_dup].tolist(), c_no[~c_dup].tolist(), strict=True):
        first_of.setdefault(s, scn)
    for s, scn in zip(c_s[dup].tolist(), c_no[dup], strict=True):
        truth.exception(
            "duplicate_shipment_confirmation",
            s_id[s],
            "",
            _docs(shipment_id=s_id[s], ship_confirm_nos=[first_of[s], scn], so_no=s_so[s]),
            s_val[s],
            "erp",
            "the same WMS shipment posted twice",
        )
    # channel orders never entered in the ERP
    r_co = RULES["channel_order_missing_in_erp"]
    # Amazon orders surface only in settlements; inside sales are keyed straight into the ERP
    cand = o[
        (o["t0"] < as_of)
        & o["channel"].isin(["edi", "shopify"])
        & ((o["defect"] == DEFECT["channel_order_missing_in_erp"]) | (o["entered"] > as_of))
    ]
    for row in cand.itertuples():
        missing = row.defect == DEFECT["channel_order_missing_in_erp"]
        key = f"{row.channel}:{row.channel_order_ref}"
        docs = _docs(channel_order_ref=row.channel_order_ref, shopify_name=row.shopify_name or None)
        if missing and as_of - row.t0 > r_co.sla_s:
            truth.exception(
                "channel_order_missing_in_erp",
                key,
                "",
                docs,
                row.value_c,
                "edi_850" if row.channel == "edi" else "shopify",
                "order accepted in the channel, no ERP sales order",
            )
        else:
            truth.near_miss(
                "lag_within_sla", "channel_order_missing_in_erp", key, "", docs, "order entry lag"
            )
