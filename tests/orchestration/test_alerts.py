"""Alerts reach real servers once: a webhook receiver and an SMTP server on 127.0.0.1.

Dagster events are real: small jobs and checks are executed in an ephemeral instance and the
alert sensors are evaluated against it with ``build_sensor_context``. The routing is the
repository's ``alerting.yaml``; every team's webhook variable points at its own path of the
receiver, so where an alert lands shows how it was routed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg
import duckdb
import pytest

from orchestration.alerts.routing import load_config
from orchestration.alerts.sensors import (
    alert_on_asset_checks,
    alert_on_new_exceptions,
    alert_on_run_failures,
)
from orchestration.mart_controls import build_mart_control
from tests.orchestration.alert_receivers import Received, free_port
from trueup.settings import Paths


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def _tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None) -> Any:
    return sensor(dg.build_sensor_context(instance=instance, cursor=cursor))


def _cursor(result: Any, previous: str | None) -> str | None:
    return result.cursor if isinstance(result, dg.SensorResult) else previous


# --- checks: a mart control breached, then back under its limit -------------------------------

_INS_KEY = dg.AssetKey(["marts", "rec_invoiced_not_shipped"])


@dg.asset(key=_INS_KEY)
def _invoiced_not_shipped_stub() -> None:
    """Stands for the dbt model; the test writes the table itself."""


def _write_invoiced_not_shipped(paths: Paths, ages: list[float]) -> None:
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.rec_invoiced_not_shipped "
            "(exception_key varchar, is_exception boolean, age_hours double, "
            "amount_at_risk decimal(18, 2))"
        )
        for i, age in enumerate(ages):
            con.execute(
                "insert into marts.rec_invoiced_not_shipped values (?, true, ?, 5000)",
                [f"K{i}", age],
            )


def _run_control(instance: dg.DagsterInstance) -> None:
    spec = load_config().mart_controls["invoiced_not_shipped"]
    control = build_mart_control("invoiced_not_shipped", spec)
    result = dg.materialize([_invoiced_not_shipped_stub, control], instance=instance)
    assert result.success  # WARN and non-blocking: a breach never fails the run


def test_a_breached_mart_control_alerts_its_owner_once_then_a_resolved_notice(
    paths: Paths, servers: Received, instance: dg.DagsterInstance
) -> None:
    # 6 x 5,000 older than 24 h: over alerting.yaml's 25,000 limit for invoiced_not_shipped.
    _write_invoiced_not_shipped(paths, [30.0] * 6)
    _run_control(instance)

    first = _tick(alert_on_asset_checks, instance, None)
    assert len(servers.posts_to("billing")) == 1
    assert len(servers.mails_to("billing@localhost")) == 1
    body = servers.posts_to("billing")[0]
    assert "backlog_invoiced_not_shipped" in body["text"]
    assert body["blocks"][0]["type"] == "section"
    assert servers.posts_to("data_platform") == []  # the mart's owner, not the default team

    # The sensor runs again, with its cursor and with a lost cursor: the ledger dedupes.
    _tick(alert_on_asset_checks, instance, _cursor(first, None))
    _tick(alert_on_asset_checks, instance, None)
    assert len(servers.posts) == 1 and len(servers.mails) == 1

    # Backlog cleared: the next evaluation passes and billing hears it is resolved, once.
    _write_invoiced_not_shipped(paths, [2.0])
    _run_control(instance)
    cursor = _cursor(_tick(alert_on_asset_checks, instance, _cursor(first, None)), None)
    _tick(alert_on_asset_checks, instance, cursor)
    _tick(alert_on_asset_checks, instance, None)
    resolved = [b for b in servers.posts_to("billing") if "Resolved" in b["text"]]
    assert len(resolved) == 1
    assert len(servers.mails_to("billing@localhost")) == 2
    assert "Resolved" in servers.mails_to("billing@localhost")[1]["Subject"]

    # Passing again after the resolution: nothing more to say.
    _run_control(instance)
    _tick(alert_on_asset_checks, instance, None)
    assert len(servers.posts) == 2 and len(servers.mails) == 2


# --- run failures ------------------------------------------------------------------------------


@dg.op
def _explode() -> None:
    raise RuntimeError("the ERP API answered 503")


@dg.job
def _failing_job() -> None:
    _explode()


def test_a_failed_run_alerts_the_default_team_once(
    servers: Received, instance: dg.DagsterInstance
) -> None:
    result = _failing_job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success

    first = _tick(alert_on_run_failures, instance, None)
    _tick(alert_on_run_failures, instance, _cursor(first, None))
    _tick(alert_on_run_failures, instance, None)

    posts = servers.posts_to("data_platform")
    assert len(posts) == 1
    assert "_failing_job failed" in posts[0]["text"]
    assert "step failed: _explode" in posts[0]["text"]
    assert len(servers.mails_to("data-platform@localhost")) == 1
    assert len(servers.posts) == 1 and len(servers.mails) == 1


# --- exception digest --------------------------------------------------------------------------

_AS_OF = "2026-01-22 00:00:00"
_EARLIER = "2026-01-21 00:00:00"


@dg.asset(key=dg.AssetKey(["marts", "exceptions"]))
def _exceptions_stub() -> None:
    """Stands for the dbt exception queue; the test writes the table itself."""


def _write_exceptions(paths: Paths, rows: list[tuple]) -> None:
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.exceptions (exception_id varchar, "
            "exception_type varchar, exception_key varchar, severity varchar, "
            "owner_team varchar, amount_at_risk decimal(18, 2), status varchar, "
            "first_detected_at timestamp, last_seen_at timestamp, resolved_at timestamp)"
        )
        con.executemany("insert into marts.exceptions values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def test_new_high_severity_exceptions_reach_only_their_owner_team(
    paths: Paths, servers: Received, instance: dg.DagsterInstance
) -> None:
    _write_exceptions(
        paths,
        [
            # new and high: counted for billing
            ("e1", "invoiced_not_shipped", "INV-9|1", "high", "billing", 4200, "open",
             _AS_OF, _AS_OF, None),
            # new but low: not worth waking billing for, still in the open totals
            ("e2", "invoiced_not_shipped", "INV-9|2", "low", "billing", 20, "open",
             _AS_OF, _AS_OF, None),
            # open since an earlier run: not new
            ("e3", "inventory_variance", "W1|SKU", "high", "inventory_control", 9000, "open",
             _EARLIER, _AS_OF, None),
        ],
    )  # fmt: skip
    assert dg.materialize([_exceptions_stub], instance=instance).success

    first = _tick(alert_on_new_exceptions, instance, None)
    _tick(alert_on_new_exceptions, instance, _cursor(first, None))
    _tick(alert_on_new_exceptions, instance, None)

    assert {path for path, _ in servers.posts} == {"/billing"}
    (digest,) = servers.posts_to("billing")
    assert "1 new, 0 resolved" in digest["text"]
    assert "4,200.00 at risk" in digest["text"]
    assert "INV-9|1" in digest["text"] and "INV-9|2" not in digest["text"]
    assert [rcpt for rcpt, _ in servers.mails] == [["billing@localhost"]]


def test_a_run_resolving_exceptions_sends_the_owner_a_resolved_count(
    paths: Paths, servers: Received, instance: dg.DagsterInstance
) -> None:
    _write_exceptions(
        paths,
        [
            ("e1", "remittance_short_pay", "R1", "high", "cash_application", 300, "resolved",
             _EARLIER, _EARLIER, _AS_OF),
            ("e2", "asn_mismatch", "A1", "medium", "edi_ops", 50, "open",
             _EARLIER, _AS_OF, None),
        ],
    )  # fmt: skip
    assert dg.materialize([_exceptions_stub], instance=instance).success
    _tick(alert_on_new_exceptions, instance, None)
    assert {path for path, _ in servers.posts} == {"/cash_application"}
    assert "0 new, 1 resolved" in servers.posts[0][1]["text"]


# --- delivery failures are retried, successes are not repeated ---------------------------------


def test_a_destination_down_is_retried_without_repeating_the_one_that_worked(
    paths: Paths, servers: Received, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing_job.execute_in_process(instance=instance, raise_on_error=False)
    monkeypatch.setenv("TRUEUP_SMTP_PORT", str(free_port()))  # nothing listens there

    first = _tick(alert_on_run_failures, instance, None)
    assert len(servers.posts) == 1 and servers.mails == []
    assert isinstance(first, dg.SensorResult) and first.cursor == "0"  # not advanced

    monkeypatch.setenv("TRUEUP_SMTP_PORT", str(servers.smtp_port))
    _tick(alert_on_run_failures, instance, first.cursor)
    assert len(servers.posts) == 1 and len(servers.mails) == 1
