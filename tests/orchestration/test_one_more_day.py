"""One more day: a run on top of yesterday's warehouse equals a fresh run on the longer company.

The oracle of every incremental shortcut (incremental dbt models, publishing only what changed):
the company is simulated for N days and run, then simulated again for N + 1 days into the same
sources (same seed: the first N days are reproduced) and run again on the same data directory.
Its open exceptions and its marts must equal those of a fresh run on the (N + 1)-day company,
and both queues must score perfectly against the ground truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from orchestration.publish import DATABASE_NAME, read_manifest
from tests.orchestration.conftest import simulated_full_run
from trueup.score import score_paths
from trueup.settings import Paths

DAYS = 21
ORDERS_PER_DAY = 30
# Columns that record how a row was built, not what it says: dlt's, and the incremental facts'
# watermark and code version (macros/loads.sql).
BOOKKEEPING = ("_loaded_through", "_code_version")

# What the queue says about an exception that does not depend on when it was first seen.
QUEUE_COLUMNS = (
    "exception_id, exception_type, exception_key, correlation_id, severity, owner_team, "
    "amount_at_risk, difference, documents, detected_at, sla_due_at, age_hours"
)


def _simulate(paths: Paths, days: int) -> None:
    from simulator.config import SimulationConfig
    from simulator.generate import simulate

    simulate(
        SimulationConfig(days=days, orders_per_day=ORDERS_PER_DAY, start=date(2026, 1, 1)),
        paths.sources,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Paths, Paths]]:
    """(one more day on top of N days, fresh N + 1 days), each run by the full job."""
    from orchestration.runner import run_everything

    fresh_root = Path(tmp_path_factory.mktemp("fresh_company"))
    with simulated_full_run(fresh_root, DAYS + 1, ORDERS_PER_DAY) as (fresh, fresh_summary):
        assert fresh_summary.success, fresh_summary.failed_steps
    root = Path(tmp_path_factory.mktemp("growing_company"))
    with simulated_full_run(root, DAYS, ORDERS_PER_DAY) as (grown, first):
        assert first.success, first.failed_steps
        _simulate(grown, DAYS + 1)
        second = run_everything(grown)
        assert second.success, (second.failed_steps, second.failed_checks)
        assert second.failed_checks == []
    yield grown, fresh


def _rows(paths: Paths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return sorted(con.execute(sql).fetchall(), key=repr)


def _mart_tables(paths: Paths) -> list[str]:
    return [
        f"{s}.{t}"
        for s, t in _rows(
            paths,
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('canonical', 'marts') and table_type = 'BASE TABLE' "
            "and table_name not in ('exceptions', '_published') and table_name not like '%dbt_tmp%'",
        )
    ]


def _columns(paths: Paths, table: str) -> str:
    schema, name = table.split(".")
    cols = _rows(
        paths,
        "select column_name from information_schema.columns "
        f"where table_schema = '{schema}' and table_name = '{name}' "
        "and column_name not like '\\_dlt%' escape '\\'",
    )
    return ", ".join(f'"{c}"' for (c,) in sorted(cols) if c not in BOOKKEEPING)


def test_open_exceptions_after_one_more_day_equal_a_fresh_run(runs) -> None:
    grown, fresh = runs
    sql = f"select {QUEUE_COLUMNS} from marts.exceptions where status = 'open'"
    got, want = _rows(grown, sql), _rows(fresh, sql)
    missing = sorted(set(want) - set(got), key=repr)[:5]
    extra = sorted(set(got) - set(want), key=repr)[:5]
    assert got == want, f"missing {missing}\nunexpected {extra}"


def test_exceptions_gone_after_one_more_day_are_resolved_not_deleted(runs) -> None:
    grown, fresh = runs
    fresh_ids = {i for (i,) in _rows(fresh, "select exception_id from marts.exceptions")}
    resolved = _rows(grown, "select exception_id, status, resolved_at from marts.exceptions")
    for exception_id, status, resolved_at in resolved:
        if exception_id not in fresh_ids:
            assert status == "resolved" and resolved_at is not None


def test_every_fact_and_mart_after_one_more_day_equals_a_fresh_run(runs) -> None:
    grown, fresh = runs
    tables = _mart_tables(fresh)
    assert set(_mart_tables(grown)) == set(tables)
    differing = {}
    for table in tables:
        cols = _columns(fresh, table)
        sql = f"select {cols} from {table}"
        got, want = _rows(grown, sql), _rows(fresh, sql)
        if got != want:
            differing[table] = (len(got), len(want), sorted(set(want) ^ set(got), key=repr)[:2])
    assert not differing, differing


def _published_rows(paths: Paths, table: str) -> tuple[list[tuple], list[tuple]]:
    """A published table's rows in the DuckDB file and in its Parquet file."""
    with duckdb.connect(str(paths.published / DATABASE_NAME), read_only=True) as con:
        in_file = con.execute(f"select * from {table}").fetchall()
    parquet = paths.published / "parquet" / f"{table.split('.')[1]}.parquet"
    in_parquet = duckdb.sql(f"select * from '{parquet}'").fetchall()
    return sorted(in_file, key=repr), sorted(in_parquet, key=repr)


def test_the_version_published_after_one_more_day_equals_a_fresh_runs(runs) -> None:
    grown, fresh = runs
    manifest = read_manifest(grown.published)
    assert manifest["based_on"] == manifest["version"] - 1  # built from the previous version
    assert manifest["tables"]["marts.order_journey"]["published_as"] == "updated"
    tables = set(read_manifest(fresh.published)["row_counts"])
    assert set(manifest["row_counts"]) == tables
    # The queue records when each exception was first seen, which differs between the two.
    differing = [
        table
        for table in sorted(tables - {"marts.exceptions"})
        if _published_rows(grown, table) != _published_rows(fresh, table)
    ]
    assert not differing


def test_both_queues_score_perfectly(runs) -> None:
    for paths in runs:
        result = score_paths(paths)
        report = {
            t: (s.expected, s.flagged, s.missed[:3], s.false_positives[:3])
            for t, s in result.types.items()
            if not (s.precision == 1 and s.recall == 1 and s.benign_flags == 0)
        }
        assert result.perfect, report
