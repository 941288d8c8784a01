"""Shared pieces of the Dagster definitions: data paths, the dbt project and warehouse reads.

Everything is resolved from :class:`trueup.settings.Paths` at *run* time (not import time) where
possible, so one loaded code location follows ``$TRUEUP_DATA_DIR`` as the CLI and tests set it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject

from trueup.dbt import PROJECT_DIR
from trueup.settings import Paths

# Every asset that writes the DuckDB warehouse runs in this pool: DuckDB allows one writer, and
# dagster.yaml limits every pool to one step at a time.
WAREHOUSE_POOL = "warehouse"

# The load-time manifest is written under the data directory like everything trueup writes (the
# code may live in a read-only install); it depends only on the project, so it is re-parsed when
# the project is newer, whatever data directory a run points at.
MANIFEST_TARGET = Paths.from_env().dbt_target / "manifest"
MANIFEST_PATH = MANIFEST_TARGET / "manifest.json"

# What a change to which requires a fresh `dbt parse` before the graph can be trusted.
_PROJECT_INPUTS = ("models", "macros", "seeds", "tests", "snapshots", "dbt_project.yml")


def newest_project_mtime() -> float:
    """Modification time of the newest file dbt parses."""
    newest = 0.0
    for name in _PROJECT_INPUTS:
        root = PROJECT_DIR / name
        files = [root] if root.is_file() else (p for p in root.rglob("*") if p.is_file())
        for path in files:
            newest = max(newest, path.stat().st_mtime)
    return newest


def prepare_manifest(*, force: bool = False) -> Path:
    """Make sure the load-time ``manifest.json`` exists and is newer than the project.

    ``DbtProject.prepare_if_dev()`` only parses under ``dagster dev``; tests, ``trueup run`` and
    ``dagster definitions validate`` need the manifest too, so parse explicitly, in-process
    (about a second warm, against 5-9 s for the dbt CLI) and only when it is missing or stale.

    Args:
        force: Parse even when the manifest looks current.

    Returns:
        The manifest path.

    Raises:
        RuntimeError: ``dbt parse`` failed (the project does not compile).
    """
    fresh = MANIFEST_PATH.exists() and MANIFEST_PATH.stat().st_mtime >= newest_project_mtime()
    if fresh and not force:
        return MANIFEST_PATH
    import shutil

    from dbt.cli.main import dbtRunner

    # Parse into a private folder, then rename the manifest into place: several processes
    # (pytest workers, the webserver and the daemon) may load the code location at once, and none
    # may read a half-written manifest.
    scratch = MANIFEST_TARGET.parent / f".manifest-{os.getpid()}"
    args = [
        "--quiet",
        "parse",
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(scratch),
        "--log-path",
        str(scratch / "logs"),
    ]
    try:
        result = dbtRunner().invoke(args)
        if not result.success or not (scratch / "manifest.json").exists():
            raise RuntimeError(f"dbt parse failed: {result.exception!r}")
        MANIFEST_TARGET.mkdir(parents=True, exist_ok=True)
        os.replace(scratch / "manifest.json", MANIFEST_PATH)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return MANIFEST_PATH


def dbt_project() -> DbtProject:
    """The dbt project with a prepared manifest."""
    prepare_manifest()
    return DbtProject(
        project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR, target_path=MANIFEST_TARGET
    )


def dbt_resource() -> DbtCliResource:
    """The dbt CLI resource, using the ``dbt`` installed beside this Python (the venv's).

    Dagster may run without the venv's ``bin`` on PATH (``.venv/bin/dagster dev``), so the
    executable is named explicitly.
    """
    executable = Path(sys.executable).with_name("dbt")
    return DbtCliResource(
        project_dir=str(PROJECT_DIR),
        profiles_dir=str(PROJECT_DIR),
        dbt_executable=str(executable) if executable.exists() else "dbt",
    )


def current_paths() -> Paths:
    """The data directory of the current process (``$TRUEUP_DATA_DIR``)."""
    return Paths.from_env()


def query(
    paths: Paths, sql: str, params: Sequence[Any] | None = None, *, con: Any = None
) -> list[tuple]:
    """Run one read query against the warehouse (empty when there is no file).

    Without ``con`` the warehouse is opened read-only for this query and closed: a writer (dlt,
    dbt) needs the file lock between our reads. Several queries in a row share one
    :func:`reading` connection instead (an open costs ~0.1 s at 1M order lines).
    """
    if con is not None:
        return con.execute(sql, list(params or [])).fetchall()
    with reading(paths) as own:
        return [] if own is None else own.execute(sql, list(params or [])).fetchall()


@contextlib.contextmanager
def reading(paths: Paths) -> Iterator[Any]:
    """A read-only connection to the warehouse for a few queries (None when there is no file)."""
    import duckdb

    if not paths.warehouse.exists():
        yield None
        return
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        yield con


def existing_tables(paths: Paths, *, con: Any = None) -> set[tuple[str, str]]:
    """``(schema, table)`` of every table and view in the warehouse."""
    sql = "select table_schema, table_name from information_schema.tables"
    return {(str(s), str(t)) for s, t in query(paths, sql, con=con)}
