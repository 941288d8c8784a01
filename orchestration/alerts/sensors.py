"""Alerting sensors: run failures, asset checks (freshness and mart controls included) and the
exception digest, read from the instance's event log and routed by owner team.

Why scan the event log instead of ``run_failure_sensor`` alone: a non-blocking check that fails
does not fail its run, so run-status sensors never see it. All three sensors follow one pattern:
read events after the cursor (a storage id) in order, turn each into alert events, deliver them,
and advance the cursor only past events whose every delivery succeeded. The ledger dedupes by
event id, so a reset cursor, a retried tick or a second sensor process never alerts twice.
Sensors request no runs and default to RUNNING: an alert sensor left stopped is a silent outage.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import dagster as dg
from dagster._core.event_api import (
    AssetRecordsFilter,
    EventLogRecord,
    EventRecordsFilter,
    RunStatusChangeRecordsFilter,
)

from orchestration.alerts.destinations import Dispatcher
from orchestration.alerts.events import AlertEvent
from orchestration.alerts.ledger import AlertLedger, ledger_path
from orchestration.alerts.routing import (
    SEVERITY_RANK,
    AlertingConfig,
    load_config,
    owner_of_asset,
)
from orchestration.resources import current_paths, existing_tables, query
from trueup.settings import Paths

EXCEPTIONS_KEY = dg.AssetKey(["marts", "exceptions"])
OWNER_METADATA_KEY = "trueup/owner_team"
BATCH = 200  # events per tick; the rest waits for the next tick (has_more)


class _NotReady(Exception):
    """An event cannot be judged yet (run still going, warehouse locked): retry next tick."""


def _link(run_id: str) -> str | None:
    base = os.environ.get("TRUEUP_DAGSTER_URL")
    return f"{base.rstrip('/')}/runs/{run_id}" if base else None


def _metadata_text(metadata: dict[str, Any], limit: int = 6) -> list[str]:
    out = []
    for key, value in list(metadata.items())[:limit]:
        shown = getattr(value, "value", value)
        out.append(f"{key}: {shown}")
    return out


def run_failure_events(
    instance: dg.DagsterInstance, record: EventLogRecord, config: AlertingConfig
) -> list[AlertEvent]:
    """A failed run → one alert to the default team (runs span every team's data)."""
    entry = record.event_log_entry
    run = instance.get_run_by_id(entry.run_id)
    job = run.job_name if run else "?"
    lines = [entry.dagster_event.message or "run failed"] if entry.dagster_event else []
    step_failures = instance.all_logs(entry.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
    lines += [f"step failed: {e.step_key}" for e in step_failures[:10]]
    return [
        AlertEvent(
            event_id=f"run_failure:{entry.run_id}",
            kind="run_failure",
            team=config.default_team,
            title=f"Run of {job} failed ({entry.run_id[:8]})",
            lines=tuple(lines),
            severity="ERROR",
            link=_link(entry.run_id),
        )
    ]


def check_events(
    ledger: AlertLedger, record: EventLogRecord, config: AlertingConfig
) -> tuple[list[AlertEvent], tuple[str, bool]]:
    """A check evaluation → a failure alert, a resolved notice, or nothing.

    Returns:
        The events and the ``(check key, failing)`` state to record once they are delivered.
    """
    entry = record.event_log_entry
    evaluation: Any = entry.dagster_event.event_specific_data  # type: ignore[union-attr]
    asset = evaluation.asset_key.to_user_string()
    check_key = f"{asset}:{evaluation.check_name}"
    metadata = dict(evaluation.metadata)
    owner = metadata.get(OWNER_METADATA_KEY)
    team = str(getattr(owner, "value", owner)) if owner else owner_of_asset(config, asset)
    is_freshness = "freshness" in evaluation.check_name
    severity = evaluation.severity.value
    if not evaluation.passed:
        what = "is stale" if is_freshness else "check failed"
        event = AlertEvent(
            event_id=f"check:{record.storage_id}",
            kind="freshness" if is_freshness else "check_failed",
            team=team,
            title=f"{asset} {what}: {evaluation.check_name} ({severity})",
            lines=tuple(_metadata_text({k: v for k, v in metadata.items() if "/" not in k}))
            or tuple(_metadata_text(metadata)),
            severity=severity,
            link=_link(entry.run_id),
        )
        return [event], (check_key, True)
    if ledger.check_failing(check_key):
        event = AlertEvent(
            event_id=f"check_resolved:{record.storage_id}",
            kind="check_resolved",
            team=team,
            title=f"Resolved: {asset} {evaluation.check_name} passes again",
            severity="info",
            link=_link(entry.run_id),
        )
        return [event], (check_key, False)
    return [], (check_key, False)


_DIGEST_SQL = """
with as_of as (
    -- the observation time of the latest build: resolved rows carry it in resolved_at
    select greatest(max(last_seen_at), coalesce(max(resolved_at), max(last_seen_at))) as t
    from marts.exceptions
)
select
    coalesce(owner_team, '') as team,
    count(*) filter (where status = 'open' and first_detected_at = as_of.t and is_new_level),
    coalesce(sum(amount_at_risk) filter (
        where status = 'open' and first_detected_at = as_of.t and is_new_level), 0),
    count(*) filter (where status = 'resolved' and resolved_at = as_of.t),
    coalesce(sum(amount_at_risk) filter (where status = 'resolved' and resolved_at = as_of.t), 0),
    count(*) filter (where status = 'open'),
    coalesce(sum(amount_at_risk) filter (where status = 'open'), 0)
from (select *, severity in ({levels}) as is_new_level from marts.exceptions), as_of
group by 1
order by 1
"""

_TOP_SQL = """
with as_of as (select max(last_seen_at) as t from marts.exceptions)
select exception_type, exception_key, amount_at_risk
from marts.exceptions, as_of
where status = 'open' and first_detected_at = as_of.t and severity in ({levels})
    and coalesce(owner_team, '') = $1
order by amount_at_risk desc nulls last
limit 5
"""


def exception_digests(paths: Paths, run_id: str, config: AlertingConfig) -> list[AlertEvent]:
    """Per team: new exceptions at or above the configured severity, resolved ones, open totals.

    Raises:
        _NotReady: The warehouse is locked by a writer.
    """
    import duckdb

    if ("marts", "exceptions") not in existing_tables(paths):
        return []
    rank = SEVERITY_RANK[config.min_severity]
    levels = ", ".join(f"'{s}'" for s, r in SEVERITY_RANK.items() if r >= rank)
    try:
        rows = query(paths, _DIGEST_SQL.format(levels=levels))
        events = []
        for team, new, new_amt, resolved, resolved_amt, open_n, open_amt in rows:
            if not new and not resolved:
                continue  # a quiet day for this team is not worth a message
            owner = str(team) or config.default_team
            lines = [
                f"new {config.min_severity}+ severity: {new:,} ({float(new_amt):,.2f} at risk)",
                f"resolved: {resolved:,} ({float(resolved_amt):,.2f})",
                f"open now: {open_n:,} ({float(open_amt):,.2f} at risk)",
            ]
            if new:
                for etype, key, amount in query(paths, _TOP_SQL.format(levels=levels), [team]):
                    lines.append(f"{etype} {key}: {float(amount or 0):,.2f}")
            events.append(
                AlertEvent(
                    event_id=f"exceptions:{run_id}:{owner}",
                    kind="exceptions",
                    team=owner,
                    title=f"Exceptions for {owner}: {new:,} new, {resolved:,} resolved",
                    lines=tuple(lines),
                    severity=config.min_severity if new else "info",
                    link=_link(run_id),
                    facts={"new": int(new), "resolved": int(resolved)},
                )
            )
        return events
    except duckdb.IOException as error:  # "Could not set lock": a run is writing right now
        raise _NotReady(str(error)) from error


def _advance(
    context: dg.SensorEvaluationContext,
    records: Sequence[EventLogRecord],
    handle: Callable[[EventLogRecord], tuple[list[AlertEvent], Callable[[], None] | None]],
    dispatcher: Dispatcher,
) -> dg.SensorResult | dg.SkipReason:
    """Deliver each record's events in order; stop at the first not fully delivered."""
    cursor = int(context.cursor) if context.cursor else 0
    sent = 0
    for record in records:
        try:
            events, on_delivered = handle(record)
        except _NotReady as why:
            context.log.info(f"event {record.storage_id} not ready: {why}")
            break
        reports = [dispatcher.deliver(e) for e in events]
        if any(r.failed for r in reports):
            break  # keep the cursor here: the ledger makes the retry send only what failed
        if on_delivered:
            on_delivered()
        sent += sum(len(r.sent) for r in reports)
        cursor = record.storage_id
    if context.cursor and cursor == int(context.cursor) and sent == 0:
        return dg.SkipReason("nothing new to alert on")
    return dg.SensorResult(cursor=str(cursor))


def _setup() -> tuple[AlertingConfig, AlertLedger, Dispatcher, Paths]:
    paths = current_paths()
    config = load_config()
    ledger = AlertLedger(ledger_path(paths))
    return config, ledger, Dispatcher(config, ledger), paths


@dg.sensor(
    name="alert_on_run_failures",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Tell the default team about every failed run, once.",
)
def alert_on_run_failures(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Scan RUN_FAILURE events after the cursor."""
    config, _, dispatcher, _ = _setup()
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_run_status_changes(
        RunStatusChangeRecordsFilter(dg.DagsterEventType.RUN_FAILURE, after_storage_id=after),
        limit=BATCH,
        ascending=True,
    ).records
    return _advance(
        context,
        records,
        lambda r: (run_failure_events(context.instance, r, config), None),
        dispatcher,
    )


@dg.sensor(
    name="alert_on_asset_checks",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Alert owner teams on failed or warning asset checks (blocking or not, freshness "
        "included) and send a resolved notice when a failing check passes again."
    ),
)
def alert_on_asset_checks(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Scan ASSET_CHECK_EVALUATION events after the cursor."""
    config, ledger, dispatcher, _ = _setup()
    after = int(context.cursor) if context.cursor else None
    # No public fetch_* exists for check evaluations in 1.13; the storage method is not deprecated.
    records = context.instance.event_log_storage.get_event_records(
        EventRecordsFilter(dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after),
        limit=BATCH,
        ascending=True,
    )

    def handle(record: EventLogRecord) -> tuple[list[AlertEvent], Callable[[], None]]:
        events, (key, failing) = check_events(ledger, record, config)
        return events, lambda: ledger.set_check_state(key, failing, record.storage_id)

    return _advance(context, records, handle, dispatcher)


@dg.sensor(
    name="alert_on_new_exceptions",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "After each successful run that rebuilt marts/exceptions, send each owner team a digest "
        "of new high-severity and resolved exceptions with the amount at risk."
    ),
)
def alert_on_new_exceptions(
    context: dg.SensorEvaluationContext,
) -> dg.SensorResult | dg.SkipReason:
    """Scan materialisations of ``marts/exceptions`` after the cursor; wait for their runs."""
    config, _, dispatcher, paths = _setup()
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=EXCEPTIONS_KEY, after_storage_id=after),
        limit=BATCH,
        ascending=True,
    ).records

    def handle(record: EventLogRecord) -> tuple[list[AlertEvent], None]:
        run = context.instance.get_run_by_id(record.run_id)
        if run is not None and not run.is_finished:
            raise _NotReady(f"run {record.run_id} still in progress")
        if run is None or run.status != dg.DagsterRunStatus.SUCCESS:
            return [], None  # a failed run is reported by alert_on_run_failures
        return exception_digests(paths, record.run_id, config), None

    return _advance(context, records, handle, dispatcher)


ALERT_SENSORS = [alert_on_run_failures, alert_on_asset_checks, alert_on_new_exceptions]
