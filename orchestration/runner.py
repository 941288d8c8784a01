"""``trueup run``: materialise everything once, in-process, into a persistent Dagster instance.

The instance lives under ``Paths.dagster_home`` (dagster.yaml copied there, storage under it), so
runs made from the command line show up in ``dagster dev`` started with the same DAGSTER_HOME.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import Any

from trueup.settings import REPO_ROOT, Paths


def prepare_dagster_home(paths: Paths) -> None:
    """Point ``DAGSTER_HOME`` at ``paths.dagster_home`` with the project's dagster.yaml.

    Sets ``DAGSTER_HOME`` in this process's environment; the instance keeps its SQLite storage
    under it.
    """
    home = paths.dagster_home
    (home / "storage").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)


@dataclass
class RunSummary:
    """What one full run produced."""

    success: bool
    run_id: str
    failed_steps: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)  # error severity: data is wrong
    warned_checks: list[str] = field(default_factory=list)  # warn severity: alert, don't block
    exceptions: list[tuple[str, int, float]] = field(default_factory=list)
    published_version: int | None = None


def open_exceptions(paths: Paths) -> list[tuple[str, int, float]]:
    """``(exception_type, open count, open amount at risk)`` of the queue, by type."""
    from orchestration.resources import existing_tables, query

    if ("marts", "exceptions") not in existing_tables(paths):
        return []
    rows = query(
        paths,
        "select exception_type, count(*), coalesce(sum(amount_at_risk), 0) from marts.exceptions "
        "where status = 'open' group by 1 order by 1",
    )
    return [(str(t), int(n), float(a)) for t, n, a in rows]


def run_everything(
    paths: Paths | None = None, *, job_name: str = "full_reconciliation"
) -> RunSummary:
    """Execute a job of the code location in-process against a persistent instance.

    Args:
        paths: Data directory (default ``$TRUEUP_DATA_DIR``); exported so every asset sees it.
        job_name: Job to execute; default everything.

    Returns:
        Success, failed steps and failed checks, and the open exception queue by type.
    """
    import dagster as dg

    paths = paths or Paths.from_env()
    os.environ["TRUEUP_DATA_DIR"] = str(paths.root)
    prepare_dagster_home(paths)
    from orchestration.definitions import defs

    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def(job_name).execute_in_process(
            instance=instance,
            raise_on_error=False,
            # The console shows progress (INFO), not every engine event; the full event log is
            # in the instance for `dagster dev`.
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        failed_steps = [
            e.step_key or "" for e in result.all_events if e.event_type_value == "STEP_FAILURE"
        ]
        failed_checks: list[str] = []
        warned_checks: list[str] = []
        for event in result.all_events:
            evaluation: Any = event.event_specific_data
            if event.event_type_value == "ASSET_CHECK_EVALUATION" and not evaluation.passed:
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                is_warning = evaluation.severity == dg.AssetCheckSeverity.WARN
                (warned_checks if is_warning else failed_checks).append(name)
    return RunSummary(
        success=result.success,
        run_id=result.run_id,
        failed_steps=failed_steps,
        failed_checks=failed_checks,
        warned_checks=warned_checks,
        exceptions=open_exceptions(paths),
        published_version=ensure_published(paths, result.run_id) if result.success else None,
    )


def ensure_published(paths: Paths, run_id: str) -> int | None:
    """Publish the marts for BI tools unless the run's ``published/warehouse`` asset already did.

    Every job selects that asset, so this normally only reads the manifest; it is the safety net
    for a job selection without it, so a successful ``trueup run`` always leaves BI tools
    current.

    Returns:
        The published version (None when there is no warehouse yet).
    """
    from orchestration.publish import publish, read_manifest

    manifest = read_manifest(paths.published)
    if manifest and manifest.get("run_id") == run_id:
        return int(manifest["version"])
    if not paths.warehouse.exists():
        return None
    return publish(paths, run_id=run_id).version


def format_exceptions(rows: list[tuple[str, int, float]]) -> str:
    """The exception queue as a fixed-width table with a total line."""
    lines = [f"{'exception type':<40} {'open':>8} {'amount at risk':>16}"]
    for exception_type, count, amount in rows:
        lines.append(f"{exception_type:<40} {count:>8,} {amount:>16,.2f}")
    lines.append(f"{'total':<40} {sum(r[1] for r in rows):>8,} {sum(r[2] for r in rows):>16,.2f}")
    return "\n".join(lines)
