"""Jobs: the full reconciliation, the hourly incremental refresh, and per-source refreshes."""

from __future__ import annotations

import dagster as dg

from ingestion.pipeline import dataset_name
from ingestion.registry import SOURCES

# Everything: seeds (the rules finance edits), every source, every model and every check.
full_reconciliation = dg.define_asset_job(
    "full_reconciliation",
    selection=dg.AssetSelection.all(),
    description="Ingest every source, reload the rules seeds and rebuild every model and check.",
)

# Incremental sources, then only what depends on them: the rules seeds are not reloaded hourly.
ingest_and_rebuild = dg.define_asset_job(
    "ingest_and_rebuild",
    selection=dg.AssetSelection.groups(*[dataset_name(s) for s in SOURCES]).downstream(),
    description="Load what is new in every source, then rebuild what depends on the raw tables.",
)


def source_refresh_job(source: str) -> dg.UnresolvedAssetJobDefinition:
    """Ingest one source and rebuild everything downstream of its raw tables."""
    return dg.define_asset_job(
        f"refresh_{source}",
        selection=dg.AssetSelection.groups(dataset_name(source)).downstream(),
        description=f"Load new {source} data, then rebuild what depends on it.",
    )


edi_refresh = source_refresh_job("edi")
carrier_refresh = source_refresh_job("carrier")

JOBS = [full_reconciliation, ingest_and_rebuild, edi_refresh, carrier_refresh]
