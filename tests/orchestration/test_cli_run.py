"""`trueup run` and `trueup demo` are wired to the orchestration."""

from __future__ import annotations

from click.testing import CliRunner

from trueup.cli import main


def test_run_command_offers_a_job_choice() -> None:
    result = CliRunner().invoke(main, ["run", "--help"])
    assert result.exit_code == 0
    assert "--job" in result.output


def test_demo_is_described_as_simulate_then_run() -> None:
    result = CliRunner().invoke(main, ["demo", "--help"])
    assert result.exit_code == 0
    assert "Simulate a default company" in result.output
