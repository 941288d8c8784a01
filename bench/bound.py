"""Lower bound: DuckDB computing the three headline reconciliations with one SQL script.

    .venv/bin/python bench/bound.py SOURCES_DIR OUT_JSON

DuckDB's sqlite extension cannot be installed offline, so the needed ERP and WMS SQLite tables
are read through Python's sqlite3 into pyarrow and registered in an in-memory DuckDB; that read
is counted in the bound's time. The 3PL's X12 files (846 on hand, 945 shipments) are read and
parsed by DuckDB itself (``read_text``). Writes the exceptions (type, key, amount) and seconds
to ``OUT_JSON``.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

SQL = Path(__file__).with_name("bound.sql")

ERP_TABLES: dict[str, str] = {
    "shipments": "ship_confirm_no, shipment_id, shipped_at, posted_at",
    "shipment_lines": "ship_confirm_no, shipment_id, correlation_id, qty_base",
    "invoice_lines": "shipment_id, correlation_id, qty_base",
    "sales_order_lines": "correlation_id, item_no, uom, unit_price",
    "sales_orders": "so_no, warehouse_code",
    "item_uoms": "item_no, uom, factor_to_base",
    "items": "item_no, standard_cost",
    "inventory_balances": "snapshot_date, warehouse_code, item_no, lot_no, on_hand_base",
    "rmas": "rma_no, created_at, expected_credit",
    "rma_lines": "rma_no, item_no, uom, unit_price",
    "credit_memos": "rma_no, memo_date, total_amount",
}
WMS_TABLES: dict[str, str] = {
    "shipments": "id, warehouse_code, shipped_at",
    "shipment_lines": "shipment_id, item_no, lot_no, qty_base",
    "inventory_snapshots": "snapshot_date, warehouse_code, item_no, lot_no, on_hand_base",
    "return_receipts": "rma_no, received_at, qty_base",
}


def read_sqlite(path: Path, table: str, columns: str) -> pa.Table:
    """Read some columns of one SQLite table into Arrow (one column at a time, no pandas)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as lite:
        cursor = lite.execute(f'select {columns} from "{table}"')
        names = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
    columns_data = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table({n: pa.array(c) for n, c in zip(names, columns_data, strict=True)})


def compute(sources: Path) -> tuple[list[tuple[str, str, float]], float]:
    """Run the bound on a simulated company.

    Args:
        sources: The simulator's output directory (``manifest.json``, ``erp/``, ``wms/``, ``edi/``).

    Returns:
        The exceptions ``(type, key, amount_at_risk)`` and the seconds taken (reads included).
    """
    t0 = time.perf_counter()
    as_of = json.loads((sources / "manifest.json").read_text())["as_of"]
    con = duckdb.connect()
    for prefix, db, tables in (
        ("erp", sources / "erp" / "erp.sqlite", ERP_TABLES),
        ("wms", sources / "wms" / "wms.sqlite", WMS_TABLES),
    ):
        for table, columns in tables.items():
            con.register(f"{prefix}_{table}", read_sqlite(db, table, columns))
    x12 = sources / "edi" / "inbound" / "CENTRAL3PL" / "*.x12"
    con.execute(f"create temp view x12_3pl as select * from read_text('{x12}')")
    con.execute(
        "create temp table params as select cast(? as timestamp) as as_of",
        [as_of.replace("Z", "")],
    )
    con.execute(SQL.read_text())
    rows = con.execute(
        "select exception_type, exception_key, cast(amount_at_risk as double) from bound_exceptions"
    ).fetchall()
    con.close()
    return [(str(t), str(k), float(a)) for t, k, a in rows], time.perf_counter() - t0


def main() -> None:
    """Compute the bound and write ``{"seconds", "exceptions"}`` as JSON."""
    sources, out = Path(sys.argv[1]), Path(sys.argv[2])
    exceptions, seconds = compute(sources)
    out.write_text(json.dumps({"seconds": seconds, "exceptions": exceptions}))


if __name__ == "__main__":
    main()
