"""Freshness: thresholds come from configuration, and a stale source alerts its owner team."""

from __future__ import annotations

import time
from typing import Any

import dagster as dg
import pytest

from orchestration.alerts.routing import load_config
from orchestration.alerts.sensors import alert_on_asset_checks
from orchestration.freshness import freshness_checks, freshness_hours, freshness_sensor
from tests.orchestration.alert_receivers import Received
from trueup.settings import Paths

_EDI_KEY = dg.AssetKey(["raw_edi", "x12_850_headers"])


@dg.asset(key=_EDI_KEY)
def _edi_headers_stub() -> None:
    """Stands for the EDI ingestion asset."""


def test_thresholds_come_from_alerting_yaml_and_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRUEUP_FRESHNESS_HOURS", raising=False)
    monkeypatch.delenv("TRUEUP_FRESHNESS_HOURS_EDI", raising=False)
    config = load_config()
    assert freshness_hours(config, "edi") == 4  # alerting.yaml freshness.sources.edi
    assert freshness_hours(config, "wms") == 26  # freshness.default_hours
    monkeypatch.setenv("TRUEUP_FRESHNESS_HOURS_EDI", "1.5")
    monkeypatch.setenv("TRUEUP_FRESHNESS_HOURS", "12")
    assert freshness_hours(config, "edi") == 1.5
    assert freshness_hours(config, "wms") == 12


def test_one_warn_check_per_raw_table_and_a_running_sensor() -> None:
    keys = [_EDI_KEY, dg.AssetKey(["raw_wms", "shipments"])]
    checks = freshness_checks(keys)
    check_keys = {k for c in checks for k in c.check_keys}
    assert {k.asset_key for k in check_keys} == set(keys)
    specs = [spec for c in checks for spec in c.check_specs]
    assert all(not spec.blocking for spec in specs)
    assert freshness_sensor(checks).default_status == dg.DefaultSensorStatus.RUNNING


def test_a_stale_edi_source_alerts_edi_ops(
    paths: Paths,
    servers: Received,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUEUP_FRESHNESS_HOURS_EDI", str(0.2 / 3600))  # 0.2 s
    checks = freshness_checks([_EDI_KEY])
    with dg.DagsterInstance.ephemeral() as instance:
        assert dg.materialize([_edi_headers_stub], instance=instance).success
        time.sleep(0.5)
        # What the freshness sensor launches: a check-only run.
        result = dg.materialize(
            [_edi_headers_stub, *checks],
            instance=instance,
            selection=dg.AssetSelection.checks(*checks),
        )
        evaluations: list[Any] = result.get_asset_check_evaluations()
        assert [e.passed for e in evaluations] == [False]

        alert_on_asset_checks(dg.build_sensor_context(instance=instance))

    assert {path for path, _ in servers.posts} == {"/edi_ops"}
    assert "raw_edi/x12_850_headers is stale" in servers.posts[0][1]["text"]
    assert [rcpt for rcpt, _ in servers.mails] == [["edi-ops@localhost"]]
