"""Amazon settlement V2 flat files: summary and lines, by header name, lenient, each file once."""

from __future__ import annotations

from decimal import Decimal

from ingestion.registry import ingest
from tests.ingestion.builders import (
    SETTLEMENT_COLUMNS_23,
    settlement_rows,
    write_settlement,
)


def test_summary_row_and_amount_lines_land_in_their_own_tables(paths, warehouse) -> None:
    write_settlement(paths.sources, "1001.tsv", settlement_rows("1001", orders=5))

    result = ingest("amazon", paths=paths)

    assert result.audit("settlements").input_records == 11
    assert result.audit("settlements").loaded == 11
    assert warehouse(
        "select settlement_id, total_amount, currency, deposit_date::varchar from raw_amazon.settlements"
    ) == [("1001", Decimal("95.00"), "USD", "2026-01-16 08:00:00+00")]
    lines = warehouse(
        "select count(*), sum(amount), count(distinct order_id) from raw_amazon.settlement_lines"
    )
    assert lines == [(10, Decimal("95.00"), 5)]


def test_columns_are_mapped_by_header_name_for_23_and_24_column_files(paths, warehouse) -> None:
    write_settlement(paths.sources, "1001.tsv", settlement_rows("1001", orders=2))
    reordered = list(reversed(SETTLEMENT_COLUMNS_23))
    write_settlement(
        paths.sources, "1002.tsv", settlement_rows("1002", orders=3), columns=reordered
    )

    ingest("amazon", paths=paths)

    assert warehouse(
        "select settlement_id, count(*), sum(amount), count(promotion_id) "
        "from raw_amazon.settlement_lines group by 1 order by 1"
    ) == [("1001", 4, Decimal("35.00"), 0), ("1002", 6, Decimal("54.00"), 0)]


def test_european_dates_and_decimal_commas_are_read_as_utc_and_decimals(paths, warehouse) -> None:
    rows = settlement_rows("2001", orders=2, total="1.234,56", decimal_comma=True, dates="eu")
    write_settlement(paths.sources, "2001.tsv", rows)

    ingest("amazon", paths=paths)

    assert warehouse(
        "select total_amount, settlement_end_date::varchar from raw_amazon.settlements"
    ) == [(Decimal("1234.56"), "2026-01-15 00:00:00+00")]
    assert warehouse(
        "select amount, posted_date::varchar from raw_amazon.settlement_lines order by source_line limit 1"
    ) == [(Decimal("20.00"), "2026-01-02")]


def test_bad_rows_are_quarantined_with_line_numbers_and_the_rest_loads(paths, warehouse) -> None:
    rows: list = settlement_rows("3001", orders=4)
    rows[2] = {**rows[2], "amount": "twelve"}  # line 4 of the file
    rows[5] = {**rows[5], "settlement-id": ""}  # line 7
    rows.insert(7, "3001\tonly\tthree")  # line 9
    write_settlement(paths.sources, "3001.tsv", rows)

    result = ingest("amazon", paths=paths)

    assert (result.audit("settlements").loaded, result.audit("settlements").quarantined) == (7, 3)
    assert warehouse(
        "select locator, reason from raw_quarantine.rejected_records order by rejected_at, locator"
    ) == [
        ("line 4", "'amount' value 'twelve' is not a valid decimal"),
        ("line 7", "missing required value in 'settlement-id'"),
        ("line 9", "wrong number of fields: expected 24, got 3"),
    ]


def test_each_file_is_loaded_once_and_a_corrected_settlement_replaces_its_lines(
    paths, warehouse
) -> None:
    write_settlement(paths.sources, "4001.tsv", settlement_rows("4001", orders=4))
    ingest("amazon", paths=paths)
    assert ingest("amazon", paths=paths).loaded == 0

    # Amazon re-issues the settlement with one order less, under a new file name.
    write_settlement(paths.sources, "4001-v2.tsv", settlement_rows("4001", orders=3))
    ingest("amazon", paths=paths)

    assert warehouse("select count(*) from raw_amazon.settlements") == [(1,)]
    assert warehouse("select count(*), sum(amount) from raw_amazon.settlement_lines") == [
        (6, Decimal("54.00"))
    ]


def test_a_first_load_writes_straight_into_the_final_tables_and_later_loads_merge(
    paths, warehouse
) -> None:
    def staged() -> set[str]:
        return {
            r[0]
            for r in warehouse(
                "select table_name from information_schema.tables "
                "where table_schema = 'raw_amazon_staging'"
            )
        }

    write_settlement(paths.sources, "5001.tsv", settlement_rows("5001", orders=2))
    ingest("amazon", paths=paths)
    assert "settlement_lines" not in staged()  # nothing to merge with: appended

    write_settlement(paths.sources, "5002.tsv", settlement_rows("5002", orders=3))
    write_settlement(paths.sources, "5001-v2.tsv", settlement_rows("5001", orders=1))
    ingest("amazon", paths=paths)

    assert "settlement_lines" in staged()  # the table has rows now: merged
    assert warehouse(
        "select settlement_id, count(*) from raw_amazon.settlement_lines group by 1 order by 1"
    ) == [("5001", 2), ("5002", 6)]
