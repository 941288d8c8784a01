"""Smoke test of the benchmark's pieces at a tiny scale, so ``bench/run.py`` does not rot.

A full ``trueup run`` has a fixed cost of minutes (Dagster, dbt, every source), too slow for the
suite, so trueup's side is stood in for by the simulator's ground truth (what trueup's marts
must produce, and what ``trueup score`` checks): the lower bound and the pandas baseline must
both reproduce it exactly for the headline types, and agree with each other under
``bench.run.same``. No timing assertions.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench import bound, pandas_baseline  # noqa: E402
from bench.measure import run_measured  # noqa: E402
from bench.run import HEADLINE_TYPES, Exceptions, orders_per_day, same, summarise  # noqa: E402


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny simulated company (45 days x 12 orders/day, 10 % faults), written by the real command."""
    out = tmp_path_factory.mktemp("bench-smoke") / "sources"
    run_measured(
        [
            str(REPO / ".venv" / "bin" / "trueup"),
            "simulate",
            "--out",
            str(out),
            "--days",
            "45",
            "--orders-per-day",
            "12",
            "--discrepancy-rate",
            "0.1",
            "--quiet",
        ]
    )
    return out


def ground_truth(sources: Path) -> Exceptions:
    """The injected discrepancies of the headline types."""
    with (sources / "ground_truth" / "discrepancies.csv").open() as f:
        return [
            (r["exception_type"], r["exception_key"], float(r["amount_at_risk"]))
            for r in csv.DictReader(f)
            if r["exception_type"] in HEADLINE_TYPES
        ]


def test_bound_and_pandas_match_ground_truth(company: Path) -> None:
    truth = ground_truth(company)
    bound_exc, _ = bound.compute(company)
    pandas_exc, _ = pandas_baseline.compute(company)
    assert truth, "the tiny company should contain headline exceptions"
    assert summarise(bound_exc) == summarise(truth)
    assert same(bound_exc, truth)
    assert same(pandas_exc, truth)
    assert same(bound_exc, pandas_exc)


def test_measure_and_helpers() -> None:
    m = run_measured(
        [sys.executable, "-c", "import time; x = b'x' * (50 * 2**20); time.sleep(0.5); print('ok')"]
    )
    assert m.returncode == 0 and m.stdout.strip() == "ok"
    assert m.peak_rss > 10 * 2**20
    assert orders_per_day(1_000_000) == round(1_000_000 / 365 / 3.5)
    assert not same([("shipped_not_invoiced", "a", 1.0)], [("shipped_not_invoiced", "b", 1.0)])
