"""How each table gets into a new published version: kept, updated by key, or copied whole.

A daily run changes a small part of the marts, yet copying them all into a new DuckDB file and
Parquet files took ~14 s at 1M order lines and ~100 s at 10M, most of it rewriting
``order_journey``, whose rows barely change from one day to the next. So a new version starts from
a copy of the previous published file, and each table is

``kept``
    when its fingerprint (row count, order-free sum of row hashes, column names and types) equals
    the one the previous version recorded: the table stays as copied, and its Parquet file is a
    hard link to the previous version's (Parquet files are never modified once written);
``updated``
    when it is an incremental model (``DELTA_KEYS``) built by the same code as the previous
    version: the keys whose rows dbt rewrote since then (``_loaded_through`` newer than the
    watermark the previous version recorded) are deleted and reinserted. The result's
    fingerprint must equal the warehouse table's, or the table is copied whole after all;
``copied``
    otherwise: the table is replaced by a copy of the warehouse's.

Fingerprints compare 64-bit hashes: two different tables with equal row counts and columns whose
hash sums collide would be taken as equal. The chance is about 2^-64 per table and version.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

# Columns an incremental model keeps for its own next build (dbt_project/macros/loads.sql): what
# the pipeline needs, not what a reader asked for.
BOOKKEEPING_COLUMNS = ("_loaded_through", "_code_version")
# Published incremental models and their dbt unique_key (delete+insert replaces whole keys, so a
# key's rows are rewritten together and carry the same `_loaded_through`). A table that is not
# here is copied whole whenever it changed.
DELTA_KEYS = {
    "marts.order_journey": "correlation_id",
    "marts.fct_order_line_status": "correlation_id",
}

KEPT, UPDATED, COPIED = "kept", "updated", "copied"


def quote(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A SQL string literal (file paths)."""
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class TableState:
    """What a version records of a table, so the next one can tell what changed."""

    fingerprint: str
    rows: int
    watermark: str | None = None
    code_version: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "rows": self.rows,
            "watermark": self.watermark,
            "code_version": self.code_version,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> TableState:
        return cls(
            fingerprint=str(doc["fingerprint"]),
            rows=int(doc["rows"]),
            watermark=doc.get("watermark"),
            code_version=doc.get("code_version"),
        )

    @property
    def signature(self) -> str:
        """The column names and types part of the fingerprint."""
        return self.fingerprint.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class Previous:
    """The version a new one starts from: its tables' states and its Parquet files."""

    tables: dict[str, TableState]
    parquet_dir: Path


def columns_of(
    con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str
) -> list[tuple[str, str]]:
    """``(name, type)`` of every column of a table, in order."""
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = ? and table_schema = ? and table_name = ? order by ordinal_position",
        [catalog, schema, table],
    ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


def fingerprint(
    con: duckdb.DuckDBPyConnection, relation: str, columns: list[tuple[str, str]]
) -> str:
    """``rows:hash sum:signature`` of ``columns`` of a relation (equal for equal contents)."""
    names = ", ".join(quote(name) for name, _ in columns)
    rows, total = con.execute(
        f"select count(*), coalesce(sum(hash({names})), 0) from {relation}"
    ).fetchone()
    signature = hashlib.sha256(json.dumps(columns).encode()).hexdigest()[:16]
    return f"{rows}:{total}:{signature}"


def _rows_of(print_: str) -> int:
    return int(print_.split(":", 1)[0])


def state_of(
    con: duckdb.DuckDBPyConnection, catalog: str, schema: str, table: str
) -> tuple[TableState, list[tuple[str, str]]]:
    """A warehouse table's state and the columns that get published (bookkeeping left out)."""
    columns = columns_of(con, catalog, schema, table)
    published = [(n, t) for n, t in columns if n not in BOOKKEEPING_COLUMNS]
    relation = f"{quote(catalog)}.{quote(schema)}.{quote(table)}"
    print_ = fingerprint(con, relation, published)
    watermark = version = None
    if {n for n, _ in columns} >= set(BOOKKEEPING_COLUMNS):
        watermark, low, high = con.execute(
            "select cast(max(_loaded_through) as varchar), min(_code_version), "
            f"max(_code_version) from {relation}"
        ).fetchone()
        # One code version for the whole table, or none: rows of two versions never delta.
        version = low if low == high else None
    return TableState(print_, _rows_of(print_), watermark, version), published


def publish_table(
    con: duckdb.DuckDBPyConnection,
    *,
    source: tuple[str, str, str],
    target_catalog: str,
    parquet_out: Path,
    previous: Previous | None,
) -> tuple[TableState, str]:
    """Bring one table into the version being built in ``target_catalog`` and its Parquet file.

    ``target_catalog`` starts as a copy of the previous version's file when ``previous`` is
    given, and empty otherwise. Returns the table's state and how it was published.
    """
    catalog, schema, table = source
    name = f"{schema}.{table}"
    src = f"{quote(catalog)}.{quote(schema)}.{quote(table)}"
    dst = f"{quote(target_catalog)}.{quote(schema)}.{quote(table)}"
    state, columns = state_of(con, catalog, schema, table)
    before = previous.tables.get(name) if previous else None
    in_target = before is not None and bool(columns_of(con, target_catalog, schema, table))
    if in_target and before.fingerprint == state.fingerprint:
        old_file = previous.parquet_dir / parquet_out.name
        if old_file.exists():
            os.link(old_file, parquet_out)
            return state, KEPT
    how = COPIED
    if in_target and _can_update(name, before, state):
        _update_by_key(con, src, dst, DELTA_KEYS[name], columns, before.watermark)
        if fingerprint(con, dst, columns) == state.fingerprint:
            how = UPDATED
    if how == COPIED:
        if in_target:
            # Dropped and checkpointed first, so the copy reuses the old table's blocks: replaced
            # in one statement, both stay in the file until it closes, and a day on which every
            # table changed doubled it (3.1 -> 6 GiB at 10M order lines).
            con.execute(f"drop table {dst}")
            con.execute(f"checkpoint {quote(target_catalog)}")
        names = ", ".join(quote(n) for n, _ in columns)
        con.execute(f"create table {dst} as select {names} from {src}")
    # From the table just written, so the Parquet file holds exactly what the file holds.
    con.execute(
        f"copy (select * from {dst}) to {literal(str(parquet_out))} "
        "(format parquet, compression zstd)"
    )
    return state, how


def _can_update(name: str, before: TableState, now: TableState) -> bool:
    """Whether the previous version's table can be brought up to date by key."""
    return (
        name in DELTA_KEYS
        and before.watermark is not None
        and now.watermark is not None
        and before.code_version is not None
        and before.code_version == now.code_version
        and before.signature == now.signature
    )


def _update_by_key(
    con: duckdb.DuckDBPyConnection,
    src: str,
    dst: str,
    key: str,
    columns: list[tuple[str, str]],
    watermark: str,
) -> None:
    """Replace in ``dst`` the rows of every key dbt rewrote after ``watermark``.

    A key that left the warehouse altogether (a journey whose every event went) stays behind;
    the fingerprint check after the update sees the difference and the table is copied whole.
    Looking for such keys on every update cost 18 s at 10M order lines (a set difference of two
    111M-row key columns) for a case the simulator never produces.
    """
    k = quote(key)
    names = ", ".join(quote(n) for n, _ in columns)
    keys = "trueup_publish_keys"
    con.execute(
        f"create or replace temp table {keys} as "
        f"select distinct {k} from {src} where _loaded_through > cast(? as timestamp)",
        [watermark],
    )
    try:
        con.execute(f"delete from {dst} where {k} in (select {k} from {keys})")
        con.execute(
            f"insert into {dst} select {names} from {src} where {k} in (select {k} from {keys})"
        )
    finally:
        con.execute(f"drop table if exists {keys}")
