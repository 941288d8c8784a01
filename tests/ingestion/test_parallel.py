"""Several sources at once: extracts in worker processes, loads one at a time in this one."""

from __future__ import annotations

import pytest

from ingestion.parallel import default_workers, ingest_sources, next_source
from tests.ingestion.builders import (
    settlement_rows,
    tracking_event,
    write_settlement,
    write_tracking,
)


def _company(paths) -> None:
    """Twelve good tracking events and a broken line; one Amazon settlement of five orders."""
    write_tracking(paths.sources, "2026-01-01", "UPSN-0001.jsonl",
                   [tracking_event(n) for n in range(12)] + ["{broken"])  # fmt: skip
    write_settlement(paths.sources, "1001.tsv", settlement_rows("1001", orders=5))


def test_worker_extracts_load_each_record_once_and_a_rerun_adds_nothing(paths, warehouse) -> None:
    _company(paths)
    notes: list[str] = []

    first = {
        o.source: o for o in ingest_sources(["carrier", "amazon"], workers=2, progress=notes.append)
    }
    again = {o.source: o for o in ingest_sources(["carrier", "amazon"], workers=2)}

    assert {s: o.error for s, o in first.items()} == {"carrier": None, "amazon": None}
    carrier, amazon = first["carrier"].result, first["amazon"].result
    assert (carrier.input_records, carrier.loaded, carrier.quarantined) == (13, 12, 1)
    assert (amazon.input_records, amazon.loaded) == (11, 11)
    assert warehouse("select count(*) from raw_carrier.tracking_events") == [(12,)]
    # The files' state went from the worker into the pipeline: the second run skips them.
    assert [o.result.loaded for o in again.values()] == [0, 0]
    balances = warehouse(
        "select source, bool_and(balanced) from raw_quarantine.load_audit group by 1 order by 1"
    )
    assert balances == [("amazon", True), ("carrier", True)]
    # Progress from the workers reaches the caller's callback.
    assert "carrier: extracting" in notes
    assert any(n.startswith("amazon: loaded 11") for n in notes)


def test_a_failing_source_does_not_stop_the_others(paths, warehouse) -> None:
    _company(paths)  # and no ERP database: that source cannot connect

    outcomes = {o.source: o for o in ingest_sources(["erp", "carrier"], workers=2)}

    assert outcomes["erp"].result is None and outcomes["erp"].error is not None
    assert outcomes["carrier"].error is None
    assert warehouse("select count(*) from raw_carrier.tracking_events") == [(12,)]


def test_in_process_and_in_workers_load_the_same_rows(
    paths, warehouse, tmp_path, monkeypatch
) -> None:
    _company(paths)
    serial = {o.source: o.result.loaded for o in ingest_sources(["carrier", "amazon"], workers=0)}
    monkeypatch.setenv("TRUEUP_DATA_DIR", str(tmp_path / "second"))
    from trueup.settings import Paths

    second = Paths.from_env()
    second.sources.parent.mkdir(parents=True, exist_ok=True)
    second.sources.symlink_to(paths.sources, target_is_directory=True)
    parallel = {
        o.source: o.result.loaded
        for o in ingest_sources(["carrier", "amazon"], paths=second, workers=2)
    }

    assert serial == parallel == {"carrier": 12, "amazon": 11}


def test_workers_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("TRUEUP_INGEST_WORKERS", "0")
    assert default_workers() == 0
    monkeypatch.setenv("TRUEUP_INGEST_WORKERS", "-1")
    with pytest.raises(ValueError, match="TRUEUP_INGEST_WORKERS"):
        default_workers()
    monkeypatch.delenv("TRUEUP_INGEST_WORKERS")
    assert 1 <= default_workers() <= 2


def test_two_api_sources_never_extract_at_once() -> None:
    order = ["edi", "erp", "wms", "carrier", "shopify", "amazon"]
    assert next_source(order, set()) == "edi"
    assert next_source(["wms", "shopify", "amazon"], {"erp"}) == "wms"
    # A simulated API server maps its whole store: the second waits for the first.
    assert next_source(["shopify", "amazon"], {"wms"}) == "amazon"
    assert next_source(["shopify"], {"wms"}) is None
    assert next_source(["shopify"], {"carrier"}) == "shopify"
