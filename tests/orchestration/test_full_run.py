"""End to end: a small simulated company materialised by the full Dagster job, checks included.

One run (~60-80 s: six sources, then dbt build as a subprocess) shared by the tests of this module.
21 days are simulated because shorter companies leave some source tables (credit memos, WMS
returns) absent, which the dbt source tests rightly reject.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.orchestration.conftest import simulated_full_run
from trueup.settings import Paths

DAYS = 21
ORDERS_PER_DAY = 30


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Paths, object]]:
    """Simulate a company into a temporary data dir and run ``full_reconciliation`` once."""
    root = Path(tmp_path_factory.mktemp("orchestration_company"))
    with simulated_full_run(root, DAYS, ORDERS_PER_DAY) as result:
        yield result


def test_full_reconciliation_succeeds_with_no_error_level_check_failing(full_run) -> None:
    _, summary = full_run
    assert summary.success, f"failed steps {summary.failed_steps}"
    assert summary.failed_checks == []


def test_a_backlog_past_its_control_limit_is_a_warning_not_a_failure(full_run) -> None:
    # The simulated company has shipped-not-invoiced exceptions older than 48 h by design: the
    # mart control must say so (and alert), without blocking the run.
    _, summary = full_run
    assert "marts/rec_shipped_not_invoiced:backlog_shipped_not_invoiced" in summary.warned_checks


def test_the_exception_queue_is_built_and_summarised(full_run) -> None:
    _, summary = full_run
    assert summary.exceptions, "a simulated company with discrepancies has open exceptions"
    assert all(count > 0 for _, count, _ in summary.exceptions)


def test_runs_persist_in_the_dagster_home_under_the_data_dir(full_run) -> None:
    paths, summary = full_run
    assert (paths.dagster_home / "dagster.yaml").exists()
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    with dg.DagsterInstance.get() as instance:
        assert instance.get_run_by_id(summary.run_id) is not None
        queue = instance.get_latest_materialization_event(dg.AssetKey(["marts", "exceptions"]))
        metadata = queue.asset_materialization.metadata
        raw = instance.get_latest_materialization_event(dg.AssetKey(["raw_erp", "shipments"]))
        raw_metadata = raw.asset_materialization.metadata
        checks = instance.get_records_for_run(
            summary.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
    assert metadata["open_exceptions"].value == sum(n for _, n, _ in summary.exceptions)
    assert metadata["open_by_owner"].value
    assert raw_metadata["dagster/row_count"].value > 0
    assert raw_metadata["quarantined_all_loads"].value >= 0
    assert len(checks) > 100  # dbt tests, source tests included, evaluated as asset checks
    evaluated = {r.event_log_entry.dagster_event.event_specific_data.check_name for r in checks}
    assert {"gx_raw_erp__invoices", "gx_raw_wms__shipments"} <= evaluated
