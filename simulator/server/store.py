"""Read-only access to a SQLite store written by the simulator.

``ThreadingHTTPServer`` runs each connection on a fresh thread, so "one SQLite connection per
thread" would mean one per request; a small pool of read-only connections gives the same
isolation without reopening the file each time. The store may be regenerated while the server
runs (``trueup simulate`` again to advance the company), so every checkout compares the file's
identity with the one the pool and caches were built for, and starts over when it changed.
"""

from __future__ import annotations

import os
import queue
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CACHE_SIZE = 4096
MMAP_BYTES = 1 << 34  # address space, not memory; SQLite caps it (2 GiB by default)


class StoreMissing(Exception):
    """The store file does not exist (the simulator has not written it yet)."""


def quote(identifier: str) -> str:
    """Quote a table or column name for SQL; names come from the store's own catalogue."""
    return '"' + identifier.replace('"', '""') + '"'


@dataclass
class _Generation:
    """Pool, catalogue and caches valid for one version of the store file."""

    version: tuple
    tables: dict[str, tuple[str, ...]]
    pool: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    cache: OrderedDict = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class SqliteStore:
    """One SQLite file opened read-only (``file:...?mode=ro``), shared by request threads.

    Args:
        path: The store file.
        index_missing: Create the ``(updated_at, id)`` index on a table that lacks one. Without
            it every page of a large table sorts the whole table; with it a page is an index
            range. This is the one write the server ever makes, logged when it happens.
        log: Where notices go (stderr in the server).
    """

    def __init__(
        self, path: Path, *, index_missing: bool = True, log: Callable[[str], None] = print
    ) -> None:
        self.path = Path(path)
        self.index_missing = index_missing
        self._log = log
        self._generation: _Generation | None = None
        self._lock = threading.Lock()
        self._closed = False

    # -- versions ---------------------------------------------------------------------------
    def _version(self) -> tuple:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise StoreMissing(str(self.path)) from None
        try:
            wal = os.stat(f"{self.path}-wal")
            wal_version = (wal.st_size, wal.st_mtime_ns)
        except FileNotFoundError:
            wal_version = None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, wal_version)

    def _current(self) -> _Generation:
        version = self._version()
        generation = self._generation
        if generation is not None and generation.version == version:
            return generation
        with self._lock:
            generation = self._generation
            if generation is None or generation.version != self._version():
                if generation is not None:
                    _drain(generation.pool)
                tables = self._inspect()
                # Inspecting may have added an index, which changes the file: version it after.
                generation = _Generation(version=self._version(), tables=tables)
                self._generation = generation
            return generation

    def _open(self) -> sqlite3.Connection:
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        # A connection is checked out by one thread at a time, so handing it between threads is
        # safe; autocommit mode because each request opens its own read transaction.
        conn = sqlite3.connect(
            uri, uri=True, check_same_thread=False, timeout=5.0, isolation_level=None
        )
        # A page walks rows in (updated_at, id) order, which is not the order they are stored
        # in: each row may sit on another table page. Through SQLite's small page cache that is
        # one read() per row; mapped, it is a memory access.
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        return conn

    def _inspect(self) -> dict[str, tuple[str, ...]]:
        """Read the catalogue; make sure each page is an index range (``(updated_at, id)``, and
        ``(payout_id, updated_at, id)`` where transactions are read per payout)."""
        conn = self._open()
        try:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            tables = {
                name: tuple(r[1] for r in conn.execute(f"PRAGMA table_info({quote(name)})"))
                for name in names
                if _IDENTIFIER.fullmatch(name)
            }
            unindexed: list[tuple[str, tuple[str, ...]]] = [
                (name, ("updated_at", "id"))
                for name, columns in tables.items()
                if {"id", "updated_at"} <= set(columns) and not _ordered_by_index(conn, name)
            ]
            # Shopify's transactions are read per payout: without an index led by payout_id
            # every page scans the table up to its payout, and a full read is quadratic.
            unindexed += [
                (name, ("payout_id", "updated_at", "id"))
                for name, columns in tables.items()
                if {"id", "updated_at", "payout_id"} <= set(columns)
                and not _filtered_by_index(conn, name, "payout_id")
            ]
        finally:
            conn.close()
        if unindexed:
            self._add_indexes(unindexed)
        return tables

    def _add_indexes(self, indexes: list[tuple[str, tuple[str, ...]]]) -> None:
        described = ", ".join(f"{name}({', '.join(columns)})" for name, columns in indexes)
        if not self.index_missing:
            self._log(
                f"warning: {self.path}: no index on {described}; pages will scan or sort the table"
            )
            return
        try:
            conn = sqlite3.connect(self.path, timeout=5.0)
            try:
                for name, columns in indexes:
                    index = quote(f"ix_{name}__{'_'.join(columns)}")
                    conn.execute(
                        f"CREATE INDEX IF NOT EXISTS {index} ON {quote(name)} "
                        f"({', '.join(quote(c) for c in columns)})"
                    )
                    self._log(f"{self.path}: indexed {name}({', '.join(columns)}) for pagination")
                conn.commit()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            self._log(
                f"warning: {self.path}: cannot index {described} ({exc}); "
                "pages will scan or sort the table"
            )

    # -- public -----------------------------------------------------------------------------
    @contextmanager
    def connect(self) -> Iterator[tuple[sqlite3.Connection, StoreView]]:
        """Check out a read-only connection and the catalogue/caches of the current file.

        Raises:
            StoreMissing: if the file does not exist.
        """
        if self._closed:
            raise StoreMissing(f"{self.path} (server shutting down)")
        generation = self._current()
        try:
            conn = generation.pool.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            # One read transaction per request keeps the count and the page consistent.
            conn.execute("BEGIN")
            yield conn, StoreView(generation)
        finally:
            with suppress(sqlite3.Error):
                conn.execute("COMMIT")
            if self._closed or generation is not self._generation:
                conn.close()
            else:
                generation.pool.put(conn)

    def close(self) -> None:
        """Close pooled connections; connections in use close when they are returned."""
        self._closed = True
        if self._generation is not None:
            _drain(self._generation.pool)


class StoreView:
    """The catalogue and a bounded memo of one store version, as a route sees them."""

    def __init__(self, generation: _Generation) -> None:
        self._generation = generation

    @property
    def tables(self) -> dict[str, tuple[str, ...]]:
        """Table name to column names."""
        return self._generation.tables

    def cached(self, key: Hashable) -> object | None:
        """A memoised value for this store version, or None."""
        generation = self._generation
        with generation.lock:
            value = generation.cache.get(key)
            if value is not None:
                generation.cache.move_to_end(key)
            return value

    def remember(self, key: Hashable, value: object) -> None:
        """Memoise a value for this store version (least recently used entries fall out)."""
        generation = self._generation
        with generation.lock:
            generation.cache[key] = value
            generation.cache.move_to_end(key)
            while len(generation.cache) > _CACHE_SIZE:
                generation.cache.popitem(last=False)


def _ordered_by_index(conn: sqlite3.Connection, table: str) -> bool:
    plan = conn.execute(
        f"EXPLAIN QUERY PLAN SELECT * FROM {quote(table)} WHERE updated_at >= '' "
        "ORDER BY updated_at, id LIMIT 1"
    ).fetchall()
    return not any("TEMP B-TREE" in str(row[-1]) for row in plan)


def _filtered_by_index(conn: sqlite3.Connection, table: str, column: str) -> bool:
    plan = conn.execute(
        f"EXPLAIN QUERY PLAN SELECT * FROM {quote(table)} WHERE {quote(column)} = 0 "
        "ORDER BY updated_at, id LIMIT 1"
    ).fetchall()
    return any(f"({column}=?)" in str(row[-1]) for row in plan) and not any(
        "TEMP B-TREE" in str(row[-1]) for row in plan
    )


def _drain(pool: queue.SimpleQueue) -> None:
    while True:
        try:
            pool.get_nowait().close()
        except queue.Empty:
            return
