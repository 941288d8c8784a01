"""Where trueup keeps what it writes.

Everything the platform writes (simulated sources, warehouse, dlt pipelines, Dagster home, dbt
target, published marts) lives under one data directory so a user can move, back up or delete a
whole installation in one place. ``TRUEUP_DATA_DIR`` overrides the default ``./data``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Return the data directory (``$TRUEUP_DATA_DIR`` or ``./data``), created if missing."""
    path = Path(os.environ.get("TRUEUP_DATA_DIR", "data")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Paths:
    """The well-known locations under one data directory."""

    root: Path

    @classmethod
    def from_env(cls) -> Paths:
        return cls(data_dir())

    @property
    def sources(self) -> Path:
        """The simulated company's systems (what `trueup simulate` writes)."""
        return self.root / "sources"

    @property
    def warehouse(self) -> Path:
        """The DuckDB warehouse file that dlt loads and dbt builds."""
        return self.root / "warehouse.duckdb"

    @property
    def duckdb_spill(self) -> Path:
        """Where a private DuckDB connection (publishing's) spills what exceeds its memory limit;
        connections to the warehouse file spill next to it, in ``<warehouse>.tmp``."""
        return self.root / "duckdb_tmp"

    @property
    def dlt_pipelines(self) -> Path:
        return self.root / "dlt_pipelines"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    @property
    def dbt_target(self) -> Path:
        return self.root / "dbt_target"

    @property
    def published(self) -> Path:
        """Read-only copies of the marts for BI tools."""
        return self.root / "published"


def physical_memory_bytes() -> int:
    """RAM this process may use: the machine's, or its cgroup's limit where that is lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def duckdb_memory_limit(share: float = 0.4) -> str:
    """The memory limit of every DuckDB connection trueup opens on the warehouse.

    ``TRUEUP_DUCKDB_MEMORY_LIMIT`` (any DuckDB size, e.g. ``6GB``) or ``share`` of RAM (40%
    unless the caller knows it needs less: DuckDB keeps what it read cached up to its limit, so a
    connection that only streams copies is given a smaller one). DuckDB's own
    default is 80%, which is too much when dbt's DuckDB shares the machine with the run's
    process: at 10M order lines the journey's window over ~110M events grew past it and the
    kernel killed dbt without a word. Under the limit DuckDB spills joins, sorts and windows to
    ``<warehouse>.tmp`` under the data directory instead.
    """
    configured = os.environ.get("TRUEUP_DUCKDB_MEMORY_LIMIT")
    if configured:
        return configured
    return f"{max(1, int(physical_memory_bytes() * share) // 2**20)}MB"
