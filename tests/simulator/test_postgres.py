"""The ERP also loads into PostgreSQL (any SQLAlchemy URL), with the same rows as SQLite."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import create_engine, inspect, text

from simulator.generate import simulate
from tests.simulator.conftest import SMALL


@pytest.mark.postgres
def test_the_erp_written_to_postgresql_has_the_same_rows_and_keys_as_sqlite(
    pg_cluster, small_company, tmp_path
):
    url = pg_cluster.create_database("simulator_erp")
    out = tmp_path / "pg"
    manifest = simulate(replace(SMALL, erp_url=url), out)
    sqlite_counts = {
        k[4:]: v
        for k, v in json.loads((small_company[0] / "manifest.json").read_text())["files"].items()
        if k.startswith("erp/")
    }
    pg_counts = {k[8:]: v for k, v in manifest["files"].items() if k.startswith("erp_url/")}
    assert pg_counts == sqlite_counts
    engine = create_engine(url)
    with engine.connect() as con:
        for table, n in sqlite_counts.items():
            assert con.execute(text(f"SELECT count(*) FROM {table}")).scalar() == n, table
        pk = inspect(con).get_pk_constraint("invoice_lines")["constrained_columns"]
        assert pk == ["invoice_no", "line_no"]
        kind = con.execute(
            text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'invoices' AND column_name = 'updated_at'"
            )
        ).scalar()
        assert kind == "timestamp with time zone"
    engine.dispose()
