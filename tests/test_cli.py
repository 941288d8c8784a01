"""The command line and the data directory convention."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from trueup.cli import main
from trueup.settings import Paths


def test_every_command_is_listed_in_help() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("simulate", "serve", "edi", "ingest", "build", "run", "score", "trace", "demo"):
        assert command in result.output


def test_everything_lives_under_trueup_data_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TRUEUP_DATA_DIR", str(tmp_path / "d"))
    paths = Paths.from_env()
    assert paths.root == (tmp_path / "d").resolve()
    for location in (
        paths.sources,
        paths.warehouse,
        paths.dlt_pipelines,
        paths.dagster_home,
        paths.dbt_target,
        paths.published,
    ):
        assert location.is_relative_to(paths.root)
