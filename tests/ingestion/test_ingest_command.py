"""`trueup ingest`: runs the selected sources and prints loaded, quarantined and seconds."""

from __future__ import annotations

from click.testing import CliRunner

from tests.ingestion.builders import tracking_event, write_tracking
from trueup.cli import main


def test_ingest_prints_per_source_counts_and_fails_on_a_missing_source(paths) -> None:
    write_tracking(paths.sources, "2026-01-01", "UPSN-0001.jsonl",
                   [tracking_event(n) for n in range(12)] + ["{broken"])  # fmt: skip

    ok = CliRunner().invoke(main, ["ingest", "--source", "carrier"])
    missing_erp = CliRunner().invoke(main, ["ingest", "--source", "erp", "--quiet"])

    assert ok.exit_code == 0, ok.output
    assert "carrier: extracting" in ok.output  # progress goes to stderr, mixed in by CliRunner
    summary = [line.split() for line in ok.output.splitlines() if line.startswith("carrier ")]
    assert summary[0][:4] == ["carrier", "12", "1", "0"]
    assert missing_erp.exit_code == 1
    assert "erp: FAILED" in missing_erp.output
