"""Great Expectations controls as blocking asset checks on raw tables.

One suite per raw table, stored as JSON in ``expectations/<schema>__<table>.json`` so reviewers
diff rules, not code. Only the rows of the table's latest load are validated when the table has
``_dlt_load_id`` (a full table would re-judge history on every run; the pipelines add it to arrow
loads too); a table without it is validated whole, which the check's metadata says. Checks are blocking: a raw
table failing its structural controls must not reach the reconciliation, where it would show up
as false exceptions. GX is imported inside the check (5-7 s import) and runs on pandas (its
DuckDB SQL datasource does not work with this stack), over the columns the suite names only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dagster as dg

from orchestration.resources import current_paths, existing_tables, query
from trueup.settings import REPO_ROOT, Paths

EXPECTATIONS_DIR = REPO_ROOT / "expectations"


def suite_files() -> dict[dg.AssetKey, Path]:
    """Suite file per raw asset key (``raw_wms__shipments.json`` → ``raw_wms/shipments``)."""
    out = {}
    for path in sorted(EXPECTATIONS_DIR.glob("*.json")):
        schema, _, table = path.stem.partition("__")
        if schema and table:
            out[dg.AssetKey([schema, table])] = path
    return out


def suite_columns(suite_json: dict[str, Any]) -> list[str] | None:
    """The columns a suite's expectations name, or None when one of them judges the whole table.

    The frame validated holds only these: at 10M order lines a first load hands millions of
    rows to pandas, and every other column would be read, converted and held for nothing.
    """
    names: list[str] = []
    for expectation in suite_json["expectations"]:
        kwargs = expectation.get("kwargs", {})
        named = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
        named += list(kwargs.get("column_list", []))
        if not named:
            return None
        names += [n for n in named if n not in names]
    return names


def new_rows_sql(
    paths: Paths, schema: str, table: str, only: list[str] | None = None
) -> tuple[str, list[Any], str]:
    """SQL selecting the rows to validate (``only`` these columns, where given), its parameters
    and a description of the scope."""
    columns = {r[0] for r in query(paths, f'describe "{schema}"."{table}"')}
    # A named column the table lacks is left out of the frame, so GX reports it missing.
    select = ", ".join(f'"{c}"' for c in only or [] if c in columns) or "*"
    has_audit = ("raw_quarantine", "load_audit") in existing_tables(paths)
    if "_dlt_load_id" in columns and has_audit:
        source = schema.removeprefix("raw_")
        sql = (
            f'select {select} from "{schema}"."{table}" where _dlt_load_id = ('
            "select load_id from raw_quarantine.load_audit where source = $1 "
            "order by started_at desc limit 1)"
        )
        return sql, [source], "rows of the latest load"
    return f'select {select} from "{schema}"."{table}"', [], "whole table (no _dlt_load_id)"


def validate_frame(suite_json: dict[str, Any], frame: Any) -> Any:
    """Validate a pandas DataFrame against a suite given as GX JSON; return the GX result."""
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    batch_definition = (
        context.data_sources.add_pandas("trueup")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = gx.ExpectationSuite(name=suite_json["name"], expectations=suite_json["expectations"])
    return batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)


def build_control(key: dg.AssetKey, suite_path: Path) -> dg.AssetChecksDefinition:
    """A blocking asset check validating ``key``'s newly loaded rows with one suite file."""
    schema, table = key.path

    @dg.asset_check(
        asset=key,
        name=f"gx_{suite_path.stem}",
        blocking=True,
        description=f"Great Expectations suite {suite_path.name} on newly loaded rows.",
    )
    def _control() -> dg.AssetCheckResult:
        import duckdb

        paths = current_paths()
        if (schema, table) not in existing_tables(paths):
            return dg.AssetCheckResult(passed=True, metadata={"skipped": "table not loaded yet"})
        suite = json.loads(suite_path.read_text())
        sql, params, scope = new_rows_sql(paths, schema, table, suite_columns(suite))
        with duckdb.connect(str(paths.warehouse), read_only=True) as con:
            frame = con.execute(sql, params).df()
        result = validate_frame(suite, frame)
        failed = [
            f"{r.expectation_config.type}({r.expectation_config.kwargs.get('column')})"
            for r in result.results
            if not r.success
        ]
        return dg.AssetCheckResult(
            passed=bool(result.success),
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "scope": scope,
                "rows_validated": len(frame),
                "expectations": len(result.results),
                "failed_expectations": ", ".join(failed) or "none",
            },
        )

    return _control


def controls(known_keys: set[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """One control per suite whose table is an asset of the code location."""
    return [build_control(k, p) for k, p in suite_files().items() if k in known_keys]
