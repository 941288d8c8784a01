"""The ERP database: master data once, then each block's documents as they stand at ``as_of``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable

from simulator import erp_schema
from simulator.billing import Billing
from simulator.discrepancies import VARIANT
from simulator.fulfilment import Fulfilment, fmt_ids
from simulator.master_data import MasterData
from simulator.returns import Returns
from simulator.timing import iso_column, str_replace
from simulator.writers.sqlstore import SqlAlchemyStore, SqliteStore


def open_erp(out_dir: Path, url: str | None) -> SqliteStore | SqlAlchemyStore:
    """The default SQLite file (ADBC fast path) or any SQLAlchemy URL."""
    if url is None or url.startswith("sqlite:///"):
        path = out_dir / "erp" / "erp.sqlite" if url is None else Path(url[len("sqlite:///") :])
        ddl = [
            str(CreateTable(t).compile(dialect=sqlite.dialect())).strip()
            for t in erp_schema.metadata.sorted_tables
        ]
        return SqliteStore(path, ddl)
    return SqlAlchemyStore(url, erp_schema.metadata)


def write_master(store: SqliteStore | SqlAlchemyStore, m: MasterData, ts: str) -> None:
    """Master tables, all stamped with the simulation start (they predate every order)."""
    st = m.ship_tos.copy()
    for name, df in (
        ("customers", m.customers),
        ("customer_ship_tos", st),
        ("items", m.items),
        ("item_uoms", m.item_uoms),
        ("warehouses", m.warehouses),
        ("carriers", m.carriers),
        ("carrier_rates", m.carrier_rates),
        ("contract_prices", m.contract_prices),
        ("channel_fee_rates", m.channel_fee_rates),
    ):
        out = df.copy()
        out["updated_at"] = ts
        store.append(name, out)


_SO_COLS = [
    "so_no", "customer_no", "ship_to_id", "channel", "customer_po", "channel_order_ref", "t0",
    "entered", "warehouse_code", "carrier_scac", "value_c",
]  # fmt: skip
_LINE_COLS = [
    "o", "so_no", "line_no", "correlation_id", "item_no", "qty", "uom", "qty_base", "price_c",
    "ext_c", "channel_line_ref",
]  # fmt: skip
_SH_COLS = [
    "o", "shipment_id", "so_no", "warehouse_code", "carrier_scac", "tracking_no", "pro_no",
    "bol_no", "shipped_at", "is_3pl", "weight_lb", "zone", "billed_weight", "accrual_c",
]  # fmt: skip
_SL_COLS = [
    "s", "sl_no", "shipment_id", "so_no", "line_no", "correlation_id", "item_no", "lot_no", "qty",
    "uom", "qty_base",
]  # fmt: skip


def _c(cents: np.ndarray) -> np.ndarray:
    return np.asarray(cents, dtype=np.int64) / 100.0


def write_block(
    store: SqliteStore | SqlAlchemyStore, f: Fulfilment, b: Billing, r: Returns, as_of: int
) -> None:
    """Everything the ERP holds for this block's orders at ``as_of``."""
    o, ln, sh, sl, cf = f.orders, f.lines, f.shipments, f.shipment_lines, f.confirms
    # only the columns written here are copied when rows are selected (the frames are wide)
    sh = sh[_SH_COLS]
    cf = cf[cf["posted_at"] < as_of]
    cf_sh = sh.iloc[cf["s"].to_numpy()]
    # sales orders
    vis = o["in_erp"].to_numpy() & (o["entered"].to_numpy() < as_of)
    so = o.loc[vis, _SO_COLS]
    last_post = (
        pd.Series(cf["posted_at"].to_numpy(), index=cf_sh["o"].to_numpy()).groupby(level=0).max()
    )
    upd = np.maximum(
        so["entered"].to_numpy(), last_post.reindex(so.index).fillna(0).to_numpy().astype(np.int64)
    )
    shipped_any = so.index.isin(last_post.index)
    store.append(
        "sales_orders",
        {
            "so_no": so["so_no"],
            "customer_no": so["customer_no"],
            "ship_to_id": so["ship_to_id"],
            "channel": so["channel"],
            "customer_po": so["customer_po"],
            "channel_order_ref": so["channel_order_ref"].replace("", None),
            "order_date": iso_column(so["t0"]),
            "entered_at": iso_column(so["entered"]),
            "warehouse_code": so["warehouse_code"],
            "carrier_scac": so["carrier_scac"],
            "status": np.where(shipped_any, "shipped", "released"),
            "currency": "USD",
            "total_amount": _c(so["value_c"]),
            "updated_at": iso_column(upd),
        },
    )
    # order lines with shipped quantities posted by as_of (duplicates counted once)
    first_cf = cf[~cf["is_dup"].to_numpy()]
    posted_sl = sl.loc[sl["s"].isin(first_cf["s"]), ["l", "qty_base"]]
    shipped_base = posted_sl.groupby("l")["qty_base"].sum()
    lv = ln.loc[vis[ln["o"].to_numpy()], _LINE_COLS]
    qsb = shipped_base.reindex(lv.index).fillna(0).astype(np.int64).to_numpy()
    bo = (
        (o["variant"].to_numpy()[lv["o"].to_numpy()] == VARIANT["backorder"])
        & (qsb > 0)
        & (qsb < lv["qty_base"].to_numpy())
    )
    store.append(
        "sales_order_lines",
        {
            "so_no": lv["so_no"],
            "line_no": lv["line_no"],
            "correlation_id": lv["correlation_id"],
            "item_no": lv["item_no"],
            "qty": lv["qty"],
            "uom": lv["uom"],
            "qty_base": lv["qty_base"],
            "unit_price": _c(lv["price_c"]),
            "extended_amount": _c(lv["ext_c"]),
            "channel_line_ref": lv["channel_line_ref"].replace("", None),
            "qty_shipped_base": qsb,
            "qty_backordered_base": np.where(bo, lv["qty_base"].to_numpy() - qsb, 0),
            "status": np.where(
                qsb >= lv["qty_base"].to_numpy(),
                "shipped",
                np.where(qsb > 0, "partial", "open"),
            ),
            "updated_at": iso_column(upd[np.searchsorted(so.index.to_numpy(), lv["o"].to_numpy())]),
        },
    )
    # ship confirms
    cf_posted = iso_column(cf["posted_at"])
    store.append(
        "shipments",
        {
            "ship_confirm_no": cf["ship_confirm_no"].to_numpy(),
            "shipment_id": cf_sh["shipment_id"].to_numpy(),
            "so_no": cf_sh["so_no"].to_numpy(),
            "warehouse_code": cf_sh["warehouse_code"].to_numpy(),
            "carrier_scac": cf_sh["carrier_scac"].to_numpy(),
            "tracking_no": cf_sh["tracking_no"].to_numpy(),
            "pro_no": np.where(cf_sh["pro_no"].to_numpy() == "", None, cf_sh["pro_no"].to_numpy()),
            "bol_no": cf_sh["bol_no"].to_numpy(),
            "shipped_at": iso_column(cf_sh["shipped_at"]),
            "posted_at": cf_posted,
            "source": np.where(cf_sh["is_3pl"].to_numpy(), "945", "WMS"),
            "weight_lb": cf_sh["weight_lb"].to_numpy(),
            "updated_at": cf_posted,
        },
    )
    cl = sl[_SL_COLS].merge(
        cf[["s", "ship_confirm_no", "posted_at"]], on="s", how="inner", sort=False
    )
    cl = cl.sort_values(["ship_confirm_no", "sl_no"], kind="stable")
    store.append(
        "shipment_lines",
        {
            "ship_confirm_no": cl["ship_confirm_no"],
            "line_no": cl["sl_no"],
            "shipment_id": cl["shipment_id"],
            "so_no": cl["so_no"],
            "so_line_no": cl["line_no"],
            "correlation_id": cl["correlation_id"],
            "item_no": cl["item_no"],
            "lot_no": cl["lot_no"].replace("", None),
            "qty": cl["qty"],
            "uom": cl["uom"],
            "qty_base": cl["qty_base"],
            "updated_at": iso_column(cl["posted_at"]),
        },
    )
    # freight accruals, one per shipment at its first posting
    fa = first_cf
    fa_sh = sh.iloc[fa["s"].to_numpy()]
    fa_posted = iso_column(fa["posted_at"])
    store.append(
        "freight_accruals",
        {
            "accrual_no": str_replace(fa["ship_confirm_no"].to_numpy(), "SC", "FA"),
            "shipment_id": fa_sh["shipment_id"].to_numpy(),
            "ship_confirm_no": fa["ship_confirm_no"].to_numpy(),
            "carrier_scac": fa_sh["carrier_scac"].to_numpy(),
            "tracking_no": fa_sh["tracking_no"].to_numpy(),
            "accrued_at": fa_posted,
            "zone": fa_sh["zone"].to_numpy(),
            "billed_weight_lb": fa_sh["billed_weight"].to_numpy(),
            "amount": _c(fa_sh["accrual_c"]),
            "updated_at": fa_posted,
        },
    )
    # invoices
    inv, il = b.invoices, b.invoice_lines
    iv = inv["invoiced_at"].to_numpy() < as_of
    apps = b.applications[b.applications["applied_at"] < as_of]
    paid = apps.groupby("invoice_no").agg(
        paid=("paid_c", "sum"),
        disc=("discount_c", "sum"),
        short=("short_c", "sum"),
        at=("applied_at", "max"),
    )
    vi = inv[iv]
    pinfo = paid.reindex(vi["invoice_no"])
    settled = pinfo["paid"].notna().to_numpy()
    short = pinfo["short"].fillna(0).to_numpy() > 0
    status = np.where(settled, np.where(short, "short_paid", "paid"), "open")
    upd_i = np.maximum(
        vi["invoiced_at"].to_numpy(), pinfo["at"].fillna(0).to_numpy().astype(np.int64)
    )
    store.append(
        "invoices",
        {
            "invoice_no": vi["invoice_no"],
            "so_no": vi["so_no"],
            "customer_no": vi["customer_no"],
            "invoice_date": iso_column(vi["invoiced_at"]),
            "due_date": iso_column(vi["due_at"]),
            "terms": vi["terms"],
            "subtotal": _c(vi["total_c"]),
            "freight_amount": 0.0,
            "tax_amount": 0.0,
            "total_amount": _c(vi["total_c"]),
            "status": status,
            "is_consolidated": vi["is_consolidated"],
            "updated_at": iso_column(upd_i),
        },
    )
    vl = il[iv[il["i"].to_numpy()]]
    store.append(
        "invoice_lines",
        {
            "invoice_no": vl["invoice_no"],
            "line_no": vl["inv_line_no"],
            "shipment_id": vl["shipment_id"],
            "so_no": vl["so_no"],
            "so_line_no": vl["so_line_no"],
            "correlation_id": vl["correlation_id"],
            "item_no": vl["item_no"],
            "qty": vl["qty"],
            "uom": vl["uom"],
            "qty_base": vl["qty_base"],
            "unit_price": _c(vl["price_c"]),
            "extended_amount": _c(vl["ext_c"]),
            "updated_at": iso_column(inv["invoiced_at"].to_numpy()[vl["i"].to_numpy()]),
        },
    )
    # cash
    rc = b.receipts[b.receipts["posted_at"] < as_of]
    rc_posted = iso_column(rc["posted_at"])
    store.append(
        "cash_receipts",
        {
            "receipt_no": rc["receipt_no"],
            "customer_no": rc["customer_no"],
            "received_at": iso_column(rc["received_at"]),
            "posted_at": rc_posted,
            "method": rc["method"],
            "reference": rc["reference"],
            "amount": _c(rc["amount_c"]),
            "unapplied_amount": np.where(rc["unapplied"], _c(rc["amount_c"]), 0.0),
            "updated_at": rc_posted,
        },
    )
    applied = iso_column(apps["applied_at"])
    store.append(
        "cash_applications",
        {
            "receipt_no": apps["receipt_no"],
            "invoice_no": apps["invoice_no"],
            "amount_applied": _c(apps["paid_c"]),
            "discount_taken": _c(apps["discount_c"]),
            "short_paid_amount": _c(apps["short_c"]),
            "adjustment_reason": apps["adx_reason"].replace("", None),
            "applied_at": applied,
            "updated_at": applied,
        },
    )
    # returns
    rm = r.rmas
    if rm.empty:
        return
    rm = rm[rm["rma_at"] < as_of]
    received = rm["receipt_at"].to_numpy() < as_of
    credited = rm["credit_at"].to_numpy() < as_of
    upd_r = np.maximum.reduce(
        [
            rm["rma_at"].to_numpy(),
            np.where(received, rm["receipt_at"], 0),
            np.where(credited, rm["credit_at"], 0),
        ]
    )
    store.append(
        "rmas",
        {
            "rma_no": rm["rma_no"],
            "customer_no": rm["customer_no"],
            "so_no": rm["so_no"],
            "invoice_no": rm["invoice_no"],
            "channel": rm["channel"],
            "channel_return_ref": np.where(
                rm["channel"].to_numpy() == "edi",
                str_replace(rm["rma_no"].to_numpy(), "RMA", "RA"),
                rm["channel_order_ref"].to_numpy(),
            ),
            "created_at": iso_column(rm["rma_at"]),
            "window_days": 30,
            "reason_code": rm["reason"],
            "status": np.where(credited, "credited", np.where(received, "received", "open")),
            "expected_credit": _c(rm["expected_c"]),
            "updated_at": iso_column(upd_r),
        },
    )
    store.append(
        "rma_lines",
        {
            "rma_no": rm["rma_no"],
            "line_no": 1,
            "correlation_id": rm["correlation_id"],
            "item_no": rm["item_no"],
            "qty": rm["qty"],
            "uom": rm["uom"],
            "qty_base": rm["qty_base"],
            "unit_price": _c(rm["price_c"]),
            "updated_at": iso_column(rm["rma_at"]),
        },
    )
    cm = rm[credited]
    cm_at = iso_column(cm["credit_at"])
    store.append(
        "credit_memos",
        {
            "credit_memo_no": cm["credit_memo_no"],
            "rma_no": cm["rma_no"],
            "customer_no": cm["customer_no"],
            "invoice_no": cm["invoice_no"],
            "memo_date": cm_at,
            "total_amount": _c(cm["credit_c"]),
            "updated_at": cm_at,
        },
    )
    store.append(
        "credit_memo_lines",
        {
            "credit_memo_no": cm["credit_memo_no"],
            "line_no": 1,
            "rma_no": cm["rma_no"],
            "rma_line_no": 1,
            "correlation_id": cm["correlation_id"],
            "item_no": cm["item_no"],
            "qty": cm["qty"],
            "uom": cm["uom"],
            "qty_base": cm["qty_base"],
            "unit_price": np.round(_c(cm["credit_c"]) / cm["qty"].to_numpy(), 2),
            "extended_amount": _c(cm["credit_c"]),
            "updated_at": cm_at,
        },
    )


__all__ = ["fmt_ids", "open_erp", "write_block", "write_master"]
