"""Amazon settlement reports, flat file V2 (tab separated, summary row first, 24 columns).

Detail lines are buffered until their 14-day period closes; a period can only receive lines from
orders already generated, so a period is complete once the blocks have passed its end.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.billing import SETTLEMENT_DAYS, settlement_period
from simulator.returns import Returns
from simulator.timing import DAY, concat_arrow, dates, money, money1, text_bytes

COLUMNS = (
    "settlement-id",
    "settlement-start-date",
    "settlement-end-date",
    "deposit-date",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "merchant-order-id",
    "adjustment-id",
    "shipment-id",
    "marketplace-name",
    "amount-type",
    "amount-description",
    "amount",
    "fulfillment-id",
    "posted-date",
    "posted-date-time",
    "order-item-code",
    "merchant-order-item-id",
    "merchant-adjustment-item-id",
    "sku",
    "quantity-purchased",
    "promotion-id",
)
# "HH:MM:SS UTC" of every second of a day
_CLOCK_UTC = pa.array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d} UTC" for s in range(DAY)])
RESERVE_PCT = 0.05
SUBSCRIPTION_C = 3999


def _ts(t: int) -> str:
    return pd.Timestamp(int(t), unit="s").strftime("%Y-%m-%d %H:%M:%S UTC")


class AmazonWriter:
    """Buffers settlement lines per period and writes each closed period as one report."""

    def __init__(self, out_dir: Path, start_epoch: int, as_of: int) -> None:
        self.dir = out_dir / "amazon" / "settlements"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.start = start_epoch
        self.as_of = as_of
        self.buffer: list[pd.DataFrame] = []
        self.next_period = 0
        self.prev_reserve = 0
        self.counts: dict[str, int] = {}

    def add(self, rows: pd.DataFrame, r: Returns) -> None:
        """Queue a block's order lines and the refunds of its Amazon returns."""
        if rows is not None and not rows.empty:
            self.buffer.append(rows)
        rm = r.rmas
        if rm is not None and not rm.empty:
            a = rm[(rm["channel"] == "amazon") & (rm["credit_at"] < 2**40)]
            if not a.empty:
                credit = a["credit_c"].to_numpy()
                comm = np.round(credit * 0.15).astype(np.int64)
                admin = np.minimum(500, np.round(comm * 0.2)).astype(np.int64)
                base = pd.DataFrame(
                    {
                        "o": a["o"].to_numpy(),
                        "order_id": a["channel_order_ref"].to_numpy(),
                        "shipment_id": "",
                        "order_item_code": a["channel_line_ref"].to_numpy(),
                        "sku": a["item_no"].to_numpy(),
                        "qty": a["qty"].to_numpy(),
                        "posted_at": a["credit_at"].to_numpy(),
                        "adjustment_id": a["rma_no"].to_numpy(),
                    }
                )
                parts = []
                for k, (ad, amt) in enumerate(
                    (("Principal", -credit), ("Commission", comm), ("RefundCommission", -admin))
                ):
                    p = base.copy()
                    p["transaction_type"] = "Refund"
                    p["amount_type"] = "ItemPrice" if ad == "Principal" else "ItemFees"
                    p["amount_description"] = ad
                    p["amount_c"] = amt
                    p["comp"] = 10 + k
                    parts.append(p)
                self.buffer.append(pd.concat(parts, ignore_index=True))

    def flush(self, complete_until: int) -> None:
        """Write every period that ended by ``complete_until`` and by as_of."""
        while True:
            end = self.start + (self.next_period + 1) * SETTLEMENT_DAYS * DAY
            if end > min(complete_until, self.as_of):
                return
            self._write_period(self.next_period, end)
            self.next_period += 1

    def _write_period(self, k: int, end: int) -> None:
        allrows = pd.concat(self.buffer, ignore_index=True) if self.buffer else pd.DataFrame()
        if allrows.empty:
            rows = allrows
        else:
            per = settlement_period(allrows["posted_at"].to_numpy())
            rows = allrows[per == k]
            self.buffer = [allrows[per > k]]
        start = end - SETTLEMENT_DAYS * DAY
        sid = 11000000000 + k * 1013 + 7
        if "adjustment_id" not in rows.columns:
            rows = rows.assign(adjustment_id="")
        rows = rows.sort_values(["posted_at", "order_id", "order_item_code", "comp"], kind="stable")
        principal = (
            int(
                rows.loc[
                    (rows["amount_description"] == "Principal")
                    & (rows["transaction_type"] == "Order"),
                    "amount_c",
                ].sum()
            )
            if len(rows)
            else 0
        )
        reserve = round(principal * RESERVE_PCT)
        detail_sum = int(rows["amount_c"].sum()) if len(rows) else 0
        total = detail_sum + self.prev_reserve - reserve - SUBSCRIPTION_C
        other_at = end - 60
        head = [str(sid), _ts(start), _ts(end), _ts(end + 3 * DAY), money1(total), "USD"] + [
            ""
        ] * 18
        lines = ["\t".join(COLUMNS), "\t".join(head)]
        detail = b""
        if len(rows):
            amt = money(rows["amount_c"].to_numpy())
            posted = rows["posted_at"].to_numpy()
            pdates = dates(posted)
            ptimes = concat_arrow(pdates, " ", _CLOCK_UTC.take(pa.array(posted % DAY)))
            tt = rows["transaction_type"].to_numpy().astype(object)
            is_order = tt == "Order"
            adj = np.where(is_order, "", rows["adjustment_id"].fillna("").to_numpy().astype(object))
            shp = np.where(is_order, rows["shipment_id"].fillna("").to_numpy().astype(object), "")
            qty = np.where(is_order, rows["qty"].to_numpy().astype(str), "")
            # one row per order item x amount component, built column-wise, written as bytes
            detail = text_bytes(
                concat_arrow(
                    f"{sid}\t\t\t\t\t\t",
                    tt,
                    "\t",
                    rows["order_id"].to_numpy().astype(object),
                    "\t\t",
                    adj.astype(object),
                    "\t",
                    shp.astype(object),
                    "\tAmazon.com\t",
                    rows["amount_type"].to_numpy().astype(object),
                    "\t",
                    rows["amount_description"].to_numpy().astype(object),
                    "\t",
                    amt,
                    "\tMFN\t",
                    pdates,
                    "\t",
                    ptimes,
                    "\t",
                    rows["order_item_code"].to_numpy().astype(object),
                    "\t\t\t",
                    rows["sku"].to_numpy().astype(object),
                    "\t",
                    qty.astype(object),
                    "\t\n",
                )
            )
        others = []
        for desc, c in (
            ("Previous Reserve Amount Balance", self.prev_reserve),
            ("Current Reserve Amount", -reserve),
            ("Subscription Fee", -SUBSCRIPTION_C),
        ):
            if c == 0 and desc.startswith("Previous"):
                continue
            others.append(
                "\t".join(
                    (
                        str(sid),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "other-transaction",
                        "",
                        "",
                        "",
                        "",
                        "Amazon.com",
                        "other-transaction",
                        desc,
                        money1(c),
                        "",
                        _ts(other_at)[:10],
                        _ts(other_at),
                        "",
                        "",
                        "",
                        "",
                        "",
                        "",
                    )
                )
            )
        self.prev_reserve = reserve
        name = f"{sid}.tsv"
        with (self.dir / name).open("wb") as fh:
            fh.write(("\n".join(lines) + "\n").encode())
            fh.write(detail)
            fh.write(("\n".join(others) + "\n").encode())
        self.counts[f"amazon/settlements/{name}"] = len(lines) - 1 + len(rows) + len(others)
