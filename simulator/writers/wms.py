"""The WMS's own store (``wms/wms.sqlite``), served generically by ``trueup serve``.

Contract with the server: every table has a unique ``id`` and an ISO-8601 UTC ``updated_at``
(``YYYY-MM-DDTHH:MM:SSZ``), indexed on (updated_at, id). 3PL shipments are not here: the 3PL
reports them in 945s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.fulfilment import Fulfilment
from simulator.returns import Returns
from simulator.timing import concat_arrow, iso_column, zpad
from simulator.writers.sqlstore import SqliteStore

DDL = [
    """CREATE TABLE shipments (id TEXT PRIMARY KEY, order_ref TEXT, warehouse_code TEXT,
       ship_to_id TEXT, carrier_scac TEXT, tracking_no TEXT, pro_no TEXT, bol_no TEXT,
       status TEXT, picked_at TEXT, shipped_at TEXT, weight_lb REAL, line_count INTEGER,
       updated_at TEXT NOT NULL)""",
    """CREATE TABLE shipment_lines (id TEXT PRIMARY KEY, shipment_id TEXT, order_ref TEXT,
       order_line_no INTEGER, correlation_id TEXT, item_no TEXT, lot_no TEXT, qty INTEGER,
       uom TEXT, qty_base INTEGER, updated_at TEXT NOT NULL)""",
    """CREATE TABLE inventory_snapshots (id TEXT PRIMARY KEY, snapshot_date TEXT,
       warehouse_code TEXT, item_no TEXT, lot_no TEXT, on_hand_base INTEGER,
       updated_at TEXT NOT NULL)""",
    """CREATE TABLE inventory_movements (id TEXT PRIMARY KEY, moved_at TEXT, warehouse_code TEXT,
       item_no TEXT, lot_no TEXT, movement_type TEXT, qty_base INTEGER, reference TEXT,
       updated_at TEXT NOT NULL)""",
    """CREATE TABLE return_receipts (id TEXT PRIMARY KEY, rma_no TEXT, correlation_id TEXT,
       warehouse_code TEXT, item_no TEXT, qty INTEGER, uom TEXT, qty_base INTEGER,
       condition TEXT, received_at TEXT, updated_at TEXT NOT NULL)""",
]
TABLES = (
    "shipments",
    "shipment_lines",
    "inventory_snapshots",
    "inventory_movements",
    "return_receipts",
)


def open_wms(out_dir: Path) -> SqliteStore:
    return SqliteStore(out_dir / "wms" / "wms.sqlite", DDL + index_ddl())


def index_ddl() -> list[str]:
    return [f"CREATE INDEX ix_{t}_updated ON {t} (updated_at, id)" for t in TABLES]


def write_block(store: SqliteStore, f: Fulfilment, r: Returns, as_of: int) -> None:
    """Shipped DC shipments and received returns of one block."""
    sh = f.shipments
    vis = (~sh["is_3pl"].to_numpy()) & (sh["shipped_at"].to_numpy() < as_of)
    s = sh.loc[
        vis,
        [
            "shipment_id", "so_no", "warehouse_code", "ship_to_id", "carrier_scac", "tracking_no",
            "pro_no", "bol_no", "picked_at", "shipped_at", "weight_lb", "n_lines",
        ],
    ]  # fmt: skip
    shipped = iso_column(s["shipped_at"])
    store.append(
        "shipments",
        {
            "id": s["shipment_id"],
            "order_ref": s["so_no"],
            "warehouse_code": s["warehouse_code"],
            "ship_to_id": s["ship_to_id"],
            "carrier_scac": s["carrier_scac"],
            "tracking_no": s["tracking_no"],
            "pro_no": s["pro_no"].replace("", None),
            "bol_no": s["bol_no"],
            "status": "shipped",
            "picked_at": iso_column(s["picked_at"]),
            "shipped_at": shipped,
            "weight_lb": s["weight_lb"],
            "line_count": s["n_lines"],
            "updated_at": shipped,
        },
    )
    sl = f.shipment_lines
    sl = sl.loc[
        vis[sl["s"].to_numpy()],
        [
            "s", "sl_no", "shipment_id", "so_no", "line_no", "correlation_id", "item_no", "lot_no",
            "qty", "uom", "qty_base",
        ],
    ]  # fmt: skip
    store.append(
        "shipment_lines",
        {
            "id": concat_arrow(sl["shipment_id"].to_numpy(), "-", zpad(sl["sl_no"].to_numpy(), 3)),
            "shipment_id": sl["shipment_id"],
            "order_ref": sl["so_no"],
            "order_line_no": sl["line_no"],
            "correlation_id": sl["correlation_id"],
            "item_no": sl["item_no"],
            "lot_no": sl["lot_no"].replace("", None),
            "qty": sl["qty"],
            "uom": sl["uom"],
            "qty_base": sl["qty_base"],
            "updated_at": iso_column(sh["shipped_at"].to_numpy()[sl["s"].to_numpy()]),
        },
    )
    rm = r.rmas
    if rm.empty:
        return
    rm = rm[rm["receipt_at"] < as_of]
    at = iso_column(rm["receipt_at"])
    store.append(
        "return_receipts",
        {
            "id": rm["return_receipt_no"],
            "rma_no": rm["rma_no"],
            "correlation_id": rm["correlation_id"],
            "warehouse_code": rm["warehouse_code"],
            "item_no": rm["item_no"],
            "qty": rm["qty"],
            "uom": rm["uom"],
            "qty_base": rm["qty_base"],
            "condition": np.where(rm["reason"].isin(["DA", "DM"]), "damaged", "resaleable"),
            "received_at": at,
            "updated_at": at,
        },
    )
