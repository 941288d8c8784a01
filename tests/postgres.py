"""A throwaway PostgreSQL cluster for tests: started from the machine's server binaries, removed after.

Use the context manager anywhere, or the ``pg_cluster`` pytest fixture (one cluster per test
session) by importing it into a ``conftest.py``::

    from tests.postgres import pg_cluster  # noqa: F401

    @pytest.mark.postgres
    def test_something(pg_cluster):
        url = pg_cluster.create_database("mytest")  # SQLAlchemy URL of a fresh database

Binaries are found on PATH, else via ``pg_config --bindir``; without them the fixture skips with the
reason. ``initdb`` refuses to run as root, so when the tests run as root the cluster's directory is
owned by ``nobody`` (uid 65534) and the server runs as that user. Authentication is ``trust`` on
127.0.0.1; :attr:`PostgresCluster.dlt_url` adds a dummy password because dlt's postgres destination
insists on one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

NOBODY = 65534
SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bindir() -> Path | None:
    """The directory holding initdb/pg_ctl/postgres: PATH first, then ``pg_config --bindir``."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        # PATH may hold symlinks (Debian's /usr/local/bin); pg_ctl needs the real neighbours.
        real = Path(os.path.realpath(found)).parent
        if all((real / b).exists() for b in SERVER_BINARIES):
            return real
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
        except (subprocess.SubprocessError, OSError):
            return None
        if out and all((Path(out) / b).exists() for b in SERVER_BINARIES):
            return Path(out)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class PostgresCluster:
    """A running throwaway cluster."""

    host: str
    port: int
    user: str
    root: Path

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (trust auth, no password)."""
        return f"postgresql+psycopg2://{self.user}@{self.host}:{self.port}/{database}"

    def dlt_url(self, database: str = "postgres") -> str:
        """URL for dlt's postgres destination, which requires a password (ignored by trust)."""
        return f"postgresql://{self.user}:trust@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create (or recreate) a database and return its SQLAlchemy URL."""
        import psycopg2

        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname="postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)


@contextmanager
def postgres_cluster(*, startup_timeout: int = 60) -> Iterator[PostgresCluster]:
    """Start a throwaway cluster on a free port of 127.0.0.1; stop and delete it on exit.

    Args:
        startup_timeout: Seconds to wait for the server to accept connections.

    Yields:
        The running cluster.

    Raises:
        PostgresUnavailable: No server binaries were found.
    """
    bindir = find_bindir()
    if bindir is None:
        raise PostgresUnavailable(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH "
            "or via `pg_config --bindir`"
        )
    as_root = os.geteuid() == 0
    # Not pytest's tmp_path: it is private to root, and the server may run as nobody.
    root = Path(tempfile.mkdtemp(prefix="trueup-pg-"))
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    if as_root:
        for path in (root, sockets):
            os.chown(path, NOBODY, NOBODY)
    run_as = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if as_root else {}
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    port = _free_port()
    started = False
    try:
        subprocess.run(
            [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
             "-E", "UTF8", "--no-sync"],
            check=True, capture_output=True, env=env, cwd=root, timeout=120, **run_as,
        )  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c full_page_writes=off"
        subprocess.run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log),
             "-t", str(startup_timeout), "-w", "start"],
            check=True, capture_output=True, env=env, cwd=root, timeout=startup_timeout + 30,
            **run_as,
        )  # fmt: skip
        started = True
        yield PostgresCluster("127.0.0.1", port, "postgres", root)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace")
        if log.exists():
            detail += log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"could not start PostgreSQL: {detail}") from exc
    finally:
        if started:
            subprocess.run(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True, env=env, cwd=root, timeout=60, **run_as,
            )  # fmt: skip
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    """One throwaway cluster per test session; skips when PostgreSQL is not installed."""
    try:
        with postgres_cluster() as cluster:
            yield cluster
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
