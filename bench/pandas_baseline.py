"""What users do today: the three headline reconciliations in pandas (+ datacompy).

    .venv/bin/python bench/pandas_baseline.py SOURCES_DIR OUT_JSON

Reads the ERP database and the WMS store with ``pandas.read_sql``, parses the 3PL's X12 files
(846 on hand, 945 shipments) in plain Python, then merges and groups: shipped-not-invoiced,
inventory variance (ERP book vs physical compared table-to-table with ``datacompy.Compare``)
and the returns family. Same rules as trueup's ``rec_*`` marts. Writes the exceptions
``(type, key, amount)`` and seconds to ``OUT_JSON``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from datetime import datetime
from pathlib import Path

import datacompy
import numpy as np
import pandas as pd

Exception_ = tuple[str, str, float]


def _ts(series: pd.Series) -> pd.Series:
    """ISO-8601 UTC text → naive UTC timestamps."""
    return pd.to_datetime(series, utc=True).dt.tz_localize(None)


def _age_hours(event_at: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    return (as_of - event_at).dt.total_seconds() / 3600.0


def _rows(kind: str, keys: pd.Series, amounts: pd.Series) -> list[Exception_]:
    return [
        (kind, str(k), float(a)) for k, a in zip(keys, amounts.astype(float).round(2), strict=True)
    ]


def parse_3pl_x12(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """846 on-hand lines and 945 shipment lines of the 3PL's inbound X12 files."""
    on_hand: list[tuple[str, str, str, int, str, int]] = []
    shipped: list[list[str | int]] = []
    for path in sorted(folder.glob("*.x12")):
        set_type = report_date = depositor = day = shipment_id = item = ""
        st_seq = lx = 0
        for raw in path.read_text().split("~"):
            el = raw.strip().split("*")
            tag = el[0]
            if tag == "ST":
                st_seq += 1
                set_type = el[1]
            elif tag == "BIA":
                report_date = el[4]
            elif tag == "LIN":
                item = el[el.index("VN") + 1]
            elif tag == "QTY" and set_type == "846" and el[1] == "17":
                on_hand.append((path.name, report_date, item, int(el[2]), el[3], st_seq))
            elif tag == "W06":
                depositor, day, shipment_id = el[2], el[3], el[4]
            elif tag == "G62" and el[1] == "11":
                day = el[2]
            elif tag == "LX":
                lx = int(el[1])
            elif tag == "W12":
                shipped.append(
                    [path.name, shipment_id, lx, depositor, el[8], int(el[3]), el[5], "", day]
                )
            elif tag == "N9" and el[1] == "LT" and set_type == "945" and shipped:
                shipped[-1][7] = el[2]
    oh = pd.DataFrame(on_hand, columns=["file", "report_date", "item_no", "qty", "uom", "st_seq"])
    sh = pd.DataFrame(
        shipped,
        columns=["file", "shipment_id", "lx", "depositor", "item_no", "qty", "uom", "lot", "day"],
    )
    return oh, sh


def compute(sources: Path) -> tuple[list[Exception_], float]:
    """The three reconciliations the way an analyst would write them in pandas.

    Args:
        sources: The simulator's output directory.

    Returns:
        The exceptions ``(type, key, amount_at_risk)`` and the seconds taken.
    """
    t0 = time.perf_counter()
    as_of = pd.Timestamp(
        datetime.fromisoformat(json.loads((sources / "manifest.json").read_text())["as_of"])
    ).tz_localize(None)
    erp = sqlite3.connect(sources / "erp" / "erp.sqlite")
    wms = sqlite3.connect(sources / "wms" / "wms.sqlite")

    def q(con: sqlite3.Connection, table: str) -> pd.DataFrame:
        return pd.read_sql(f'select * from "{table}"', con)

    uoms = q(erp, "item_uoms")
    uoms["uom"] = uoms["uom"].str.upper()
    out: list[Exception_] = []

    # shipped_not_invoiced
    ships, slines = q(erp, "shipments"), q(erp, "shipment_lines")
    ships["shipped_at"], ships["posted_at"] = _ts(ships["shipped_at"]), _ts(ships["posted_at"])
    sl = slines.merge(
        ships[["ship_confirm_no", "shipped_at", "posted_at"]], on="ship_confirm_no"
    ).sort_values(["shipment_id", "posted_at", "ship_confirm_no"])
    first = sl.groupby("shipment_id")["ship_confirm_no"].transform("first")
    sl = sl[sl["ship_confirm_no"] == first]
    shipped = sl.groupby(["shipment_id", "correlation_id"], as_index=False).agg(
        shipped_at=("shipped_at", "min"), shipped_base=("qty_base", "sum")
    )
    inv = q(erp, "invoice_lines")
    ref = inv[inv["shipment_id"].notna()][["shipment_id", "correlation_id"]].drop_duplicates()
    unref = (
        inv[inv["shipment_id"].isna()]
        .groupby("correlation_id", as_index=False)["qty_base"]
        .sum()
        .rename(columns={"qty_base": "unref_base"})
    )
    s = shipped.merge(ref, on=["shipment_id", "correlation_id"], how="left", indicator=True)
    s = s[s["_merge"] == "left_only"].drop(columns="_merge")
    s = s.sort_values(["correlation_id", "shipped_at", "shipment_id"])
    s["before"] = s.groupby("correlation_id")["shipped_base"].cumsum() - s["shipped_base"]
    s = s.merge(unref, on="correlation_id", how="left")
    s["allocated"] = np.maximum(
        0, np.minimum(s["shipped_base"], s["unref_base"].fillna(0) - s["before"])
    )
    sol = q(erp, "sales_order_lines")
    sol["uom"] = sol["uom"].str.upper()
    sol = sol.merge(uoms, on=["item_no", "uom"], how="left")
    sol["price_base"] = (sol["unit_price"] / sol["factor_to_base"].fillna(1)).round(6)
    s = s.merge(sol[["correlation_id", "price_base"]], on="correlation_id", how="left")
    s = s[(s["allocated"] < s["shipped_base"]) & (_age_hours(s["shipped_at"], as_of) > 48)]
    out += _rows(
        "shipped_not_invoiced",
        s["shipment_id"] + ":" + s["correlation_id"],
        (s["shipped_base"] - s["allocated"]) * s["price_base"],
    )

    # inventory_variance: ERP book vs physical (WMS snapshots + 3PL 846), datacompy
    book = q(erp, "inventory_balances")
    book["lot_no"] = book["lot_no"].fillna("")
    phys = q(wms, "inventory_snapshots")[
        ["snapshot_date", "warehouse_code", "item_no", "lot_no", "on_hand_base"]
    ]
    phys["lot_no"] = phys["lot_no"].fillna("")
    oh846, sh945 = parse_3pl_x12(sources / "edi" / "inbound" / "CENTRAL3PL")
    if not oh846.empty:
        oh846 = oh846.sort_values(["report_date", "item_no", "file", "st_seq"])
        oh846 = oh846.groupby(["report_date", "item_no"], as_index=False).last()
        oh846["uom"] = oh846["uom"].str.upper().replace({"CS": "CA"})
        oh846 = oh846.merge(uoms, on=["item_no", "uom"], how="left")
        lots = book[book["warehouse_code"] == "3PL-CENTRAL"].groupby("item_no")["lot_no"]
        one_lot = lots.agg(["min", "nunique"])
        one_lot = one_lot[one_lot["nunique"] == 1]["min"]
        phys = pd.concat(
            [
                phys,
                pd.DataFrame(
                    {
                        "snapshot_date": pd.to_datetime(oh846["report_date"]).dt.strftime(
                            "%Y-%m-%d"
                        ),
                        "warehouse_code": "3PL-CENTRAL",
                        "item_no": oh846["item_no"],
                        "lot_no": oh846["item_no"].map(one_lot).fillna(""),
                        "on_hand_base": oh846["qty"] * oh846["factor_to_base"].fillna(1),
                    }
                ),
            ]
        )
    latest = pd.concat(
        [book[["warehouse_code", "snapshot_date"]], phys[["warehouse_code", "snapshot_date"]]]
    )
    latest = latest.groupby("warehouse_code")["snapshot_date"].max()
    cutoff = pd.to_datetime(latest) + pd.Timedelta(days=1)
    # in transit: physically shipped before the cutoff, not posted in the ERP by then
    wl, wh = q(wms, "shipment_lines"), q(wms, "shipments")
    wl = wl.merge(wh[["id", "warehouse_code", "shipped_at"]], left_on="shipment_id", right_on="id")
    wl["shipped_at"] = _ts(wl["shipped_at"])
    wl["lot_no"] = wl["lot_no"].fillna("")
    moves = [wl[["warehouse_code", "item_no", "lot_no", "shipment_id", "shipped_at", "qty_base"]]]
    if not sh945.empty:
        sh945 = sh945.drop_duplicates(["shipment_id", "lx"])
        sh945["so_no"] = sh945["depositor"].str.split("-").str[0]
        sh945["uom"] = sh945["uom"].str.upper().replace({"CS": "CA"})
        sh945 = sh945.merge(uoms, on=["item_no", "uom"], how="left")
        sh945 = sh945.merge(q(erp, "sales_orders")[["so_no", "warehouse_code"]], on="so_no")
        sh945["shipped_at"] = pd.to_datetime(sh945["day"], format="%Y%m%d")
        sh945["qty_base"] = sh945["qty"] * sh945["factor_to_base"].fillna(1)
        sh945["lot_no"] = sh945["lot"]
        moves.append(sh945[moves[0].columns])
    mv = pd.concat(moves)
    posted = ships.groupby("shipment_id")["posted_at"].min()
    mv["posted_at"] = mv["shipment_id"].map(posted)
    mv["cutoff"] = mv["warehouse_code"].map(cutoff)
    mv = mv[
        (mv["shipped_at"] < mv["cutoff"])
        & (mv["posted_at"].isna() | (mv["posted_at"] >= mv["cutoff"]))
    ]
    transit = mv.groupby(["warehouse_code", "item_no", "lot_no"])["qty_base"].sum()
    keys = ["warehouse_code", "item_no", "lot_no"]
    b = book[book["snapshot_date"] == book["warehouse_code"].map(latest)].copy()
    b["in_transit"] = b.set_index(keys).index.map(transit).fillna(0).to_numpy()
    b["on_hand_base"] = (b["on_hand_base"] - b["in_transit"]).astype(float)
    p = phys[phys["snapshot_date"] == phys["warehouse_code"].map(latest)].copy()
    p["on_hand_base"] = p["on_hand_base"].astype(float)
    compare = datacompy.Compare(
        b[[*keys, "on_hand_base"]],
        p[[*keys, "on_hand_base"]],
        join_columns=keys,
        rel_tol=0.01,
        df1_name="erp_book",
        df2_name="physical",
    )
    bad = compare.all_mismatch()
    if not bad.empty:
        cost = q(erp, "items").set_index("item_no")["standard_cost"]
        diff = (bad["on_hand_base_df1"] - bad["on_hand_base_df2"]).abs()
        out += _rows(
            "inventory_variance",
            bad["warehouse_code"] + ":" + bad["item_no"] + ":" + bad["lot_no"],
            diff * bad["item_no"].map(cost),
        )

    # the returns family
    rmas, rl = q(erp, "rmas"), q(erp, "rma_lines")
    rl["uom"] = rl["uom"].str.upper()
    rl = rl.merge(uoms, on=["item_no", "uom"], how="left")
    rr = q(wms, "return_receipts")
    rr["received_at"] = _ts(rr["received_at"])
    rec = rr.groupby("rma_no").agg(received_at=("received_at", "min"), received=("qty_base", "sum"))
    cm = q(erp, "credit_memos")
    cm["memo_at"] = _ts(cm["memo_date"])
    cred = cm.groupby("rma_no").agg(
        credited_at=("memo_at", "min"), credited=("total_amount", "sum")
    )
    r = rmas[["rma_no", "created_at", "expected_credit"]].merge(
        rl[["rma_no", "unit_price", "factor_to_base"]], on="rma_no"
    )
    r = r.merge(rec, on="rma_no", how="left").merge(cred, on="rma_no", how="left")
    r["created_at"] = _ts(r["created_at"])
    has_rec, has_cred = r["received_at"].notna(), r["credited_at"].notna()
    x = r[has_cred & ~has_rec & (_age_hours(r["credited_at"], as_of) > 0)]
    out += _rows("return_credited_not_received", x["rma_no"], x["credited"])
    x = r[has_rec & ~has_cred & (_age_hours(r["received_at"], as_of) > 72)]
    out += _rows("return_received_not_credited", x["rma_no"], x["expected_credit"])
    x = r[has_rec & has_cred].copy()
    x["diff"] = (
        x["credited"] - x["received"] / x["factor_to_base"].fillna(1) * x["unit_price"]
    ).abs()
    x = x[(x["diff"] > 0.50 + 1e-6) & (_age_hours(x["credited_at"], as_of) > 0)]
    out += _rows("credit_amount_mismatch", x["rma_no"], x["diff"])
    x = r[~has_rec & ~has_cred & (_age_hours(r["created_at"], as_of) > 720)]
    out += _rows("rma_open_past_window", x["rma_no"], x["expected_credit"])
    erp.close()
    wms.close()
    return out, time.perf_counter() - t0


def main() -> None:
    """Run the baseline and write ``{"seconds", "exceptions"}`` as JSON."""
    sources, out = Path(sys.argv[1]), Path(sys.argv[2])
    exceptions, seconds = compute(sources)
    out.write_text(json.dumps({"seconds": seconds, "exceptions": exceptions}))


if __name__ == "__main__":
    main()
