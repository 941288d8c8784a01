"""Columnar reading of database rows gives exactly the tables dlt's pyarrow backend gives."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from dlt.sources.sql_database.helpers import TableLoader
from dlt.sources.sql_database.schema_types import table_to_columns

from ingestion.sql_arrow import ColumnarConverter, fetch_raw
from simulator.config import SimulationConfig
from simulator.generate import simulate
from tests.ingestion.builders import Erp

CHUNK = 1_000  # small, so every table spans several chunks


def _dlt_way(engine: sa.Engine, table: sa.Table) -> pa.Table | None:
    loader = TableLoader(engine, "pyarrow", table, table_to_columns(table, "full", None), CHUNK)
    return _concat(list(loader.load_rows()))


def _columnar_way(engine: sa.Engine, table: sa.Table) -> pa.Table:
    converter = ColumnarConverter(table, table_to_columns(table, "full", None), engine.dialect)
    with engine.connect() as conn:
        chunks = [
            converter.convert(names, rows, processed=processed)
            for names, rows, processed in fetch_raw(conn, table.select(), CHUNK)
        ]
    return _concat(chunks)


def _concat(chunks: list[pa.Table]) -> pa.Table | None:
    return pa.concat_tables(chunks) if chunks else None  # None: the table is empty


def _assert_same_tables(url: str) -> None:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    metadata.reflect(engine)
    assert metadata.tables
    for table in metadata.sorted_tables:
        expected, got = _dlt_way(engine, table), _columnar_way(engine, table)
        if expected is None:
            assert got is None, table.name
            continue
        assert got.schema == expected.schema, table.name
        assert got.equals(expected), table.name
    engine.dispose()


@pytest.fixture(scope="module")
def simulated_erp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("company")
    simulate(SimulationConfig(seed=3, start=date(2026, 1, 1), days=6, orders_per_day=40), out)
    return out / "erp" / "erp.sqlite"


def test_every_table_of_the_simulated_erp_reads_the_same_as_through_dlt(simulated_erp) -> None:
    _assert_same_tables(f"sqlite:///{simulated_erp}")


def _sqlite_table(path: Path, columns: str, rows: str) -> sa.Engine:
    """A SQLite database holding table ``t`` with these columns and rows (SQL text)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql(f"create table t (id integer primary key, {columns})")
        conn.exec_driver_sql(f"insert into t values {rows}")
    return engine


def test_odd_values_go_dlts_way_and_still_read_the_same(tmp_path) -> None:
    engine = _sqlite_table(
        tmp_path / "odd.sqlite",
        "at datetime, amount numeric(14, 2), flag boolean, day date, code varchar(8)",
        "(1, '2026-01-01T10:00:00Z', 704.16, 1, '2026-01-01', 'A1'),"
        " (2, '2026-01-01T10:00:00.5+02:00', 14083, 0, '2026-01-02', 42),"  # offset; int code
        " (3, '2026-01-01 09:00:00', null, null, null, null),"  # no zone
        " (4, null, 0.125, 1, '2026-01-03', 'Z')",
    )
    engine.dispose()
    _assert_same_tables(f"sqlite:///{tmp_path / 'odd.sqlite'}")


def test_what_sqlite_stores_takes_the_vectorized_casts(tmp_path) -> None:
    engine = _sqlite_table(  # numeric affinity stores 3.00 as the integer 3
        tmp_path / "plain.sqlite",
        "at datetime, at_naive datetime, cents numeric(14, 2), whole numeric(14, 2),"
        " flag boolean, day date",
        "(1, '2026-03-01T23:59:59.250Z', '2026-03-02 00:00:00', 704.16, 3, 1, '2026-03-01'),"
        " (2, '2026-03-02T00:00:00Z', '2026-03-02 00:00:01', 0.1, 14083, 0, '2026-03-02')",
    )
    table = sa.Table("t", sa.MetaData(), autoload_with=engine)
    converter = ColumnarConverter(table, table_to_columns(table, "full", None), engine.dialect)
    converter._through_dlt = None  # any fallback would fail the test: the casts must do it all
    with engine.connect() as conn:
        [(names, rows, processed)] = list(fetch_raw(conn, table.select(), CHUNK))
    got = converter.convert(names, rows, processed=processed)
    assert got.equals(_dlt_way(engine, table))
    engine.dispose()


@pytest.mark.postgres
def test_a_postgresql_erp_reads_the_same_as_through_dlt(pg_cluster) -> None:
    url = pg_cluster.create_database("erp_columnar")
    db = Erp(url)
    db.add_customers(0, 10)
    db.add_order_lines(range(30), lines_per_order=3)
    db.add_exchange_rates()
    _assert_same_tables(url)
