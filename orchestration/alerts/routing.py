"""Alerting configuration (``alerting.yaml``) and who owns what.

The file says which destinations each team has and holds the thresholds of the freshness checks
and mart controls, so operations changes routing or tolerances without a code change. Secrets
(webhook URLs carry tokens; SMTP credentials) are referenced by environment variable name and
resolved when an alert is sent, never stored in the file.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from trueup.dbt import PROJECT_DIR
from trueup.settings import REPO_ROOT

CONFIG_ENV = "TRUEUP_ALERTING_CONFIG"
DEFAULT_CONFIG = REPO_ROOT / "alerting.yaml"
RULES_SEED = PROJECT_DIR / "seeds" / "reconciliation_rules.csv"

SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP relay; every secret is an environment variable name."""

    host_env: str = "TRUEUP_SMTP_HOST"
    port_env: str = "TRUEUP_SMTP_PORT"
    starttls: bool = False
    username_env: str = "TRUEUP_SMTP_USERNAME"
    password_env: str = "TRUEUP_SMTP_PASSWORD"
    sender: str = "trueup-alerts@localhost"
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class TeamDestinations:
    """One team's destinations: webhook URL variables and e-mail recipients."""

    webhook_env: tuple[str, ...] = ()
    email: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertingConfig:
    """The parsed ``alerting.yaml``."""

    default_team: str
    teams: dict[str, TeamDestinations]
    smtp: SmtpSettings
    asset_owners: dict[str, str] = field(default_factory=dict)
    min_severity: str = "high"
    freshness: dict[str, Any] = field(default_factory=dict)
    mart_controls: dict[str, dict[str, Any]] = field(default_factory=dict)

    def destinations(self, team: str) -> TeamDestinations:
        """The team's destinations; an unknown team falls back to the default team's."""
        return self.teams.get(team) or self.teams.get(self.default_team) or TeamDestinations()


def config_path() -> Path:
    """``$TRUEUP_ALERTING_CONFIG`` or the repository's ``alerting.yaml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def parse_config(raw: dict[str, Any]) -> AlertingConfig:
    """Build an :class:`AlertingConfig` from the YAML mapping.

    Raises:
        ValueError: The default team has no entry, or a literal secret is configured.
    """
    smtp_raw = dict(raw.get("smtp") or {})
    for secret in ("password", "username", "host_url"):
        if secret in smtp_raw:
            raise ValueError(f"smtp.{secret} must be given by environment variable ({secret}_env)")
    smtp = SmtpSettings(**smtp_raw)
    teams = {}
    for name, spec in (raw.get("teams") or {}).items():
        spec = spec or {}
        if "webhook" in spec or "webhook_url" in spec:
            raise ValueError(f"team {name}: webhook URLs carry tokens; use webhook_env")
        teams[str(name)] = TeamDestinations(
            webhook_env=tuple(spec.get("webhook_env") or ()),
            email=tuple(spec.get("email") or ()),
        )
    default_team = str(raw.get("default_team") or "data_platform")
    if default_team not in teams:
        raise ValueError(f"default team {default_team!r} has no destinations entry")
    min_severity = str((raw.get("exceptions") or {}).get("min_severity", "high"))
    if min_severity not in SEVERITY_RANK:
        raise ValueError(f"exceptions.min_severity must be one of {sorted(SEVERITY_RANK)}")
    return AlertingConfig(
        default_team=default_team,
        teams=teams,
        smtp=smtp,
        asset_owners={str(k): str(v) for k, v in (raw.get("asset_owners") or {}).items()},
        min_severity=min_severity,
        freshness=dict(raw.get("freshness") or {}),
        mart_controls={str(k): dict(v) for k, v in (raw.get("mart_controls") or {}).items()},
    )


def load_config(path: Path | None = None) -> AlertingConfig:
    """Read and parse the alerting configuration (re-read on every call: sensors pick up edits)."""
    return parse_config(yaml.safe_load((path or config_path()).read_text()) or {})


@cache
def _rules_owner_by_type() -> dict[str, str]:
    with RULES_SEED.open(newline="") as handle:
        return {row["exception_type"]: row["owner_team"] for row in csv.DictReader(handle)}


def owner_of_exception_type(exception_type: str) -> str | None:
    """Owner team of an exception type according to the rules seed finance edits."""
    return _rules_owner_by_type().get(exception_type)


def owner_of_asset(config: AlertingConfig, asset_path: str) -> str:
    """Team owning an asset, for alerts on its checks.

    ``marts/rec_<type>`` belongs to the type's owner in the rules seed (one source of truth for
    ownership); other assets match the configured prefixes; the rest goes to the default team.

    Args:
        config: Alerting configuration.
        asset_path: The asset key as a user string (``marts/rec_shipped_not_invoiced``).
    """
    schema, _, table = asset_path.partition("/")
    if schema == "marts" and table.startswith("rec_"):
        owner = owner_of_exception_type(table.removeprefix("rec_"))
        if owner:
            return owner
    for prefix, team in config.asset_owners.items():
        if asset_path.startswith(prefix):
            return team
    return config.default_team


def threshold(name: str, configured: Any, default: float) -> float:
    """A numeric threshold: ``$name`` if set, else the configured value, else ``default``."""
    value = os.environ.get(name)
    if value not in (None, ""):
        return float(value)
    return float(configured) if configured is not None else float(default)
