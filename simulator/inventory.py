"""Inventory: WMS physical on hand, ERP book on hand, 3PL on hand, and the inventory ground truth.

Physical stock moves with the real shipments and return receipts of every block plus
replenishment receipts (reorder-point policy), so WMS movements conserve. The ERP book equals
physical plus *in transit* — shipped in the WMS/3PL before the cutoff but not yet posted as a ship
confirm in the ERP — plus any injected book error. A correct reconciliation at the latest cutoff
therefore computes ``book − in_transit − physical`` and compares it with the tolerance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.config import SimulationConfig
from simulator.discrepancies import DEFECT, TruthLog
from simulator.fulfilment import RULES, Fulfilment
from simulator.master_data import WAREHOUSES, MasterData
from simulator.returns import Returns
from simulator.timing import DAY, STREAM_INVENTORY, dates, epoch, iso_column, rng_for, zfill

WH_SHARE = np.array([0.455, 0.455, 0.09])
ERROR_START_DAYS = 14


class InventoryBook:
    """Accumulates per-day shipped/returned/in-transit quantities across blocks."""

    def __init__(self, config: SimulationConfig, master: MasterData, as_of: int) -> None:
        self.cfg = config
        self.m = master
        self.as_of = as_of
        self.start = epoch(config.start)
        n = master.n_items
        self.days = config.days
        self.shipped = np.zeros((self.days, 3, n), dtype=np.int64)
        self.returned = np.zeros((self.days, 3, n), dtype=np.int64)
        self.transit = np.zeros((self.days + 1, 3, n), dtype=np.int64)  # difference array

    def add_block(self, f: Fulfilment, r: Returns) -> None:
        sh, sl = f.shipments, f.shipment_lines
        s = sl["s"].to_numpy()
        shipped_at = sh["seen_at"].to_numpy()[s]
        vis = shipped_at < self.as_of
        wh = sh["warehouse_code"].map({w: i for i, w in enumerate(WAREHOUSES)}).to_numpy()[s][vis]
        item = sl["item"].to_numpy()[vis]
        q = sl["qty_base"].to_numpy()[vis]
        t = shipped_at[vis]
        day = (t - self.start) // DAY
        np.add.at(self.shipped, (day, wh, item), q)
        posted = np.where(
            sh["defect"].to_numpy() == DEFECT["wms_shipment_not_posted"],
            2**62,
            sh["posted_at"].to_numpy(),
        )[s][vis]
        j_lo = day
        j_hi = np.minimum((posted - self.start) // DAY - 1, self.days - 1)
        ok = j_hi >= j_lo
        np.add.at(self.transit, (j_lo[ok], wh[ok], item[ok]), q[ok])
        np.add.at(self.transit, (j_hi[ok] + 1, wh[ok], item[ok]), -q[ok])
        rm = r.rmas
        if rm is not None and not rm.empty:
            rv = rm[rm["receipt_at"] < self.as_of]
            rwh = (
                rv["warehouse_code"]
                .map({w: i for i, w in enumerate(WAREHOUSES)})
                .to_numpy(np.int64)
            )
            rday = ((rv["receipt_at"].to_numpy() - self.start) // DAY).astype(np.int64)
            np.add.at(
                self.returned,
                (rday, rwh, rv["item"].to_numpy(np.int64)),
                rv["qty_base"].to_numpy(np.int64),
            )

    def finish(self, truth: TruthLog) -> dict[str, pd.DataFrame]:
        """Daily snapshots and movements; logs inventory_variance at the latest cutoff."""
        m, cfg = self.m, self.cfg
        n = m.n_items
        mean_base = (
            0.34 * 10.5 * m.item_case
            + 0.26 * (0.6 * 10.5 * m.item_case + 0.4 * 30.5)
            + 0.22 * 24.5
            + 0.18 * 2
        )
        demand = cfg.orders_per_day * 3.5 * m.item_popularity * mean_base  # base units / day
        per_wh = WH_SHARE[:, None] * demand[None, :]
        rop = np.ceil(per_wh * 10 + 20).astype(np.int64)
        order_q = (
            np.ceil(per_wh * 30 / m.items["pallet_qty"].to_numpy()[None, :] + 1).astype(np.int64)
            * m.items["pallet_qty"].to_numpy()[None, :]
        )
        r0 = rng_for(cfg.seed, 0, STREAM_INVENTORY)
        p = rop + order_q + r0.integers(0, 50, (3, n))
        transit = np.cumsum(self.transit[:-1], axis=0)
        # injected book errors: a key goes wrong from its start day on (one of the first
        # ERROR_START_DAYS, whatever the horizon, so a longer run keeps every earlier balance);
        # near-misses stay tiny
        u = r0.random((3, n))
        start_day = r0.integers(0, ERROR_START_DAYS, (3, n))
        bad = u < cfg.discrepancy_rate
        small = (u >= cfg.discrepancy_rate) & (u < cfg.discrepancy_rate + 0.01)
        sign = np.where(r0.random((3, n)) < 0.5, -1, 1)
        phys = np.zeros((self.days, 3, n), dtype=np.int64)
        receipts = np.zeros((self.days, 3, n), dtype=np.int64)
        for j in range(self.days):
            rng = rng_for(cfg.seed, j, STREAM_INVENTORY)
            jitter = rng.integers(0, 3, (3, n))
            p = p - self.shipped[j] + self.returned[j]
            need = p < rop
            rec = np.where(need, np.maximum(order_q, rop - p + order_q) + jitter, 0)
            receipts[j] = rec
            p = p + rec
            phys[j] = p
        active = np.arange(self.days)[:, None, None] >= start_day[None, :, :]
        big_d = np.maximum(5, np.ceil(phys * 0.05)).astype(np.int64) * sign
        small_d = (np.floor(phys * 0.004)).astype(np.int64) * sign
        err = np.where(active & bad[None], big_d, np.where(active & small[None], small_d, 0))
        book = phys + transit + err

        lots = m.lot_no(np.tile(np.arange(n), 3), np.repeat(np.arange(3), n)).reshape(3, n)
        item_no = m.items["item_no"].to_numpy()
        # ground truth at the latest cutoff
        j = self.days - 1
        rule = RULES["inventory_variance"]
        cost = m.item_cost_c
        for w, i in zip(*np.nonzero(err[j] != 0), strict=True):
            key = f"{WAREHOUSES[w]}:{item_no[i]}:{lots[w, i]}"
            docs = {
                "warehouse_code": WAREHOUSES[w],
                "item_no": item_no[i],
                "lot_no": lots[w, i],
                "snapshot_date": dates(np.array([self.start + j * DAY]))[0],
            }
            d = int(err[j, w, i])
            if rule.within_tolerance(d, int(phys[j, w, i])):
                truth.near_miss(
                    "within_tolerance",
                    "inventory_variance",
                    key,
                    "",
                    docs,
                    f"book off by {d} on {phys[j, w, i]} physical",
                )
            else:
                truth.exception(
                    "inventory_variance",
                    key,
                    "",
                    docs,
                    abs(d) * int(cost[i]),
                    "erp_vs_wms" if w < 2 else "erp_vs_846",
                    f"book - in transit - physical = {d}",
                )
        return self._frames(phys, book, receipts, err, lots, item_no)

    def _frames(
        self,
        phys: np.ndarray,
        book: np.ndarray,
        receipts: np.ndarray,
        err: np.ndarray,
        lots: np.ndarray,
        item_no: np.ndarray,
    ) -> dict[str, pd.DataFrame]:
        n = self.m.n_items
        D = self.days
        jj, ww, ii = np.meshgrid(np.arange(D), np.arange(3), np.arange(n), indexing="ij")
        jj, ww, ii = jj.ravel(), ww.ravel(), ii.ravel()
        cutoff = self.start + (jj + 1) * DAY
        sdate = dates(self.start + jj * DAY)
        wcode = np.array(WAREHOUSES, dtype=object)[ww]
        lot = lots[ww, ii]
        base = pd.DataFrame(
            {
                "snapshot_date": sdate,
                "warehouse_code": wcode,
                "item_no": item_no[ii],
                "lot_no": lot,
                "cutoff": cutoff,
                "item": ii,
                "w": ww,
                "j": jj,
            }
        )
        upd = iso_column(cutoff)
        erp_bal = base[["snapshot_date", "warehouse_code", "item_no", "lot_no"]].assign(
            on_hand_base=book.ravel(), updated_at=upd
        )
        dc = ww < 2
        wms_snap = pd.DataFrame(
            {
                "id": (
                    base["snapshot_date"]
                    + ":"
                    + base["warehouse_code"]
                    + ":"
                    + base["item_no"]
                    + ":"
                    + base["lot_no"]
                ).to_numpy()[dc],
                "snapshot_date": sdate[dc],
                "warehouse_code": wcode[dc],
                "item_no": item_no[ii][dc],
                "lot_no": lot[dc],
                "on_hand_base": phys.ravel()[dc],
                "updated_at": upd[dc],
            }
        )
        tpl = base[~dc].assign(on_hand_base=phys.ravel()[~dc])
        # movements (WMS, DCs) and ERP transactions, aggregated per day/item
        mv = []
        # picks are the WMS shipment lines themselves; movements carry what else changes stock
        for kind, arr in (("receipt", receipts), ("return", self.returned)):
            flat = arr.ravel()
            nz = (flat != 0) & dc
            mv.append(
                pd.DataFrame(
                    {
                        "j": jj[nz],
                        "w": ww[nz],
                        "i": ii[nz],
                        "movement_type": kind,
                        "qty_base": flat[nz],
                    }
                )
            )
        mv = pd.concat(mv, ignore_index=True).sort_values(
            ["j", "w", "i", "movement_type"], kind="stable"
        )
        at = self.start + mv["j"].to_numpy() * DAY + DAY - 60
        mid = (
            dates(self.start + mv["j"].to_numpy() * DAY)
            + ":"
            + np.array(WAREHOUSES, dtype=object)[mv["w"].to_numpy()]
            + ":"
            + item_no[mv["i"].to_numpy()]
            + ":"
            + mv["movement_type"].to_numpy()
        )
        moved = iso_column(at)
        wms_mv = pd.DataFrame(
            {
                "id": mid,
                "moved_at": moved,
                "warehouse_code": np.array(WAREHOUSES, dtype=object)[mv["w"].to_numpy()],
                "item_no": item_no[mv["i"].to_numpy()],
                "lot_no": lots[mv["w"].to_numpy(), mv["i"].to_numpy()],
                "movement_type": mv["movement_type"].to_numpy(),
                "qty_base": mv["qty_base"].to_numpy(),
                "reference": "daily",
                "updated_at": moved,
            }
        )
        # ERP: book deltas split into receipts, returns, shipments (posted view) and adjustments
        adj = err - np.concatenate([np.zeros((1, 3, n), dtype=np.int64), err[:-1]], axis=0)
        open_bal = np.zeros_like(book)
        open_bal[0] = book[0] - receipts[0] - self.returned[0] - adj[0]
        tx = []
        # shipment postings are the ERP ship confirms themselves; transactions hold the rest
        for kind, arr in (
            ("opening", open_bal),
            ("receipt", receipts),
            ("return", self.returned),
            ("adjustment", adj),
        ):
            flat = arr.ravel()
            nz = flat != 0
            tx.append(
                pd.DataFrame(
                    {"j": jj[nz], "w": ww[nz], "i": ii[nz], "txn_type": kind, "qty_base": flat[nz]}
                )
            )
        tx = pd.concat(tx, ignore_index=True).sort_values(
            ["j", "w", "i", "txn_type"], kind="stable"
        )
        tat = self.start + tx["j"].to_numpy() * DAY + DAY - 30
        txn_at = iso_column(tat)
        erp_tx = pd.DataFrame(
            {
                "txn_no": np.char.add(
                    "IT", zfill(np.arange(1, len(tx) + 1).astype(str), 10)
                ).astype(object),
                "txn_at": txn_at,
                "warehouse_code": np.array(WAREHOUSES, dtype=object)[tx["w"].to_numpy()],
                "item_no": item_no[tx["i"].to_numpy()],
                "lot_no": lots[tx["w"].to_numpy(), tx["i"].to_numpy()],
                "txn_type": tx["txn_type"].to_numpy(),
                "qty_base": tx["qty_base"].to_numpy(),
                "reference": "daily",
                "updated_at": txn_at,
            }
        )
        return {
            "erp_balances": erp_bal,
            "erp_transactions": erp_tx,
            "wms_snapshots": wms_snap,
            "wms_movements": wms_mv,
            "tpl_snapshots": tpl,
        }
