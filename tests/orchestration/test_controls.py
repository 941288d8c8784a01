"""Great Expectations controls: what they reject, and which rows they look at."""

from __future__ import annotations

import json

import duckdb
import pandas as pd

from orchestration.controls import (
    EXPECTATIONS_DIR,
    new_rows_sql,
    suite_columns,
    suite_files,
    validate_frame,
)
from orchestration.resources import query
from trueup.settings import Paths


def _suite(name: str) -> dict:
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text())


def _invoices(**overrides) -> pd.DataFrame:
    rows = {
        "invoice_no": ["INV-1", "INV-2"],
        "customer_no": ["C1", "C2"],
        "invoice_date": pd.to_datetime(["2026-01-02T00:00:00", "2026-01-03T00:00:00"]),
        "subtotal": [10.0, 20.0],
        "total_amount": [10.0, 20.0],
    }
    rows.update(overrides)
    return pd.DataFrame(rows)


def test_suites_exist_for_raw_shipments_and_invoices() -> None:
    keys = {k.to_user_string() for k in suite_files()}
    assert {"raw_wms/shipments", "raw_erp/invoices"} <= keys


def test_clean_invoices_pass_the_invoice_controls() -> None:
    assert validate_frame(_suite("raw_erp__invoices"), _invoices()).success


def test_a_reused_invoice_number_fails_the_invoice_controls() -> None:
    frame = _invoices(invoice_no=["INV-1", "INV-1"])
    assert not validate_frame(_suite("raw_erp__invoices"), frame).success


def test_a_negative_invoice_total_fails_the_invoice_controls() -> None:
    frame = _invoices(total_amount=[10.0, -20.0])
    assert not validate_frame(_suite("raw_erp__invoices"), frame).success


def test_only_rows_of_the_sources_latest_load_are_validated(paths: Paths) -> None:
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("create schema raw_wms; create schema raw_quarantine")
        con.execute(
            "create table raw_wms.shipments as select * from (values "
            "(1, 'L1'), (2, 'L1'), (3, 'L2')) t(id, _dlt_load_id)"
        )
        con.execute(
            "create table raw_quarantine.load_audit as select * from (values "
            "('L1', 'wms', timestamp '2026-01-01 00:00'), "
            "('L2', 'wms', timestamp '2026-01-02 00:00'), "
            "('L9', 'erp', timestamp '2026-01-03 00:00')) t(load_id, source, started_at)"
        )
    sql, params, scope = new_rows_sql(paths, "raw_wms", "shipments")
    assert [r[0] for r in query(paths, sql, params)] == [3]
    assert scope == "rows of the latest load"


def test_only_the_columns_a_suite_names_are_read(paths: Paths) -> None:
    with duckdb.connect(str(paths.warehouse)) as con:
        con.execute("create schema raw_wms")
        con.execute(
            "create table raw_wms.shipments as select 1 as id, 'x' as note, 2.5 as weight_lb"
        )
    suite = {"expectations": [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "weight_lb"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "dock"}},  # missing
    ]}  # fmt: skip
    sql, params, _ = new_rows_sql(paths, "raw_wms", "shipments", suite_columns(suite))
    assert suite_columns(suite) == ["id", "weight_lb", "dock"]
    assert [d[0] for d in query_description(paths, sql, params)] == ["id", "weight_lb"]
    table_level = {"expectations": [{"type": "expect_table_row_count_to_be_between", "kwargs": {}}]}
    assert suite_columns(table_level) is None  # a table-level expectation needs every column


def query_description(paths: Paths, sql: str, params: list) -> list:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql, params).description
