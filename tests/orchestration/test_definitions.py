"""The code location loads, and its asset graph is the one committed in asset_keys.txt.

To accept an intended change of the graph: ``TRUEUP_UPDATE_SNAPSHOTS=1 pytest
tests/orchestration/test_definitions.py`` rewrites the snapshot; review the diff and commit it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from trueup.settings import REPO_ROOT, Paths

SNAPSHOT = Path(__file__).with_name("asset_keys.txt")


def _defs() -> dg.Definitions:
    from orchestration.definitions import defs

    return defs


def test_workspace_definitions_validate_with_the_dagster_cli(paths: Paths) -> None:
    from orchestration.runner import prepare_dagster_home

    prepare_dagster_home(paths)  # the instance `trueup run` and `dagster dev` use
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_asset_graph_matches_the_committed_snapshot() -> None:
    keys = sorted(k.to_user_string() for k in _defs().resolve_asset_graph().get_all_asset_keys())
    current = "\n".join(keys) + "\n"
    if os.environ.get("TRUEUP_UPDATE_SNAPSHOTS") == "1" or not SNAPSHOT.exists():
        SNAPSHOT.write_text(current)
    assert current == SNAPSHOT.read_text(), (
        "asset graph changed; rerun with TRUEUP_UPDATE_SNAPSHOTS=1 to accept"
    )


def test_every_dbt_source_is_produced_by_an_ingestion_asset() -> None:
    graph = _defs().resolve_asset_graph()
    raw = [k for k in graph.get_all_asset_keys() if k.path[0].startswith("raw_")]
    assert raw
    unmaterializable = [k.to_user_string() for k in raw if not graph.get(k).is_materializable]
    assert unmaterializable == []


def test_raw_tables_connect_to_the_exception_queue() -> None:
    graph = _defs().resolve_asset_graph()
    queue = dg.AssetKey(["marts", "exceptions"])
    upstream = graph.get(queue).parent_keys
    assert any(k.path[0] == "reconciliation" or k.path[0] == "marts" for k in upstream)
    # Walk up from the queue until a raw table is reached.
    seen, todo = set(), [queue]
    while todo:
        key = todo.pop()
        if key not in seen:
            seen.add(key)
            todo.extend(graph.get(key).parent_keys)
    assert dg.AssetKey(["raw_wms", "shipments"]) in seen
    assert dg.AssetKey(["raw_edi", "x12_810_headers"]) in seen


def test_dbt_tests_are_asset_checks_including_source_tests() -> None:
    checks = list(_defs().resolve_asset_graph().asset_check_keys)
    assert any(c.asset_key.path[0] == "marts" for c in checks)
    assert any(c.asset_key.path[0].startswith("raw_") for c in checks)


def test_jobs_schedules_and_the_running_file_sensors_are_declared() -> None:
    defs = _defs()
    for job in ("full_reconciliation", "ingest_and_rebuild", "refresh_edi", "refresh_carrier"):
        assert defs.resolve_job_def(job)
    assert {s.name for s in defs.schedules} == {
        "hourly_ingest_and_rebuild",
        "daily_full_reconciliation",
    }
    sensors = {s.name: s for s in defs.sensors}
    assert sensors["edi_new_files"].default_status == dg.DefaultSensorStatus.RUNNING
    assert sensors["carrier_new_files"].default_status == dg.DefaultSensorStatus.RUNNING


def test_the_hourly_job_does_not_reload_the_rules_seeds() -> None:
    selected = _defs().resolve_job_def("ingest_and_rebuild").asset_layer.selected_asset_keys
    assert not any(k.path[0] == "rules" for k in selected)
    assert dg.AssetKey(["marts", "exceptions"]) in selected
