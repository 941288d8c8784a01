"""Freshness of the raw tables: last-update checks per source and the sensor that runs them.

Dagster 1.13 offers two mechanisms. ``FreshnessPolicy`` on asset specs is evaluated by the
freshness daemon and reported as freshness *state changes*, not check evaluations; the
``build_last_update_freshness_checks`` factory (marked "superseded" but supported) produces
ordinary non-blocking asset checks plus ``build_sensor_for_freshness_checks``. The factory is
used because a breach is then a failed WARN check like any other, so the one check-alert sensor
routes it to the source's owner, the UI shows it next to the data-quality checks, and tests can
run it in-process without a daemon.

Thresholds (hours since the last materialisation) come from ``alerting.yaml``
(``freshness.default_hours`` and ``freshness.sources.<source>``), overridden by
``$TRUEUP_FRESHNESS_HOURS`` and ``$TRUEUP_FRESHNESS_HOURS_<SOURCE>``.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta

import dagster as dg

from orchestration.alerts.routing import AlertingConfig, load_config, threshold

DEFAULT_HOURS = 26.0


def freshness_hours(config: AlertingConfig, source: str) -> float:
    """Allowed hours since ``source``'s raw tables were last materialised."""
    default = threshold("TRUEUP_FRESHNESS_HOURS", config.freshness.get("default_hours"), 26.0)
    per_source = (config.freshness.get("sources") or {}).get(source)
    return threshold(f"TRUEUP_FRESHNESS_HOURS_{source.upper()}", per_source, default)


def freshness_checks(
    raw_keys: Iterable[dg.AssetKey], config: AlertingConfig | None = None
) -> list[dg.AssetChecksDefinition]:
    """One last-update freshness check per raw table (WARN, non-blocking), grouped by source.

    Args:
        raw_keys: Raw asset keys ``[raw_<source>, <table>]``.
        config: Alerting configuration (default: ``alerting.yaml``).
    """
    config = config or load_config()
    by_source: dict[str, list[dg.AssetKey]] = defaultdict(list)
    for key in raw_keys:
        by_source[key.path[0].removeprefix("raw_")].append(key)
    checks: list[dg.AssetChecksDefinition] = []
    with warnings.catch_warnings():
        # "superseded" in favour of FreshnessPolicy; kept on purpose (module docstring).
        warnings.simplefilter("ignore")
        for source, keys in sorted(by_source.items()):
            checks.extend(
                dg.build_last_update_freshness_checks(
                    assets=sorted(keys, key=lambda k: k.to_user_string()),
                    lower_bound_delta=timedelta(hours=freshness_hours(config, source)),
                    severity=dg.AssetCheckSeverity.WARN,
                    blocking=False,
                )
            )
    return checks


def freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """The sensor that runs the freshness checks when they could have become overdue.

    RUNNING by default: a stopped freshness sensor never notices a source going quiet, which is
    exactly the failure it exists for. It launches check-only runs (no warehouse writes).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name="raw_freshness_checks",
            minimum_interval_seconds=300,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
