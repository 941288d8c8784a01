"""One multi-asset per ingestion source, producing the raw tables dbt declares as sources.

Why not ``@dlt_assets``: it runs ``pipeline.run(source)`` itself, while every trueup source must
go through :func:`ingestion.pipeline.run_ingest` (pending-load recovery, quarantine, the
``raw_quarantine.load_audit`` ledger and the conservation check that fails a run losing records).
So each source is a ``@multi_asset`` with one ``AssetSpec`` per raw table, keyed
``[raw_<source>, <table>]`` exactly as the dbt translator keys dbt sources: the graph is one
piece from raw table to exception queue. The tables come from the dbt manifest's sources, the
single list of what downstream reads.
"""

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext

from ingestion.pipeline import dataset_name
from ingestion.registry import SOURCES
from orchestration.resources import (
    MANIFEST_PATH,
    WAREHOUSE_POOL,
    current_paths,
    existing_tables,
    prepare_manifest,
    query,
)
from trueup.settings import Paths


def raw_tables_by_source() -> dict[str, list[str]]:
    """Raw tables per registered source, as declared by dbt sources (``raw_<source>`` schemas)."""
    prepare_manifest()
    manifest = json.loads(MANIFEST_PATH.read_text())
    schemas = {dataset_name(name): name for name in SOURCES}
    tables: dict[str, set[str]] = defaultdict(set)
    for node in manifest["sources"].values():
        source = schemas.get(node["schema"])
        if source:
            tables[source].add(node["identifier"] or node["name"])
    return {name: sorted(tables[name]) for name in SOURCES if tables.get(name)}


def _quarantine_totals(paths: Paths, source: str) -> dict[str, int]:
    """Records quarantined for ``source``: in its latest load and over all loads."""
    if ("raw_quarantine", "load_audit") not in existing_tables(paths):
        return {}
    rows = query(
        paths,
        """
        select
            coalesce(sum(quarantined) filter (where load_id = (
                select max(load_id) from raw_quarantine.load_audit where source = $1
            )), 0),
            coalesce(sum(quarantined), 0)
        from raw_quarantine.load_audit
        where source = $1
        """,
        [source],
    )
    latest, total = rows[0] if rows else (0, 0)
    return {"quarantined_latest_load": int(latest), "quarantined_all_loads": int(total)}


def _row_counts(paths: Paths, schema: str, tables: list[str]) -> dict[str, int | None]:
    """Rows per raw table now (None when the source never produced the table)."""
    present = existing_tables(paths)
    counts: dict[str, int | None] = {}
    for table in tables:
        if (schema, table) in present:
            counts[table] = int(query(paths, f'select count(*) from "{schema}"."{table}"')[0][0])
        else:
            counts[table] = None
    return counts


def build_ingestion_asset(source: str, tables: list[str]) -> dg.AssetsDefinition:
    """The multi-asset that runs one registered source and reports its raw tables.

    Args:
        source: Registered source name (``ingestion.registry.SOURCES``).
        tables: Raw tables it produces (dbt source identifiers in ``raw_<source>``).

    Returns:
        An assets definition in group ``raw_<source>``, pool ``warehouse``.
    """
    schema = dataset_name(source)
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey([schema, table]),
            group_name=schema,
            kinds={"dlt", "duckdb"},
            description=f"{source} raw table `{schema}.{table}`, loaded by `trueup ingest`.",
            tags={"layer": "raw", "source": source},
        )
        for table in tables
    ]

    @dg.multi_asset(
        name=f"ingest_{source}",
        specs=specs,
        pool=WAREHOUSE_POOL,
        description=(
            f"Load the {source} source through ingestion.pipeline.run_ingest (quarantine, "
            "load audit, conservation check)."
        ),
    )
    def _ingest(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        from ingestion.registry import ingest

        paths = current_paths()
        # ConservationError propagates: a run that lost records must fail, not look green.
        result = ingest(source, paths=paths, progress=context.log.info)
        run_metadata: dict[str, Any] = {
            "load_id": result.load_id,
            "records_read": result.input_records,
            "rows_loaded": result.loaded,
            "records_quarantined": result.quarantined,
            "duplicates_skipped": result.duplicates_skipped,
            "seconds": round(result.seconds, 2),
            **_quarantine_totals(paths, source),
        }
        for table, rows in _row_counts(paths, schema, tables).items():
            metadata = dict(run_metadata)
            if rows is not None:
                metadata["dagster/row_count"] = rows
            else:
                metadata["table_missing"] = True
            yield dg.MaterializeResult(asset_key=dg.AssetKey([schema, table]), metadata=metadata)

    return _ingest


def ingestion_assets() -> list[dg.AssetsDefinition]:
    """One assets definition per registered source that dbt reads."""
    return [
        build_ingestion_asset(source, tables) for source, tables in raw_tables_by_source().items()
    ]
