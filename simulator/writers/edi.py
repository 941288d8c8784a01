"""EDI X12 004010 files per partner, inbound and outbound, as a VAN mailbox would hold them.

Documents are collected per block, packed into interchanges per (partner, direction, date,
half-day) with one functional group per set type, then 997s are generated for every group in
the other direction (the partner's 997 may reject one of our sets with AK5 R). Files hold all
interchanges of a (partner, direction, date, block).
"""

from __future__ import annotations

import csv
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.billing import Billing, frac
from simulator.discrepancies import DEFECT, VARIANT
from simulator.fulfilment import Fulfilment
from simulator.master_data import (
    EDI_PARTNERS,
    GS1_PREFIX,
    OUR_ISA_ID,
    OUR_ISA_QUAL,
    THREE_PL_PARTNER,
    MasterData,
)
from simulator.returns import Returns
from simulator.timing import DAY, HOUR, concat, iso1, money1, money_arr, strs, ymd, zfill
from simulator.x12_writer import SEP, Group, Party, Syntax, TransactionSet, interchange

FUNC = {
    "850": "PO",
    "855": "PR",
    "856": "SH",
    "810": "IN",
    "820": "RA",
    "940": "OW",
    "945": "SW",
    "846": "IB",
    "180": "AN",
    "997": "FA",
}
SET_ORDER = {
    s: i
    for i, s in enumerate(("850", "820", "180", "945", "846", "855", "856", "810", "940", "997"))
}
US = Party(OUR_ISA_QUAL, OUR_ISA_ID)
SENT_BEFORE_CUTOFF = 60  # the 3PL sends each day's 846 at 23:59, inside the day it reports


@dataclass
class PartnerInfo:
    code: str
    name: str
    party: Party
    syntax: Syntax
    case_code: str
    version: str


def _partners() -> dict[str, PartnerInfo]:
    out = {}
    for p in (*EDI_PARTNERS, THREE_PL_PARTNER):
        out[p[0]] = PartnerInfo(p[0], p[1], Party(p[2], p[3]), Syntax(p[4], p[5]), p[6], p[7])
    return out


@dataclass
class Doc:
    """One transaction set waiting to be enveloped."""

    partner: str
    inbound: bool
    at: int
    set_id: str
    key: str
    segments: list[str]
    meta: dict = field(default_factory=dict)


def _gs1_check(body: np.ndarray, width: int) -> np.ndarray:
    """Vectorised GS1 mod-10 check digit of integer bodies of ``width`` digits."""
    total = np.zeros(len(body), dtype=np.int64)
    for k in range(width):  # k = position from the right, weight 3 at k = 0
        total += (body // 10**k) % 10 * (3 if k % 2 == 0 else 1)
    return (10 - total % 10) % 10


_YMD: dict[int, str] = {}


def _d(t: int) -> str:
    day = int(t) // DAY
    d = _YMD.get(day)
    if d is None:
        d = _YMD[day] = iso1(day * DAY)[:10].replace("-", "")
    return d


def _m(c: int) -> str:
    c = int(c)
    return f"{'-' if c < 0 else ''}{abs(c) // 100}.{abs(c) % 100:02d}"


class EdiWriter:
    """Builds and writes X12 files; logs EDI-level ground truth."""

    def __init__(self, out_dir: Path, as_of: int, master: MasterData) -> None:
        self.out = out_dir / "edi"
        self.as_of = as_of
        self.m = master
        self.partners = _partners()
        # Control numbers and file names are numbered per (partner, direction, day[, half-day]),
        # never by a running counter: a later as_of adds documents at the end of earlier blocks,
        # and a running counter would renumber every later interchange, so `--days N+1` would
        # re-deliver days 1..N under new control numbers (a real translator rejects those as
        # control-number reuse).
        self.isa: dict[tuple[str, bool, int], int] = defaultdict(int)
        self.file_seq: dict[tuple[str, bool, str], int] = defaultdict(int)
        self.counts: dict[str, int] = {}
        self.interchanges = 0
        self.sets = 0
        self.anomalies: list[tuple[str, ...]] = []
        self._first_inbound_997: tuple[int, str, int] | None = None  # (at, partner, ISA13)
        self.items = master.items.set_index("item_no")

    # ------------------------------------------------------------------ documents
    def _uom(self, partner: str, uom: str) -> str:
        return self.partners[partner].case_code if uom == "CA" else uom

    def _slices(self, keys: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Start/end positions of each wanted key in a sorted key array."""
        return np.searchsorted(keys, wanted, "left"), np.searchsorted(keys, wanted, "right")

    def block_docs(self, f: Fulfilment, b: Billing, r: Returns) -> list[Doc]:
        """Every X12 document of this block's orders that exists by as_of (built in bulk)."""
        A = self.as_of
        o, ln, sh, sl = f.orders, f.lines, f.shipments, f.shipment_lines
        m = self.m
        upc = m.items["upc"].to_numpy().astype(str)
        desc = m.items["description"].to_numpy().astype(str)
        st_name = m.ship_tos["name"].to_numpy()
        st_gln = m.ship_tos["gln"].to_numpy()
        cust_name = m.customers["name"].to_numpy()
        cust_partner = m.customers["edi_partner_code"].to_numpy()
        case_of = {k: v.case_code for k, v in self.partners.items()}
        docs: list[Doc] = []
        o_partner = cust_partner[o["cust"].to_numpy()]
        o_ship_to = o["ship_to"].to_numpy()
        o_ref = o["channel_order_ref"].to_numpy()
        o_t0 = o["t0"].to_numpy()
        o_scac = o["carrier_scac"].to_numpy()
        o_po = o["customer_po"].to_numpy()
        o_rel = o["released"].to_numpy()
        o_cust = o["cust"].to_numpy()

        def puom(uom: np.ndarray, partner: np.ndarray) -> np.ndarray:
            cc = (
                np.array([case_of.get(p, "CA") for p in partner], dtype=object)
                if len(partner)
                else np.array([], dtype=object)
            )
            return np.where(uom == "CA", cc, uom).astype(str)

        # ---- 850 in / 855 out
        edi_o = np.flatnonzero(o["channel"].to_numpy() == "edi")
        lo = ln["o"].to_numpy()
        le = np.isin(lo, edi_o)
        L = ln[le]
        Lo = L["o"].to_numpy()
        lp = o_partner[Lo]
        lu = puom(L["uom"].to_numpy(), lp)
        item = L["item"].to_numpy()
        price = money_arr(L["price_c"].to_numpy())
        po1 = concat(
            "PO1*",
            L["line_no"].to_numpy(),
            "*",
            L["qty"].to_numpy(),
            "*",
            lu,
            "*",
            price,
            "*PE*UP*",
            upc[item],
            "*VN*",
            L["item_no"].to_numpy().astype(str),
        )
        po4 = np.where(
            L["uom"].to_numpy() == "CA",
            np.char.add(np.char.add(SEP + "PO4*", L["factor"].to_numpy().astype(str)), "*1*EA"),
            "",
        )
        l850 = concat(np.array(po1, dtype=object), SEP + "PID*F****", desc[item], po4)
        ship1 = o["shipped1"].to_numpy()
        l855 = concat(
            np.array(po1, dtype=object),
            SEP + "ACK*IA*",
            L["qty"].to_numpy(),
            "*",
            lu,
            "*068*",
            ymd(ship1[Lo]).astype(str),
        )
        s0, s1 = self._slices(Lo, edi_o)
        # per-order fields gathered once as Python lists: indexing numpy scalars per row is slow
        cols = [
            o[c].to_numpy()[edi_o].tolist()
            for c in (
                "t0",
                "channel_order_ref",
                "cust",
                "ship_to",
                "in_erp",
                "ack_at",
                "so_no",
                "n_lines",
            )
        ]
        qty_l = L["qty"].to_numpy()
        qsum = np.add.reduceat(qty_l, s0) if len(s0) and len(qty_l) else np.zeros(0, dtype=np.int64)
        for j, (oi, t0, ref, cust, stx, in_erp, ack, so_no, nl) in enumerate(
            zip(edi_o.tolist(), *cols, strict=True)
        ):
            p = o_partner[oi]
            a, z = s0[j], s1[j]
            if t0 < A:
                segs = [
                    f"BEG*00*SA*{ref}**{_d(t0)}",
                    f"REF*DP*{100 + cust % 50:03d}",
                    f"DTM*002*{_d(t0 + 5 * DAY)}",
                    f"N1*ST*{st_name[stx]}*UL*{st_gln[stx]}",
                    *l850[a:z],
                    f"CTT*{nl}*{qsum[j]}",
                ]
                docs.append(Doc(p, True, int(t0), "850", ref, segs))
            if in_erp and ack < A:
                segs = [f"BAK*00*AC*{ref}*{_d(t0)}****{so_no}", *l855[a:z], f"CTT*{nl}"]
                docs.append(Doc(p, False, int(ack), "855", so_no, segs))

        # ---- 856 out: per shipment of an EDI order (DC or 3PL), within 2 h of shipping
        ex_s = sh["extra"].to_numpy()
        asn_at = (sh["shipped_at"].to_numpy() + (0.1 + 1.9 * frac(ex_s, 30)) * HOUR).astype(
            np.int64
        )
        es = np.flatnonzero((sh["channel"].to_numpy() == "edi") & (asn_at < A))
        ss = sl["s"].to_numpy()
        S = sl[np.isin(ss, es)]
        Ss = S["s"].to_numpy()
        if len(es):
            sp = cust_partner[o["cust"].to_numpy()[sh["o"].to_numpy()[Ss]]]
            qty = S["qty"].to_numpy().copy()
            uom = S["uom"].to_numpy().astype(str).copy()
            first = S["sl_no"].to_numpy() == 1
            mm = first & (sh["defect"].to_numpy()[Ss] == DEFECT["asn_mismatch"])
            dq = 1 + (frac(ex_s[Ss], 31) * 3).astype(np.int64)
            newq = np.where(qty > dq, qty - dq, qty + dq)
            mm_rows = np.flatnonzero(mm)
            for k in mm_rows:
                x = sh.iloc[Ss[k]]
                self.truth.exception(
                    "asn_mismatch",
                    x.shipment_id,
                    S["correlation_id"].iat[k],
                    {"shipment_id": x.shipment_id, "so_no": x.so_no},
                    abs(int(newq[k]) - int(qty[k])) * int(S["price_c"].iat[k]),
                    "edi_856",
                    f"856 SN1 {newq[k]} vs shipped {qty[k]}",
                )
            qty = np.where(mm, newq, qty)
            ca = (uom == "CA") & (sh["variant"].to_numpy()[Ss] == VARIANT["uom_asn_ea"])
            first_ca = ca & (pd.Series(ca.astype(np.int64)).groupby(Ss).cumsum().to_numpy() == 1)
            for k in np.flatnonzero(first_ca):
                sid = sh["shipment_id"].iat[Ss[k]]
                self.truth.near_miss(
                    "uom_equivalent",
                    "asn_mismatch",
                    sid,
                    "",
                    {"shipment_id": sid},
                    "856 in EA for a line shipped in CA",
                )
            qty = np.where(first_ca, qty * S["factor"].to_numpy(), qty)
            uom = np.where(first_ca, "EA", uom)
            k0 = S["sl_no"].to_numpy() - 1
            hl_p = 3 + 2 * k0
            serial = S["sscc_serial"].to_numpy() % 10**9
            body = int("0" + GS1_PREFIX) * 10**9 + serial  # extension 0 + prefix + 9-digit serial
            chk = _gs1_check(body, 17)
            sscc = np.char.add(zfill(body.astype(str), 17), chk.astype(str))
            sitem = S["item"].to_numpy()
            l856 = concat(
                "HL*",
                hl_p,
                "*2*P*1" + SEP + "MAN*GM*00",
                sscc,
                SEP + "HL*",
                hl_p + 1,
                "*",
                hl_p,
                "*I*0" + SEP + "LIN**UP*",
                upc[sitem],
                "*VN*",
                S["item_no"].to_numpy().astype(str),
                SEP + "SN1**",
                qty,
                "*",
                puom(uom, sp),
                "**",
                S["ordered_qty"].to_numpy(),
                "*",
                puom(S["uom"].to_numpy().astype(str), sp),
            )
            a0, a1 = self._slices(Ss, es)
            tot = np.add.reduceat(qty, a0) if len(qty) else np.zeros(len(es), dtype=np.int64)
            scols = [
                sh[c].to_numpy()[es].tolist()
                for c in (
                    "shipment_id",
                    "shipped_at",
                    "weight_lb",
                    "carrier_scac",
                    "bol_no",
                    "tracking_no",
                    "warehouse_code",
                    "o",
                )
            ]
            for j, (si, sid, shipped, wt, scac, bol, trk, whc, oi) in enumerate(
                zip(es.tolist(), *scols, strict=True)
            ):
                a, z = a0[j], a1[j]
                if z == a:
                    continue
                stx = o_ship_to[oi]
                mode = "LT" if scac == "ODFL" else "U"
                segs = [
                    f"BSN*00*{sid}*{_d(shipped)}*{iso1(shipped)[11:16].replace(':', '')}*0001",
                    "HL*1**S*1",
                    f"TD1*CTN25*{z - a}****G*{wt:.1f}*LB",
                    f"TD5*B*2*{scac}*{mode}",
                    f"REF*BM*{bol}",
                    f"REF*CN*{trk}",
                    f"DTM*011*{_d(shipped)}",
                    f"N1*SF*{whc}",
                    f"N1*ST*{st_name[stx]}*UL*{st_gln[stx]}",
                    "HL*2*1*O*1",
                    f"PRF*{o_ref[oi]}***{_d(o_t0[oi])}",
                    *l856[a:z],
                    f"CTT*{2 + 2 * (z - a)}*{tot[j]}",
                ]
                docs.append(
                    Doc(
                        o_partner[oi],
                        False,
                        int(asn_at[si]),
                        "856",
                        sid,
                        segs,
                        {"shipment_id": sid},
                    )
                )

        # ---- 810 out per EDI invoice
        e, el = b.edi810, b.edi810_lines
        e = e[e["sent_at"] < A]
        el = el[el["i"].isin(e.index)].sort_values(["i", "inv_line_no"], kind="stable")
        if len(e):
            ei = el["i"].to_numpy()
            ep = cust_partner[o["cust"].to_numpy()[b.invoices["o"].to_numpy()[ei]]]
            l810 = concat(
                "IT1*",
                el["so_line_no"].to_numpy(),
                "*",
                el["qty"].to_numpy(),
                "*",
                puom(el["uom"].to_numpy().astype(str), ep),
                "*",
                money_arr(el["x_price_c"].to_numpy()),
                "*PE*UP*",
                upc[el["item"].to_numpy()],
                "*VN*",
                el["item_no"].to_numpy().astype(str),
            )
            idx = e.index.to_numpy()
            a0, a1 = self._slices(ei, idx)
            terms_itd = {"2/10 NET30": "ITD*08*3*2**10**30", "NET45": "ITD*01*3*****45"}
            ecols = [
                e[c].to_numpy().tolist()
                for c in (
                    "invoiced_at",
                    "invoice_no",
                    "o",
                    "customer_no",
                    "terms",
                    "tds_c",
                    "total_c",
                    "defect",
                    "is_dup",
                    "sent_at",
                )
            ]
            cust_idx = {c: i for i, c in enumerate(m.customers["customer_no"].to_numpy())}
            for j, (inv_at, ino, oi, cno, terms, tds, total, dfc, isdup, sent) in enumerate(
                zip(*ecols, strict=True)
            ):
                a, z = a0[j], a1[j]
                segs = [
                    f"BIG*{_d(inv_at)}*{ino}*{_d(o_t0[oi])}*{o_ref[oi]}",
                    "REF*IA*TRU0001",
                    f"N1*BT*{cust_name[cust_idx[cno]]}",
                    "N1*RI*TRUEUP DISTRIBUTION",
                    terms_itd.get(terms, "ITD*01*3*****30"),
                    *l810[a:z],
                    f"TDS*{int(tds)}",
                    f"CAD*M****{o_scac[oi]}",
                    f"CTT*{z - a}",
                ]
                meta = {
                    "invoice_no": ino,
                    "total_c": int(total),
                    "reject": bool(dfc == DEFECT["rejected_997"] and not isdup),
                }
                docs.append(Doc(o_partner[oi], False, int(sent), "810", ino, segs, meta))

        # ---- 820 in per remittance
        rem = b.remits[(b.remits["channel"] == "edi") & (b.remits["remit_at"] < A)]
        if len(rem):
            rem = rem.sort_values(["trace_no", "invoice_no"], kind="stable")
            adx = np.where(
                rem["adx_reason"].to_numpy() != "",
                strs(
                    SEP + "ADX*",
                    money_arr(-rem["short_c"].to_numpy()),
                    "*",
                    rem["adx_reason"].to_numpy(),
                ),
                "",
            )
            rmr = concat(
                "RMR*IV*",
                rem["invoice_no"].to_numpy().astype(str),
                "**",
                money_arr(rem["paid_c"].to_numpy()),
                "*",
                money_arr(rem["total_c"].to_numpy()),
                "*",
                money_arr(rem["discount_c"].to_numpy()),
                adx,
            )
            tr = rem["trace_no"].to_numpy()
            bounds = np.flatnonzero(np.r_[True, tr[1:] != tr[:-1], True])
            paid = rem["paid_c"].to_numpy()
            r_cust = rem["customer_no"].to_numpy()
            r_at = rem["remit_at"].to_numpy()
            cust_idx = {c: i for i, c in enumerate(m.customers["customer_no"].to_numpy())}
            for a, z in itertools.pairwise(bounds):
                trace = tr[a]
                ci = cust_idx[r_cust[a]]
                p = cust_partner[ci]
                at = int(r_at[a])
                segs = [
                    f"BPR*C*{money1(int(paid[a:z].sum()))}*C*ACH*CTX*01*011000015*DA*1234567890*{1000000000 + ci}**01*021000021*DA*987654321*{_d(at)}",
                    f"TRN*1*{trace}*1{self.partners[p].party.isa_id[:9]}",
                    "CUR*PR*USD",
                    f"N1*PR*{cust_name[ci]}",
                    "N1*PE*TRUEUP DISTRIBUTION",
                    "ENT*1",
                    *rmr[a:z],
                ]
                docs.append(Doc(p, True, at, "820", trace, segs, {"trace_no": trace}))

        # ---- 180 in per EDI return
        if not r.rmas.empty:
            rm = r.rmas[(r.rmas["channel"] == "edi") & (r.rmas["edi180_at"] < A)]
            for x in rm.itertuples():
                p = cust_partner[o_cust[x.o]]
                uom = case_of[p] if x.uom == "CA" else x.uom
                segs = [
                    f"BGN*00*RA{x.rma_no[3:]}*{_d(x.edi180_at)}",
                    f"N9*PO*{x.channel_order_ref}",
                    f"N9*IV*{x.invoice_no}",
                    f"N9*LI*{x.line_no}",
                    f"BLI*UP*{upc[x.item]}*{x.qty}*{uom}*{money1(x.price_c)}",
                    f"RDR*RP*{x.reason}",
                ]
                docs.append(Doc(p, True, int(x.edi180_at), "180", x.rma_no, segs))

        # ---- 3PL: 940 out at release, 945 in when the 3PL ships
        p3 = THREE_PL_PARTNER[0]
        t3 = np.flatnonzero(sh["is_3pl"].to_numpy())
        T = sl[np.isin(ss, t3)]
        if len(t3) and len(T):
            Ts = T["s"].to_numpy()
            titem = T["item"].to_numpy()
            lot = T["lot_no"].to_numpy().astype(str)
            lot940 = np.where(lot != "", np.char.add("*******", lot), "")
            l940 = concat(
                "LX*",
                T["sl_no"].to_numpy(),
                SEP + "W01*",
                T["qty"].to_numpy(),
                "*",
                T["uom"].to_numpy().astype(str),
                "*",
                upc[titem],
                "*VN*",
                T["item_no"].to_numpy().astype(str),
                lot940,
            )
            lot945 = np.where(lot != "", np.char.add(SEP + "N9*LT*", lot), "")
            l945 = concat(
                "LX*",
                T["sl_no"].to_numpy(),
                SEP + "W12*CC*",
                T["qty"].to_numpy(),
                "*",
                T["qty"].to_numpy(),
                "*0*",
                T["uom"].to_numpy().astype(str),
                "*",
                upc[titem],
                "*VN*",
                T["item_no"].to_numpy().astype(str),
                SEP + "N9*LI*",
                T["line_no"].to_numpy(),
                lot945,
            )
            a0, a1 = self._slices(Ts, t3)
            tq = T["qty"].to_numpy()
            seen_at = sh["seen_at"].to_numpy()
            cols3 = [
                sh[c].to_numpy()[t3].tolist()
                for c in (
                    "shipment_id",
                    "so_no",
                    "k",
                    "o",
                    "shipped_at",
                    "posted_at",
                    "weight_lb",
                    "carrier_scac",
                    "tracking_no",
                    "bol_no",
                )
            ]
            for j, (si, sid, so_no, k, oi, shipped, _posted, wt, scac, trk, bol) in enumerate(
                zip(t3.tolist(), *cols3, strict=True)
            ):
                a, z = a0[j], a1[j]
                if z == a:
                    continue
                stx = o_ship_to[oi]
                po = o_po[oi]
                t940 = int(o_rel[oi] if k == 1 else shipped - 20 * HOUR)
                if t940 < A:
                    segs = [
                        f"W05*N*{so_no}-{k}*{po}",
                        f"N1*ST*{st_name[stx]}*UL*{st_gln[stx]}",
                        "N1*WH*3PL-CENTRAL",
                        f"G62*10*{_d(shipped)}",
                        f"W66*PP*M***{scac}",
                        *l940[a:z],
                        f"W76*{int(tq[a:z].sum())}*{wt:.1f}*LB",
                    ]
                    docs.append(Doc(p3, False, t940, "940", sid, segs))
                t945 = int(seen_at[si])
                if t945 < A:
                    segs = [
                        f"W06*F*{so_no}-{k}*{_d(shipped)}*{sid}**{po}",
                        f"N1*ST*{st_name[stx]}*UL*{st_gln[stx]}",
                        f"G62*11*{_d(shipped)}*W*{iso1(shipped)[11:16].replace(':', '')}",
                        f"W27*M*{scac}*{trk}",
                        f"N9*BM*{bol}",
                        *l945[a:z],
                        f"W03*{int(tq[a:z].sum())}*{wt:.1f}*LB",
                    ]
                    docs.append(Doc(p3, True, t945, "945", sid, segs, {"shipment_id": sid}))
        return docs

    def inventory_docs(self, snaps: pd.DataFrame) -> list[Doc]:
        """Daily 846 from the 3PL: on hand (QTY*17) per item/lot at each day's cutoff."""
        docs = []
        p3 = THREE_PL_PARTNER[0]
        upc = self.m.items["upc"].to_numpy().astype(str)
        # sent a minute before the cutoff, so day D's report is visible at an as_of of D + 1
        snaps = snaps[snaps["cutoff"] <= self.as_of].sort_values(["cutoff", "item"], kind="stable")
        lot = snaps["lot_no"].to_numpy().astype(str)
        lines = concat(
            "LIN**VN*",
            snaps["item_no"].to_numpy().astype(str),
            "*UP*",
            upc[snaps["item"].to_numpy()],
            np.where(lot != "", np.char.add("*LT*", lot), ""),
            SEP + "QTY*17*",
            snaps["on_hand_base"].to_numpy(),
            "*EA",
        )
        cut = snaps["cutoff"].to_numpy()
        bounds = (
            np.flatnonzero(np.r_[True, cut[1:] != cut[:-1], True]) if len(cut) else np.array([0])
        )
        for a, z in itertools.pairwise(bounds):
            c = int(cut[a])
            segs = [
                f"BIA*00*DD*INV{_d(c - DAY)}*{_d(c - DAY)}",
                "N1*WH*3PL-CENTRAL",
                *lines[a:z],
                f"CTT*{z - a}",
            ]
            docs.append(Doc(p3, True, c - SENT_BEFORE_CUTOFF, "846", _d(c - DAY), segs))
        return docs

    # ------------------------------------------------------------------ enveloping
    def write(self, docs: list[Doc], block_no: int) -> None:
        """Envelope documents, add 997s both ways, write files, log rejected-997 truth."""
        first = self._envelope(docs)
        acks = []
        for ic in first:
            for g in ic["groups"]:
                lag = int((0.5 + 3.5 * ((g["control"] * 0.6180339887) % 1)) * HOUR)
                at = ic["at"] + lag
                if at >= self.as_of:
                    continue
                rejects = [s for s in g["sets"] if s[2].get("reject")]
                segs = [f"AK1*{g['func']}*{g['control']}"]
                for set_id, ctl, _meta in g["sets"]:
                    segs.append(f"AK2*{set_id}*{ctl}")
                    segs.append("AK5*R*5" if _meta.get("reject") else "AK5*A")
                n = len(g["sets"])
                ok = n - len(rejects)
                segs.append(f"AK9*{'P' if rejects else 'A'}*{n}*{n}*{ok}")
                acks.append(
                    Doc(ic["partner"], not ic["inbound"], at, "997", f"{g['control']}", segs)
                )
                for set_id, ctl, meta in rejects:
                    pid = self.partners[ic["partner"]].party.isa_id
                    self.truth.exception(
                        "rejected_997",
                        f"{pid}:{g['control']}:{ctl}",
                        "",
                        {
                            "invoice_no": meta.get("invoice_no"),
                            "partner": ic["partner"],
                            "set": set_id,
                        },
                        meta.get("total_c", 0),
                        "edi_997",
                        f"partner rejected our {set_id} (AK5 R)",
                    )
        second = self._envelope(acks)
        files: dict[tuple[str, bool, str], list[dict]] = defaultdict(list)
        for ic in first + second:
            files[(ic["partner"], ic["inbound"], _d(ic["at"]))].append(ic)
        inbound_997s = []
        for (p, inbound, day), ics in sorted(files.items()):
            ics.sort(key=lambda i: (i["at"], i["control"]))
            text = "".join(i["text"] for i in ics)
            name = self._write_file(p, inbound, day, text, sum(i["n_sets"] for i in ics), len(ics))
            traces = [
                m["trace_no"]
                for i in ics
                for g in i["groups"]
                for _s, _c, m in g["sets"]
                if "trace_no" in m
            ]
            if inbound and traces and (int(day) * 31 + block_no * 7919) % 23 == 0:
                # the VAN delivers the same interchange again under a new file name
                dup = self._write_file(
                    p, inbound, day, text, sum(i["n_sets"] for i in ics), len(ics)
                )
                for t in traces:
                    self.truth.near_miss(
                        "retransmitted_interchange",
                        "unapplied_cash",
                        t,
                        "",
                        {"file": name, "retransmission": dup, "trace_no": t},
                        "identical interchange delivered twice",
                    )
            if inbound and p != THREE_PL_PARTNER[0]:
                inbound_997s += [
                    (i["at"], p, i["control"])
                    for i in ics
                    if all(g["func"] == "FA" for g in i["groups"])
                ]
        # the earliest, not the first in file order: a longer run only adds later interchanges
        if self._first_inbound_997 is None and inbound_997s:
            self._first_inbound_997 = min(inbound_997s)
        self._reuse_isa13()

    def _reuse_isa13(self) -> None:
        """Once per run: a partner reuses an ISA13 with different content (a duplicate 997)."""
        if self._first_inbound_997 is None or self.anomalies:
            return
        first_at, p, ctl = self._first_inbound_997
        info = self.partners[p]
        seg = ["AK1*SH*999999999", "AK2*856*9999", "AK5*A", "AK9*A*1*1*1"]
        at = first_at + DAY  # a day after the original: never moves when the run is longer
        if at >= self.as_of:
            return
        text = interchange(
            info.party,
            US,
            ctl,
            at,
            [Group("FA", 999999999, info.version, [TransactionSet("997", "0001", seg)])],
            info.syntax,
        )
        name = self._write_file(p, True, _d(at), text, 1, 1)
        self.anomalies.append(
            (
                "reused_isa13",
                p,
                f"{ctl:09d}",
                name,
                "interchange control number reused with different content; a "
                "translator rejects it as a duplicate (TA1 025)",
            )
        )

    def _write_file(
        self, p: str, inbound: bool, day: str, text: str, n_sets: int, n_ic: int
    ) -> str:
        self.file_seq[(p, inbound, day)] += 1
        seq = self.file_seq[(p, inbound, day)]
        rel = f"edi/{'inbound' if inbound else 'outbound'}/{p}/{day}-{seq:06d}.x12"
        path = self.out.parent / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.counts[rel] = n_sets
        self.interchanges += n_ic
        self.sets += n_sets
        return rel

    def _envelope(self, docs: list[Doc]) -> list[dict]:
        buckets: dict[tuple, list[Doc]] = defaultdict(list)
        for d in docs:
            buckets[(d.partner, d.inbound, d.at // DAY, (d.at % DAY) >= 12 * HOUR)].append(d)
        out = []
        for (p, inbound, day, half), ds in sorted(buckets.items()):
            info = self.partners[p]
            ds.sort(key=lambda d: (SET_ORDER[d.set_id], d.at, d.key))
            at = max(d.at for d in ds) // 60 * 60
            # ISA13 = half-day slot since the epoch x 100 + the slot's n-th interchange (< 1e9).
            slot = int(day) * 2 + int(half)
            self.isa[(p, inbound, slot)] += 1
            isa13 = slot * 100 + self.isa[(p, inbound, slot)]
            groups, gmeta = [], []
            by_set: dict[str, list[Doc]] = defaultdict(list)
            for d in ds:
                by_set[d.set_id].append(d)
            for g_index, set_id in enumerate(sorted(by_set, key=SET_ORDER.get)):
                gctl = isa13 * 10 + g_index  # one group per set type: at most 10 per interchange
                sets = [
                    TransactionSet(set_id, f"{j:04d}", d.segments)
                    for j, d in enumerate(by_set[set_id], 1)
                ]
                groups.append(Group(FUNC[set_id], gctl, info.version, sets))
                gmeta.append(
                    {
                        "func": FUNC[set_id],
                        "control": gctl,
                        "sets": [
                            (set_id, s.control, d.meta)
                            for s, d in zip(sets, by_set[set_id], strict=True)
                        ],
                    }
                )
            sender, receiver = (info.party, US) if inbound else (US, info.party)
            text = interchange(sender, receiver, isa13, at, groups, info.syntax)
            out.append(
                {
                    "partner": p,
                    "inbound": inbound,
                    "at": int(at),
                    "control": isa13,
                    "text": text,
                    "groups": gmeta,
                    "n_sets": sum(len(g.sets) for g in groups),
                }
            )
        return out

    STATE = (
        "isa",
        "file_seq",
        "counts",
        "interchanges",
        "sets",
        "anomalies",
        "_first_inbound_997",
    )

    def get_state(self) -> dict:
        """Counters and counts that must carry over to the next block (possibly another process)."""
        return {k: getattr(self, k) for k in self.STATE}

    def set_state(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)

    def write_anomalies(self, out_dir: Path) -> None:
        path = out_dir / "ground_truth" / "edi_anomalies.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(("kind", "partner", "isa13", "file", "note"))
            w.writerows(self.anomalies)


__all__ = ["EdiWriter", "np"]
