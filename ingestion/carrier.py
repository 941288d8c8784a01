"""Carrier tracking webhooks and freight bills → ``raw_carrier``.

- ``carrier/tracking/YYYY-MM-DD/<scac>-<nnnn>.jsonl``: webhook drops, one event per line →
  table ``tracking_events``. Events are immutable and carriers re-send them, so the table
  merges with dlt's ``insert-only`` strategy on the event ``id``: the first copy wins, a re-sent
  event (a repeated scan, a re-delivered or overlapping file) adds nothing.
- ``carrier/freight_bills/<scac>-<YYYYMMDD>.csv``: freight invoices → table
  ``freight_bill_lines``, one line per shipment: primary key ``(invoice_no, tracking_no)``, merge
  key ``invoice_no``: a re-issued or extended bill replaces all of its lines.

Files are parsed by pyarrow; a bad line (truncated JSON, a non-numeric charge, a wrong number of
fields, a missing key) is quarantined with its file and line number and the rest of the file
loads. New fields/columns in a feed are added to the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from ingestion.config import source_dir
from ingestion.files import (
    SourceFile,
    TableSpec,
    count_lines,
    file_resource,
    report_rejects,
    with_provenance,
)
from ingestion.parsing import Column, coerce, index_lines, parse_delimited, parse_jsonl
from ingestion.pipeline import IngestRun
from trueup.settings import Paths

SOURCE = "carrier"

TRACKING = TableSpec(
    "tracking_events",
    ("id",),
    write_disposition={"disposition": "merge", "strategy": "insert-only"},
)
# file_resource drops a key already seen in the run, so dlt's merge may skip its per-key
# ROW_NUMBER() pass over the staging table.
FREIGHT_BILLS = TableSpec(
    "freight_bill_lines",
    ("invoice_no", "tracking_no"),
    {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True},
    merge_key=("invoice_no",),
)

# JSON types of the known event fields as they arrive (EasyPost-like ``tracker.updated`` events;
# timestamps and dates are strings on the wire). Anything else in an event, such as the nested
# ``tracking_location``, is inferred and kept.
TRACKING_WIRE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("description", pa.string()),
        ("carrier", pa.string()),
        ("tracking_code", pa.string()),
        ("status", pa.string()),
        ("status_detail", pa.string()),
        ("message", pa.string()),
        ("datetime", pa.string()),
        ("signed_by", pa.string()),
        ("est_delivery_date", pa.string()),
        ("shipment_reference", pa.string()),
    ]
)
TRACKING_COLUMNS: tuple[Column, ...] = (
    Column("id", required=True),
    Column("description"),
    Column("carrier"),
    Column("tracking_code", required=True),
    Column("status"),
    Column("status_detail"),
    Column("message"),
    Column("datetime", "timestamp"),
    Column("signed_by"),
    Column("est_delivery_date", "date"),
    Column("shipment_reference"),
)
# One line per shipment on a weekly carrier invoice.
FREIGHT_BILL_COLUMNS: tuple[Column, ...] = (
    Column("invoice_no", required=True),
    Column("invoice_date", "date"),
    Column("account_no"),
    Column("tracking_no", required=True),
    Column("pro_no"),
    Column("ship_date", "date"),
    Column("service"),
    Column("zone", "int"),
    Column("actual_weight_lb", "decimal", scale=1),
    Column("billed_weight_lb", "decimal", scale=1),
    Column("base_charge", "decimal", scale=2),
    Column("fuel_surcharge", "decimal", scale=2),
    Column("accessorial_code"),
    Column("accessorial_charge", "decimal", scale=2),
    Column("net_charge", "decimal", scale=2),
    Column("reference"),
    Column("bol_no"),
)


def build_source(
    run: IngestRun, paths: Paths | None = None, *, bucket_url: str | None = None
) -> list[Any]:
    """The carrier resources for one run.

    Args:
        run: Run context receiving counts and rejects.
        paths: Data-directory layout (default ``$TRUEUP_DATA_DIR``).
        bucket_url: Folder holding ``tracking/`` and ``freight_bills/``; default from
            ``TRUEUP_CARRIER_DIR`` / ``sources.carrier.bucket_url`` / the simulated company.

    Returns:
        The ``tracking_events`` and ``freight_bill_lines`` resources.
    """
    root = bucket_url or source_dir(SOURCE, env="TRUEUP_CARRIER_DIR", subdir="carrier", paths=paths)
    return [
        file_resource(
            run,
            name=TRACKING.name,
            bucket_url=root,
            file_glob="tracking/**/*.jsonl",
            reader=read_tracking_file,
            tables=(TRACKING,),
            count_records=count_lines,
        ),
        file_resource(
            run,
            name=FREIGHT_BILLS.name,
            bucket_url=root,
            file_glob="freight_bills/*.csv",
            reader=read_freight_bill,
            tables=(FREIGHT_BILLS,),
            count_records=lambda data: count_lines(data, header=True),
        ),
    ]


def read_tracking_file(
    run: IngestRun, resource: str, file: SourceFile
) -> Iterator[tuple[str, pa.Table]]:
    """Parse one webhook drop (JSON lines) into tracking events.

    Args:
        run: Run context.
        resource: Resource name for counts and quarantine.
        file: The file.

    Yields:
        ``("tracking_events", table)`` with ``source_file`` and ``source_line`` added.
    """
    lines = index_lines(file.data)
    run.read(resource, len(lines))
    parsed = coerce(parse_jsonl(lines, TRACKING_WIRE_SCHEMA), TRACKING_COLUMNS)
    report_rejects(run, resource, file, lines, parsed.rejects)
    yield TRACKING.name, with_provenance(parsed.table, file, parsed.line_numbers)


def read_freight_bill(
    run: IngestRun, resource: str, file: SourceFile
) -> Iterator[tuple[str, pa.Table]]:
    """Parse one freight bill CSV into bill lines.

    Args:
        run: Run context.
        resource: Resource name for counts and quarantine.
        file: The file.

    Yields:
        ``("freight_bill_lines", table)`` with ``source_file`` and ``source_line`` added.
    """
    lines = index_lines(file.data, whitespace_is_blank=False)
    run.read(resource, max(len(lines) - 1, 0))
    parsed = coerce(parse_delimited(lines, delimiter=","), FREIGHT_BILL_COLUMNS)
    report_rejects(run, resource, file, lines, parsed.rejects)
    yield FREIGHT_BILLS.name, with_provenance(parsed.table, file, parsed.line_numbers)
