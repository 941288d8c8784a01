"""Bulk loading into SQLite (ADBC, from Arrow) and PostgreSQL (COPY), used by every store."""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite
import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import MetaData, create_engine


class SqliteStore:
    """A SQLite file loaded in bulk: journal off, one transaction per writer session.

    Rows go in through ADBC's SQLite driver, which binds Arrow columns to a prepared INSERT in
    C: half the CPU of ``sqlite3.executemany`` over Python tuples, which spends as long
    building and binding Python objects as SQLite spends writing pages.

    Secondary indexes (the API stores' ``(updated_at, id)``) are part of the DDL, so they grow
    with every block: their keys arrive nearly in order, so maintaining them costs about what a
    build at the end costs, but the work runs inside the pipelined block writers instead of in
    a serial tail after the last block.

    Inserts run on one background thread (in submission order): the driver releases the GIL
    while it writes, so the second core writes while the main thread builds the next documents.
    """

    def __init__(self, path: Path, ddl: list[str], fresh: bool = True) -> None:
        """Create the file from ``ddl`` (``fresh``), or append to an existing, closed one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if fresh and path.exists():
            path.unlink()
        self.path = path
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pending: list[Future] = []
        # autocommit: the transaction is ours (BEGIN here, COMMIT in close/finish), not the
        # driver's implicit one, which would refuse the pragmas below
        self.con = adbc_sqlite.connect(str(path), autocommit=True)
        self.cur = self.con.cursor()
        if fresh:
            # big pages: ~15% less CPU per inserted row than the default 4 KiB (fewer splits)
            self._execute("PRAGMA page_size=65536")
        self._execute("PRAGMA journal_mode=OFF")
        self._execute("PRAGMA synchronous=OFF")
        for stmt in ddl:
            self._execute(stmt)
        self._execute("BEGIN")
        self.counts: dict[str, int] = {}

    def _execute(self, sql: str) -> None:
        self.cur.execute(sql)
        if self.cur.description:  # pragmas answer with a row; read it so the statement ends
            self.cur.fetchall()

    def query(self, sql: str) -> list[tuple]:
        """Rows of a query over what this session wrote so far (queued inserts included)."""
        self.wait()
        self.cur.execute(sql)
        return self.cur.fetchall()

    def append(self, table: str, df: pd.DataFrame | dict[str, object]) -> None:
        """Insert a frame's rows, or a dict of equal-length columns (columns matched by name)."""
        if isinstance(df, dict):
            data = arrow_columns(df)
        elif df is not None:
            data = _arrow(df)
        else:
            data = None
        if data is None or not data.num_rows:
            self.counts.setdefault(table, 0)
            return
        still = []
        for f in self.pending:
            if f.done():
                f.result()  # surface insert errors here, not at the end
            else:
                still.append(f)
        while len(still) > 24:  # backpressure: never queue more than a block or so of rows
            still.pop(0).result()
        self.pending = still
        self.pending.append(self.pool.submit(self.cur.adbc_ingest, table, data, mode="append"))
        self.counts[table] = self.counts.get(table, 0) + data.num_rows

    def wait(self) -> None:
        """Block until every queued insert ran (re-raising any error)."""
        for f in self.pending:
            f.result()
        self.pending = []

    def _commit(self) -> None:
        self.wait()
        self.pool.shutdown()
        self._execute("COMMIT")

    def _close(self) -> None:
        self.cur.close()
        self.con.close()

    def close(self) -> dict[str, int]:
        """Commit and close (another process appends next); rows per table."""
        self._commit()
        self._close()
        return dict(self.counts)

    def finish(self) -> dict[str, int]:
        """Commit and close after the last rows; rows per table, by table name."""
        return dict(sorted(self.close().items()))


def _arrow(df: pd.DataFrame) -> pa.Table:
    """A frame as Arrow columns the driver binds as SQLite values.

    Booleans become 0/1 integers (what ``sqlite3`` stored for them); NaN and pd.NA become NULL.
    """
    bools = [c for c in df.columns if df[c].dtype == bool]
    if bools:
        df = df.astype(dict.fromkeys(bools, np.int64))
    return pa.Table.from_pandas(df, preserve_index=False)


def arrow_columns(columns: dict[str, object]) -> pa.Table:
    """Columns (Series, numpy or Arrow arrays, or one scalar for every row) as an Arrow table.

    What ``_arrow(pd.DataFrame(columns))`` makes, without the frame: building one consolidates
    every numeric column into 2-d blocks and copies them, only for Arrow to split them again.
    Columns are taken by position, so Series must share one row order (not aligned on index).
    """
    sized = [len(v) for v in columns.values() if not (v is None or np.isscalar(v))]
    if not sized:
        raise ValueError("arrow_columns needs at least one array column to know the row count")
    n = sized[0]
    arrays = []
    for v in columns.values():
        if isinstance(v, pd.Series):
            v = v.array if isinstance(v.dtype, pd.ArrowDtype) else v.to_numpy()
        if isinstance(v, pa.Array | pa.ChunkedArray):
            arrays.append(v)
        elif isinstance(v, pd.arrays.ArrowExtensionArray):
            arrays.append(pa.array(v))
        elif v is None:
            arrays.append(pa.nulls(n))
        elif np.isscalar(v):
            arrays.append(pa.array(np.full(n, v, dtype=object if isinstance(v, str) else None)))
        else:
            v = np.asarray(v)
            if v.dtype == bool:
                v = v.astype(np.int64)  # what sqlite3 stored for booleans
            # from_pandas: NaN and None (object columns) become NULL, as in a frame's conversion
            arrays.append(pa.array(v, from_pandas=True))
    return pa.Table.from_arrays(arrays, names=list(columns))


def _columns(df: pd.DataFrame) -> list[np.ndarray]:
    """A frame's columns as numpy arrays a DB-API driver can bind (bool → int, pd.NA → None).

    NaN needs no conversion: SQLite stores a NaN bound as a double as NULL, so float and object
    columns go through as they are; only extension arrays (pd.NA) are converted.
    """
    cols = []
    for c in df.columns:
        s = df[c]
        if s.dtype == bool:
            cols.append(s.to_numpy().astype(np.int64))
        elif isinstance(s.dtype, np.dtype):
            cols.append(s.to_numpy())
        else:
            v = s.to_numpy(dtype=object)
            cols.append(np.where(pd.isna(v), None, v))
    return cols


def _rows(cols: list[np.ndarray], chunk: int = 8192) -> Iterator[tuple]:
    """Rows as plain Python tuples, made a chunk at a time (memory stays flat while inserting)."""
    n = len(cols[0]) if cols else 0
    for i in range(0, n, chunk):
        yield from zip(*[c[i : i + chunk].tolist() for c in cols], strict=True)


def _records(df: pd.DataFrame) -> list[tuple]:
    """Rows as plain Python tuples (numpy scalars → int/float/str/None)."""
    return list(_rows(_columns(df)))


class SqlAlchemyStore:
    """Any SQLAlchemy URL: DDL from MetaData; COPY for PostgreSQL, executemany otherwise."""

    def __init__(self, url: str, metadata: MetaData) -> None:
        self.engine = create_engine(url)
        self.metadata = metadata
        metadata.drop_all(self.engine)
        metadata.create_all(self.engine)
        self.is_pg = self.engine.dialect.name == "postgresql"
        self.raw = self.engine.raw_connection()
        self.counts: dict[str, int] = {}

    def append(self, table: str, df: pd.DataFrame | dict[str, object]) -> None:
        if isinstance(df, dict):
            df = pd.DataFrame(df)
        if df is None or df.empty:
            self.counts.setdefault(table, 0)
            return
        cols = list(df.columns)
        if self.is_pg:
            buf = io.StringIO()
            df.to_csv(buf, index=False, header=False, na_rep="\\N")
            buf.seek(0)
            cur = self.raw.cursor()
            cur.copy_expert(
                f"COPY {table} ({', '.join(cols)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buf
            )
            cur.close()
        else:
            with self.engine.begin() as con:
                con.execute(
                    self.metadata.tables[table].insert(),
                    [dict(zip(cols, r, strict=True)) for r in _records(df)],
                )
        self.counts[table] = self.counts.get(table, 0) + len(df)

    def finish(self) -> dict[str, int]:
        self.raw.commit()
        self.raw.close()
        self.engine.dispose()
        return dict(sorted(self.counts.items()))
