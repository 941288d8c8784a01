"""Carrier tracking drops and freight bills: once per file, once per event, faults quarantined."""

from __future__ import annotations

import hashlib
import threading
import time

from ingestion import files
from ingestion.registry import ingest
from tests.ingestion.builders import (
    FREIGHT_HEADER,
    freight_line,
    tracking_event,
    write_freight_bill,
    write_tracking,
)


def _day_one(paths) -> None:
    write_tracking(
        paths.sources, "2026-01-01", "UPSN-0001.jsonl", [tracking_event(n) for n in range(40)]
    )
    write_tracking(paths.sources, "2026-01-01", "FDEG-0001.jsonl",
                   [tracking_event(n, scac="FDEG") for n in range(100, 130)])  # fmt: skip
    write_freight_bill(
        paths.sources, "UPSN-20260105.csv", [freight_line("UB1", n) for n in range(1, 21)]
    )


def test_first_load_loads_every_event_and_bill_line(paths, warehouse) -> None:
    _day_one(paths)
    result = ingest("carrier", paths=paths)

    assert result.audit("tracking_events").loaded == 70
    assert result.audit("freight_bill_lines").loaded == 20
    assert warehouse("select count(*), count(distinct id) from raw_carrier.tracking_events") == [
        (70, 70)
    ]
    row = warehouse(
        "select net_charge, invoice_date, zone, source_file, source_line "
        "from raw_carrier.freight_bill_lines where tracking_no = '1ZA1B2C300000003'"
    )
    assert [(str(a), str(d), z, f, n) for a, d, z, f, n in row] == [
        ("12.50", "2026-01-08", 4, "freight_bills/UPSN-20260105.csv", 4)
    ]


def test_second_run_adds_nothing_and_reports_the_files_as_already_loaded(paths, warehouse) -> None:
    _day_one(paths)
    ingest("carrier", paths=paths)
    again = ingest("carrier", paths=paths)

    assert again.loaded == 0
    assert again.audit("tracking_events").files_skipped == 2
    # The file readers' threads ended with their pages, not with the process.
    assert [t.name for t in threading.enumerate() if t.name.startswith("read-")] == []
    assert again.audit("tracking_events").duplicates_skipped == 70
    assert warehouse("select count(*) from raw_carrier.tracking_events") == [(70,)]
    assert warehouse("select count(*) from raw_carrier.freight_bill_lines") == [(20,)]


def test_each_file_keeps_its_own_count_when_files_span_several_listing_pages(
    paths, warehouse
) -> None:
    # dlt lists files in pages of 100 and reads the pages round-robin: a file's count must be
    # its own lines, whatever else is read meanwhile, or a later run misreports skipped files.
    n = 0
    for f in range(230):
        events = [tracking_event(n + i) for i in range(1 + f % 4)]
        n += len(events)
        write_tracking(paths.sources, f"2026-01-{1 + f // 10:02d}", f"UPSN-{f:04d}.jsonl", events)
    first = ingest("carrier", paths=paths)
    assert first.audit("tracking_events").input_records == n
    assert first.audit("tracking_events").loaded == n
    again = ingest("carrier", paths=paths)
    assert again.audit("tracking_events").files_skipped == 230
    assert again.audit("tracking_events").input_records == n
    assert again.audit("tracking_events").duplicates_skipped == n
    assert warehouse("select count(*) from raw_carrier.tracking_events") == [(n,)]


def test_a_new_days_files_are_the_only_ones_loaded(paths, warehouse) -> None:
    _day_one(paths)
    ingest("carrier", paths=paths)
    write_tracking(
        paths.sources, "2026-01-02", "UPSN-0001.jsonl", [tracking_event(n) for n in range(200, 215)]
    )
    write_freight_bill(
        paths.sources, "UPSN-20260112.csv", [freight_line("UB2", n) for n in range(1, 6)]
    )

    result = ingest("carrier", paths=paths)

    assert result.audit("tracking_events").files_read == 1
    assert result.audit("tracking_events").loaded == 15
    assert result.audit("freight_bill_lines").loaded == 5
    assert warehouse("select count(*) from raw_carrier.tracking_events") == [(85,)]


def test_a_redelivered_file_under_another_name_does_not_duplicate_events(paths, warehouse) -> None:
    _day_one(paths)
    ingest("carrier", paths=paths)
    original = paths.sources / "carrier/tracking/2026-01-01/UPSN-0001.jsonl"
    copy = paths.sources / "carrier/tracking/2026-01-02/UPSN-9999.jsonl"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(original.read_bytes())

    result = ingest("carrier", paths=paths)

    assert result.audit("tracking_events").loaded == 0
    assert result.audit("tracking_events").files_skipped == 3  # the two originals and the copy
    assert result.audit("tracking_events").duplicates_skipped == 40 + 30 + 40
    assert warehouse("select count(*) from raw_carrier.tracking_events") == [(70,)]


def test_two_copies_read_in_the_same_run_load_once_the_first_in_file_order(
    paths, warehouse, monkeypatch
) -> None:
    # Files are read two at a time, so a copy sorted right after its original is read while the
    # original still is. Here the copy that starts hashing first finishes last (the original,
    # as a rule): whichever reader is done first, the original is the one loaded.
    _day_one(paths)
    original = paths.sources / "carrier/tracking/2026-01-01/UPSN-0001.jsonl"
    copy = paths.sources / "carrier/tracking/2026-01-01/UPSN-0001a.jsonl"
    copy.write_bytes(original.read_bytes())
    arrivals: list[str] = []

    class SlowHash:
        def sha256(self, data: bytes):
            if data == copy.read_bytes():
                arrivals.append("copy")
                time.sleep(0.4 if len(arrivals) == 1 else 0.1)
            return hashlib.sha256(data)

    monkeypatch.setattr(files, "hashlib", SlowHash())

    result = ingest("carrier", paths=paths)

    audit = result.audit("tracking_events")
    assert (audit.files_read, audit.files_skipped) == (2, 1)
    assert (audit.loaded, audit.duplicates_skipped) == (70, 40)
    assert warehouse(
        "select count(*), count(*) filter (where source_file like '%0001a%') "
        "from raw_carrier.tracking_events"
    ) == [(70, 0)]


def test_events_resent_inside_a_different_file_are_merged_away(paths, warehouse) -> None:
    _day_one(paths)
    ingest("carrier", paths=paths)
    # Ten events already loaded plus five new ones, and one repeated within the file.
    resent = [tracking_event(n) for n in range(30, 45)] + [tracking_event(44)]
    write_tracking(paths.sources, "2026-01-02", "UPSN-0002.jsonl", resent)

    result = ingest("carrier", paths=paths)

    audit = result.audit("tracking_events")
    # 70 in the two unchanged files, 1 repeated within the new file. The ten re-sent events are
    # written (loaded counts rows handed to the destination) and the insert-only merge drops them.
    assert (audit.loaded, audit.duplicates_skipped) == (15, 70 + 1)
    assert warehouse("select count(*), count(distinct id) from raw_carrier.tracking_events") == [
        (75, 75)
    ]


def test_broken_lines_are_quarantined_with_file_line_and_reason_and_the_rest_loads(
    paths, warehouse
) -> None:
    events = [tracking_event(n) for n in range(20)]
    lines: list = list(events)
    lines[4] = '{"id": "evt_SH00000004_1", "description": "tracker.upd'  # truncated
    lines[9] = tracking_event(9, datetime="yesterday-ish")  # no longer fits timestamp
    lines[14] = tracking_event(14, id=None)  # missing key
    write_tracking(paths.sources, "2026-01-01", "UPSN-0001.jsonl", lines)
    rows = [freight_line("UB1", n) for n in range(1, 11)]
    rows[2] = freight_line("UB1", 3, net_charge="N/A")  # bad type
    rows[6] = "UB1,2026-01-08,UPS-ACCT-1,1ZA1B2C300000007"  # wrong column count
    rows[7] = freight_line("UB1", 8) + ",extra"  # wrong column count
    write_freight_bill(paths.sources, "UPSN-20260105.csv", rows)

    result = ingest("carrier", paths=paths)

    assert result.audit("tracking_events").loaded == 17
    assert result.audit("freight_bill_lines").loaded == 7
    rejected = warehouse(
        "select resource, file_or_endpoint, locator, reason, raw_payload, load_id "
        "from raw_quarantine.rejected_records order by resource, locator"
    )
    by_locator = {(r[0], r[2]): r for r in rejected}
    assert set(by_locator) == {
        ("freight_bill_lines", "line 4"),
        ("freight_bill_lines", "line 8"),
        ("freight_bill_lines", "line 9"),
        ("tracking_events", "line 5"),
        ("tracking_events", "line 10"),
        ("tracking_events", "line 15"),
    }
    assert (
        "'net_charge' value 'N/A' is not a valid decimal"
        in by_locator[("freight_bill_lines", "line 4")][3]
    )
    assert "expected 17, got 4" in by_locator[("freight_bill_lines", "line 8")][3]
    assert "invalid JSON" in by_locator[("tracking_events", "line 5")][3]
    assert "not a valid timestamp" in by_locator[("tracking_events", "line 10")][3]
    assert "missing required value in 'id'" in by_locator[("tracking_events", "line 15")][3]
    assert by_locator[("tracking_events", "line 5")][1] == "tracking/2026-01-01/UPSN-0001.jsonl"
    assert by_locator[("tracking_events", "line 5")][4].startswith('{"id": "evt_SH00000004_1"')
    assert {r[5] for r in rejected} == {result.load_id}
    assert result.audit("tracking_events").balanced


def test_a_new_field_in_the_feed_becomes_a_new_column(paths, warehouse) -> None:
    write_tracking(
        paths.sources, "2026-01-01", "UPSN-0001.jsonl", [tracking_event(n) for n in range(5)]
    )
    ingest("carrier", paths=paths)
    write_tracking(paths.sources, "2026-01-02", "UPSN-0001.jsonl",
                   [tracking_event(n, weight_oz=12.5) for n in range(5, 8)])  # fmt: skip
    write_freight_bill(paths.sources, "UPSN-20260112.csv", [freight_line("UB2", 1) + ",3.10"],
                       header=FREIGHT_HEADER + ",dim_factor")  # fmt: skip

    ingest("carrier", paths=paths)

    assert warehouse("select count(weight_oz) from raw_carrier.tracking_events") == [(3,)]
    assert warehouse("select dim_factor from raw_carrier.freight_bill_lines") == [("3.10",)]
