"""The ground truth is exactly what an independent reconciliation of the outputs finds.

These SQL reconciliations are written from the spec (docs/simulated-company.md), not from the
generator, so they check the generator's bookkeeping.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from pathlib import Path

from simulator.discrepancies import load_rules


def _truth(out: Path) -> dict[str, set[str]]:
    by: dict[str, set[str]] = {}
    with (out / "ground_truth" / "discrepancies.csv").open() as fh:
        for r in csv.DictReader(fh):
            by.setdefault(r["exception_type"], set()).add(r["exception_key"])
    return by


# What an analyst indexes before reconciling (the simulated ERP carries only primary keys).
_INDEXES = (
    "shipments (shipment_id)",
    "shipment_lines (shipment_id, correlation_id)",
    "invoice_lines (shipment_id, correlation_id)",
    "sales_order_lines (correlation_id)",
    "cash_applications (receipt_no)",
    "credit_memos (rma_no)",
    "rma_lines (rma_no)",
    "wms.return_receipts (rma_no)",
)


def _db(out: Path, work: Path) -> sqlite3.Connection:
    """The ERP with the WMS attached, copied to ``work`` and indexed for the reconciliation."""
    for name in ("erp", "wms"):
        shutil.copyfile(out / name / f"{name}.sqlite", work / f"{name}.sqlite")
    con = sqlite3.connect(work / "erp.sqlite")
    con.execute(f"ATTACH '{work / 'wms.sqlite'}' AS wms")
    for k, target in enumerate(_INDEXES):
        schema, _, table = target.rpartition(".")
        prefix = f"{schema}." if schema else ""
        con.execute(f"CREATE INDEX {prefix}ix_recon_{k} ON {table.replace(' (', '(', 1)}")
    return con


def _as_of(out: Path) -> str:
    return json.loads((out / "manifest.json").read_text())["as_of"]


def _hours(col: str, as_of: str) -> str:
    return f"(julianday('{as_of}') - julianday({col})) * 24"


def _recon(out: Path, work: Path) -> dict[str, set[str]]:
    con = _db(out, work)
    a = _as_of(out)
    q = lambda sql: {r[0] for r in con.execute(sql)}  # noqa: E731
    res: dict[str, set[str]] = {}
    res["shipped_not_invoiced"] = q(f"""
        SELECT DISTINCT s.shipment_id || ':' || l.correlation_id
        FROM shipments s JOIN shipment_lines l USING (ship_confirm_no)
        WHERE {_hours("s.shipped_at", a)} > 48 AND NOT EXISTS (
            SELECT 1 FROM invoice_lines i WHERE i.shipment_id = s.shipment_id
              AND i.correlation_id = l.correlation_id)""")
    res["invoiced_not_shipped"] = q(f"""
        SELECT i.invoice_no || ':' || i.correlation_id FROM invoice_lines i
        JOIN invoices h USING (invoice_no)
        WHERE {_hours("h.invoice_date", a)} > 24 AND NOT EXISTS (
            SELECT 1 FROM shipment_lines l WHERE l.shipment_id = i.shipment_id
              AND l.correlation_id = i.correlation_id)""")
    res["invoice_qty_variance"] = q("""
        SELECT i.invoice_no || ':' || i.correlation_id FROM invoice_lines i
        JOIN (SELECT shipment_id, correlation_id, MIN(qty_base) AS qb FROM shipment_lines
              GROUP BY shipment_id, correlation_id) l
          ON l.shipment_id = i.shipment_id AND l.correlation_id = i.correlation_id
        WHERE i.qty_base != l.qb""")
    res["invoice_price_variance"] = q("""
        SELECT i.invoice_no || ':' || i.correlation_id FROM invoice_lines i
        JOIN sales_order_lines o USING (correlation_id)
        WHERE abs(i.unit_price - o.unit_price * (1.0 * i.qty_base / i.qty) / (1.0 * o.qty_base / o.qty))
              > max(0.05, 0.02 * o.unit_price * (1.0 * i.qty_base / i.qty) / (1.0 * o.qty_base / o.qty)) + 1e-9""")
    res["wms_shipment_not_posted"] = q(f"""
        SELECT w.id FROM wms.shipments w WHERE {_hours("w.shipped_at", a)} > 24
          AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.shipment_id = w.id)""")
    res["duplicate_shipment_confirmation"] = q(
        "SELECT shipment_id FROM shipments GROUP BY shipment_id HAVING count(*) > 1"
    )
    res["duplicate_invoice"] = q("""
        WITH sig AS (SELECT invoice_no, group_concat(shipment_id || '/' || correlation_id || '/' || qty, ',') AS s
                     FROM (SELECT * FROM invoice_lines ORDER BY invoice_no, line_no) GROUP BY invoice_no)
        SELECT b.invoice_no FROM sig a JOIN sig b ON a.s = b.s AND b.invoice_no > a.invoice_no""")
    res["unapplied_cash"] = q("""
        SELECT r.reference FROM cash_receipts r
        WHERE r.amount - coalesce((SELECT sum(amount_applied) FROM cash_applications c
                                   WHERE c.receipt_no = r.receipt_no), 0) > 0.001""")
    res["return_credited_not_received"] = q("""
        SELECT c.rma_no FROM credit_memos c WHERE NOT EXISTS (
            SELECT 1 FROM wms.return_receipts r WHERE r.rma_no = c.rma_no)""")
    res["return_received_not_credited"] = q(f"""
        SELECT r.rma_no FROM wms.return_receipts r WHERE {_hours("r.received_at", a)} > 72
          AND NOT EXISTS (SELECT 1 FROM credit_memos c WHERE c.rma_no = r.rma_no)""")
    res["rma_open_past_window"] = q(f"""
        SELECT m.rma_no FROM rmas m WHERE {_hours("m.created_at", a)} > 720
          AND NOT EXISTS (SELECT 1 FROM wms.return_receipts r WHERE r.rma_no = m.rma_no)
          AND NOT EXISTS (SELECT 1 FROM credit_memos c WHERE c.rma_no = m.rma_no)""")
    res["credit_amount_mismatch"] = q("""
        SELECT c.rma_no FROM credit_memos c JOIN wms.return_receipts r USING (rma_no)
        JOIN rma_lines l ON l.rma_no = c.rma_no
        WHERE abs(c.total_amount - r.qty * l.unit_price) > 0.50 + 1e-9""")
    # inventory (company DCs): book - in transit - physical at the latest snapshot
    last = con.execute("SELECT max(snapshot_date) FROM inventory_balances").fetchone()[0]
    res["inventory_variance"] = q(f"""
        WITH transit AS (
            SELECT w.warehouse_code, l.item_no, coalesce(l.lot_no, '') AS lot_no, sum(l.qty_base) AS q
            FROM wms.shipments w JOIN wms.shipment_lines l ON l.shipment_id = w.id
            WHERE NOT EXISTS (SELECT 1 FROM shipments s WHERE s.shipment_id = w.id
                                AND s.posted_at < '{a}')
            GROUP BY 1, 2, 3)
        SELECT b.warehouse_code || ':' || b.item_no || ':' || b.lot_no
        FROM inventory_balances b JOIN wms.inventory_snapshots p
          ON p.snapshot_date = b.snapshot_date AND p.warehouse_code = b.warehouse_code
         AND p.item_no = b.item_no AND p.lot_no = b.lot_no
        LEFT JOIN transit t ON t.warehouse_code = b.warehouse_code AND t.item_no = b.item_no
         AND t.lot_no = b.lot_no
        WHERE b.snapshot_date = '{last}'
          AND abs(b.on_hand_base - coalesce(t.q, 0) - p.on_hand_base) > 0.01 * p.on_hand_base""")
    con.close()
    return res


def test_ground_truth_equals_an_independent_reconciliation(medium_company, tmp_path):
    out, _ = medium_company
    truth = _truth(out)
    found = _recon(out, tmp_path)
    for etype, keys in found.items():
        expected = truth.get(etype, set())
        if etype == "inventory_variance":
            expected = {k for k in expected if not k.startswith("3PL")}
        if etype == "wms_shipment_not_posted":
            expected = {k for k in expected if not k.startswith("3P")}
        assert keys == expected, (etype, sorted(keys - expected)[:5], sorted(expected - keys)[:5])


def test_ground_truth_covers_every_rule_at_the_default_rate(medium_company):
    out, _ = medium_company
    truth = _truth(out)
    missing = set(load_rules()) - set(truth)
    assert missing == set()
    kinds = {r["kind"] for r in csv.DictReader((out / "ground_truth" / "near_misses.csv").open())}
    assert kinds == {
        "lag_within_sla",
        "within_tolerance",
        "uom_equivalent",
        "retransmitted_interchange",
        "split_shipment",
        "consolidated_invoice",
        "return_within_window",
        "partial_shipment_backorder",
    }


def test_every_shipment_line_points_at_a_real_order_line(small_company, tmp_path):
    out, _ = small_company
    con = _db(out, tmp_path)
    orphan = con.execute("""SELECT count(*) FROM wms.shipment_lines l LEFT JOIN sales_order_lines o
                            ON o.correlation_id = l.correlation_id WHERE o.so_no IS NULL""").fetchone()[
        0
    ]
    orphan_erp = con.execute("""SELECT count(*) FROM shipment_lines l LEFT JOIN sales_order_lines o
                                ON o.correlation_id = l.correlation_id WHERE o.so_no IS NULL""").fetchone()[
        0
    ]
    assert (orphan, orphan_erp) == (0, 0)


def test_documents_named_in_the_ground_truth_exist(medium_company, tmp_path):
    out, _ = medium_company
    con = _db(out, tmp_path)
    exists = {
        "invoice_no": "SELECT 1 FROM invoices WHERE invoice_no = ?",
        "rma_no": "SELECT 1 FROM rmas WHERE rma_no = ?",
        "so_no": "SELECT 1 FROM sales_orders WHERE so_no = ?",
        "credit_memo_no": "SELECT 1 FROM credit_memos WHERE credit_memo_no = ?",
        "return_receipt_no": "SELECT 1 FROM wms.return_receipts WHERE id = ?",
    }
    with (out / "ground_truth" / "discrepancies.csv").open() as fh:
        for r in csv.DictReader(fh):
            docs = json.loads(r["documents"])
            for field, sql in exists.items():
                if field in docs and r["exception_type"] != "channel_order_missing_in_erp":
                    assert con.execute(sql, (docs[field],)).fetchone(), (
                        r["exception_type"],
                        field,
                        docs,
                    )
