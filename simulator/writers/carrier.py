"""Carrier files: tracking webhook drops (JSON Lines, EasyPost-like events) and weekly freight
bills (CSV per carrier), plus the freight-audit ground truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.discrepancies import DEFECT, TruthLog
from simulator.fulfilment import RULES, Fulfilment
from simulator.master_data import CARRIERS, MasterData
from simulator.timing import DAY, HOUR, concat_arrow, dates, iso_arrow, money_arr, text_spans

CARRIER_NAME = {"UPSN": "UPS", "FDEG": "FedEx", "ODFL": "ODFL"}
WH_LOC = {
    "DC-EAST": ("CARTERET", "NJ", "07008"),
    "DC-WEST": ("ONTARIO", "CA", "91761"),
    "3PL-CENTRAL": ("INDIANAPOLIS", "IN", "46201"),
}
HUBS = (
    ("ALLENTOWN", "PA", "18106"),
    ("LOUISVILLE", "KY", "40213"),
    ("MEMPHIS", "TN", "38118"),
    ("DALLAS", "TX", "75261"),
    ("COLUMBUS", "OH", "43217"),
)
BILL_COLUMNS = (
    "invoice_no",
    "invoice_date",
    "account_no",
    "tracking_no",
    "pro_no",
    "ship_date",
    "service",
    "zone",
    "actual_weight_lb",
    "billed_weight_lb",
    "base_charge",
    "fuel_surcharge",
    "accessorial_code",
    "accessorial_charge",
    "net_charge",
    "reference",
    "bol_no",
)
SERVICE = {"UPSN": "GROUND", "FDEG": "HOME DELIVERY", "ODFL": "LTL STANDARD"}


def _cat(*parts: object) -> pa.Array:
    return concat_arrow(*parts)


class CarrierWriter:
    """Writes tracking drops per (event date, carrier, block) and appends weekly bill lines."""

    def __init__(self, out_dir: Path, start_epoch: int, as_of: int, master: MasterData) -> None:
        self.out = out_dir / "carrier"
        self.start = start_epoch
        self.as_of = as_of
        self.master = master
        self.counts: dict[str, int] = {}

    def bill_time(self, pickup: np.ndarray) -> np.ndarray:
        """Weekly bill run: noon of the first bill day (every 7th day from start) after pickup."""
        week = (np.asarray(pickup) - self.start) // (7 * DAY) + 1
        return self.start + week * 7 * DAY + 12 * HOUR

    def write_block(self, block_no: int, f: Fulfilment, truth: TruthLog) -> None:
        sh = f.shipments
        self._tracking(block_no, sh)
        self._bills(sh, truth)

    def _tracking(self, block_no: int, sh: pd.DataFrame) -> None:
        """One JSON line per scan event, built in Arrow and written from its buffer per file."""
        n = len(sh)
        if n == 0:
            return
        ship, pick, dlv = (sh[c].to_numpy() for c in ("shipped_at", "pickup_at", "delivered_at"))
        ex = sh["extra"].to_numpy()
        hub = (ex * 7919 % 1 * len(HUBS)).astype(int)
        st = self.master.ship_tos
        dest = np.searchsorted(st["ship_to_id"].to_numpy(), sh["ship_to_id"].to_numpy())
        wh = pd.Index(list(WH_LOC)).get_indexer(sh["warehouse_code"].to_numpy())
        ev_t = [ship - 1800, pick, pick + (dlv - pick) * 2 // 5, dlv - 4 * HOUR, dlv]
        status = ["pre_transit", "in_transit", "in_transit", "out_for_delivery", "delivered"]
        detail = [
            "label_created",
            "picked_up",
            "arrived_at_facility",
            "out_for_delivery",
            "delivered",
        ]
        msg = [
            "Shipping Label Created",
            "Picked up by carrier",
            "Arrived at facility",
            "Out for delivery",
            "Delivered",
        ]
        # where each kind of scan happens: (table of city/state/zip, index per shipment)
        wh_tab = [pa.array([w[c] for w in WH_LOC.values()]) for c in range(3)]
        hub_tab = [pa.array([h[c] for h in HUBS]) for c in range(3)]
        st_tab = [pa.array(st[c].to_numpy()) for c in ("city", "state", "postal_code")]
        where = [(wh_tab, wh), (wh_tab, wh), (hub_tab, hub), (st_tab, dest), (st_tab, dest)]
        signer = pa.array(['"J SMITH"', '"RECEIVING"', '"M LOPEZ"', '"DOCK 4"'])
        # the location and signature part of each (kind, shipment): index kind * n + shipment
        loc = pa.concat_arrays(
            [
                _cat(
                    '","tracking_location":{"city":"',
                    tab[0].take(pa.array(idx)),
                    '","state":"',
                    tab[1].take(pa.array(idx)),
                    '","zip":"',
                    tab[2].take(pa.array(idx)),
                    '","country":"US"},"signed_by":',
                    signer.take(pa.array((ex * 4).astype(int))) if k == 4 else "null",
                )
                for k, (tab, idx) in enumerate(where)
            ]
        )
        t = np.concatenate(ev_t)
        k = np.repeat(np.arange(5), n)
        s = np.tile(np.arange(n), 5)
        vis = t < self.as_of
        t, k, s = t[vis], k[vis], s[vis]
        # carriers repeat scans: ~3% of events delivered twice with the same event id
        rep = (ex[s] * 1e6 + k) % 33 < 1
        t, k, s = np.r_[t, t[rep]], np.r_[k, k[rep]], np.r_[s, s[rep]]
        # one file per (event date, carrier): events sorted by file, then by (time, shipment, kind)
        scac = sh["carrier_scac"].to_numpy()
        c_rank = pd.Index(sorted(set(CARRIERS))).get_indexer(scac)[s]
        day = t // DAY
        order = np.lexsort((k, s, t, c_rank, day))
        t, k, s, c_rank, day = t[order], k[order], s[order], c_rank[order], day[order]
        sid = sh["shipment_id"].to_numpy()
        carrier_name = np.array([CARRIER_NAME[c] for c in scac], dtype=object)
        # per-shipment pieces once, then gathered per event
        head = _cat('{"id":"evt_', sid, "_")
        mid = _cat(
            '","description":"tracker.updated","carrier":"',
            carrier_name,
            '","tracking_code":"',
            sh["tracking_no"].to_numpy(),
            '","status":"',
        )
        tail = _cat(',"est_delivery_date":"', dates(dlv), '","shipment_reference":"', sid, '"}\n')
        kind_txt = pa.array(
            [
                f'{status[k]}","status_detail":"{detail[k]}","message":"{msg[k]}","datetime":"'
                for k in range(5)
            ]
        )
        si = pa.array(s)
        line = _cat(
            head.take(si),
            k,
            mid.take(si),
            kind_txt.take(pa.array(k)),
            iso_arrow(t),
            loc.take(pa.array(k * n + s)),
            tail.take(si),
        )
        offsets, data = text_spans(line)
        bounds = np.flatnonzero(
            np.r_[True, (day[1:] != day[:-1]) | (c_rank[1:] != c_rank[:-1]), True]
        )
        for a, z in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            d = dates(np.array([t[a]]))[0]
            path = self.out / "tracking" / d / f"{scac[s[a]]}-{block_no:04d}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data[offsets[a] : offsets[z]])
            self.counts[str(path.relative_to(self.out.parent))] = z - a

    def _bills(self, sh: pd.DataFrame, truth: TruthLog) -> None:
        bt = self.bill_time(sh["pickup_at"].to_numpy())
        vis = bt < self.as_of
        s = sh[vis].copy()
        s["bill_at"] = bt[vis]
        s = s.sort_values(["bill_at", "carrier_scac", "shipped_at", "shipment_id"], kind="stable")
        acct = dict(
            zip(self.master.carriers["scac"], self.master.carriers["account_no"], strict=True)
        )
        (self.out / "freight_bills").mkdir(parents=True, exist_ok=True)
        if s.empty:
            return
        bdate = dates(s["bill_at"].to_numpy())
        scacs = s["carrier_scac"].to_numpy()
        acct_a = np.array([acct[c] for c in scacs], dtype=object)
        ymd_a = np.char.replace(bdate.astype(str), "-", "")
        text = np.asarray(
            _cat(
                acct_a,
                "-",
                ymd_a,
                ",",
                bdate,
                ",",
                acct_a,
                ",",
                s["tracking_no"].to_numpy(),
                ",",
                s["pro_no"].to_numpy(),
                ",",
                dates(s["pickup_at"].to_numpy()),
                ",",
                np.array([SERVICE[c] for c in scacs], dtype=object),
                ",",
                s["zone"].to_numpy(),
                ",",
                np.char.mod("%.1f", s["weight_lb"].to_numpy()),
                ",",
                s["billed_weight"].to_numpy(),
                ",",
                money_arr(s["freight_base_c"].to_numpy()),
                ",",
                money_arr(s["freight_fuel_c"].to_numpy()),
                ",",
                s["accessorial_code"].to_numpy().astype(str),
                ",",
                money_arr(s["accessorial_c"].to_numpy()),
                ",",
                money_arr(s["bill_c"].to_numpy()),
                ",",
                s["shipment_id"].to_numpy(),
                ",",
                s["bol_no"].to_numpy(),
            ).to_numpy(zero_copy_only=False),
            dtype=object,
        )
        keys = np.char.add(np.char.add(scacs.astype(str), "-"), ymd_a)
        for key in sorted(set(keys.tolist())):
            rows = text[keys == key]
            path = self.out / "freight_bills" / f"{key}.csv"
            new = not path.exists()
            with path.open("a") as fh:
                if new:
                    fh.write(",".join(BILL_COLUMNS) + "\n")
                fh.write("\n".join(rows) + "\n")
            rel = f"carrier/freight_bills/{key}.csv"
            self.counts[rel] = self.counts.get(rel, 0) + len(rows)
        # freight audit ground truth: billed shipments whose accrual is in the ERP by as_of
        rule = RULES["freight_bill_over_accrual"]
        cand = s[
            (s["accessorial_c"] > 0)
            & (s["defect"] != DEFECT["wms_shipment_not_posted"])
            & (s["posted_at"] < self.as_of)
        ]
        for x in cand.itertuples():
            over = x.bill_c - x.accrual_c
            docs = {
                "shipment_id": x.shipment_id,
                "tracking_no": x.tracking_no,
                "freight_invoice_no": f"{acct[x.carrier_scac]}-{dates(np.array([x.bill_at]))[0].replace('-', '')}",
            }
            if rule.within_tolerance(over / 100, x.accrual_c / 100):
                truth.near_miss(
                    "within_tolerance",
                    "freight_bill_over_accrual",
                    x.shipment_id,
                    "",
                    docs,
                    "small accessorial within the audit tolerance",
                )
            else:
                truth.exception(
                    "freight_bill_over_accrual",
                    x.shipment_id,
                    "",
                    docs,
                    over,
                    "freight_bill",
                    f"unplanned accessorial {x.accessorial_code}",
                )
