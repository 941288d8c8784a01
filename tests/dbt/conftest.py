"""One small simulated company, ingested and built once per test module (module-scoped: the
pipeline takes ~30 s, every test reads the same warehouse)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from trueup.settings import Paths

DAYS = 21
ORDERS_PER_DAY = 50
_LEAKY_ENV = (
    "TRUEUP_ERP_URL",
    "TRUEUP_CARRIER_DIR",
    "TRUEUP_AMAZON_DIR",
    "TRUEUP_DESTINATION",
    "TRUEUP_WAREHOUSE",
    "TRUEUP_DBT_MEMORY_LIMIT",
    "TRUEUP_DBT_CODE_VERSION",
    "TRUEUP_DBT_TARGET",
    "TRUEUP_AS_OF",
    "DESTINATION__DUCKDB__CREDENTIALS",
    "SOURCES__ERP__CREDENTIALS",
)


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Paths]:
    """Simulate, ingest every source and ``dbt build`` into a temporary data directory."""
    from ingestion.registry import SOURCES, ingest
    from simulator.config import SimulationConfig
    from simulator.generate import simulate
    from trueup.dbt import build

    root = tmp_path_factory.mktemp("company")
    saved = {k: os.environ.get(k) for k in ("TRUEUP_DATA_DIR", *_LEAKY_ENV)}
    for k in _LEAKY_ENV:
        os.environ.pop(k, None)
    os.environ["TRUEUP_DATA_DIR"] = str(root)
    try:
        paths = Paths(Path(root))
        simulate(
            SimulationConfig(days=DAYS, orders_per_day=ORDERS_PER_DAY, start=date(2026, 1, 1)),
            paths.sources,
        )
        failed = []
        for name in SOURCES:
            try:
                ingest(name, paths=paths)
            except Exception as exc:  # reported by the tests that need the source
                failed.append(f"{name}: {exc}")
        paths_failed = tuple(failed)
        result = build(paths, quiet=True)
        assert result.success, f"dbt build failed: {result.failures}"
        yield _Company(paths.root, paths_failed)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _Company(Paths):
    """Paths plus the sources whose ingestion failed."""

    def __init__(self, root: Path, failed: tuple[str, ...]) -> None:
        super().__init__(root)
        object.__setattr__(self, "failed_sources", failed)
