"""Fixtures of the orchestration tests: an isolated data directory and Dagster home."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from tests.orchestration.alert_receivers import servers  # noqa: F401 (fixture for alert tests)
from trueup.settings import Paths

# Settings a developer's shell might carry that would point tests at real systems.
_LEAKY_ENV = (
    "TRUEUP_ERP_URL",
    "TRUEUP_CARRIER_DIR",
    "TRUEUP_AMAZON_DIR",
    "TRUEUP_EDI_DIR",
    "TRUEUP_WMS_URL",
    "TRUEUP_SHOPIFY_URL",
    "TRUEUP_DESTINATION",
    "TRUEUP_WAREHOUSE",
    "TRUEUP_DBT_MEMORY_LIMIT",
    "TRUEUP_DBT_CODE_VERSION",
    "TRUEUP_DBT_TARGET",
    "TRUEUP_AS_OF",
    "DESTINATION__DUCKDB__CREDENTIALS",
    "SOURCES__ERP__CREDENTIALS",
)


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """A fresh ``$TRUEUP_DATA_DIR``; DAGSTER_HOME and friends are restored after the test."""
    monkeypatch.setenv("TRUEUP_DATA_DIR", str(tmp_path / "data"))
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    # Set (and so restored by monkeypatch) because `trueup run` exports them for the process.
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "data" / "dagster_home"))
    monkeypatch.setenv("TRUEUP_WAREHOUSE", str(tmp_path / "data" / "warehouse.duckdb"))
    return Paths.from_env()


@contextmanager
def simulated_full_run(
    root: Path, days: int, orders_per_day: int, corrupt: Callable[[Paths], None] | None = None
) -> Iterator[tuple[Paths, object]]:
    """Simulate a company under ``root``, optionally corrupt its sources, run the full job once.

    Module-scoped fixtures cannot use monkeypatch, so the environment `trueup run` exports is
    saved and restored here.
    """
    from orchestration.runner import run_everything
    from simulator.config import SimulationConfig
    from simulator.generate import simulate

    touched = ("TRUEUP_DATA_DIR", "DAGSTER_HOME", *_LEAKY_ENV)
    saved = {k: os.environ.get(k) for k in touched}
    for k in _LEAKY_ENV:
        os.environ.pop(k, None)
    os.environ["TRUEUP_DATA_DIR"] = str(root)
    try:
        paths = Paths(root)
        config = SimulationConfig(days=days, orders_per_day=orders_per_day, start=date(2026, 1, 1))
        simulate(config, paths.sources)
        if corrupt is not None:
            corrupt(paths)
        yield paths, run_everything(paths)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
