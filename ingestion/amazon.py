"""Amazon settlement reports (V2 flat files) → ``raw_amazon``.

Each ``amazon/settlements/*.tsv`` is one settlement: a header, a summary row (settlement id,
period, deposit date, total amount, currency) and one row per order item × amount component.
Columns are mapped by header name, because Amazon documents 23 columns and real files carry 24;
an unknown new column is kept as text. Dates and decimals are parsed leniently (marketplaces
write ``2026-01-15 07:00:00 UTC``, ``15.01.2026``, ``1.234,56``) and stored in UTC.

Tables (dataset ``raw_amazon``):

- ``settlements``: the summary rows; primary key ``settlement_id``.
- ``settlement_lines``: the detail rows; primary key ``(settlement_id, source_line)`` where
  ``source_line`` is the physical line in the file. Merge key ``settlement_id``: a corrected report
  for a settlement replaces all of its lines (dlt ``delete-insert``), never mixes old and new.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.config import source_dir
from ingestion.files import (
    SourceFile,
    TableSpec,
    count_lines,
    file_resource,
    report_rejects,
    with_provenance,
)
from ingestion.parsing import Column, coerce, index_lines, parse_delimited
from ingestion.pipeline import IngestRun
from trueup.settings import Paths

SOURCE = "amazon"
RESOURCE = "settlements"

# file_resource drops a key already seen in the run, so dlt's merge may skip its per-key
# ROW_NUMBER() pass over the staging table.
MERGE = {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}
SETTLEMENTS = TableSpec("settlements", ("settlement_id",), MERGE)
SETTLEMENT_LINES = TableSpec(
    "settlement_lines", ("settlement_id", "source_line"), MERGE, merge_key=("settlement_id",)
)


def _col(header: str, kind: str = "string", **kw: Any) -> Column:
    return Column(header.replace("-", "_"), kind, source=header, **kw)


# Settlement report V2 columns, by header name (see /work/shared/DOMAIN.md section 2).
COLUMNS: tuple[Column, ...] = (
    _col("settlement-id", required=True),
    _col("settlement-start-date", "timestamp"),
    _col("settlement-end-date", "timestamp"),
    _col("deposit-date", "timestamp"),
    _col("total-amount", "decimal", precision=18, scale=2),
    _col("currency"),
    _col("transaction-type"),
    _col("order-id"),
    _col("merchant-order-id"),
    _col("adjustment-id"),
    _col("shipment-id"),
    _col("marketplace-name"),
    _col("amount-type"),
    _col("amount-description"),
    _col("amount", "decimal", precision=18, scale=2),
    _col("fulfillment-id"),
    _col("posted-date", "date"),
    _col("posted-date-time", "timestamp"),
    _col("order-item-code"),
    _col("merchant-order-item-id"),
    _col("merchant-adjustment-item-id"),
    _col("sku"),
    _col("quantity-purchased", "int"),
    _col("promotion-id"),
)
SUMMARY_COLUMNS = (
    "settlement_id",
    "settlement_start_date",
    "settlement_end_date",
    "deposit_date",
    "total_amount",
    "currency",
)


def build_source(
    run: IngestRun, paths: Paths | None = None, *, bucket_url: str | None = None
) -> Any:
    """The Amazon settlement resource for one run.

    Args:
        run: Run context receiving counts and rejects.
        paths: Data-directory layout (default ``$TRUEUP_DATA_DIR``).
        bucket_url: Folder holding ``settlements/*.tsv``; default from ``TRUEUP_AMAZON_DIR`` /
            ``sources.amazon.bucket_url`` / the simulated company's ``amazon`` folder.

    Returns:
        The dlt resource ``settlements`` writing tables ``settlements`` and ``settlement_lines``.
    """
    root = bucket_url or source_dir(SOURCE, env="TRUEUP_AMAZON_DIR", subdir="amazon", paths=paths)
    return file_resource(
        run,
        name=RESOURCE,
        bucket_url=root,
        file_glob="settlements/*.tsv",
        reader=read_settlement,
        tables=(SETTLEMENTS, SETTLEMENT_LINES),
        count_records=lambda data: count_lines(data, header=True),
    )


def read_settlement(
    run: IngestRun, resource: str, file: SourceFile
) -> Iterator[tuple[str, pa.Table]]:
    """Parse one settlement file into its summary and detail rows.

    Args:
        run: Run context (input count and rejects are reported to it).
        resource: Resource name for counts and quarantine.
        file: The file.

    Yields:
        ``("settlements", table)`` and ``("settlement_lines", table)``.
    """
    lines = index_lines(file.data, whitespace_is_blank=False)
    run.read(resource, max(len(lines) - 1, 0))
    parsed = parse_delimited(lines, delimiter="\t", quoting=False)
    parsed = coerce(parsed, COLUMNS, decimal_comma=_decimal_comma(parsed.table))
    table = parsed.table
    # The summary row fills total-amount but carries no transaction; Amazon puts it first, but
    # classify every row so a file with several settlements (or reordered rows) still splits.
    is_summary = pc.and_(
        table.column("total_amount").is_valid(),
        pc.and_(table.column("transaction_type").is_null(), table.column("amount").is_null()),
    )
    summary_mask = np.asarray(is_summary.to_numpy(zero_copy_only=False), dtype=bool)
    detail = parsed.keep(~summary_mask)
    no_amount = np.asarray(detail.table.column("amount").is_null().to_numpy(zero_copy_only=False))
    for line_no in detail.line_numbers[no_amount]:
        parsed.rejects.add(line_no, "detail row without an amount", b"")
    detail = detail.keep(~no_amount)
    report_rejects(run, resource, file, lines, parsed.rejects)

    summary = parsed.keep(summary_mask)
    yield (
        SETTLEMENTS.name,
        with_provenance(summary.table.select(list(SUMMARY_COLUMNS)), file, summary.line_numbers),
    )
    detail_columns = [c for c in detail.table.column_names if c not in SUMMARY_COLUMNS[1:]]
    yield (
        SETTLEMENT_LINES.name,
        with_provenance(detail.table.select(detail_columns), file, detail.line_numbers),
    )


def _decimal_comma(table: pa.Table) -> bool:
    """Whether this file writes decimal commas, judged from all its money values together."""
    values = [
        table.column(name).drop_null()
        for name in ("total-amount", "amount")
        if name in table.column_names
    ]
    if not values:
        return False
    text = pa.concat_arrays([v.combine_chunks() for v in values])
    comma = pc.sum(pc.match_substring_regex(text, r"^\s*[+-]?[\d.]*,\d{1,2}\s*$")).as_py() or 0
    dot = pc.sum(pc.match_substring_regex(text, r"^\s*[+-]?[\d,]*\.\d{1,2}\s*$")).as_py() or 0
    return comma > dot
