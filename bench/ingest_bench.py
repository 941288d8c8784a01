"""Ingestion throughput: each source vs DuckDB reading the same data natively.

    .venv/bin/python bench/ingest_bench.py --order-lines 200000 [--sources erp,wms,shopify,carrier,amazon]

Generates (or reuses, under ``--work``) a simulated company of about ``--order-lines`` sales
order lines over 28 days (two Amazon settlement periods), loads each source into a fresh
warehouse through the real pipeline (``ingestion.registry.ingest``: parse, quarantine checks,
dlt extract/normalize/load, audit), and compares with a native load of the same input into a
fresh DuckDB file:

- carrier: ``read_json`` / ``read_csv`` over the same files;
- amazon: ``read_csv`` (tab-separated) over the settlement files;
- erp: DuckDB's sqlite extension cannot be installed offline here, so the baseline is Python's
  sqlite3 fetching every table into pyarrow and DuckDB storing it (the fastest offline reader);
- wms: the same over the WMS store the API serves (``wms/wms.sqlite``); trueup reads it over HTTP
  from the simulator's server, started by the source itself as ``trueup run`` does;
- shopify: the stored JSON documents fetched from ``shopify/shopify.sqlite`` and read by DuckDB's
  ``read_json``, orders unnested into line items, fulfillments and refunds as trueup loads them.

Rows/s counts input records (lines or rows read). Each trueup run includes its fixed cost (~1 s:
pipeline state, the quarantine/audit load); imports are warmed up first. Each side runs
``--repeat`` times, alternating, and the table shows the medians (with the range of the runs):
one run varies by about 10% here. Target: >= 50% of native.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DAYS = 28
LINES_PER_ORDER = 3.5


def company(order_lines: int, work: Path) -> Path:
    """The simulated company for this size, generated once and reused."""
    from simulator.config import SimulationConfig
    from simulator.generate import simulate

    out = work / f"company-{order_lines}"
    if (out / "manifest.json").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    per_day = max(1, round(order_lines / LINES_PER_ORDER / DAYS))
    config = SimulationConfig(start=date(2026, 1, 1), days=DAYS, orders_per_day=per_day)
    t0 = time.perf_counter()
    simulate(config, out, progress=None)
    print(f"generated {per_day} orders/day x {DAYS} days in {time.perf_counter() - t0:.1f} s")
    return out


def pipeline(source: str, src: Path, work: Path) -> tuple[int, float]:
    """Load one source through trueup's pipeline into a fresh data directory."""
    from ingestion.registry import ingest
    from trueup.settings import Paths

    data = work / f"data-{source}"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    # The API sources serve the company under the data directory (no API configured).
    (data / "sources").symlink_to(src.resolve(), target_is_directory=True)
    os.environ["TRUEUP_DATA_DIR"] = str(data)
    os.environ["TRUEUP_ERP_URL"] = f"sqlite:///{src / 'erp' / 'erp.sqlite'}"
    os.environ["TRUEUP_CARRIER_DIR"] = str(src / "carrier")
    os.environ["TRUEUP_AMAZON_DIR"] = str(src / "amazon")
    t0 = time.perf_counter()
    result = ingest(source, paths=Paths.from_env())
    return result.input_records, time.perf_counter() - t0


def native(source: str, src: Path, work: Path) -> tuple[int, float]:
    """Load the same input into a fresh DuckDB file without trueup."""
    db = work / f"native-{source}.duckdb"
    db.unlink(missing_ok=True)
    t0 = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        if source == "carrier":
            con.execute(
                "create table tracking as select * from read_json("
                f"'{src}/carrier/tracking/**/*.jsonl', format='newline_delimited')"
            )
            con.execute(
                f"create table bills as select * from read_csv('{src}/carrier/freight_bills/*.csv', union_by_name=true, all_varchar=true)"
            )
            rows = sum(
                con.execute(f"select count(*) from {t}").fetchone()[0]
                for t in ("tracking", "bills")
            )
        elif source == "amazon":
            con.execute(
                "create table settlement as select * from read_csv("
                f"'{src}/amazon/settlements/*.tsv', delim='\t', header=true, all_varchar=true)"
            )
            rows = con.execute("select count(*) from settlement").fetchone()[0]
        elif source == "shopify":
            rows = _native_shopify(con, src, work)
        else:
            rows = 0
            store = "erp/erp.sqlite" if source == "erp" else "wms/wms.sqlite"
            lite = sqlite3.connect(src / store)
            tables = [
                r[0] for r in lite.execute("select name from sqlite_master where type='table'")
            ]
            for table in tables:
                cursor = lite.execute(f'select * from "{table}"')
                names = [d[0] for d in cursor.description]
                columns = list(zip(*cursor.fetchall(), strict=True)) or [[] for _ in names]
                arrow = pa.table({n: pa.array(c) for n, c in zip(names, columns, strict=True)})
                con.register("incoming", arrow)
                con.execute(f'create table "{table}" as select * from incoming')
                con.unregister("incoming")
                rows += arrow.num_rows
            lite.close()
    return rows, time.perf_counter() - t0


def _native_shopify(con: duckdb.DuckDBPyConnection, src: Path, work: Path) -> int:
    """Shopify's stored JSON documents through DuckDB's JSON reader, orders unnested."""
    lite = sqlite3.connect(src / "shopify" / "shopify.sqlite")
    rows = 0
    for table in ("orders", "payouts", "balance_transactions"):
        payloads = [r[0] for r in lite.execute(f'select payload from "{table}"')]
        staged = work / f"native-shopify-{table}.jsonl"
        staged.write_text("\n".join(payloads) + "\n")
        con.execute(
            f"create table {table} as select * from "
            f"read_json('{staged}', format='newline_delimited')"
        )
        rows += len(payloads)
    for child in ("line_items", "fulfillments", "refunds"):
        con.execute(
            f"create table orders__{child} as "
            f"select id as order_id, unnest({child}, recursive := true) from orders"
        )
    lite.close()
    return rows


def warm_up(work: Path) -> None:
    """Import and exercise the pipeline once on empty folders, so timings exclude imports."""
    empty = work / "empty"
    (empty / "carrier").mkdir(parents=True, exist_ok=True)
    (empty / "amazon").mkdir(parents=True, exist_ok=True)
    import ingestion.erp
    import ingestion.shopify
    import ingestion.wms  # noqa: F401

    for source in ("carrier", "amazon"):
        pipeline(source, empty, work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--order-lines", type=int, default=200_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/trueup-ingest-bench"))
    parser.add_argument("--sources", default="erp,wms,shopify,carrier,amazon")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each side, alternating; the table shows each side's median "
        "(one run of either varies by about 10%% on a shared 2-core machine)",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    src = company(args.order_lines, args.work)
    manifest = json.loads((src / "manifest.json").read_text())
    print(f"company: {src} (as of {manifest.get('as_of')})")
    print(f"{'source':<9} {'records':>10} {'trueup s':>9} {'rows/s':>10} {'native s':>9} "
          f"{'rows/s':>10} {'ratio':>6}")  # fmt: skip
    warm_up(args.work)
    for source in args.sources.split(","):
        ours_s, theirs_s = [], []
        for _ in range(max(args.repeat, 1)):
            rows, seconds = pipeline(source, src, args.work)
            native_rows, native_seconds = native(source, src, args.work)
            ours_s.append(seconds)
            theirs_s.append(native_seconds)
        seconds, native_seconds = statistics.median(ours_s), statistics.median(theirs_s)
        ours, theirs = rows / seconds, native_rows / native_seconds
        spread = f"{min(ours_s):.2f}-{max(ours_s):.2f} vs {min(theirs_s):.2f}-{max(theirs_s):.2f}"
        print(f"{source:<9} {rows:>10,} {seconds:>9.2f} {ours:>10,.0f} {native_seconds:>9.2f} "
              f"{theirs:>10,.0f} {ours / theirs:>6.0%}  ({spread} s)")  # fmt: skip


if __name__ == "__main__":
    main()
