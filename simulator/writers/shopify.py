"""The Shopify store's own data (``shopify/shopify.sqlite``): each row holds the exact JSON the
Admin REST API returns for the resource; ``trueup serve`` pages through it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from simulator.billing import Billing
from simulator.fulfilment import Fulfilment
from simulator.master_data import MasterData
from simulator.returns import Returns
from simulator.timing import DAY, HOUR, compact_json, iso1, iso_column
from simulator.writers.sqlstore import SqliteStore

DDL = [
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, updated_at TEXT NOT NULL, payload TEXT NOT NULL)",
    "CREATE TABLE payouts (id INTEGER PRIMARY KEY, updated_at TEXT NOT NULL, payload TEXT NOT NULL)",
    """CREATE TABLE balance_transactions (id INTEGER PRIMARY KEY, updated_at TEXT NOT NULL,
       payload TEXT NOT NULL, payout_id INTEGER, processed_at TEXT, amount_cents INTEGER,
       fee_cents INTEGER, type TEXT)""",
]
PAYOUT_HOUR = 6  # payouts for day D land at D 06:00 UTC
TRACKING_COMPANY = {"UPSN": "UPS", "FDEG": "FedEx", "ODFL": "Old Dominion"}


def open_shopify(out_dir: Path) -> SqliteStore:
    return SqliteStore(out_dir / "shopify" / "shopify.sqlite", DDL + index_ddl())


def index_ddl() -> list[str]:
    """The indexes every page read uses, so the API server never has to write the store: a
    server stopped while building one leaves a journal that read-only opens cannot roll back."""
    return [
        f"CREATE INDEX ix_{t}_updated ON {t} (updated_at, id)"
        for t in ("orders", "payouts", "balance_transactions")
    ] + [
        # Transactions are read per payout (the API filters by payout_id).
        "CREATE INDEX ix_balance_transactions_payout "
        "ON balance_transactions (payout_id, updated_at, id)"
    ]


def _m(c: int) -> str:
    return f"{int(c) / 100:.2f}" if c >= 0 else f"-{abs(int(c)) / 100:.2f}"


def payout_of(processed_at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(payout id, payout time) of balance transactions: paid out two days later at 06:00."""
    day = np.asarray(processed_at) // DAY + 2
    return 70000000 + day, day * DAY + PAYOUT_HOUR * HOUR


def write_block(
    store: SqliteStore, f: Fulfilment, b: Billing, r: Returns, m: MasterData, as_of: int
) -> None:
    """Orders (with fulfillments and refunds) and balance transactions of one block."""
    o = f.orders
    so = o[(o["channel"] == "shopify") & (o["t0"] < as_of)]
    if so.empty:
        return
    ln = f.lines[f.lines["o"].isin(so.index)]
    sh1 = f.shipments[(f.shipments["channel"] == "shopify") & (f.shipments["k"] == 1)].set_index(
        "o"
    )
    refunds = (
        r.rmas[(r.rmas["channel"] == "shopify") & (r.rmas["credit_at"] < as_of)].set_index("o")
        if not r.rmas.empty
        else pd.DataFrame()
    )
    cust_names = m.customers["name"].to_numpy()
    ship = {
        oi: t
        for oi, t in zip(
            sh1.index,
            sh1[
                ["shipped_at", "delivered_at", "carrier_scac", "tracking_no", "warehouse_code"]
            ].itertuples(index=False, name=None),
            strict=True,
        )
    }
    ref = (
        {}
        if not len(refunds)
        else {
            oi: t
            for oi, t in zip(
                refunds.index,
                refunds[["credit_c", "credit_at", "rma_no", "channel_line_ref", "qty"]].itertuples(
                    index=False, name=None
                ),
                strict=True,
            )
        }
    )
    lo = ln["o"].to_numpy()
    starts = np.searchsorted(lo, so.index.to_numpy(), "left")
    ends = np.searchsorted(lo, so.index.to_numpy(), "right")
    l_ref = ln["channel_line_ref"].to_numpy()
    l_item = ln["item_no"].to_numpy()
    l_qty = ln["qty"].to_numpy()
    l_price = ln["price_c"].to_numpy()
    rows = []
    for j, x in enumerate(
        so[["t0", "so_seq", "channel_order_ref", "shopify_name", "value_c", "cust"]].itertuples(
            index=True, name=None
        )
    ):
        oi, t0, so_seq, order_ref, name, value_c, cust = x
        a, z = starts[j], ends[j]
        created = iso1(t0)
        order_id = int(order_ref)
        li = [
            {
                "id": int(l_ref[k]),
                "variant_id": int(l_ref[k]) + 7,
                "sku": l_item[k],
                "title": l_item[k],
                "quantity": int(l_qty[k]),
                "price": _m(l_price[k]),
                "fulfillable_quantity": int(l_qty[k]),
                "requires_shipping": True,
                "tax_lines": [],
                "total_discount": "0.00",
            }
            for k in range(a, z)
        ]
        upd = t0
        fulfillments = []
        fulfillment_status = None
        sinfo = ship.get(oi)
        if sinfo is not None and sinfo[0] < as_of:
            shipped_at, delivered_at, scac, trk, whc = sinfo
            delivered = delivered_at < as_of
            fulfillments.append(
                {
                    "id": int(4000000000000 + so_seq),
                    "order_id": order_id,
                    "status": "success",
                    "created_at": iso1(shipped_at),
                    "updated_at": iso1(delivered_at if delivered else shipped_at),
                    "tracking_company": TRACKING_COMPANY[scac],
                    "tracking_number": trk,
                    "tracking_numbers": [trk],
                    "shipment_status": "delivered" if delivered else "in_transit",
                    "location_id": 61000000001 if whc == "DC-EAST" else 61000000002,
                    "line_items": [
                        {"id": d["id"], "quantity": d["quantity"], "sku": d["sku"]} for d in li
                    ],
                }
            )
            for d in li:
                d["fulfillable_quantity"] = 0
            fulfillment_status = "fulfilled"
            upd = max(upd, delivered_at if delivered else shipped_at)
        refund_list = []
        refunded = 0
        rinfo = ref.get(oi)
        if rinfo is not None:
            credit_c, credit_at, rma_no, line_ref, rqty = rinfo
            refunded = int(credit_c)
            refund_list.append(
                {
                    "id": int(8000000000000 + so_seq),
                    "order_id": order_id,
                    "created_at": iso1(credit_at),
                    "processed_at": iso1(credit_at),
                    "note": f"RMA {rma_no}",
                    "restock": True,
                    "refund_line_items": [
                        {
                            "line_item_id": int(line_ref),
                            "quantity": int(rqty),
                            "restock_type": "return",
                            "subtotal": _m(credit_c),
                            "total_tax": "0.00",
                        }
                    ],
                    "transactions": [
                        {
                            "id": int(9100000000000 + so_seq),
                            "kind": "refund",
                            "status": "success",
                            "amount": _m(credit_c),
                            "gateway": "shopify_payments",
                            "created_at": iso1(credit_at),
                        }
                    ],
                    "order_adjustments": [],
                }
            )
            upd = max(upd, credit_at)
        total = int(value_c)
        fin = (
            "paid" if refunded == 0 else ("refunded" if refunded >= total else "partially_refunded")
        )
        payload = {
            "id": order_id,
            "name": name,
            "order_number": int(name[1:]),
            "email": f"buyer{int(cust)}@example.com",
            "created_at": created,
            "processed_at": created,
            "updated_at": iso1(upd),
            "cancelled_at": None,
            "closed_at": None,
            "currency": "USD",
            "financial_status": fin,
            "fulfillment_status": fulfillment_status,
            "total_price": _m(total),
            "subtotal_price": _m(total),
            "total_tax": "0.00",
            "total_discounts": "0.00",
            "tags": "B2B",
            "source_name": "web",
            "customer": {"id": int(6000000000 + cust), "company": cust_names[cust]},
            "line_items": li,
            "shipping_lines": [],
            "fulfillments": fulfillments,
            "refunds": refund_list,
        }
        rows.append((order_id, iso1(upd), compact_json(payload)))
    store.append("orders", pd.DataFrame(rows, columns=["id", "updated_at", "payload"]))

    # balance transactions: charges at checkout, refunds when credited
    tx = b.shopify_txns
    tx = tx[tx["processed_at"] < as_of]
    seq = o["so_seq"].to_numpy()[tx["o"].to_numpy()]
    parts = [
        pd.DataFrame(
            {
                "id": 90000000000 + seq * 10 + 1,
                "type": "charge",
                "order_id": tx["order_id"].to_numpy(),
                "processed_at": tx["processed_at"].to_numpy(),
                "amount_c": tx["amount_c"].to_numpy(),
                "fee_c": tx["fee_c"].to_numpy(),
                "source_id": 9200000000000 + seq,
            }
        )
    ]
    if len(refunds):
        rf = refunds
        rseq = o["so_seq"].to_numpy()[rf.index.to_numpy()]
        parts.append(
            pd.DataFrame(
                {
                    "id": 90000000000 + rseq * 10 + 2,
                    "type": "refund",
                    "order_id": rf["channel_order_ref"].to_numpy(),
                    "processed_at": rf["credit_at"].to_numpy(),
                    "amount_c": -rf["credit_c"].to_numpy(),
                    "fee_c": 0,
                    "source_id": 9100000000000 + rseq,
                }
            )
        )
    bt = pd.concat(parts, ignore_index=True).sort_values("id", kind="stable")
    pid, pat = payout_of(bt["processed_at"].to_numpy())
    paid = pat < as_of
    payloads = []
    for i, (tid, typ, oid, pr, amt, fee, src) in enumerate(
        zip(
            bt["id"],
            bt["type"],
            bt["order_id"],
            bt["processed_at"],
            bt["amount_c"],
            bt["fee_c"],
            bt["source_id"],
            strict=True,
        )
    ):
        payloads.append(
            compact_json(
                {
                    "id": int(tid),
                    "type": typ,
                    "test": False,
                    "payout_id": int(pid[i]) if paid[i] else None,
                    "payout_status": "paid" if paid[i] else "pending",
                    "currency": "USD",
                    "amount": _m(amt),
                    "fee": _m(fee),
                    "net": _m(amt - fee),
                    "source_id": int(src),
                    "source_type": "charge" if typ == "charge" else "refund",
                    "source_order_id": int(oid),
                    "source_order_transaction_id": int(src),
                    "processed_at": iso1(pr),
                },
            )
        )
    store.append(
        "balance_transactions",
        pd.DataFrame(
            {
                "id": bt["id"].to_numpy(),
                "updated_at": iso_column(
                    np.where(paid, np.maximum(pat, bt["processed_at"]), bt["processed_at"])
                ),
                "payload": payloads,
                "payout_id": np.where(paid, pid, None),
                "processed_at": iso_column(bt["processed_at"]),
                "amount_cents": bt["amount_c"].to_numpy(),
                "fee_cents": bt["fee_c"].to_numpy(),
                "type": bt["type"].to_numpy(),
            }
        ),
    )


def write_payouts(store: SqliteStore) -> None:
    """Payouts aggregated from the paid balance transactions (amount = gross - fees)."""
    rows = store.query(
        """SELECT payout_id, MAX(updated_at),
                  SUM(CASE WHEN type='charge' THEN amount_cents ELSE 0 END),
                  SUM(CASE WHEN type='charge' THEN fee_cents ELSE 0 END),
                  SUM(CASE WHEN type='refund' THEN amount_cents ELSE 0 END),
                  SUM(CASE WHEN type='refund' THEN fee_cents ELSE 0 END)
           FROM balance_transactions WHERE payout_id IS NOT NULL GROUP BY payout_id ORDER BY payout_id"""
    )
    out = []
    for pid, _upd, cg, cf, rg, rf in rows:
        day = pid - 70000000
        date = iso1(day * DAY)[:10]
        amount = cg - cf + rg - rf
        summary = {
            "adjustments_fee_amount": "0.00",
            "adjustments_gross_amount": "0.00",
            "charges_fee_amount": _m(cf),
            "charges_gross_amount": _m(cg),
            "refunds_fee_amount": _m(rf),
            "refunds_gross_amount": _m(rg),
            "reserved_funds_fee_amount": "0.00",
            "reserved_funds_gross_amount": "0.00",
            "retried_payouts_fee_amount": "0.00",
            "retried_payouts_gross_amount": "0.00",
        }
        updated = iso1(day * DAY + PAYOUT_HOUR * HOUR)
        out.append(
            (
                pid,
                updated,
                compact_json(
                    {
                        "id": pid,
                        "status": "paid",
                        "date": date,
                        "currency": "USD",
                        "amount": _m(amount),
                        "summary": summary,
                    },
                ),
            )
        )
    store.append("payouts", pd.DataFrame(out, columns=["id", "updated_at", "payload"]))
