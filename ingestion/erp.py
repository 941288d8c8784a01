"""The ERP database → ``raw_erp``, one table per ERP table.

Uses dlt's ``sql_database`` over any SQLAlchemy URL (the simulator's SQLite file, PostgreSQL...)
with the pyarrow backend (~20x faster than row dicts), whose rows are read column by column
(:mod:`ingestion.sql_arrow`, ~2x faster again than dlt's own conversion). Tables are reflected,
not listed here, so a new ERP table is loaded without a code change; a table filter narrows them.

Per table: ``write_disposition="merge"`` on the reflected primary key, incremental on
``updated_at`` (the cursor lives in dlt state, which dlt also stores in the destination). A table
without ``updated_at`` is re-read in full each run and merged; a table without a primary key is
replaced, since merge needs a key.

Conservation: input = rows the queries returned (counted inside the table loader, before dlt
sees them); duplicates skipped = rows dlt's incremental cursor filtered because they were loaded
at the previous run's boundary (the cursor reads ``updated_at >= last value``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa
from dlt.extract.incremental import Incremental
from dlt.sources.sql_database import sql_database
from dlt.sources.sql_database.helpers import TableLoader
from sqlalchemy import MetaData

from ingestion.config import erp_url, setting, setting_list
from ingestion.pipeline import IngestRun
from ingestion.sql_arrow import ColumnarConverter, fetch_raw
from trueup.settings import Paths

SOURCE = "erp"
CURSOR = "updated_at"
# A query returns each primary key once, so dlt's merge may skip its ROW_NUMBER() pass that
# deduplicates the staging table by key (it doubles the cost of copying staging into the table).
MERGE = {"disposition": "merge", "strategy": "delete-insert", "deduplicated": True}
# dlt remembers the keys of the rows at the last cursor value, so the next run skips them, and
# warns above 200 (its threshold is for cursors of low resolution, such as dates). ERP master
# data is bulk loaded under one timestamp: 25k price rows share it in the simulated company,
# a few hundred kB of state. Warn only where the state would grow large (dlt keeps the threshold
# on its Incremental class, so it is set there, for every incremental of the process).
BOUNDARY_KEYS_WARNING = 250_000


def build_source(
    run: IngestRun,
    paths: Paths | None = None,
    *,
    erp_credentials: str | None = None,
    table_names: list[str] | None = None,
    exclude_tables: list[str] | None = None,
    db_schema: str | None = None,
    chunk_size: int | None = None,
) -> Any:
    """The ERP source for one run: every reflected table, incremental and merged.

    Args:
        run: Run context receiving counts.
        paths: Data-directory layout (default ``$TRUEUP_DATA_DIR``).
        erp_credentials: SQLAlchemy URL; default ``TRUEUP_ERP_URL`` /
            ``sources.erp.credentials`` / the simulated ``erp/erp.sqlite``.
        table_names: Only these tables; default ``TRUEUP_ERP_TABLES`` /
            ``sources.erp.table_names`` / all.
        exclude_tables: Skip these tables; default ``TRUEUP_ERP_EXCLUDE_TABLES`` /
            ``sources.erp.exclude_tables``.
        db_schema: Database schema to reflect; default ``TRUEUP_ERP_SCHEMA`` /
            ``sources.erp.schema`` / the connection's default.
        chunk_size: Rows per arrow batch; default ``sources.erp.chunk_size`` or 100,000.

    Returns:
        The dlt ``sql_database`` source with hints applied.
    """
    url = erp_credentials or erp_url(paths)
    only = table_names or setting_list(SOURCE, "table_names", env="TRUEUP_ERP_TABLES")
    exclude = set(
        exclude_tables
        or setting_list(SOURCE, "exclude_tables", env="TRUEUP_ERP_EXCLUDE_TABLES")
        or []
    )
    schema = db_schema or setting(SOURCE, "schema", env="TRUEUP_ERP_SCHEMA")
    size = int(chunk_size or setting(SOURCE, "chunk_size", default=100_000))

    metadata = MetaData(schema=schema)
    source = sql_database(
        credentials=url,
        schema=schema,
        metadata=metadata,
        table_names=only,
        backend="pyarrow",
        chunk_size=size,
        reflection_level="full",
        detect_precision_hints=None,  # deprecated in favour of reflection_level; None: no warning
        table_loader_class=_counting_loader(run),
    )
    for name in list(source.resources):
        if name in exclude:
            source.resources[name].selected = False
    Incremental.duplicate_cursor_warning_threshold = BOUNDARY_KEYS_WARNING
    for name, resource in source.resources.items():
        if not resource.selected:
            continue
        table = metadata.tables[f"{schema}.{name}" if schema else name]
        primary_key = [c.name for c in table.primary_key.columns]
        hints: dict[str, Any] = {
            "primary_key": primary_key or None,
            "write_disposition": MERGE if primary_key else "replace",
        }
        if CURSOR in table.columns and primary_key:
            # Rows with a NULL cursor are included every run rather than failing the load;
            # the merge keeps them single.
            hints["incremental"] = dlt.sources.incremental(
                CURSOR, on_cursor_value_missing="include"
            )
        resource.apply_hints(**hints)
        # After the incremental step (an appended map would be placed before it): what is left
        # is what dlt will load.
        resource.add_map(_passed_counter(run, name), insert_at=len(resource._pipe.steps))
        run.ledger.resource(name)
    return source


def _counting_loader(run: IngestRun) -> type[TableLoader]:
    """A table loader class that reads columnar (:mod:`ingestion.sql_arrow`) and counts the rows
    each query returns, per table."""

    class CountingTableLoader(TableLoader):
        def load_rows(self, backend_kwargs: dict[str, Any] | None = None) -> Iterator[Any]:
            for item in super().load_rows(backend_kwargs):
                rows = _rows(item)
                run.read(self.table.name, rows)
                # Provisionally skipped; _passed_counter takes back what passes the cursor.
                run.skip_duplicates(self.table.name, rows)
                yield item

        def _load_rows(self, query: Any, backend_kwargs: dict[str, Any]) -> Iterator[Any]:
            if self.backend != "pyarrow":
                yield from super()._load_rows(query, backend_kwargs)
                return
            converter = ColumnarConverter(
                self.table, self.columns, self.engine.dialect, backend_kwargs.get("tz", "UTC")
            )
            with self.engine.connect() as conn:
                for names, rows, processed in fetch_raw(conn, query, self.chunk_size):
                    yield converter.convert(names, rows, processed=processed)

    return CountingTableLoader


def _passed_counter(run: IngestRun, name: str) -> Any:
    """Count what survives the incremental filter; the rest was loaded at the boundary before."""

    def count(item: Any) -> Any:
        run.ledger.resource(name).duplicates_skipped -= _rows(item)
        return item

    return count


def _rows(item: Any) -> int:
    if isinstance(item, pa.Table | pa.RecordBatch):
        return item.num_rows
    return len(item) if isinstance(item, list) else 1
