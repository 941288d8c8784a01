"""Schedules: hourly incremental refresh and a daily full reconciliation.

Cron strings and timezone come from the environment so an operator changes cadence without a code
change. Both start STOPPED unless ``TRUEUP_SCHEDULES=running``: a fresh ``dagster dev`` should
not start hammering real systems before someone has looked at the configuration.
"""

from __future__ import annotations

import os

import dagster as dg

from orchestration.jobs import full_reconciliation, ingest_and_rebuild


def _status() -> dg.DefaultScheduleStatus:
    running = os.environ.get("TRUEUP_SCHEDULES", "").lower() == "running"
    return dg.DefaultScheduleStatus.RUNNING if running else dg.DefaultScheduleStatus.STOPPED


def build_schedules() -> list[dg.ScheduleDefinition]:
    """The two schedules, configured from ``TRUEUP_HOURLY_CRON`` / ``TRUEUP_DAILY_CRON`` /
    ``TRUEUP_SCHEDULE_TIMEZONE`` (defaults: minute 15 of every hour, 05:30, UTC)."""
    timezone = os.environ.get("TRUEUP_SCHEDULE_TIMEZONE", "UTC")
    return [
        dg.ScheduleDefinition(
            name="hourly_ingest_and_rebuild",
            job=ingest_and_rebuild,
            cron_schedule=os.environ.get("TRUEUP_HOURLY_CRON", "15 * * * *"),
            execution_timezone=timezone,
            default_status=_status(),
        ),
        dg.ScheduleDefinition(
            name="daily_full_reconciliation",
            job=full_reconciliation,
            cron_schedule=os.environ.get("TRUEUP_DAILY_CRON", "30 5 * * *"),
            execution_timezone=timezone,
            default_status=_status(),
        ),
    ]
