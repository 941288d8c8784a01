"""End-to-end benchmark: trueup vs a hand-written DuckDB lower bound vs pandas.

    .venv/bin/python bench/run.py --order-lines N [--data-dir DIR] [--seed 42] [--keep]

Workload: a simulated company of about N order lines over 365 days (orders per day =
N / 365 / 3.5, as ``bench/simulate_bench.py``). Every phase runs as a subprocess whose wall time
and peak RSS (psutil, whole process tree) are measured:

1. ``trueup simulate``;
2. ``trueup run`` end to end (Dagster in-process: ingest every source, dbt build, GX controls,
   publish); per-step seconds come from the Dagster run's step stats, rows per source from
   ``raw_quarantine.load_audit``;
3. the lower bound (``bench/bound.py`` + ``bench/bound.sql``): one DuckDB script computing the
   three headline marts (shipped-not-invoiced, inventory variance, the returns family) straight
   from the simulator's files; the SQLite read (sqlite3 → Arrow, DuckDB's sqlite extension is not
   installable offline) is counted in its time;
4. what users do today (``bench/pandas_baseline.py``): pandas + datacompy;
5. incremental: ``trueup simulate --days 366`` into the same sources (deterministic, reproduces
   the first 365 days) and ``trueup run`` again on the same data directory; its marts are
   checked against the bound on the 366-day company (``incremental_same_results``);
6. optionally (``--phases``, default on) each phase alone for its peak RSS: ``trueup ingest
   --source X`` per source and ``trueup build`` into a second data directory (on the 366-day
   company when the incremental ran).

Every variant's exceptions for those three marts are compared with trueup's (per type: count
and total amount at risk, and the exact keys) → ``same_results``. Prints a table, then as the
LAST line one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.measure import GIB, Measured, dir_size, run_measured  # noqa: E402

PY = str(REPO / ".venv" / "bin" / "python")
TRUEUP = str(REPO / ".venv" / "bin" / "trueup")
DAYS = 365
LINES_PER_ORDER = 3.5
SOURCES = ("erp", "wms", "shopify", "carrier", "edi", "amazon")
HEADLINE_TYPES = (
    "shipped_not_invoiced",
    "inventory_variance",
    "return_credited_not_received",
    "return_received_not_credited",
    "credit_amount_mismatch",
    "rma_open_past_window",
)
Exceptions = list[tuple[str, str, float]]


def orders_per_day(order_lines: int, days: int = DAYS) -> int:
    """Orders per day giving about ``order_lines`` lines over ``days`` (as simulate_bench)."""
    return max(1, round(order_lines / days / LINES_PER_ORDER))


def simulate(sources: Path, *, seed: int, days: int, opd: int) -> Measured:
    """``trueup simulate`` as a measured subprocess."""
    return run_measured(
        [
            TRUEUP,
            "simulate",
            "--out",
            str(sources),
            "--seed",
            str(seed),
            "--days",
            str(days),
            "--orders-per-day",
            str(opd),
            "--quiet",
        ]
    )


def trueup_env(data: Path) -> dict[str, str]:
    """Environment pointing trueup at one data directory."""
    return {"TRUEUP_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}


def trueup_run(data: Path) -> Measured:
    """``trueup run`` (the full Dagster job in-process) as a measured subprocess."""
    return run_measured([TRUEUP, "run"], env=trueup_env(data), cwd=REPO, check=False)


def run_id_of(out: str) -> str | None:
    """The Dagster run id printed by ``trueup run``."""
    for line in out.splitlines():
        if line.startswith("Dagster run "):
            return line.split()[2].rstrip(":")
    return None


def step_seconds(data: Path, run_id: str | None) -> dict[str, float]:
    """Seconds per Dagster step of one run (from the instance under ``data/dagster_home``)."""
    if not run_id:
        return {}
    code = (
        "import json, sys, dagster as dg\n"
        "with dg.DagsterInstance.get() as i:\n"
        "    s = i.get_run_step_stats(sys.argv[1])\n"
        "    print(json.dumps({x.step_key: (x.end_time or 0) - (x.start_time or 0) for x in s}))\n"
    )
    env = {"DAGSTER_HOME": str(data / "dagster_home")}
    result = run_measured([PY, "-c", code, run_id], env=env, check=False)
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {}


def phase_of(step: str) -> str:
    """Group a Dagster step key into a benchmark phase."""
    if step == "ingest" or step.startswith("ingest_"):
        return "ingest"
    if "dbt" in step:
        return "dbt_build"
    if "publish" in step:
        return "publish"
    return "controls_and_other"


def warehouse_query(data: Path, sql: str) -> list[tuple[Any, ...]]:
    """Run one read-only query on the warehouse (nobody else holds it after a run)."""
    import duckdb

    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def trueup_exceptions(data: Path) -> Exceptions:
    """trueup's exceptions of the headline types, read from its ``rec_*`` marts."""
    tables = {
        name
        for (name,) in warehouse_query(
            data,
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_name like 'rec_%'",
        )
    }
    out: Exceptions = []
    for kind in HEADLINE_TYPES:
        table = next((t for t in tables if t.endswith(f".rec_{kind}")), None)
        if table is None:
            continue
        rows = warehouse_query(
            data,
            f"select exception_key, cast(amount_at_risk as double) from {table} where is_exception",
        )
        out += [(kind, str(k), float(a)) for k, a in rows]
    return out


def rows_loaded(data: Path) -> dict[str, int]:
    """Input records per source, from ``load_audit`` (call it after the first run only)."""
    try:
        rows = warehouse_query(
            data,
            "select source, sum(input_records) from raw_quarantine.load_audit group by source",
        )
    except Exception:  # the audit layout is another engineer's: never fail the bench on it
        return {}
    return {str(s): int(n) for s, n in rows}


def source_spans(data: Path) -> dict[str, float]:
    """Seconds from extract start to loaded, per source, of its latest load (the sources'
    extracts overlap inside the one ingest step, so these add up to more than the step)."""
    try:
        rows = warehouse_query(
            data,
            "select source, max(epoch(finished_at) - epoch(started_at)) "
            "from raw_quarantine.load_audit as a "
            "where load_id = (select max(load_id) from raw_quarantine.load_audit as b "
            "where b.source = a.source) group by source order by source",
        )
    except Exception:  # the audit layout is another engineer's: never fail the bench on it
        return {}
    return {str(s): float(n) for s, n in rows}


def log_ingest_sources(
    log: Callable[[str], Any], data: Path, loaded: dict[str, int] | None
) -> None:
    """One line per source under the ingest step: its span and, first run, its rows/s."""
    for source, secs in source_spans(data).items():
        note = "extract to loaded, overlapping"
        if loaded and loaded.get(source):
            note += f"; {loaded[source]:,} records, {loaded[source] / max(secs, 1e-9):,.0f} rows/s"
        log(fmt_row(f"    · {source}", secs, None, note))


def summarise(exceptions: Exceptions) -> dict[str, tuple[int, float]]:
    """Per type: (count, total amount at risk rounded to cents)."""
    acc: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
    for kind, _, amount in exceptions:
        acc[kind][0] += 1
        acc[kind][1] += amount
    return {k: (int(v[0]), round(v[1], 2)) for k, v in sorted(acc.items())}


def same(a: Exceptions, b: Exceptions) -> bool:
    """Same per-type counts, totals (to the cent per exception) and keys."""
    sa, sb = summarise(a), summarise(b)
    if sa.keys() != sb.keys():
        return False
    for kind, (n, total) in sa.items():
        m, other = sb[kind]
        if n != m or abs(total - other) > 0.01 * max(1, n) * 0.5 + 0.005:
            return False
    return {(k, key) for k, key, _ in a} == {(k, key) for k, key, _ in b}


def comparator(script: str, sources: Path, work: Path) -> tuple[Measured, Exceptions, float]:
    """Run ``bench/<script>`` as a measured subprocess; its exceptions and inner seconds."""
    out = work / f"{Path(script).stem}.json"
    measured = run_measured([PY, str(REPO / "bench" / script), str(sources), str(out)], cwd=REPO)
    payload = json.loads(out.read_text())
    return measured, [tuple(x) for x in payload["exceptions"]], float(payload["seconds"])  # type: ignore[misc]


def phase_pass(sources: Path, work: Path) -> dict[str, Measured]:
    """Each phase alone in a fresh data directory: ingest per source, then dbt build."""
    data = work / "phases"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    (data / "sources").symlink_to(sources.resolve())
    out: dict[str, Measured] = {}
    for source in SOURCES:
        out[f"ingest_{source}"] = run_measured(
            [TRUEUP, "ingest", "--source", source, "--quiet"],
            env=trueup_env(data),
            cwd=REPO,
            check=False,
        )
    out["dbt_build"] = run_measured([TRUEUP, "build"], env=trueup_env(data), cwd=REPO, check=False)
    return out


def fmt_row(name: str, seconds: float | None, rss: float | None, note: str = "") -> str:
    s = f"{seconds:>10.1f}" if seconds is not None else f"{'':>10}"
    r = f"{rss / GIB:>9.2f}" if rss is not None else f"{'':>9}"
    return f"{name:<34}{s}{r}  {note}"


def main() -> None:
    """Run the benchmark and print the table and the JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--order-lines", type=int, required=True)
    ap.add_argument("--data-dir", type=Path, default=None, help="default: a temporary directory")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--days", type=int, default=DAYS)
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    ap.add_argument(
        "--phases",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also run ingest per source and dbt build alone (peak RSS per phase)",
    )
    ap.add_argument("--no-incremental", action="store_true", help="skip the one-more-day run")
    args = ap.parse_args()

    data = (args.data_dir or Path(tempfile.mkdtemp(prefix="trueup-bench-"))).resolve()
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    sources = data / "sources"
    work = data / "bench"
    work.mkdir()
    opd = orders_per_day(args.order_lines, args.days)
    table: list[str] = []
    log = lambda line: (table.append(line), print(line, flush=True))  # noqa: E731

    sim = simulate(sources, seed=args.seed, days=args.days, opd=opd)
    manifest = json.loads((sources / "manifest.json").read_text())
    lines = int(manifest["summary"]["order_lines"])
    log(f"workload: {lines:,} order lines, {opd} orders/day x {args.days} days, seed {args.seed}")
    log(f"{'phase':<34}{'seconds':>10}{'peak GiB':>9}  note")
    log(
        fmt_row(
            "simulate",
            sim.seconds,
            sim.peak_rss,
            f"{lines / sim.seconds:,.0f} lines/s, {dir_size(sources) / 2**20:,.0f} MiB",
        )
    )

    full = trueup_run(data)
    run_id = run_id_of(full.stdout)
    steps = step_seconds(data, run_id)
    loaded = rows_loaded(data)
    phases: dict[str, float] = collections.defaultdict(float)
    for step, secs in steps.items():
        phases[phase_of(step)] += secs
    status = "ok" if full.returncode == 0 else f"exit {full.returncode}"
    log(fmt_row("trueup run (end to end)", full.seconds, full.peak_rss, status))
    for phase, secs in sorted(phases.items()):
        log(fmt_row(f"  step {phase}", secs, None))
        if phase == "ingest":
            log_ingest_sources(log, data, loaded)
    other = full.seconds - sum(steps.values())
    log(fmt_row("  outside steps (imports, launch)", other, None))
    warehouse_bytes = dir_size(data / "warehouse.duckdb")
    log(fmt_row("warehouse size", None, None, f"{warehouse_bytes / 2**20:,.0f} MiB"))
    ours = trueup_exceptions(data) if full.returncode == 0 else []

    bound, bound_exc, bound_inner = comparator("bound.py", sources, work)
    log(
        fmt_row(
            "bound (DuckDB, one SQL script)",
            bound.seconds,
            bound.peak_rss,
            f"{bound_inner:.1f} s inside incl. SQLite->Arrow read",
        )
    )
    pandas, pandas_exc, pandas_inner = comparator("pandas_baseline.py", sources, work)
    log(
        fmt_row(
            "pandas + datacompy", pandas.seconds, pandas.peak_rss, f"{pandas_inner:.1f} s inside"
        )
    )

    peaks = {"simulate": sim.peak_rss, "trueup_run": full.peak_rss}
    incremental_s: float | None = None
    incremental_same: bool | None = None
    incremental_phases: dict[str, float] = collections.defaultdict(float)
    if not args.no_incremental:
        more = simulate(sources, seed=args.seed, days=args.days + 1, opd=opd)
        log(fmt_row(f"simulate --days {args.days + 1}", more.seconds, more.peak_rss))
        incr = trueup_run(data)
        incremental_s = incr.seconds
        peaks["trueup_run_incremental"] = incr.peak_rss
        log(
            fmt_row(
                "trueup run (one more day)",
                incr.seconds,
                incr.peak_rss,
                f"{incr.seconds / full.seconds:.1%} of the full run",
            )
        )
        incr_steps = step_seconds(data, run_id_of(incr.stdout))
        for step, secs in incr_steps.items():
            incremental_phases[phase_of(step)] += secs
        for phase, secs in sorted(incremental_phases.items()):
            log(fmt_row(f"  step {phase}", secs, None))
            if phase == "ingest":
                log_ingest_sources(log, data, None)
        log(
            fmt_row(
                "  outside steps (imports, launch)", incr.seconds - sum(incr_steps.values()), None
            )
        )
        if incr.returncode == 0:
            _, bound_next, _ = comparator("bound.py", sources, work)
            incremental_same = same(trueup_exceptions(data), bound_next)

    if args.phases:
        for name, m in phase_pass(sources, work).items():
            peaks[name] = m.peak_rss
            log(
                fmt_row(
                    f"alone: {name}",
                    m.seconds,
                    m.peak_rss,
                    "ok" if m.returncode == 0 else f"exit {m.returncode}",
                )
            )

    log("")
    log(f"{'exception type':<32}{'trueup':>23}{'bound':>23}{'pandas':>23}")
    s_ours, s_bound, s_pd = summarise(ours), summarise(bound_exc), summarise(pandas_exc)
    for kind in HEADLINE_TYPES:
        cells = [s.get(kind, (0, 0.0)) for s in (s_ours, s_bound, s_pd)]
        log(f"{kind:<32}" + "".join(f"{n:>8,} {a:>14,.2f}" for n, a in cells))
    same_results = bool(ours) and same(ours, bound_exc) and same(ours, pandas_exc)
    dbt_s = phases.get("dbt_build")
    log("")
    log(f"ratio to bound (full run / bound): {full.seconds / bound.seconds:.1f}x")
    log(f"speedup vs pandas (pandas / full run): {pandas.seconds / full.seconds:.2f}x")
    if dbt_s:
        log(
            f"mart-only: pandas / trueup dbt build step = {pandas.seconds / dbt_s:.2f}x; "
            f"pandas / bound = {pandas.seconds / bound.seconds:.2f}x"
        )
    log(f"same results (trueup = bound = pandas): {same_results}")

    result = {
        "order_lines": lines,
        "orders_per_day": opd,
        "days": args.days,
        "simulate_s": round(sim.seconds, 1),
        "full_run_s": round(full.seconds, 1),
        "full_run_ok": full.returncode == 0,
        "steps_s": {k: round(v, 1) for k, v in sorted(phases.items())},
        "rows_loaded": loaded,
        "bound_s": round(bound.seconds, 2),
        "ratio_to_bound": round(full.seconds / bound.seconds, 2),
        "incremental_s": None if incremental_s is None else round(incremental_s, 1),
        "incremental_fraction": (
            None if incremental_s is None else round(incremental_s / full.seconds, 3)
        ),
        "incremental_same_results": incremental_same,
        "incremental_steps_s": {k: round(v, 1) for k, v in sorted(incremental_phases.items())},
        "pandas_s": round(pandas.seconds, 1),
        "speedup_vs_pandas": round(pandas.seconds / full.seconds, 3),
        "speedup_vs_pandas_mart_only": round(pandas.seconds / dbt_s, 3) if dbt_s else None,
        "pandas_peak_rss_gib": round(pandas.peak_rss / GIB, 3),
        "bound_peak_rss_gib": round(bound.peak_rss / GIB, 3),
        "peak_rss_gib": round(full.peak_rss / GIB, 3),
        "phase_peak_rss_gib": {k: round(v / GIB, 3) for k, v in peaks.items()},
        "warehouse_mib": round(warehouse_bytes / 2**20, 1),
        "same_results": same_results,
        "data_dir": str(data) if args.keep else None,
    }
    if not args.keep:
        shutil.rmtree(data, ignore_errors=True)
    if full.returncode != 0:
        print(full.stderr[-3000:], file=sys.stderr)
    print(json.dumps(result))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
