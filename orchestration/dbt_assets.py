"""The dbt project as Dagster assets: staging → canonical → rec_ marts → exception queue.

Keys mirror the warehouse path ``[schema, table]`` (``[raw_erp, shipments]``,
``[staging, stg_erp__shipments]``, ``[marts, exceptions]``), so the Dagster graph, the dbt DAG
and the DuckDB catalogue read the same and dbt sources meet the ingestion assets' keys. dbt
tests, source tests included, stream back as asset checks.
"""

import json
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from orchestration.charts import exception_chart_metadata
from orchestration.resources import (
    MANIFEST_PATH,
    WAREHOUSE_POOL,
    current_paths,
    dbt_project,
    existing_tables,
    newest_project_mtime,
    query,
)
from trueup.dbt import dbt_env, manifest_as_of
from trueup.settings import Paths

EXCEPTIONS_KEY = dg.AssetKey(["marts", "exceptions"])


class TrueupTranslator(DagsterDbtTranslator):
    """Warehouse-path keys and one group per layer (staging per source)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        """``[schema, relation name]`` for sources, models and seeds."""
        props = dbt_resource_props
        if props["resource_type"] == "source":
            return dg.AssetKey([props["schema"], props.get("identifier") or props["name"]])
        if props["resource_type"] in ("model", "seed", "snapshot"):
            return dg.AssetKey([props["schema"], props.get("alias") or props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """``staging_<source>``, ``canonical``, ``reconciliation``, ``exceptions``, ``journey``,
        ``rules`` (seeds); sources keep the ``raw_<source>`` group of their ingestion asset."""
        props = dbt_resource_props
        if props["resource_type"] == "source":
            return props["schema"]
        if props["resource_type"] == "seed":
            return "rules"
        fqn = props.get("fqn") or []
        if len(fqn) >= 4 and fqn[1] == "staging":
            return f"staging_{fqn[2]}"
        return fqn[1] if len(fqn) >= 3 else "dbt"


TRANSLATOR = TrueupTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True, enable_source_tests_as_checks=True
    )
)


def _materializations() -> dict[dg.AssetKey, str]:
    """dbt materialization per model/seed key (views are not counted: counting runs them)."""
    manifest = json.loads(MANIFEST_PATH.read_text())
    out = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] in ("model", "seed"):
            key = TRANSLATOR.get_asset_key(node)
            out[key] = node.get("config", {}).get("materialized", "seed")
    return out


def exception_queue_metadata(paths: Paths) -> dict[str, Any]:
    """Open exceptions by type and by owner, and the open amount at risk, for the queue asset."""
    if ("marts", "exceptions") not in existing_tables(paths):
        return {}
    by_type = query(
        paths,
        "select exception_type, count(*), coalesce(sum(amount_at_risk), 0) from marts.exceptions "
        "where status = 'open' group by 1 order by 1",
    )
    by_owner = query(
        paths,
        "select owner_team, count(*) from marts.exceptions where status = 'open' "
        "group by 1 order by 1",
    )
    return {
        "open_exceptions": sum(int(n) for _, n, _ in by_type),
        "open_amount_at_risk": float(sum(a for _, _, a in by_type)),
        "open_by_type": {str(t): int(n) for t, n, _ in by_type},
        "amount_at_risk_by_type": {str(t): float(a) for t, _, a in by_type},
        "open_by_owner": {str(o): int(n) for o, n in by_owner},
    }


def row_counts(
    keys: list[dg.AssetKey], kinds: Mapping[dg.AssetKey, str], paths: Paths
) -> dict[dg.AssetKey, int]:
    """Row counts of the tables among ``keys`` (views are not counted: counting runs them).

    One read-only connection for all of them: opening a 2 GB warehouse costs ~0.15 s, which per
    model added ~15 s to a build of 40 tables.
    """
    import duckdb

    if not paths.warehouse.exists():
        return {}
    counted = [k for k in dict.fromkeys(keys) if kinds.get(k) not in (None, "view", "ephemeral")]
    out: dict[dg.AssetKey, int] = {}
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        tables = {
            (str(s), str(t))
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        for key in counted:
            schema, table = key.path[-2], key.path[-1]
            if (schema, table) in tables:
                sql = f'select count(*) from "{schema}"."{table}"'
                out[key] = int(con.execute(sql).fetchone()[0])
    return out


def _with_metadata(event: Any, key: dg.AssetKey, counts: Mapping[dg.AssetKey, int], paths: Paths):
    """The event with its row count (tables only) and, for the queue, its summary."""
    extra: dict[str, Any] = {}
    if key in counts:
        extra["dagster/row_count"] = counts[key]
    if key == EXCEPTIONS_KEY:
        extra.update(exception_queue_metadata(paths))
        extra.update(exception_chart_metadata(paths))
    return event.with_metadata({**(event.metadata or {}), **extra}) if extra else event


PROJECT = dbt_project()
MANIFEST_LOADED_AT = MANIFEST_PATH.stat().st_mtime
KINDS = _materializations()


def failed_blocking_checks(context: AssetExecutionContext) -> list[str]:
    """The blocking asset checks that failed earlier in this run (``asset:check`` names)."""
    records = context.instance.get_records_for_run(
        context.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    failed = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.blocking and not evaluation.passed:
            failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return sorted(failed)


@dbt_assets(
    manifest=PROJECT.manifest_path,
    project=PROJECT,
    dagster_dbt_translator=TRANSLATOR,
    pool=WAREHOUSE_POOL,
)
def trueup_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
    """``dbt build`` of the selected models, seeds and tests against the current data dir.

    Events are collected and yielded after dbt exits: dbt holds the DuckDB file read-write while
    it runs, and the row counts and queue summary need to read it. The cost is that the UI sees
    the dbt results at the end of the step rather than one by one.
    """
    import os

    if newest_project_mtime() > MANIFEST_LOADED_AT:
        # The events of a dbt run only map onto the graph this process loaded.
        raise dg.Failure(
            "The dbt project changed since the code location was loaded: reload it "
            "(Deployment > Reload in the UI, or restart `trueup run`)."
        )
    failed_controls = failed_blocking_checks(context)
    if failed_controls:
        # Dagster deselects only the dbt nodes it sees as direct dependents, and staging views
        # read the raw tables live: without this stop, marts would be rebuilt from the bad load.
        raise dg.Failure(
            "Not rebuilding the models from data that failed a blocking control: "
            + ", ".join(failed_controls),
            metadata={"failed_controls": ", ".join(failed_controls)},
        )
    paths = current_paths()
    os.environ.update(dbt_env(paths))  # the profile reads TRUEUP_WAREHOUSE
    # as_of through the environment, not --vars: it changes every run, and changed vars make
    # dbt re-parse the whole project (the as_of macro reads it at run time only).
    as_of = manifest_as_of(paths)
    if as_of:
        os.environ["TRUEUP_AS_OF"] = as_of
    else:
        os.environ.pop("TRUEUP_AS_OF", None)
    args = ["build"]
    invocation = dbt.cli(
        args, context=context, raise_on_error=False, target_path=paths.dbt_target / "dagster"
    )
    try:
        events = list(invocation.stream())
    except BaseException:
        # Do not leave dbt running (and holding the warehouse lock) behind a failed step.
        if invocation.process.poll() is None:
            invocation.process.terminate()
            invocation.process.wait(timeout=60)
        raise
    keys = [
        context.asset_key_for_output(e.output_name) if isinstance(e, dg.Output) else e.asset_key
        for e in events
        if isinstance(e, dg.Output | dg.AssetMaterialization)
    ]
    counts = row_counts(keys, KINDS, paths)
    for event in events:
        if isinstance(event, dg.Output):
            key = context.asset_key_for_output(event.output_name)
            yield _with_metadata(event, key, counts, paths)
        elif isinstance(event, dg.AssetMaterialization):
            yield _with_metadata(event, event.asset_key, counts, paths)
        else:
            yield event
    if not invocation.is_successful():
        raise dg.Failure("dbt build failed", metadata={"error": str(invocation.get_error())})
