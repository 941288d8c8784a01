"""The persistent dedupe ledger: which event went to which destination, and check states.

A small SQLite file under the data directory (``alerts/ledger.sqlite``) rather than the sensor
cursor alone: a cursor is lost when a sensor is renamed or reset, and it cannot say that the
webhook got an alert but the mail relay was down. Keying on ``(event_id, destination)`` makes a
retry send only what is missing. The ledger also remembers the last outcome of each check, which
is what turns a passing evaluation after a failure into a "resolved" notice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from trueup.settings import Paths

_SCHEMA = """
create table if not exists sent (
    event_id text not null,
    destination text not null,
    team text not null,
    kind text not null,
    sent_at text not null,
    primary key (event_id, destination)
);
create table if not exists check_state (
    check_key text primary key,
    failing integer not null,
    storage_id integer not null,
    updated_at text not null
);
"""


def ledger_path(paths: Paths) -> Path:
    """``<data dir>/alerts/ledger.sqlite``."""
    return paths.root / "alerts" / "ledger.sqlite"


class AlertLedger:
    """Dedupe store over one SQLite file; safe to open from several sensor processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        with self._connect() as con:
            con.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # One short transaction per call: sensors of one daemon tick may share the file.
        con = sqlite3.connect(self.path, timeout=30)
        try:
            with con:
                yield con
        finally:
            con.close()

    def was_sent(self, event_id: str, destination: str) -> bool:
        """Whether ``event_id`` already reached ``destination``."""
        with self._connect() as con:
            row = con.execute(
                "select 1 from sent where event_id = ? and destination = ?", (event_id, destination)
            ).fetchone()
        return row is not None

    def mark_sent(self, event_id: str, destination: str, team: str, kind: str) -> None:
        """Record a delivery (idempotent)."""
        with self._connect() as con:
            con.execute(
                "insert or ignore into sent values (?, ?, ?, ?, ?)",
                (event_id, destination, team, kind, datetime.now(UTC).isoformat()),
            )

    def sent_count(self, event_id: str | None = None) -> int:
        """Deliveries recorded (of one event, or all)."""
        with self._connect() as con:
            if event_id is None:
                return int(con.execute("select count(*) from sent").fetchone()[0])
            sql = "select count(*) from sent where event_id = ?"
            return int(con.execute(sql, (event_id,)).fetchone()[0])

    def check_failing(self, check_key: str) -> bool:
        """Whether the last evaluation seen of ``check_key`` failed."""
        with self._connect() as con:
            row = con.execute(
                "select failing from check_state where check_key = ?", (check_key,)
            ).fetchone()
        return bool(row and row[0])

    def set_check_state(self, check_key: str, failing: bool, storage_id: int) -> None:
        """Remember a check's latest outcome; an older evaluation never overwrites a newer one."""
        with self._connect() as con:
            con.execute(
                """
                insert into check_state values (?, ?, ?, ?)
                on conflict (check_key) do update set
                    failing = excluded.failing,
                    storage_id = excluded.storage_id,
                    updated_at = excluded.updated_at
                where excluded.storage_id > check_state.storage_id
                """,
                (check_key, int(failing), storage_id, datetime.now(UTC).isoformat()),
            )
