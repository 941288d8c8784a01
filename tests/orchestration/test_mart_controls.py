"""Mart controls: backlog limits from configuration, WARN and non-blocking, owner in metadata."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb
import pytest

from orchestration.alerts.routing import load_config
from orchestration.mart_controls import build_mart_control, control_limits, mart_controls
from trueup.settings import Paths

_SNI_KEY = dg.AssetKey(["marts", "rec_shipped_not_invoiced"])


@dg.asset(key=_SNI_KEY)
def _shipped_not_invoiced_stub() -> None:
    """Stands for the dbt model; the test writes the table itself."""


def _write(paths: Paths, rows: list[tuple[bool, float, float]]) -> None:
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.rec_shipped_not_invoiced "
            "(is_exception boolean, age_hours double, amount_at_risk decimal(18, 2))"
        )
        con.executemany("insert into marts.rec_shipped_not_invoiced values (?, ?, ?)", rows)


def _evaluate(paths: Paths) -> Any:
    spec = load_config().mart_controls["shipped_not_invoiced"]
    control = build_mart_control("shipped_not_invoiced", spec)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([_shipped_not_invoiced_stub, control], instance=instance)
    assert result.success, "a WARN control never fails the run"
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_limits_come_from_alerting_yaml_with_environment_overrides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = load_config().mart_controls["shipped_not_invoiced"]
    assert control_limits("shipped_not_invoiced", spec) == (48, 25, 25000)
    monkeypatch.setenv("TRUEUP_CONTROL_SHIPPED_NOT_INVOICED_MAX_COUNT", "3")
    assert control_limits("shipped_not_invoiced", spec)[1] == 3


def test_only_exceptions_older_than_48_hours_count_against_the_limit(paths: Paths) -> None:
    # 30 young exceptions and 2 old ones: under the limit of 25 old ones.
    _write(paths, [(True, 10.0, 100)] * 30 + [(True, 60.0, 100)] * 2 + [(False, 90.0, 1e6)])
    evaluation = _evaluate(paths)
    assert evaluation.passed
    assert evaluation.metadata["count"].value == 2
    assert evaluation.metadata["trueup/owner_team"].value == "billing"


def test_an_old_amount_over_the_limit_is_a_warning(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRUEUP_CONTROL_SHIPPED_NOT_INVOICED_MAX_AMOUNT", "1000")
    _write(paths, [(True, 72.0, 600), (True, 50.0, 600)])
    evaluation = _evaluate(paths)
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.blocking is False


def test_controls_are_built_only_for_marts_of_the_code_location() -> None:
    assert mart_controls([_SNI_KEY])[0].check_keys
    assert mart_controls([dg.AssetKey(["marts", "other"])]) == []
