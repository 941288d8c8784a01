"""One more simulated day never rewrites history.

`--days N+1` must reproduce everything the N-day company had written: a distributor's systems
do not renumber or rewrite old documents. A record that existed at day N keeps its key, and its
content is either identical or carries a newer `updated_at` (its state moved on after as_of).
Files are write-once: every carrier, EDI and Amazon file of the N-day run exists byte-identical
in the (N+1)-day run. The company runs in several blocks (short ones, forced below) so that both
cases are covered: the new day extends the last block, or it opens a new block.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from simulator import generate
from simulator.config import SimulationConfig

N_DAYS = 30
# a high fault rate exercises every document kind (duplicate invoices, unapplied cash, returns)
CONFIG = SimulationConfig(
    seed=11, start=date(2026, 1, 1), days=N_DAYS, orders_per_day=25, discrepancy_rate=0.04
)
# truth that is about the latest snapshot or about lags, so it legitimately moves with as_of
MOVES_WITH_AS_OF = {"lag_within_sla", "return_within_window"}


@pytest.fixture(scope="module", params=[16, 10], ids=["last-block-grows", "new-block"])
def runs(request, tmp_path_factory) -> tuple[Path, Path]:
    """(N-day output, (N+1)-day output) with blocks of `param` days."""
    mp = pytest.MonkeyPatch()
    lines_per_day = int(CONFIG.orders_per_day * 3.5)
    mp.setattr(generate, "LINES_PER_BLOCK", lines_per_day * request.param)
    assert generate.block_days(CONFIG) == request.param
    short = tmp_path_factory.mktemp("n_days")
    long = tmp_path_factory.mktemp("n_plus_1_days")
    generate.simulate(CONFIG, short)
    generate.simulate(replace(CONFIG, days=N_DAYS + 1), long)
    mp.undo()
    return short, long


def _tables(con: sqlite3.Connection) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]


def _rows_by_key(con: sqlite3.Connection, table: str) -> tuple[list[str], dict[tuple, tuple]]:
    info = con.execute(f"PRAGMA table_info({table})").fetchall()
    cols = [c[1] for c in info]
    pk = [c[1] for c in sorted(info, key=lambda c: c[5]) if c[5] > 0]
    assert pk, f"{table} has no primary key"
    idx = [cols.index(c) for c in pk]
    rows: dict[tuple, tuple] = {}
    for r in con.execute(f"SELECT * FROM {table}"):
        key = tuple(r[i] for i in idx)
        assert key not in rows, f"{table}: duplicate key {key}"
        rows[key] = r
    return cols, rows


def _history_violations(before: Path, after: Path) -> list[str]:
    """Rows of `before` missing from `after`, or changed without a newer updated_at."""
    a, b = sqlite3.connect(before), sqlite3.connect(after)
    bad: list[str] = []
    try:
        tables = _tables(a)
        assert tables == _tables(b)
        for t in tables:
            cols, old = _rows_by_key(a, t)
            _, new = _rows_by_key(b, t)
            upd = cols.index("updated_at")
            for key, row in old.items():
                now = new.get(key)
                if now is None:
                    bad.append(f"{t} {key}: gone")
                elif now != row and not now[upd] > row[upd]:
                    diff = {c: (x, y) for c, x, y in zip(cols, row, now, strict=True) if x != y}
                    bad.append(f"{t} {key}: changed without a newer updated_at {diff}")
    finally:
        a.close()
        b.close()
    return bad


@pytest.mark.parametrize("store", ["erp/erp.sqlite", "wms/wms.sqlite", "shopify/shopify.sqlite"])
def test_every_earlier_record_keeps_its_key_and_changes_only_with_a_newer_updated_at(runs, store):
    short, long = runs
    bad = _history_violations(short / store, long / store)
    assert bad == [], f"{len(bad)} rewritten records, e.g. {bad[:5]}"


def test_the_longer_run_has_more_records(runs):
    short, long = runs
    m1 = json.loads((short / "manifest.json").read_text())["summary"]
    m2 = json.loads((long / "manifest.json").read_text())["summary"]
    assert m2["order_lines"] > m1["order_lines"] > 1000
    assert m1["invoices"] > 100
    assert m1["discrepancies.duplicate_invoice"] > 0
    assert m1["discrepancies.unapplied_cash"] > 0


def test_every_earlier_file_is_delivered_again_byte_identical(runs):
    # carrier drops, freight bills, X12 files and settlement reports are written once: none of
    # them grows or is renamed when the company runs one more day
    short, long = runs
    files = [
        p
        for part in ("carrier", "edi", "amazon")
        for p in sorted((short / part).rglob("*"))
        if p.is_file()
    ]
    assert len(files) > 100
    changed = [
        str(p.relative_to(short))
        for p in files
        if not (long / p.relative_to(short)).is_file()
        or (long / p.relative_to(short)).read_bytes() != p.read_bytes()
    ]
    assert changed == []


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_ground_truth_keeps_its_keys_and_document_ids(runs):
    short, long = runs
    gt = "ground_truth"
    # discrepancy_id / near_miss_id are row numbers of one as_of snapshot, not identities
    d1 = _csv(short / gt / "discrepancies.csv")
    d2 = _csv(long / gt / "discrepancies.csv")
    n1 = _csv(short / gt / "near_misses.csv")
    n2 = _csv(long / gt / "near_misses.csv")
    ident = lambda r: tuple(v for k, v in r.items() if not k.endswith("_id"))  # noqa: E731
    # an exception stays an exception, unchanged; inventory variances are about the latest
    # snapshot only and move with it
    kept = {ident(r) for r in d2}
    lost = [r for r in d1 if r["exception_type"] != "inventory_variance" and ident(r) not in kept]
    assert lost == []
    # benign cases that are not about time stay benign, unchanged
    kept_nm = {ident(r) for r in n2}
    lost_nm = [
        r
        for r in n1
        if r["kind"] not in MOVES_WITH_AS_OF
        and r["would_be_exception_type"] != "inventory_variance"
        and ident(r) not in kept_nm
    ]
    assert lost_nm == []
    # a lag near-miss may resolve or become an exception, but never under other document ids
    later: dict[tuple[str, str], dict] = {}
    for r in d2:
        later[(r["exception_type"], r["exception_key"])] = json.loads(r["documents"])
    for r in n2:
        later.setdefault(
            (r["would_be_exception_type"], r["exception_key"]), json.loads(r["documents"])
        )
    moved = 0
    for r in n1:
        key = (r["would_be_exception_type"], r["exception_key"])
        if r["kind"] in MOVES_WITH_AS_OF and key in later:
            moved += 1
            docs = json.loads(r["documents"])
            assert docs.items() <= later[key].items(), (key, docs, later[key])
    assert moved > 0
    assert _csv(short / gt / "edi_anomalies.csv") == _csv(long / gt / "edi_anomalies.csv")
