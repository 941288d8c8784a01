"""The Dagster code location (``workspace.yaml``): ingestion, dbt, jobs, schedules, sensors."""

from __future__ import annotations

import dagster as dg

from orchestration.alerts.sensors import ALERT_SENSORS
from orchestration.controls import controls
from orchestration.dbt_assets import trueup_dbt_assets
from orchestration.freshness import freshness_checks, freshness_sensor
from orchestration.ingestion_assets import ingestion_assets
from orchestration.jobs import JOBS
from orchestration.mart_controls import mart_controls
from orchestration.publish import published_warehouse
from orchestration.resources import dbt_resource
from orchestration.schedules import build_schedules
from orchestration.sensors import SENSORS

INGESTION = ingestion_assets()
RAW_KEYS = {key for asset in INGESTION for key in asset.keys}
FRESHNESS_CHECKS = freshness_checks(RAW_KEYS)

defs = dg.Definitions(
    assets=[*INGESTION, trueup_dbt_assets, published_warehouse],
    asset_checks=[
        *controls(RAW_KEYS),
        *FRESHNESS_CHECKS,
        *mart_controls(trueup_dbt_assets.keys),
    ],
    jobs=JOBS,
    schedules=build_schedules(),
    sensors=[*SENSORS, *ALERT_SENSORS, freshness_sensor(FRESHNESS_CHECKS)],
    resources={"dbt": dbt_resource()},
    # DuckDB has one writer: steps run one after another in the run's process (also the fastest
    # executor here, no per-step process start-up).
    executor=dg.in_process_executor,
)
