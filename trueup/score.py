"""Score the exception queue against the simulated company's ground truth.

An open exception counts as found when its ``(exception_type, exception_key)`` is a row of
``ground_truth/discrepancies.csv``; one equal to a near-miss's
``(would_be_exception_type, exception_key)`` is a *benign flag* (something a good reconciliation
must not raise); anything else is an unexplained false positive. Precision and recall are per
exception type, over the types the rules seed knows.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path

from trueup.settings import Paths

Key = tuple[str, str]


@dataclass
class TypeScore:
    """Counts and ratios of one exception type."""

    exception_type: str
    expected: int = 0
    flagged: int = 0
    true_positives: int = 0
    benign_flags: int = 0
    precision: float = 1.0
    recall: float = 1.0
    missed: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)


@dataclass
class Score:
    """The whole comparison: per type, totals, and whether it is perfect."""

    types: dict[str, TypeScore]
    expected: int
    flagged: int
    true_positives: int
    benign_flags: int
    precision: float
    recall: float

    @property
    def perfect(self) -> bool:
        return self.precision == 1.0 and self.recall == 1.0 and self.benign_flags == 0

    def to_dict(self) -> dict:
        return {
            **{k: v for k, v in asdict(self).items() if k != "types"},
            "perfect": self.perfect,
            "types": {k: asdict(v) for k, v in sorted(self.types.items())},
        }


def read_truth(sources: Path) -> tuple[set[Key], set[Key]]:
    """(discrepancies, near misses) as sets of (exception_type, exception_key)."""
    gt = sources / "ground_truth"
    with (gt / "discrepancies.csv").open(newline="") as fh:
        disc = {(r["exception_type"], r["exception_key"]) for r in csv.DictReader(fh)}
    near: set[Key] = set()
    path = gt / "near_misses.csv"
    if path.exists():
        with path.open(newline="") as fh:
            near = {(r["would_be_exception_type"], r["exception_key"]) for r in csv.DictReader(fh)}
    return disc, near


def read_open_exceptions(warehouse: Path) -> set[Key]:
    """Open exceptions of the queue (``marts.exceptions``), read-only."""
    import duckdb

    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.ConnectionException:
        # dbt (in this process) still holds the file read-write: share its configuration
        con = duckdb.connect(str(warehouse))
    try:
        rows = con.execute(
            "select exception_type, exception_key from marts.exceptions where status = 'open'"
        ).fetchall()
    finally:
        con.close()
    return {(t, k) for t, k in rows}


def score(
    flagged: set[Key], truth: set[Key], near_misses: set[Key], types: list[str] | None = None
) -> Score:
    """Compare flagged exceptions with the ground truth, per type."""
    names = sorted(set(types or []) | {t for t, _ in truth} | {t for t, _ in flagged})
    per: dict[str, TypeScore] = {}
    for name in names:
        exp = {k for t, k in truth if t == name}
        got = {k for t, k in flagged if t == name}
        benign = {k for k in got - exp if (name, k) in near_misses}
        ts = TypeScore(
            name,
            expected=len(exp),
            flagged=len(got),
            true_positives=len(exp & got),
            benign_flags=len(benign),
        )
        ts.precision = round(len(exp & got) / len(got), 4) if got else 1.0
        ts.recall = round(len(exp & got) / len(exp), 4) if exp else 1.0
        ts.missed = sorted(exp - got)[:20]
        ts.false_positives = sorted(got - exp)[:20]
        per[name] = ts
    tp = len(truth & flagged)
    return Score(
        types=per,
        expected=len(truth),
        flagged=len(flagged),
        true_positives=tp,
        benign_flags=len({x for x in flagged - truth if x in near_misses}),
        precision=round(tp / len(flagged), 4) if flagged else 1.0,
        recall=round(tp / len(truth), 4) if truth else 1.0,
    )


def rule_types() -> list[str]:
    """Exception types of the rules seed."""
    from trueup.dbt import PROJECT_DIR

    with (PROJECT_DIR / "seeds" / "reconciliation_rules.csv").open(newline="") as fh:
        return [r["exception_type"] for r in csv.DictReader(fh)]


def score_paths(paths: Paths | None = None) -> Score:
    """Score the warehouse of a data directory against its simulated company's ground truth."""
    paths = paths or Paths.from_env()
    truth, near = read_truth(paths.sources)
    return score(read_open_exceptions(paths.warehouse), truth, near, rule_types())


def format_score(s: Score) -> str:
    """A fixed-width table, one line per type, totals last."""
    out = [
        f"{'exception_type':<34}{'expected':>9}{'flagged':>9}{'found':>7}{'benign':>8}"
        f"{'precision':>11}{'recall':>8}"
    ]
    for t in s.types.values():
        out.append(
            f"{t.exception_type:<34}{t.expected:>9}{t.flagged:>9}{t.true_positives:>7}"
            f"{t.benign_flags:>8}{t.precision:>11.3f}{t.recall:>8.3f}"
        )
    out.append(
        f"{'total':<34}{s.expected:>9}{s.flagged:>9}{s.true_positives:>7}"
        f"{s.benign_flags:>8}{s.precision:>11.3f}{s.recall:>8.3f}"
    )
    return "\n".join(out)
