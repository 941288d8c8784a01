"""The largest facts and the journey rebuild only what new loads touched, and in full when the code
changed.

Whether the rows an incremental build writes are right is proven by the one-more-day oracle
(tests/orchestration/test_one_more_day.py); this module pins the bookkeeping that decides what a
build rebuilds (dbt_project/macros/loads.sql).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

import trueup.dbt
from trueup.dbt import PROJECT_DIR, code_version, run_dbt

# model -> (schema, folder under models/, the CTE only its changed-keys path defines)
INCREMENTAL = {
    "fct_order_lines": ("canonical", "canonical", "changed as ("),
    "fct_invoice_lines": ("canonical", "canonical", "changed as ("),
    "fct_shipment_lines": ("canonical", "canonical", "changed as ("),
    "order_journey": ("marts", "journey", "candidates as ("),
    "fct_order_line_status": ("marts", "journey", "candidates as ("),
}
FACTS = tuple(INCREMENTAL)


def _con(paths) -> duckdb.DuckDBPyConnection:
    # dbt ran in this process and its DuckDB may still hold the file with its configuration.
    try:
        return duckdb.connect(str(paths.warehouse))
    except duckdb.ConnectionException:
        return duckdb.connect(str(paths.warehouse), read_only=True)


def _bookkeeping(paths, fact: str) -> tuple[int, int, list[str], object]:
    """Rows, distinct watermarks, distinct code versions and the newest watermark of a fact."""
    with _con(paths) as con:
        return con.execute(
            "select count(*), count(distinct _loaded_through), list(distinct _code_version), "
            f"max(_loaded_through) from {INCREMENTAL[fact][0]}.{fact}"
        ).fetchone()


def test_code_version_follows_the_models_not_the_rest_of_the_repository(tmp_path: Path) -> None:
    project = tmp_path / "dbt_project"
    project.mkdir()
    for part in ("dbt_project.yml", "models", "macros", "seeds"):
        source = PROJECT_DIR / part
        if source.is_dir():
            shutil.copytree(source, project / part)
        else:
            shutil.copy(source, project / part)
    before = code_version.__wrapped__(project)
    assert before == code_version.__wrapped__(project)

    (project / "README.md").write_text("notes do not change what a model computes\n")
    assert code_version.__wrapped__(project) == before

    model = project / "models" / "canonical" / "fct_order_lines.sql"
    model.write_text(model.read_text() + "\n-- changed\n")
    assert code_version.__wrapped__(project) != before


@pytest.mark.parametrize("fact", FACTS)
def test_a_built_fact_records_its_watermark_and_code_version(company, fact: str) -> None:
    rows, watermarks, versions, newest = _bookkeeping(company, fact)
    assert rows > 0
    assert watermarks == 1  # one build so far: every row from it
    assert versions == [code_version()]
    with _con(company) as con:
        (completed,) = con.execute(
            "select max(inserted_at) from (select inserted_at from raw_erp._dlt_loads "
            "union all select inserted_at from raw_edi._dlt_loads "
            "union all select inserted_at from raw_wms._dlt_loads "
            "union all select inserted_at from raw_carrier._dlt_loads)"
        ).fetchone()
    assert newest <= completed


def test_without_new_loads_a_build_rewrites_nothing(company) -> None:
    before = {fact: _bookkeeping(company, fact) for fact in FACTS}
    result = run_dbt(["run", "--select", *FACTS], company, quiet=True)
    assert result.success, result.failures
    assert {fact: _bookkeeping(company, fact) for fact in FACTS} == before
    for fact in FACTS:  # and it took the path that rebuilds only changed keys
        _, folder, only_changed_cte = INCREMENTAL[fact]
        compiled = company.dbt_target / "compiled" / "trueup" / "models" / folder / f"{fact}.sql"
        assert only_changed_cte in compiled.read_text(), fact


def test_another_code_version_rebuilds_every_row(company, monkeypatch) -> None:
    before = {fact: _bookkeeping(company, fact)[0] for fact in FACTS}
    monkeypatch.setattr(trueup.dbt, "code_version", lambda *_: "next-release")
    result = run_dbt(["run", "--select", *FACTS], company, quiet=True)
    assert result.success, result.failures
    for fact in FACTS:
        rows, _, versions, _ = _bookkeeping(company, fact)
        assert (rows, versions) == (before[fact], ["next-release"])
