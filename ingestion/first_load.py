"""A merge into a table that holds no rows yet is loaded as an append (DECISIONS 23).

dlt loads a ``merge`` table by copying the load into a staging table, then deleting and
inserting (or anti-joining) into the final one: three passes over the rows. When the final
table is empty and the load's rows are unique on the primary key, appending them gives the same
table in one pass. An initial load, the largest a deployment ever does, is exactly that case.

A table qualifies when all of these hold:

- its merge is ``delete-insert``, ``upsert`` or ``insert-only`` (not ``scd2``, whose rows carry
  validity columns an append would not fill);
- it holds no rows in the destination;
- its rows are unique on the key: declared so (``x-stage-data-deduplicated``, ``insert-only``
  where the file sources drop a key already seen in the run), or checked: DuckDB counts the
  keys that repeat in the extracted package's Parquet files (an API walked by ``updated_at``
  returns a record twice only when it changed during the walk);
- none of its rows is a tombstone (a ``hard_delete`` column set): a merge drops those, an
  append would store them. The JSON sources' child tables send tombstones only once the table
  has been loaded, so their first load qualifies.

The switch lasts one load: :func:`restore_merge` puts ``merge`` back in the pipeline's schema,
with the merge-only column hints (``hard_delete``, ``dedup_sort``) the switch set aside so that
dlt would not warn about each of them on every first load.
"""

from __future__ import annotations

import os
from typing import Any

import duckdb
from dlt.common.storages.load_storage import ParsedLoadJobFileName

# Merge strategies whose result on an empty table with unique keys equals an append.
APPENDABLE_STRATEGIES = (None, "delete-insert", "upsert", "insert-only")
# Column hints only a merge reads: dlt warns once per table when an append carries them, so the
# switch sets them aside (in the table, under STASH) and restore_merge puts them back.
MERGE_ONLY_HINTS = ("hard_delete", "dedup_sort")
STASH = "x-trueup-merge-hints"


def append_where_nothing_to_merge(pipeline: Any, filled: set[str] | None = None) -> list[str]:
    """Switch this load's qualifying merge tables to ``append``; return their names.

    Args:
        pipeline: The pipeline holding the extracted package.
        filled: The dataset's tables that hold rows, listed before the extract (then the
            warehouse is not opened here: the extract may run in a process that must not hold
            it); None: asked now.
    """
    if not pipeline.default_schema_name:
        return []
    schema = pipeline.default_schema
    for table in schema.data_tables():
        if STASH in table:  # switched by a run that died before restore_merge: undo it first
            _to_merge(table)
    merging = [
        table
        for table in schema.data_tables()
        if table.get("write_disposition") == "merge"
        and not table.get("parent")
        and table.get("x-merge-strategy") in APPENDABLE_STRATEGIES
    ]
    if not merging:
        return []
    if filled is None:
        filled = tables_with_rows(pipeline, [table["name"] for table in merging])
    empty = [table for table in merging if table["name"] not in filled]
    if not empty:
        return []
    files = _extracted_files(pipeline)
    switched = []
    for table in empty:
        tombstones = _hinted(table, "hard_delete")
        if (_declared_unique(table) and not tombstones) or _appendable(
            files.get(table["name"], []), _hinted(table, "primary_key"), tombstones
        ):
            switched.append(table["name"])
    if not switched:
        return []
    for name in switched:
        _to_append(schema.tables[name])
    try:
        # Normalize takes the pipeline's schema and warns when the extracted package carries
        # another version: give the packages the switched schema too (no public call for it).
        pipeline.schemas.save_schema(schema)
        packages = pipeline._get_normalize_storage().extracted_packages
        for load_id in pipeline.list_extracted_load_packages():
            packages.save_schema(load_id, schema)
    except BaseException:
        restore_merge(pipeline, switched)  # the caller never learns which tables were switched
        raise
    return switched


def restore_merge(pipeline: Any, tables: list[str]) -> None:
    """Give the tables switched by :func:`append_where_nothing_to_merge` back their merge."""
    if not tables:
        return
    schema = pipeline.default_schema
    for name in tables:
        _to_merge(schema.tables[name])
    pipeline.schemas.save_schema(schema)


def _to_append(table: dict[str, Any]) -> None:
    stash: dict[str, dict[str, Any]] = {}
    for name, column in table.get("columns", {}).items():
        for hint in MERGE_ONLY_HINTS:
            if hint in column:
                stash.setdefault(name, {})[hint] = column.pop(hint)
    table["write_disposition"] = "append"
    table[STASH] = stash


def _to_merge(table: dict[str, Any]) -> None:
    for name, hints in table.pop(STASH, {}).items():
        if name in table.get("columns", {}):
            table["columns"][name].update(hints)
    table["write_disposition"] = "merge"


def filled_tables(pipeline: Any) -> set[str]:
    """The tables of the pipeline's dataset that hold at least one row (none before the first
    load, when not even the dataset exists)."""
    return tables_with_rows(pipeline, None)


def tables_with_rows(pipeline: Any, tables: list[str] | None) -> set[str]:
    """Those of ``tables`` (None: all) that exist in the destination dataset and hold at least
    one row."""
    with pipeline.sql_client() as client:
        existing = {
            row[0]
            for row in client.execute_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                client.dataset_name,
            )
        }
        return {
            name
            for name in (existing if tables is None else tables)
            if name in existing
            and client.execute_sql(
                f"SELECT 1 FROM {client.make_qualified_table_name(name)} LIMIT 1"
            )
        }


def _declared_unique(table: dict[str, Any]) -> bool:
    return bool(
        table.get("x-stage-data-deduplicated") or table.get("x-merge-strategy") == "insert-only"
    )


def _hinted(table: dict[str, Any], hint: str) -> list[str]:
    """The table's columns carrying ``hint`` (``primary_key``, ``hard_delete``)."""
    return [name for name, c in table.get("columns", {}).items() if c.get(hint)]


def _extracted_files(pipeline: Any) -> dict[str, list[str]]:
    """Absolute paths of the extracted packages' job files, by table."""
    packages = pipeline._get_normalize_storage().extracted_packages
    files: dict[str, list[str]] = {}
    for load_id in pipeline.list_extracted_load_packages():
        for job in packages.list_new_jobs(load_id):
            table = ParsedLoadJobFileName.parse(os.path.basename(job)).table_name
            files.setdefault(table, []).append(packages.storage.make_full_path(job))
    return files


def _appendable(files: list[str], key: list[str], tombstones: list[str]) -> bool:
    """Whether appending ``files`` gives what merging them into an empty table gives: no key
    value repeats, and no row is a tombstone. Parquet only; anything else: no."""
    if not files or not all(f.endswith(".parquet") for f in files):
        return False
    try:
        with duckdb.connect() as con:
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.execute(  # a view takes no parameters: the paths are quoted literals
                f"CREATE VIEW package AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
            )
            types = {row[0]: row[1] for row in con.execute("DESCRIBE package").fetchall()}
            names = set(types)
            if not set(key) <= names:  # the files name a key column differently: merge
                return False
            flags = [c for c in tombstones if c in names]  # absent: none sent in this load
            checks = []
            if key:
                columns = ", ".join(f'"{c}"' for c in key)
                checks.append(
                    f"(SELECT count(*) FROM (SELECT {columns} FROM package "
                    "GROUP BY ALL HAVING count(*) > 1))"
                )
            if flags:
                # dlt deletes on a true boolean, or on any value of another type
                deleted = " OR ".join(
                    f'"{c}" IS TRUE' if types[c] == "BOOLEAN" else f'"{c}" IS NOT NULL'
                    for c in flags
                )
                checks.append(f"(SELECT count(*) FROM package WHERE {deleted})")
            if not checks:  # no key to repeat, no tombstone: a merge inserts every row too
                return True
            return con.execute(f"SELECT {' + '.join(checks)}").fetchone()[0] == 0
    except duckdb.Error:
        return False
