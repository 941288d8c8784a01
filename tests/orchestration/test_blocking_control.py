"""A blocking control stops the reconciliation: marts are not rebuilt from bad raw invoices.

The ERP is corrupted at the source (an invoice with a negative total, which the
``raw_erp__invoices`` suite forbids); the full job then loads it, the blocking check fails, and
nothing downstream of the bad raw invoices (staging, marts, the exception queue) is materialised.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.orchestration.conftest import simulated_full_run
from trueup.settings import Paths


@pytest.fixture(scope="module")
def corrupted_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Paths, object]]:
    def negative_invoice_total(paths: Paths) -> None:
        with sqlite3.connect(paths.sources / "erp" / "erp.sqlite") as erp:
            erp.execute(
                "UPDATE invoices SET total_amount = -total_amount "
                "WHERE invoice_no = (SELECT min(invoice_no) FROM invoices)"
            )

    root = Path(tmp_path_factory.mktemp("corrupted_company"))
    with simulated_full_run(root, 21, 20, corrupt=negative_invoice_total) as result:
        yield result


def test_a_failed_blocking_control_fails_the_run_and_names_the_check(corrupted_run) -> None:
    _, summary = corrupted_run
    assert not summary.success
    assert any(check.startswith("raw_erp/invoices:") for check in summary.failed_checks)


def _downstream_of(key: dg.AssetKey) -> set[dg.AssetKey]:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    seen: set[dg.AssetKey] = set()
    todo = [key]
    while todo:
        for child in graph.get(todo.pop()).child_keys:
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def test_nothing_downstream_of_bad_raw_invoices_is_rebuilt(corrupted_run) -> None:
    paths, summary = corrupted_run
    os.environ["DAGSTER_HOME"] = str(paths.dagster_home)
    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(
            summary.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
    materialised = {r.event_log_entry.asset_materialization.asset_key for r in records}
    downstream = _downstream_of(dg.AssetKey(["raw_erp", "invoices"]))

    assert dg.AssetKey(["raw_erp", "invoices"]) in materialised  # the load itself happened
    assert {
        dg.AssetKey(["marts", "exceptions"]),
        dg.AssetKey(["marts", "rec_shipped_not_invoiced"]),
        dg.AssetKey(["marts", "rec_duplicate_invoice"]),
    } <= downstream
    assert materialised & downstream == set()
