"""The ERP database: every table reflected, merged on its key, incremental on updated_at."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ingestion.pipeline import make_pipeline
from ingestion.registry import ingest
from tests.ingestion.builders import T0, Erp


def _primary_key(schema, table: str) -> list[str]:
    return [c["name"] for c in schema.get_table_columns(table).values() if c.get("primary_key")]


@pytest.fixture
def erp(paths) -> Erp:
    """The ERP where the configuration expects it by default: ``sources/erp/erp.sqlite``."""
    (paths.sources / "erp").mkdir()
    db = Erp(f"sqlite:///{paths.sources / 'erp' / 'erp.sqlite'}")
    db.add_customers(0, 25)
    db.add_order_lines(range(40), lines_per_order=3)
    db.add_exchange_rates()
    return db


def test_first_load_reflects_every_table_and_merges_on_its_primary_key(erp, warehouse) -> None:
    result = ingest("erp")

    assert {a.resource: a.loaded for a in result.audits} == {
        "customers": 25,
        "sales_order_lines": 120,
        "exchange_rates": 2,
    }
    schema = make_pipeline("erp").default_schema
    assert _primary_key(schema, "sales_order_lines") == ["so_no", "line_no"]
    assert _primary_key(schema, "customers") == ["customer_no"]
    assert schema.get_table("sales_order_lines")["write_disposition"] == "merge"
    assert schema.get_table("exchange_rates")["write_disposition"] == "replace"  # no key
    assert warehouse(
        "select count(*), count(distinct (so_no, line_no)) from raw_erp.sales_order_lines"
    ) == [(120, 120)]


def test_second_load_adds_nothing(erp, warehouse) -> None:
    ingest("erp")
    again = ingest("erp")

    assert again.audit("customers").loaded == 0
    assert again.audit("sales_order_lines").loaded == 0
    # The cursor re-reads the rows sitting on its boundary; they are counted as already loaded.
    assert (
        again.audit("sales_order_lines").duplicates_skipped
        == again.audit("sales_order_lines").input_records
    )
    assert warehouse("select count(*) from raw_erp.sales_order_lines") == [(120,)]
    assert warehouse("select count(*) from raw_erp.customers") == [(25,)]
    assert warehouse("select count(*) from raw_erp.exchange_rates") == [
        (2,)
    ]  # replaced, not appended


def test_changed_and_new_rows_are_the_only_ones_merged(erp, warehouse) -> None:
    ingest("erp")
    later = T0 + timedelta(days=2)
    assert erp.reprice("SO00000007", 11.25, at=later) == 3
    erp.add_order_lines(range(40, 45), lines_per_order=2, at=later)
    erp.add_customers(25, 1, at=later)

    result = ingest("erp")

    assert result.audit("sales_order_lines").loaded == 3 + 10
    assert result.audit("customers").loaded == 1
    assert warehouse("select count(*) from raw_erp.sales_order_lines") == [(130,)]
    assert warehouse(
        "select distinct unit_price from raw_erp.sales_order_lines where so_no = 'SO00000007'"
    ) == [(pytest.approx(11.25),)]


def test_a_table_filter_loads_only_the_named_tables(erp, warehouse, monkeypatch) -> None:
    monkeypatch.setenv("TRUEUP_ERP_TABLES", "customers")

    result = ingest("erp")

    assert [a.resource for a in result.audits] == ["customers"]
    tables = warehouse(
        "select table_name from information_schema.tables where table_schema = 'raw_erp'"
    )
    assert "sales_order_lines" not in {t for (t,) in tables}


@pytest.mark.postgres
def test_the_same_source_loads_a_postgresql_erp(pg_cluster, paths, warehouse, monkeypatch) -> None:
    url = pg_cluster.create_database("erp_ingest")
    db = Erp(url)
    db.add_customers(0, 10)
    db.add_order_lines(range(20), lines_per_order=2)
    monkeypatch.setenv("TRUEUP_ERP_URL", url)

    first = ingest("erp")
    db.reprice("SO00000003", 5.5, at=T0 + timedelta(days=1))
    second = ingest("erp")

    assert first.audit("sales_order_lines").loaded == 40
    assert second.audit("sales_order_lines").loaded == 2
    assert second.audit("customers").loaded == 0
    assert warehouse("select count(*) from raw_erp.sales_order_lines") == [(40,)]
    assert warehouse(
        "select distinct unit_price from raw_erp.sales_order_lines where so_no = 'SO00000003'"
    ) == [(pytest.approx(5.5),)]
