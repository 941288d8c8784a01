"""Shared simulated companies: built once per test session, read by many tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from simulator.config import SimulationConfig
from simulator.generate import simulate
from tests.postgres import pg_cluster  # noqa: F401  (session fixture for the PostgreSQL test)

SMALL = SimulationConfig(seed=7, start=date(2026, 1, 1), days=10, orders_per_day=30)
# Medium: long enough for 30-day RMA windows and 14-day settlements, at the default rate.
MEDIUM = SimulationConfig(seed=42, start=date(2026, 1, 1), days=75, orders_per_day=60)


@pytest.fixture(scope="session")
def small_company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("small")
    return out, simulate(SMALL, out)


@pytest.fixture(scope="session")
def medium_company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("medium")
    return out, simulate(MEDIUM, out)
