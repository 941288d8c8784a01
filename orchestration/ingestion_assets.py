"""One multi-asset for every ingestion source, producing the raw tables dbt declares as sources.

Why not ``@dlt_assets``: it runs ``pipeline.run(source)`` itself, while every trueup source must
go through :func:`ingestion.pipeline.run_ingest` (pending-load recovery, quarantine, the
``raw_quarantine.load_audit`` ledger and the conservation check that fails a run losing records).
So ingestion is a ``@multi_asset`` with one ``AssetSpec`` per raw table, keyed
``[raw_<source>, <table>]`` exactly as the dbt translator keys dbt sources: the graph is one
piece from raw table to exception queue. The tables come from the dbt manifest's sources, the
single list of what downstream reads.
"""

import contextlib
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
    reading,
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


def _quarantine_totals(paths: Paths, source: str, present: set, con: Any) -> dict[str, int]:
    """Records quarantined for ``source``: in its latest load and over all loads."""
    if ("raw_quarantine", "load_audit") not in present:
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
        con=con,
    )
    latest, total = rows[0] if rows else (0, 0)
    return {"quarantined_latest_load": int(latest), "quarantined_all_loads": int(total)}


def _row_counts(
    paths: Paths, schema: str, tables: list[str], present: set, con: Any
) -> dict[str, int | None]:
    """Rows per raw table now (None when the source never produced the table)."""
    counts: dict[str, int | None] = {}
    for table in tables:
        if (schema, table) in present:
            sql = f'select count(*) from "{schema}"."{table}"'
            counts[table] = int(query(paths, sql, con=con)[0][0])
        else:
            counts[table] = None
    return counts


def source_specs(source: str, tables: list[str]) -> list[dg.AssetSpec]:
    """One asset per raw table of ``source``, keyed ``[raw_<source>, <table>]``."""
    schema = dataset_name(source)
    return [
        dg.AssetSpec(
            key=dg.AssetKey([schema, table]),
            group_name=schema,
            kinds={"dlt", "duckdb"},
            description=f"{source} raw table `{schema}.{table}`, loaded by `trueup ingest`.",
            tags={"layer": "raw", "source": source},
        )
        for table in tables
    ]


def build_ingestion_asset(tables_by_source: dict[str, list[str]]) -> dg.AssetsDefinition:
    """One step that ingests the selected sources and reports their raw tables.

    One step rather than one per source: the sources' extracts run in worker processes two at
    a time while this process loads them one at a time (``ingestion.parallel``), which steps
    of the in-process executor, one after another, could not do. Selecting any table of a
    source (a per-source job, the UI) runs that whole source.

    Args:
        tables_by_source: Raw tables per registered source (dbt source identifiers).

    Returns:
        A subsettable multi-asset, pool ``warehouse``; each table in group ``raw_<source>``.
    """
    source_of = {
        spec.key: source
        for source, tables in tables_by_source.items()
        for spec in source_specs(source, tables)
    }

    @dg.multi_asset(
        name="ingest",
        specs=[spec for s, tables in tables_by_source.items() for spec in source_specs(s, tables)],
        can_subset=True,
        pool=WAREHOUSE_POOL,
        description=(
            "Load the selected sources through ingestion.pipeline (quarantine, load audit, "
            "conservation check): extracts in parallel worker processes, loads one at a time."
        ),
    )
    def _ingest(context: AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
        from ingestion.parallel import ingest_sources

        paths = current_paths()
        selected = {source_of[key] for key in context.selected_asset_keys}
        names = [source for source in tables_by_source if source in selected]
        failed = []

        def describe(result: Any, con: Any) -> list[dg.MaterializeResult]:
            return list(_materializations(paths, result, tables_by_source[result.source], con))

        outcomes = ingest_sources(names, paths=paths, progress=context.log.info, describe=describe)
        for outcome in outcomes:
            if outcome.error is not None:
                # Conservation errors too: a run that lost records must fail, not look green;
                # the other sources still load first.
                context.log.error(f"{outcome.source}: {outcome.error!r}")
                failed.append(outcome)
                continue
            yield from outcome.details
        if failed:
            raise dg.Failure(
                "Ingestion failed for " + ", ".join(o.source for o in failed),
                metadata={o.source: str(o.error) for o in failed},
            ) from failed[0].error

    return _ingest


def _materializations(
    paths: Paths, result: Any, tables: list[str], held: Any
) -> Iterator[dg.MaterializeResult]:
    """One materialization per raw table of a loaded source, with the run's counts.

    Read through ``held``, the connection ingestion holds the warehouse open with; for another
    destination (None) through one read-only connection (one per query cost ~7 s per run).
    """
    source = result.source
    schema = dataset_name(source)
    with contextlib.nullcontext(held) if held is not None else reading(paths) as con:
        present = existing_tables(paths, con=con) if con is not None else set()
        totals = _quarantine_totals(paths, source, present, con)
        counts = _row_counts(paths, schema, tables, present, con)
    run_metadata: dict[str, Any] = {
        "load_id": result.load_id,
        "records_read": result.input_records,
        "rows_loaded": result.loaded,
        "records_quarantined": result.quarantined,
        "duplicates_skipped": result.duplicates_skipped,
        "seconds": round(result.seconds, 2),
        **totals,
    }
    for table, rows in counts.items():
        metadata = dict(run_metadata)
        if rows is not None:
            metadata["dagster/row_count"] = rows
        else:
            metadata["table_missing"] = True
        yield dg.MaterializeResult(asset_key=dg.AssetKey([schema, table]), metadata=metadata)


def ingestion_assets() -> list[dg.AssetsDefinition]:
    """The ingestion step: every registered source that dbt reads."""
    return [build_ingestion_asset(raw_tables_by_source())]
