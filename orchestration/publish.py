"""Publish the marts for BI tools: a read-only DuckDB copy and Parquet files, swapped atomically.

A BI tool cannot read the warehouse itself: while dlt or dbt hold it read-write, DuckDB refuses
even read-only opens from other processes. So after every successful build the marts (and the
dimensions finance slices them by) are copied out:

``published/warehouse.duckdb``
    Built as a temporary file in the same directory, closed, then ``os.replace``-d over the
    published file. A reader has the old file or the new one, never half of each. The file is
    named ``warehouse`` rather than after a schema inside it: a catalog called ``marts`` holding a
    schema ``marts`` makes ``marts.rec_x`` ambiguous and breaks BI-generated SQL.
``published/parquet/<table>.parquet``
    ``parquet`` is a symlink to ``parquet_versions/v<version>``, written in full first and then
    swapped with one ``rename`` of the link; the last few versions stay on disk so a reader that
    resolved the link just before a swap still finds its files.
``published/_published.json`` (also inside each Parquet version, and as table
``marts._published`` inside the DuckDB file)
    Version, ``as_of`` of the data, Dagster run id and row count per table, so a reader can tell
    which build it is looking at and check it read all of one build.
"""

import contextlib
import dataclasses
import fcntl
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster import AssetExecutionContext

from orchestration.published_tables import (
    Previous,
    TableState,
    literal,
    publish_table,
    quote,
)
from orchestration.resources import WAREHOUSE_POOL
from trueup.settings import Paths, duckdb_memory_limit

PUBLISHED_KEY = dg.AssetKey(["published", "warehouse"])
DATABASE_NAME = "warehouse.duckdb"
MANIFEST_NAME = "_published.json"
MANIFEST_TABLE = "_published"
PARQUET_LINK = "parquet"
PARQUET_VERSIONS = "parquet_versions"
# Old Parquet versions kept after a swap: a reader that resolved the link a moment before the swap
# keeps reading a complete build rather than meeting deleted files.
KEEP_PARQUET_VERSIONS = 3

# What finance reads: every marts relation, plus the conformed dimensions it slices them by.
PUBLISHED_SCHEMAS = ("marts",)
PUBLISHED_DIMENSIONS = (
    "dim_calendar",
    "dim_carriers",
    "dim_customers",
    "dim_items",
    "dim_warehouses",
)
# dbt leaves these behind when a build is interrupted; they are not part of any model.
_DBT_LEFTOVER_SUFFIXES = ("__dbt_tmp", "__dbt_backup")
# A version updated in place from the previous one keeps the space its deletes freed; once the
# file is this many times the size it had when last built whole, it is built whole again.
MAX_GROWTH = 1.5


@dataclass(frozen=True)
class PublishResult:
    """One published version."""

    version: int
    as_of: str | None
    run_id: str | None
    published_at: str
    row_counts: dict[str, int] = field(default_factory=dict)
    database: Path | None = None
    parquet_dir: Path | None = None
    # What the next version compares against, and how each table got into this one
    # (orchestration/published_tables.py).
    tables: dict[str, TableState] = field(default_factory=dict)
    published_as: dict[str, str] = field(default_factory=dict)
    based_on: int | None = None
    full_build_bytes: int | None = None

    def manifest(self) -> dict[str, Any]:
        """The ``_published.json`` document (paths relative, so a copied folder stays valid)."""
        return {
            "version": self.version,
            "as_of": self.as_of,
            "run_id": self.run_id,
            "published_at": self.published_at,
            "database": DATABASE_NAME,
            "parquet_version_dir": f"{PARQUET_VERSIONS}/{_version_dir_name(self.version)}",
            "row_counts": self.row_counts,
            "based_on": self.based_on,
            "full_build_bytes": self.full_build_bytes,
            "tables": {
                name: {**state.as_json(), "published_as": self.published_as.get(name)}
                for name, state in self.tables.items()
            },
        }


def _version_dir_name(version: int) -> str:
    return f"v{version:06d}"


def read_manifest(published: Path) -> dict[str, Any] | None:
    """The current ``_published.json`` under ``published`` (None before the first publish)."""
    path = published / MANIFEST_NAME
    if not path.exists():
        return None
    return json.loads(path.read_text())


def _write_atomically(path: Path, text: str) -> None:
    """Write a small file so readers see the old or the new content, never a truncated one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _publish_lock(published: Path) -> Iterator[None]:
    """One publisher at a time per directory (two `trueup run`s would otherwise share a version)."""
    with open(published / ".publish.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def tables_to_publish(con: duckdb.DuckDBPyConnection, catalog: str) -> list[tuple[str, str]]:
    """``(schema, table)`` of every marts relation and published dimension in ``catalog``."""
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = ? order by 1, 2",
        [catalog],
    ).fetchall()
    out = []
    for schema, table in rows:
        if str(table).endswith(_DBT_LEFTOVER_SUFFIXES) or table == MANIFEST_TABLE:
            continue
        if schema in PUBLISHED_SCHEMAS or (schema == "canonical" and table in PUBLISHED_DIMENSIONS):
            out.append((str(schema), str(table)))
    return out


def _previous(published: Path, manifest: dict[str, Any] | None) -> Previous | None:
    """The previous version, when the new one can start from a copy of it."""
    if not manifest or not manifest.get("tables") or not manifest.get("full_build_bytes"):
        return None  # nothing published yet, or by a version of trueup that kept no states
    database = published / DATABASE_NAME
    parquet_dir = published / str(manifest["parquet_version_dir"])
    if not database.exists() or not parquet_dir.is_dir():
        return None
    if database.stat().st_size > MAX_GROWTH * int(manifest["full_build_bytes"]):
        return None
    return Previous(
        tables={name: TableState.from_json(doc) for name, doc in manifest["tables"].items()},
        parquet_dir=parquet_dir,
    )


def _build(
    con: duckdb.DuckDBPyConnection,
    source_catalog: str,
    target: Path,
    parquet_dir: Path,
    result: PublishResult,
    previous: Previous | None,
) -> PublishResult:
    """Bring the published tables of ``source_catalog`` into ``target`` and Parquet files.

    ``target`` is a copy of the previous version's file when ``previous`` is given (each table is
    then kept, updated or replaced), and does not exist otherwise.
    """
    # A unique alias: with a caller's long-lived connection, a failed earlier attempt must not
    # collide with this one.
    alias = f"trueup_publish_v{result.version}_{os.getpid()}"
    # Row order means nothing in the marts: without the guarantee DuckDB copies and writes
    # Parquet in parallel (restored afterwards: the connection may be the caller's).
    (order_setting,) = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    con.execute("set preserve_insertion_order = false")
    con.execute(f"attach {literal(str(target))} as {alias}")
    try:
        states: dict[str, TableState] = {}
        how: dict[str, str] = {}
        tables = tables_to_publish(con, source_catalog)
        for schema in sorted({s for s, _ in tables}):
            con.execute(f"create schema if not exists {alias}.{quote(schema)}")
        for schema, table in tables:
            name = f"{schema}.{table}"
            states[name], how[name] = publish_table(
                con,
                source=(source_catalog, schema, table),
                target_catalog=alias,
                parquet_out=parquet_dir / f"{table}.parquet",
                previous=previous,
            )
        # What the previous version published and this one does not (a dropped model).
        for schema, table in set(tables_to_publish(con, alias)) - set(tables):
            con.execute(f"drop table {alias}.{quote(schema)}.{quote(table)}")
        counts = {name: state.rows for name, state in states.items()}
        result = dataclasses.replace(result, row_counts=counts, tables=states, published_as=how)
        con.execute(f"create schema if not exists {alias}.marts")
        con.execute(
            f"create or replace table {alias}.marts.{MANIFEST_TABLE} (version integer, "
            "as_of varchar, run_id varchar, published_at varchar, table_name varchar, "
            "row_count bigint)"
        )
        con.executemany(
            f"insert into {alias}.marts.{MANIFEST_TABLE} values (?, ?, ?, ?, ?, ?)",
            [
                [result.version, result.as_of, result.run_id, result.published_at, name, n]
                for name, n in counts.items()
            ],
        )
    finally:
        # Detaching checkpoints and closes the file: nothing of it may stay open in this process
        # when it is renamed over the published file.
        con.execute(f"detach {alias}")
        con.execute(f"set preserve_insertion_order = {'true' if order_setting else 'false'}")
    return result


def publish(
    paths: Paths,
    *,
    run_id: str | None = None,
    as_of: str | None = None,
    con: duckdb.DuckDBPyConnection | None = None,
) -> PublishResult:
    """Publish the marts of ``paths.warehouse`` under ``paths.published`` as a new version.

    Args:
        paths: Data directory.
        run_id: The Dagster run that built the data (recorded in the manifest).
        as_of: Business date-time of the data (default: the simulated company's ``as_of``).
        con: A connection that already has the warehouse open as its main database. Pass it when
            this process holds the warehouse read-write: DuckDB refuses a second connection to
            the same file with another configuration, even in the same process. Without it the
            warehouse is attached read-only to a private in-memory connection.

    Returns:
        The version published, with row counts per table.

    Raises:
        FileNotFoundError: There is no warehouse to publish.
    """
    from trueup.dbt import manifest_as_of

    if con is None and not paths.warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {paths.warehouse}")
    published = paths.published
    published.mkdir(parents=True, exist_ok=True)
    with _publish_lock(published):
        previous = read_manifest(published)
        version = int(previous["version"]) + 1 if previous else 1
        result = PublishResult(
            version=version,
            as_of=as_of if as_of is not None else manifest_as_of(paths),
            run_id=run_id,
            published_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        # Same directory as the published file, so os.replace is a rename on one filesystem.
        target = published / f".{DATABASE_NAME}.v{version}.building"
        versions = published / PARQUET_VERSIONS
        parquet_dir = versions / _version_dir_name(version)
        for leftover in (target, target.with_name(target.name + ".wal")):
            leftover.unlink(missing_ok=True)
        shutil.rmtree(parquet_dir, ignore_errors=True)
        parquet_dir.mkdir(parents=True)
        base = _previous(published, previous)
        try:
            if base is not None:
                # A plain copy of a closed file: what a reader has open is never written to.
                shutil.copyfile(published / DATABASE_NAME, target)
                result = dataclasses.replace(
                    result,
                    based_on=int(previous["version"]),
                    full_build_bytes=int(previous["full_build_bytes"]),
                )
            if con is not None:
                catalog = str(con.execute("select current_database()").fetchone()[0])
                result = _build(con, catalog, target, parquet_dir, result, base)
            else:
                # Bounded, spilling under the data directory (an in-memory database's default
                # is 80% of RAM and ./.tmp). Copying streams, but DuckDB caches what it reads up
                # to its limit: at 10M order lines the copy held 9 GiB under the 40% default,
                # on top of what the run's process already had. A tenth of RAM is plenty.
                config = {
                    "memory_limit": duckdb_memory_limit(share=0.1),
                    "temp_directory": str(paths.duckdb_spill),
                }
                with duckdb.connect(":memory:", config=config) as own:
                    own.execute(f"attach {literal(str(paths.warehouse))} as src (read_only)")
                    result = _build(own, "src", target, parquet_dir, result, base)
            if base is None:
                result = dataclasses.replace(result, full_build_bytes=target.stat().st_size)
            manifest = json.dumps(result.manifest(), indent=2, sort_keys=True)
            _write_atomically(parquet_dir / MANIFEST_NAME, manifest)
            _fsync(target)
        except BaseException:
            target.unlink(missing_ok=True)
            shutil.rmtree(parquet_dir, ignore_errors=True)
            raise
        _swap_parquet_link(published, parquet_dir)
        os.replace(target, published / DATABASE_NAME)
        # Last: the top-level manifest only names a version once both copies of it are live.
        _write_atomically(published / MANIFEST_NAME, manifest)
        _prune_parquet_versions(versions, keep=KEEP_PARQUET_VERSIONS)
    return dataclasses.replace(result, database=published / DATABASE_NAME, parquet_dir=parquet_dir)


def _swap_parquet_link(published: Path, version_dir: Path) -> None:
    """Point ``published/parquet`` at ``version_dir`` with one atomic rename of a symlink."""
    link = published / PARQUET_LINK
    if link.exists() and not link.is_symlink():
        # Never ours (we only ever create a link); refuse rather than delete someone's files.
        raise RuntimeError(f"{link} is a real directory; move it away to publish Parquet")
    tmp = published / f".{PARQUET_LINK}.{os.getpid()}.swap"
    tmp.unlink(missing_ok=True)
    # Relative, so the published folder can be moved or mounted elsewhere as a whole.
    tmp.symlink_to(version_dir.relative_to(published))
    os.replace(tmp, link)


def _prune_parquet_versions(versions: Path, *, keep: int) -> None:
    """Delete all but the newest ``keep`` Parquet versions."""
    dirs = sorted(p for p in versions.iterdir() if p.is_dir() and p.name.startswith("v"))
    for old in dirs[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _published_deps() -> list[dg.AssetKey]:
    """Every marts model and published dimension of the dbt project (from the parsed manifest)."""
    from orchestration.dbt_assets import trueup_dbt_assets

    return sorted(
        (
            key
            for key in trueup_dbt_assets.keys
            if key.path[0] in PUBLISHED_SCHEMAS
            or (key.path[0] == "canonical" and key.path[-1] in PUBLISHED_DIMENSIONS)
        ),
        key=lambda k: k.to_user_string(),
    )


@dg.asset(
    key=PUBLISHED_KEY,
    deps=_published_deps(),
    # Reads the warehouse: in its pool so it never meets dlt or dbt holding the write lock.
    pool=WAREHOUSE_POOL,
    group_name="published",
    kinds={"duckdb", "parquet"},
    description=(
        "Read-only copy of the marts for BI tools: published/warehouse.duckdb and "
        "published/parquet/<table>.parquet, replaced atomically (see docs/bi-access.md)."
    ),
)
def published_warehouse(context: AssetExecutionContext) -> dg.MaterializeResult:
    """Publish the marts built by this run as a new version."""
    from orchestration.resources import current_paths

    result = publish(current_paths(), run_id=context.run.run_id)
    return dg.MaterializeResult(
        metadata={
            "version": result.version,
            "as_of": result.as_of or "",
            "database": dg.MetadataValue.path(str(result.database)),
            "parquet_dir": dg.MetadataValue.path(str(result.parquet_dir)),
            "tables": len(result.row_counts),
            "row_counts": dg.MetadataValue.json(result.row_counts),
            # How much of the previous version this one reused (kept / updated / copied tables).
            "based_on_version": result.based_on or 0,
            "published_as": dg.MetadataValue.json(dict(Counter(result.published_as.values()))),
            "dagster/row_count": sum(result.row_counts.values()),
        }
    )
