"""Publishing the marts for BI tools: what is published, and that readers never see a half build.

The warehouse here is a few hand-made tables, not a dbt build: what matters is the copy, the
atomic swap and the manifest, and a synthetic warehouse lets the concurrency test publish dozens
of versions in seconds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from orchestration.publish import (
    DATABASE_NAME,
    KEEP_PARQUET_VERSIONS,
    MANIFEST_NAME,
    publish,
    read_manifest,
)
from trueup.settings import Paths


def _make_warehouse(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    """Two marts whose row counts always match, a dimension, and tables that must stay private."""
    for schema in ("marts", "canonical", "staging"):
        con.execute(f"create schema if not exists {schema}")
    con.execute(f"create or replace table marts.rec_a as select range as id from range({rows})")
    con.execute(f"create or replace table marts.rec_b as select range as id from range({rows})")
    con.execute("create or replace table canonical.dim_items as select 1 as item_id")
    con.execute("create or replace table canonical.fct_order_lines as select 1 as x")
    con.execute("create or replace view staging.stg_x as select 1 as x")
    con.execute("create or replace table marts.exceptions__dbt_tmp as select 1 as x")


@pytest.fixture
def warehouse(paths: Paths) -> Paths:
    with duckdb.connect(str(paths.warehouse)) as con:
        _make_warehouse(con, rows=5)
    return paths


def test_marts_and_finance_dimensions_are_published_and_nothing_else(warehouse: Paths) -> None:
    result = publish(warehouse, run_id="run-1", as_of="2026-01-22T00:00:00")
    assert result.version == 1
    assert result.row_counts == {
        "canonical.dim_items": 1,
        "marts.rec_a": 5,
        "marts.rec_b": 5,
    }
    db = warehouse.published / DATABASE_NAME
    with duckdb.connect(str(db), read_only=True) as con:
        # Schema-qualified names resolve: the file is not named after a schema inside it.
        assert con.execute("select count(*) from marts.rec_a").fetchone() == (5,)
        tables = {
            f"{s}.{t}"
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        recorded = con.execute(
            "select distinct version, run_id, as_of from marts._published"
        ).fetchall()
    assert tables == {"canonical.dim_items", "marts.rec_a", "marts.rec_b", "marts._published"}
    assert recorded == [(1, "run-1", "2026-01-22T00:00:00")]


def test_parquet_and_the_manifest_describe_the_same_version(warehouse: Paths) -> None:
    publish(warehouse, run_id="run-1")
    manifest = read_manifest(warehouse.published)
    assert manifest is not None
    assert manifest["version"] == 1 and manifest["run_id"] == "run-1"
    parquet = warehouse.published / "parquet"
    assert json.loads((parquet / MANIFEST_NAME).read_text()) == manifest
    counted = duckdb.sql(f"select count(*) from '{parquet / 'rec_b.parquet'}'").fetchall()
    assert counted == [(manifest["row_counts"]["marts.rec_b"],)]


def test_each_publish_is_a_new_version_and_old_parquet_versions_are_pruned(
    warehouse: Paths,
) -> None:
    for _ in range(KEEP_PARQUET_VERSIONS + 2):
        last = publish(warehouse)
    assert last.version == KEEP_PARQUET_VERSIONS + 2
    kept = sorted(p.name for p in (warehouse.published / "parquet_versions").iterdir())
    assert len(kept) == KEEP_PARQUET_VERSIONS
    assert os.path.realpath(warehouse.published / "parquet").endswith(kept[-1])
    leftovers = [p.name for p in warehouse.published.iterdir() if "building" in p.name]
    assert leftovers == []


def test_a_failed_publish_leaves_the_published_version_untouched(warehouse: Paths) -> None:
    publish(warehouse)
    before = (warehouse.published / DATABASE_NAME).read_bytes()
    with (
        duckdb.connect(str(warehouse.warehouse)) as con,
        pytest.raises(duckdb.Error),
    ):
        con.execute("drop table marts.rec_b")
        con.execute("create view marts.rec_b as select * from no_such_table")
        publish(warehouse, con=con)
    assert read_manifest(warehouse.published)["version"] == 1
    assert (warehouse.published / DATABASE_NAME).read_bytes() == before
    assert not [p for p in warehouse.published.iterdir() if "building" in p.name]


# Run in a separate process: what a BI tool sees. Every loop opens the published file afresh (as
# a BI tool does per query), and checks that both marts and the manifest inside the file agree,
# and that the Parquet version the link points at agrees with its own manifest.
_READER = textwrap.dedent(
    """
    import json, os, sys, time
    import duckdb
    published, seconds = sys.argv[1], float(sys.argv[2])
    seen, errors, reads = set(), [], 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            db = os.path.join(published, "warehouse.duckdb")
            if not os.path.exists(db):
                continue
            with duckdb.connect(db, read_only=True) as con:
                a = con.execute("select count(*) from marts.rec_a").fetchone()[0]
                b = con.execute("select count(*) from marts.rec_b").fetchone()[0]
                recorded = dict(con.execute(
                    "select table_name, row_count from marts._published"
                ).fetchall())
                version = con.execute("select max(version) from marts._published").fetchone()[0]
            if not (a == b == recorded["marts.rec_a"] == recorded["marts.rec_b"]):
                errors.append(f"db v{version}: rec_a={a} rec_b={b} manifest={recorded}")
            seen.add(version)
            parquet = os.path.realpath(os.path.join(published, "parquet"))
            manifest = json.load(open(os.path.join(parquet, "_published.json")))
            pa = duckdb.sql(f"select count(*) from '{parquet}/rec_a.parquet'").fetchone()[0]
            pb = duckdb.sql(f"select count(*) from '{parquet}/rec_b.parquet'").fetchone()[0]
            if not (pa == pb == manifest["row_counts"]["marts.rec_a"]):
                errors.append(f"parquet v{manifest['version']}: {pa} {pb}")
            json.load(open(os.path.join(published, "_published.json")))
            reads += 1
        except Exception as exc:
            errors.append(repr(exc))
    print(json.dumps({"versions": sorted(seen), "errors": errors[:20], "reads": reads}))
    """
)


def test_a_reader_in_another_process_always_sees_one_whole_version(paths: Paths) -> None:
    # The test process holds the warehouse read-write for the whole test, as a dbt or dlt step
    # does: the reader must never need the warehouse itself.
    con = duckdb.connect(str(paths.warehouse))
    try:
        _make_warehouse(con, rows=1)
        publish(paths, con=con)  # something to read from the first loop on
        seconds = 8.0
        reader = subprocess.Popen(
            [sys.executable, "-c", _READER, str(paths.published), str(seconds)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            published = 1
            deadline = time.monotonic() + seconds - 1
            while time.monotonic() < deadline:
                # Both marts change together: any mixture of two builds shows as a mismatch.
                published += 1
                con.execute(
                    f"create or replace table marts.rec_a as select * from range({published * 97})"
                )
                con.execute(
                    f"create or replace table marts.rec_b as select * from range({published * 97})"
                )
                publish(paths, con=con, run_id=f"run-{published}")
            out, err = reader.communicate(timeout=60)
        finally:
            if reader.poll() is None:
                reader.kill()
                reader.wait()
        # While we hold it, the warehouse itself is closed to other processes.
        blocked = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import duckdb; duckdb.connect({str(paths.warehouse)!r}, read_only=True)",
            ],
            capture_output=True,
            text=True,
        )
    finally:
        con.close()
    assert reader.returncode == 0, err
    report = json.loads(out)
    assert report["errors"] == []
    assert published >= 5, "the publisher should have published several versions"
    assert report["reads"] >= 10
    assert len(report["versions"]) >= 3, f"the reader should have seen versions change: {report}"
    assert blocked.returncode != 0 and "lock" in blocked.stderr.lower()
