"""Same arguments → byte-identical files; one more day → the same earlier orders."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import replace
from pathlib import Path

from simulator.generate import simulate
from tests.simulator.conftest import SMALL


def _hashes(root: Path) -> dict[str, str]:
    skip = {"timings.json"}
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name not in skip
    }


def test_two_runs_with_the_same_arguments_write_identical_bytes(small_company, tmp_path):
    out, _ = small_company
    again = tmp_path / "again"
    simulate(SMALL, again)
    first, second = _hashes(out), _hashes(again)
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def _orders(db: Path, last_day: str) -> list[tuple]:
    con = sqlite3.connect(db)
    rows = con.execute(
        """SELECT o.so_no, o.customer_no, o.ship_to_id, o.channel, o.customer_po, o.order_date,
                  l.line_no, l.item_no, l.qty, l.uom, l.unit_price
           FROM sales_orders o JOIN sales_order_lines l USING (so_no)
           WHERE o.order_date < ? ORDER BY o.so_no, l.line_no""",
        (last_day,),
    ).fetchall()
    con.close()
    return rows


def test_adding_a_day_reproduces_the_earlier_days_orders(small_company, tmp_path):
    out, _ = small_company
    longer = tmp_path / "longer"
    simulate(replace(SMALL, days=SMALL.days + 1), longer)
    # orders entered on the last day may only reach the ERP after as_of: compare days 1..N-1
    cutoff = "2026-01-10"
    before = _orders(out / "erp" / "erp.sqlite", cutoff)
    after = _orders(longer / "erp" / "erp.sqlite", cutoff)
    assert len(before) > 500
    assert before == after


def _isa13_by_file(root: Path, last_day: str) -> dict[str, list[str]]:
    from trueup.x12 import parse

    return {
        str(p.relative_to(root)): [
            ic.control_number for ic in parse(p.read_bytes(), p.name).interchanges
        ]
        for p in sorted((root / "edi").rglob("*.x12"))
        if p.name[:8] <= last_day
    }


def test_adding_a_day_keeps_the_earlier_days_edi_files_and_control_numbers(small_company, tmp_path):
    # A later as_of adds documents to earlier blocks; control numbers must not shift, or a
    # translator would see days 1..N re-delivered as control-number reuse.
    out, _ = small_company
    longer = tmp_path / "longer"
    simulate(replace(SMALL, days=SMALL.days + 1), longer)
    before = _isa13_by_file(out, "20260110")
    after = _isa13_by_file(longer, "20260110")
    assert sum(len(v) for v in before.values()) > 50
    assert before == after
