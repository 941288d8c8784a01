"""Portability: the same company, ingested by the same dlt pipelines and built by the same dbt
project, gives the same marts on DuckDB (the default warehouse) and on PostgreSQL.

One simulated company is loaded twice: into a DuckDB file, and into a throwaway PostgreSQL
cluster (``TRUEUP_DESTINATION=postgres``); ``dbt build`` then runs on the ``duckdb`` and the
``postgres`` targets with the same ``as_of``. Every table and view of ``marts`` (and of
``canonical``, whose rows feed them) must hold the same number of rows on both, and the exception
queue must hold the same keys, with the same ids, per exception type.

Skipped only when the PostgreSQL server binaries (initdb, pg_ctl, postgres) are not installed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date

import duckdb
import pytest

from tests.postgres import PostgresCluster, PostgresUnavailable, postgres_cluster
from trueup.settings import Paths

pytestmark = pytest.mark.postgres

# The company of tests/dbt/conftest.py: ~85 s for both warehouses here, and 17 of the 20 exception
# types (220 exceptions, 43 relations, ~107k rows in marts and canonical) to compare.
DAYS = 21
ORDERS_PER_DAY = 50
DATABASE = "trueup_portability"
COMPARED_SCHEMAS = ("marts", "canonical")
_LEAKY_ENV = (
    "TRUEUP_DATA_DIR",
    "TRUEUP_ERP_URL",
    "TRUEUP_CARRIER_DIR",
    "TRUEUP_AMAZON_DIR",
    "TRUEUP_DESTINATION",
    "TRUEUP_WAREHOUSE",
    "TRUEUP_DBT_MEMORY_LIMIT",
    "TRUEUP_DBT_TARGET",
    "TRUEUP_PG_HOST",
    "TRUEUP_PG_PORT",
    "TRUEUP_PG_USER",
    "TRUEUP_PG_PASSWORD",
    "TRUEUP_PG_DATABASE",
    "DESTINATION__DUCKDB__CREDENTIALS",
    "DESTINATION__POSTGRES__CREDENTIALS",
    "SOURCES__ERP__CREDENTIALS",
)


@dataclass(frozen=True)
class Warehouse:
    """What one build left behind: relation row counts and the exception queue."""

    counts: dict[str, int]  # "schema.relation" -> rows
    exceptions: dict[str, dict[str, str]]  # exception_type -> {exception_key: exception_id}
    ingest_failures: tuple[str, ...]


@dataclass(frozen=True)
class Builds:
    duckdb: Warehouse
    postgres: Warehouse


def _ingest_all(paths: Paths) -> tuple[str, ...]:
    from ingestion.registry import SOURCES, ingest

    failed = []
    for name in SOURCES:
        try:
            ingest(name, paths=paths)
        except Exception as exc:  # reported by the test, with the other sources' outcome
            failed.append(f"{name}: {str(exc)[:1000]}")
    return tuple(failed)


def _build(paths: Paths, as_of: str) -> None:
    from trueup.dbt import build

    result = build(paths, as_of=as_of, quiet=True)
    assert result.success, f"dbt build failed: {result.failures}"


COUNT_RELATIONS = """
select table_schema, table_name from information_schema.tables
where table_schema in ({schemas}) order by 1, 2
"""
EXCEPTIONS = "select exception_type, exception_key, exception_id from marts.exceptions"


def _read(cursor, failures: tuple[str, ...]) -> Warehouse:
    """Row counts and exception queue through a DB-API cursor (DuckDB or psycopg2)."""
    schemas = ", ".join(f"'{s}'" for s in COMPARED_SCHEMAS)
    cursor.execute(COUNT_RELATIONS.format(schemas=schemas))
    relations = [f"{schema}.{name}" for schema, name in cursor.fetchall()]
    counts = {}
    for relation in relations:
        cursor.execute(f"select count(*) from {relation}")
        counts[relation] = cursor.fetchone()[0]
    cursor.execute(EXCEPTIONS)
    exceptions: dict[str, dict[str, str]] = defaultdict(dict)
    for exception_type, key, exception_id in cursor.fetchall():
        exceptions[exception_type][key] = exception_id
    return Warehouse(counts, dict(exceptions), failures)


def _read_duckdb(paths: Paths, failures: tuple[str, ...]) -> Warehouse:
    # dbt-duckdb keeps its read-write connection open in this process: open it the same way.
    con = duckdb.connect(str(paths.warehouse))
    try:
        return _read(con.cursor(), failures)
    finally:
        con.close()


def _read_postgres(cluster: PostgresCluster, failures: tuple[str, ...]) -> Warehouse:
    import psycopg2

    conn = psycopg2.connect(
        host=cluster.host, port=cluster.port, user=cluster.user, dbname=DATABASE
    )
    try:
        with conn.cursor() as cur:
            return _read(cur, failures)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    """Simulate once; ingest and build on DuckDB, then on a throwaway PostgreSQL."""
    from simulator.config import SimulationConfig
    from simulator.generate import simulate
    from trueup.dbt import manifest_as_of

    root = tmp_path_factory.mktemp("portability")
    # Two data directories (own dlt pipeline state, dbt target, warehouse) over one company.
    on_duckdb, on_postgres = Paths(root / "duckdb"), Paths(root / "postgres")
    on_postgres.root.mkdir(parents=True)
    with ExitStack() as stack:
        try:
            cluster = stack.enter_context(postgres_cluster())
        except PostgresUnavailable as exc:
            pytest.skip(str(exc))
        with pytest.MonkeyPatch.context() as env:
            for name in _LEAKY_ENV:
                env.delenv(name, raising=False)
            simulate(
                SimulationConfig(days=DAYS, orders_per_day=ORDERS_PER_DAY, start=date(2026, 1, 1)),
                on_duckdb.sources,
            )
            on_postgres.sources.symlink_to(on_duckdb.sources, target_is_directory=True)
            as_of = manifest_as_of(on_duckdb)
            assert as_of

            env.setenv("TRUEUP_DATA_DIR", str(on_duckdb.root))
            duck_failed = _ingest_all(on_duckdb)
            _build(on_duckdb, as_of)
            duck = _read_duckdb(on_duckdb, duck_failed)

            cluster.create_database(DATABASE)
            env.setenv("TRUEUP_DATA_DIR", str(on_postgres.root))
            env.setenv("TRUEUP_DESTINATION", "postgres")
            env.setenv("DESTINATION__POSTGRES__CREDENTIALS", cluster.dlt_url(DATABASE))
            env.setenv("TRUEUP_DBT_TARGET", "postgres")
            env.setenv("TRUEUP_PG_HOST", cluster.host)
            env.setenv("TRUEUP_PG_PORT", str(cluster.port))
            env.setenv("TRUEUP_PG_USER", cluster.user)
            env.setenv("TRUEUP_PG_PASSWORD", "trust")  # ignored: the cluster trusts 127.0.0.1
            env.setenv("TRUEUP_PG_DATABASE", DATABASE)
            pg_failed = _ingest_all(on_postgres)
            _build(on_postgres, as_of)
            pg = _read_postgres(cluster, pg_failed)
        yield Builds(duck, pg)


# One test, so that `pytest -n 2` (make test) cannot split the module and build it twice.
def test_duckdb_and_postgres_build_the_same_marts(builds: Builds) -> None:
    duck, pg = builds.duckdb, builds.postgres
    assert not duck.ingest_failures, duck.ingest_failures
    assert not pg.ingest_failures, pg.ingest_failures

    # the same relations exist on both, and the marts the issue names are among them
    assert set(pg.counts) == set(duck.counts)
    marts = {r for r in duck.counts if r.startswith("marts.")}
    assert {"marts.exceptions", "marts.rec_kpis_daily", "marts.order_journey"} <= marts
    assert len([r for r in marts if r.startswith("marts.rec_")]) > 10

    # every mart (and canonical fact) holds the same number of rows
    differ = {
        relation: (rows, pg.counts.get(relation))
        for relation, rows in duck.counts.items()
        if pg.counts.get(relation) != rows
    }
    assert not differ, f"relation: (duckdb rows, postgres rows): {differ}"
    assert duck.counts["marts.exceptions"] > 0

    # the exception queue: the same keys per type, with the same exception ids (md5 on both)
    assert set(pg.exceptions) == set(duck.exceptions)
    for exception_type, keys in duck.exceptions.items():
        assert set(pg.exceptions[exception_type]) == set(keys), exception_type
        assert pg.exceptions[exception_type] == keys, f"{exception_type}: exception_id differs"
    assert len(duck.exceptions) > 5  # a company this size has many kinds of exceptions
