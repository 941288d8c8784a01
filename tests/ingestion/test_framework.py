"""The framework every source shares: conservation, quarantine, lenient parsing, the registry."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from ingestion import registry
from ingestion.conservation import ConservationError, ResourceAudit, check
from ingestion.files import TableSpec, _RunKeys, count_lines
from ingestion.parsing import index_lines, parse_decimals, parse_jsonl, parse_timestamps
from ingestion.pipeline import run_ingest
from ingestion.registry import SourceNotAvailable, ingest
from tests.ingestion.builders import tracking_event, write_tracking


def test_conservation_error_names_the_source_resource_and_numbers() -> None:
    audits = [
        ResourceAudit(
            "carrier",
            "tracking_events",
            input_records=100,
            loaded=90,
            quarantined=5,
            duplicates_skipped=3,
        ),
        ResourceAudit("carrier", "freight_bill_lines", 10, 10, 0, 0),
    ]

    with pytest.raises(ConservationError) as caught:
        check("carrier", audits)

    message = str(caught.value)
    assert "source 'carrier'" in message
    assert (
        "tracking_events: input 100 != loaded 90 + quarantined 5 + duplicates skipped 3" in message
    )
    assert "(difference +2)" in message
    assert "freight_bill_lines" not in message


def test_a_lost_record_fails_the_run_after_its_audit_is_recorded(paths, warehouse) -> None:
    from ingestion import carrier

    write_tracking(
        paths.sources, "2026-01-01", "UPSN-0001.jsonl", [tracking_event(n) for n in range(10)]
    )

    def lose_one(rows: dict[str, int]) -> dict[str, int]:
        return {**rows, "tracking_events": rows["tracking_events"] - 1}

    with pytest.raises(ConservationError, match=r"tracking_events: input 10 != loaded 9"):
        run_ingest(
            "carrier", lambda run: carrier.build_source(run, paths), paths=paths, tamper=lose_one
        )

    assert warehouse(
        "select source, resource, input_records, loaded, balanced from raw_quarantine.load_audit "
        "order by resource"
    ) == [
        ("carrier", "freight_bill_lines", 0, 0, True),
        ("carrier", "tracking_events", 10, 9, False),
    ]


def test_every_run_leaves_a_balanced_audit_row_per_resource(paths, warehouse) -> None:
    write_tracking(paths.sources, "2026-01-01", "UPSN-0001.jsonl",
                   [tracking_event(n) for n in range(10)] + ["{not json"])  # fmt: skip
    first = ingest("carrier", paths=paths)
    ingest("carrier", paths=paths)

    rows = warehouse(
        "select load_id, input_records, loaded, quarantined, duplicates_skipped, balanced "
        "from raw_quarantine.load_audit where resource = 'tracking_events' order by started_at"
    )
    assert rows[0] == (first.load_id, 11, 10, 1, 0, True)
    assert rows[1][1:] == (11, 0, 0, 11, True)


def test_an_unwritten_source_is_reported_not_crashed(monkeypatch) -> None:
    monkeypatch.setitem(registry.SOURCES, "erp2", "ingestion.erp2:build_source")

    with pytest.raises(SourceNotAvailable, match=r"ingestion\.erp2"):
        registry.builder("erp2")


class _Skips:
    def __init__(self) -> None:
        self.skipped = 0

    def skip_duplicates(self, resource: str, n: int) -> None:
        self.skipped += n


def test_a_key_repeated_in_a_run_keeps_only_its_first_row() -> None:
    keys = _RunKeys({"t": TableSpec("t", ("a", "b"))})
    run = _Skips()
    first = pa.table({"a": ["x", "x", "y", None, None], "b": [1, 1, 2, 3, 3], "v": [1, 2, 3, 4, 5]})
    kept = keys.drop_seen(run, "r", "t", first)
    assert kept.to_pydict() == {"a": ["x", "y", None], "b": [1, 2, 3], "v": [1, 3, 4]}
    # a later file of the same run: keys seen earlier go, its own repeats keep their first row
    later = pa.table({"a": ["x", "z", "z", "y"], "b": [1, 1, 1, 9], "v": [6, 7, 8, 9]})
    kept = keys.drop_seen(run, "r", "t", later)
    assert kept.to_pydict() == {"a": ["z", "y"], "b": [1, 9], "v": [7, 9]}
    assert run.skipped == 4
    unique = pa.table({"a": ["q"], "b": [1], "v": [10]})
    kept = keys.drop_seen(run, "r", "t", unique)
    assert kept.to_pydict() == unique.to_pydict()
    # the usual case: no copy of the values...
    values = unique.column("v").chunk(0).buffers()[1]
    assert kept.column("v").chunk(0).buffers()[1].address == values.address
    # ...and key columns without nulls say so, as dlt's primary key does (else dlt rewrites
    # the file to match)
    assert [f.nullable for f in kept.schema] == [False, False, True]


def test_a_single_column_key_seen_in_an_earlier_file_is_dropped_null_included() -> None:
    keys = _RunKeys({"t": TableSpec("t", ("id",))})
    run = _Skips()
    keys.drop_seen(run, "r", "t", pa.table({"id": ["a", None, "b"], "v": [1, 2, 3]}))
    later = pa.table({"id": ["c", "a", None, "c", "d"], "v": [4, 5, 6, 7, 8]})
    kept = keys.drop_seen(run, "r", "t", later)
    assert kept.to_pydict() == {"id": ["c", "d"], "v": [4, 8]}
    assert run.skipped == 3


def test_jsonl_bisection_finds_each_bad_line_and_keeps_the_others() -> None:
    good = b'{"id": "a", "n": 1}'
    data = b"\n".join([good] * 50 + [b'{"id": "b", "n": '] + [good] * 30 + [b"[1, 2]", b"", good])
    lines = index_lines(data)
    schema = pa.schema([("id", pa.string()), ("n", pa.int64())])

    parsed = parse_jsonl(lines, schema)

    assert parsed.table.num_rows == 81
    assert [(line, reason.split(":")[0]) for line, reason, _ in parsed.rejects] == [
        (51, "invalid JSON record"),
        (82, "invalid JSON record"),
    ]
    assert parsed.line_numbers[-1] == 84  # the blank line 83 is not a record
    assert count_lines(data) == 83


def test_decimals_are_read_leniently_and_garbage_becomes_null() -> None:
    text = pa.array(["12.5", "-3", "1,234.56", ".75", "abc", None, "1e3"])
    assert parse_decimals(text, 18, 2).to_pylist() == [
        Decimal("12.50"), Decimal("-3.00"), Decimal("1234.56"), Decimal("0.75"), None, None, None,
    ]  # fmt: skip
    comma = pa.array(["1.234,56", "-0,5"])
    assert parse_decimals(comma, 18, 2, decimal_comma=True).to_pylist() == [
        Decimal("1234.56"), Decimal("-0.50"),
    ]  # fmt: skip


def test_timestamps_in_marketplace_formats_are_read_as_utc() -> None:
    text = pa.array(["2026-01-15 07:00:00 UTC", "2026-01-15T09:00:00+02:00", "15.01.2026", "junk"])
    assert parse_timestamps(text).to_pylist() == [
        datetime(2026, 1, 15, 7, tzinfo=UTC),
        datetime(2026, 1, 15, 7, tzinfo=UTC),
        datetime(2026, 1, 15, tzinfo=UTC),
        None,
    ]


@pytest.mark.parametrize(
    "values",
    [
        ["2026-01-15 07:00:00 UTC", "2026-01-15 08:30:00 GMT"],
        ["2026-01-15T07:00:00Z", "2026-01-15T10:30:00+02:00"],
        ["2026-01-15 07:00:00", "2026-01-15T08:30:00"],
        # The first value picks which cast is tried first; a column that changes format
        # part-way must still come out whole.
        ["2026-01-15 07:00:00 UTC", "2026-01-15T10:30:00+02:00", "2026-01-15 08:30:00"],
        [None, "2026-01-15T07:00:00Z", "2026-01-15 08:30:00 UTC"],
    ],
)
def test_every_timestamp_column_layout_reads_the_same_instants(values: list[str | None]) -> None:
    expected = [
        None if v is None else datetime.fromisoformat(v.removesuffix(" UTC").removesuffix(" GMT"))
        for v in values
    ]
    expected = [
        None if e is None else (e if e.tzinfo else e.replace(tzinfo=UTC)).astimezone(UTC)
        for e in expected
    ]
    assert parse_timestamps(pa.array(values, pa.string())).to_pylist() == expected
