"""Benchmark `trueup simulate`: seconds, order lines/s, peak RSS and output size.

    .venv/bin/python bench/simulate_bench.py --order-lines 1000000 [--days 365] [--out DIR]

Orders per day are derived from the target line count (≈ 3.5 lines per order).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

from simulator.config import SimulationConfig
from simulator.generate import simulate


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--order-lines", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=None, help="keep the output here (default: temp)")
    args = ap.parse_args()
    opd = max(1, round(args.order_lines / args.days / 3.5))
    out = args.out or Path(tempfile.mkdtemp(prefix="simbench-"))
    config = SimulationConfig(seed=args.seed, days=args.days, orders_per_day=opd)
    t = time.perf_counter()
    manifest = simulate(config, out, progress=lambda m: print(m, flush=True))
    secs = time.perf_counter() - t
    lines = manifest["summary"]["order_lines"]
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # the forked writers, all waited for
    rss = max(me.ru_maxrss, kids.ru_maxrss) / 1024
    result = {
        "order_lines": lines,
        "orders_per_day": opd,
        "days": args.days,
        "seconds": round(secs, 1),
        "lines_per_s": round(lines / secs),
        # CPU (user + sys) is steadier than wall time on a shared machine
        "cpu_s": round(me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, 1),
        "cpu_s_main": round(me.ru_utime + me.ru_stime, 1),
        "cpu_s_writers": round(kids.ru_utime + kids.ru_stime, 1),
        "peak_rss_mb": round(rss),
        "output_mb": round(_size(out) / 2**20, 1),
        "stages_s": json.loads((out / "timings.json").read_text())["stages_s"],
    }
    print(json.dumps(result, indent=2))
    if args.out is None:
        shutil.rmtree(out)


if __name__ == "__main__":
    main()
