"""The DuckDB memory limit every warehouse connection gets."""

import duckdb

from ingestion.pipeline import LOAD_MEMORY_SHARE, destination
from trueup.dbt import dbt_env
from trueup.settings import Paths, duckdb_memory_limit, physical_memory_bytes


def test_memory_limit_defaults_to_two_fifths_of_ram_and_duckdb_accepts_it(monkeypatch):
    monkeypatch.delenv("TRUEUP_DUCKDB_MEMORY_LIMIT", raising=False)
    limit = duckdb_memory_limit()
    assert limit.endswith("MB")
    assert int(limit[:-2]) == int(physical_memory_bytes() * 0.4) // 2**20
    with duckdb.connect(config={"memory_limit": limit}) as con:
        applied = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert (
        applied != duckdb.connect().execute("select current_setting('memory_limit')").fetchone()[0]
    )


def test_configured_memory_limit_reaches_dbt_and_dlt(monkeypatch, tmp_path):
    monkeypatch.setenv("TRUEUP_DUCKDB_MEMORY_LIMIT", "3GB")
    monkeypatch.delenv("TRUEUP_DESTINATION", raising=False)
    assert dbt_env(Paths(tmp_path))["TRUEUP_DBT_MEMORY_LIMIT"] == "3GB"
    assert duckdb_memory_limit(share=0.1) == "3GB"  # what the user configured wins everywhere
    assert (
        destination(Paths(tmp_path)).config_params["credentials"].global_config["memory_limit"]
        == "3GB"
    )


def test_dbts_limit_in_the_environment_is_not_mistaken_for_the_users(monkeypatch, tmp_path):
    # The dbt asset puts dbt's variables into the run's environment; publishing in the same
    # process must still get its own, smaller share (it held 9 GiB at 10M order lines).
    monkeypatch.delenv("TRUEUP_DUCKDB_MEMORY_LIMIT", raising=False)
    for name, value in dbt_env(Paths(tmp_path)).items():
        monkeypatch.setenv(name, value)
    assert duckdb_memory_limit(share=0.1) != duckdb_memory_limit()


def test_dlt_loads_get_a_smaller_share_than_dbt(monkeypatch, tmp_path):
    # The loading process also holds what the extract left behind (12 GiB at 10M with 40%).
    monkeypatch.delenv("TRUEUP_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("TRUEUP_DESTINATION", raising=False)
    limit = destination(Paths(tmp_path)).config_params["credentials"].global_config["memory_limit"]
    assert int(limit[:-2]) == int(physical_memory_bytes() * LOAD_MEMORY_SHARE) // 2**20
    assert int(limit[:-2]) < int(dbt_env(Paths(tmp_path))["TRUEUP_DBT_MEMORY_LIMIT"][:-2])
