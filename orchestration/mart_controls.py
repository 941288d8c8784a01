"""Mart-level controls: backlog limits on the reconciliation marts, as non-blocking checks.

Each control says "exceptions of this mart older than N hours stay under a count and an amount"
(for example shipped-not-invoiced older than 48 h). A breach is a business signal, not bad data,
so the check is WARN and non-blocking: the marts still publish and the check-alert sensor tells
the mart's owner team. Limits live in ``alerting.yaml`` (``mart_controls``), overridable per
control by ``$TRUEUP_CONTROL_<NAME>_{OLDER_THAN_HOURS,MAX_COUNT,MAX_AMOUNT}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import dagster as dg

from orchestration.alerts.routing import (
    AlertingConfig,
    load_config,
    owner_of_exception_type,
    threshold,
)
from orchestration.alerts.sensors import OWNER_METADATA_KEY
from orchestration.resources import current_paths, existing_tables, query


def control_limits(name: str, spec: dict[str, Any]) -> tuple[float, float, float]:
    """``(older_than_hours, max_count, max_amount)`` of one control, env overrides applied."""
    prefix = f"TRUEUP_CONTROL_{name.upper()}"
    return (
        threshold(f"{prefix}_OLDER_THAN_HOURS", spec.get("older_than_hours"), 0.0),
        threshold(f"{prefix}_MAX_COUNT", spec.get("max_count"), float("inf")),
        threshold(f"{prefix}_MAX_AMOUNT", spec.get("max_amount"), float("inf")),
    )


def backlog(mart: str, older_than_hours: float) -> tuple[int, float]:
    """Count and amount at risk of the mart's exceptions older than ``older_than_hours``."""
    rows = query(
        current_paths(),
        f'select count(*), coalesce(sum(amount_at_risk), 0) from marts."{mart}" '
        "where is_exception and age_hours > $1",
        [older_than_hours],
    )
    count, amount = rows[0] if rows else (0, 0)
    return int(count), float(amount)


def build_mart_control(name: str, spec: dict[str, Any]) -> dg.AssetChecksDefinition:
    """A WARN, non-blocking backlog check ``backlog_<name>`` on ``marts/<spec["mart"]>``."""
    mart = str(spec["mart"])
    owner = owner_of_exception_type(mart.removeprefix("rec_"))

    @dg.asset_check(
        asset=dg.AssetKey(["marts", mart]),
        name=f"backlog_{name}",
        blocking=False,
        description=f"{mart}: exceptions past the configured age stay under the configured "
        "count and amount (alerting.yaml mart_controls).",
    )
    def _control() -> dg.AssetCheckResult:
        # Limits are read at run time so an edit of alerting.yaml needs no code reload.
        limits = load_config().mart_controls.get(name, spec)
        older, max_count, max_amount = control_limits(name, limits)
        if ("marts", mart) not in existing_tables(current_paths()):
            return dg.AssetCheckResult(passed=True, metadata={"skipped": "mart not built yet"})
        count, amount = backlog(mart, older)
        metadata: dict[str, Any] = {
            "older_than_hours": older,
            "count": count,
            "max_count": max_count,
            "amount_at_risk": round(amount, 2),
            "max_amount": max_amount,
        }
        if owner:
            metadata[OWNER_METADATA_KEY] = owner
        return dg.AssetCheckResult(
            passed=count <= max_count and amount <= max_amount,
            severity=dg.AssetCheckSeverity.WARN,
            metadata=metadata,
            description=f"{count} exceptions older than {older:g} h, {amount:,.2f} at risk",
        )

    return _control


def mart_controls(
    known_keys: Iterable[dg.AssetKey], config: AlertingConfig | None = None
) -> list[dg.AssetChecksDefinition]:
    """One control per configured entry whose mart is an asset of the code location."""
    config = config or load_config()
    known = set(known_keys)
    return [
        build_mart_control(name, spec)
        for name, spec in config.mart_controls.items()
        if dg.AssetKey(["marts", str(spec.get("mart"))]) in known
    ]
