"""Every ingestion test gets its own data directory, warehouse and dlt pipelines folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from tests.postgres import pg_cluster  # noqa: F401  (fixture)
from trueup.settings import Paths

# Settings a developer's shell might carry that would point tests at real systems.
_LEAKY_ENV = (
    "TRUEUP_ERP_URL",
    "TRUEUP_ERP_TABLES",
    "TRUEUP_ERP_EXCLUDE_TABLES",
    "TRUEUP_ERP_SCHEMA",
    "TRUEUP_CARRIER_DIR",
    "TRUEUP_AMAZON_DIR",
    "TRUEUP_DESTINATION",
    "DESTINATION__DUCKDB__CREDENTIALS",
    "SOURCES__ERP__CREDENTIALS",
)


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """A fresh ``$TRUEUP_DATA_DIR`` for the test."""
    monkeypatch.setenv("TRUEUP_DATA_DIR", str(tmp_path / "data"))
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    paths = Paths.from_env()
    paths.sources.mkdir(parents=True, exist_ok=True)
    return paths


@pytest.fixture
def warehouse(paths: Paths) -> Iterator[Callable[[str], list[tuple]]]:
    """Run a query against the warehouse (opened read-only per query: dlt needs the lock)."""

    def query(sql: str) -> list[tuple]:
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()

    yield query
