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
from simulator.master_data import MasterData
from simulator.timing import DAY, HOUR, concat_arrow, dates, iso, money_arr

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
        n = len(sh)
        if n == 0:
            return
        ship, pick, dlv = (sh[c].to_numpy() for c in ("shipped_at", "pickup_at", "delivered_at"))
        ex = sh["extra"].to_numpy()
        hub = (ex * 7919 % 1 * len(HUBS)).astype(int)
        st = self.master.ship_tos
        dest = st.iloc[
            [
                int(x)
                for x in np.searchsorted(st["ship_to_id"].to_numpy(), sh["ship_to_id"].to_numpy())
            ]
        ]
        wh = [WH_LOC[w] for w in sh["warehouse_code"]]
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
        city = [
            np.array([w[0] for w in wh]),
            np.array([w[0] for w in wh]),
            np.array(HUBS, dtype=object)[hub, 0],
            dest["city"].to_numpy(),
            dest["city"].to_numpy(),
        ]
        state = [
            np.array([w[1] for w in wh]),
            np.array([w[1] for w in wh]),
            np.array(HUBS, dtype=object)[hub, 1],
            dest["state"].to_numpy(),
            dest["state"].to_numpy(),
        ]
        zips = [
            np.array([w[2] for w in wh]),
            np.array([w[2] for w in wh]),
            np.array(HUBS, dtype=object)[hub, 2],
            dest["postal_code"].to_numpy(),
            dest["postal_code"].to_numpy(),
        ]
        frames = []
        for k in range(5):
            frames.append(
                pd.DataFrame(
                    {
                        "t": ev_t[k],
                        "k": k,
                        "s": np.arange(n),
                        "city": city[k],
                        "state": state[k],
                        "zip": zips[k],
                    }
                )
            )
        ev = pd.concat(frames, ignore_index=True)
        ev = ev[ev["t"].to_numpy() <= self.as_of]
        # carriers repeat scans: ~3% of events delivered twice with the same event id
        rep = ev[(sh["extra"].to_numpy()[ev["s"].to_numpy()] * 1e6 + ev["k"].to_numpy()) % 33 < 1]
        ev = pd.concat([ev, rep]).sort_values(["t", "s", "k"], kind="stable")
        s = ev["s"].to_numpy()
        k = ev["k"].to_numpy()
        sig = np.where(
            k == 4,
            np.char.add(
                np.char.add(
                    '"',
                    np.array(["J SMITH", "RECEIVING", "M LOPEZ", "DOCK 4"])[
                        (ex[s] * 4).astype(int)
                    ],
                ),
                '"',
            ),
            "null",
        )
        carrier_name = np.array([CARRIER_NAME[c] for c in sh["carrier_scac"]], dtype=object)
        sid = sh["shipment_id"].to_numpy()
        # per-shipment pieces once, then gathered per event
        head = _cat('{"id":"evt_', sid, "_")
        mid = _cat(
            '","description":"tracker.updated","carrier":"',
            carrier_name,
            '","tracking_code":"',
            sh["tracking_no"].to_numpy(),
            '","status":"',
        )
        tail = _cat(',"est_delivery_date":"', dates(dlv), '","shipment_reference":"', sid, '"}')
        kinds = [
            _cat(
                np.array(
                    [
                        f'{status[k]}","status_detail":"{detail[k]}","message":"{msg[k]}","datetime":"'
                    ]
                )
            )
            for k in range(5)
        ]
        kind_txt = pa.concat_arrays(kinds)
        si = pa.array(s)
        line = _cat(
            head.take(si),
            k,
            mid.take(si),
            kind_txt.take(pa.array(k)),
            iso(ev["t"].to_numpy()),
            '","tracking_location":{"city":"',
            ev["city"].to_numpy(),
            '","state":"',
            ev["state"].to_numpy(),
            '","zip":"',
            ev["zip"].to_numpy(),
            '","country":"US"},"signed_by":',
            sig,
            tail.take(si),
        )
        ev_day = dates(ev["t"].to_numpy())
        scac = sh["carrier_scac"].to_numpy()[s]
        text = np.asarray(line.to_numpy(zero_copy_only=False), dtype=object)
        key = pd.DataFrame({"d": ev_day, "c": scac, "i": np.arange(len(ev))})
        for (d, c), g in key.groupby(["d", "c"], sort=True):
            path = self.out / "tracking" / d / f"{c}-{block_no:04d}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(text[g["i"].to_numpy()]) + "\n")
            self.counts[str(path.relative_to(self.out.parent))] = len(g)

    def _bills(self, sh: pd.DataFrame, truth: TruthLog) -> None:
        bt = self.bill_time(sh["pickup_at"].to_numpy())
        vis = bt <= self.as_of
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
            & (s["posted_at"] <= self.as_of)
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
