"""End to end on a small simulated company: the exception queue equals the ground truth, and the
queue is persistent (stable ids; what is fixed upstream becomes resolved, never deleted)."""

from __future__ import annotations

import duckdb
import pytest

from trueup.dbt import build, manifest_as_of
from trueup.score import read_open_exceptions, read_truth, rule_types, score, score_paths


def _con(paths):
    try:
        return duckdb.connect(str(paths.warehouse))
    except duckdb.ConnectionException:
        return duckdb.connect(str(paths.warehouse), read_only=True)


def test_every_source_loads(company):
    assert not company.failed_sources, company.failed_sources


def test_exception_queue_matches_ground_truth_exactly(company):
    result = score_paths(company)
    report = {
        t: (s.expected, s.flagged, s.missed[:3], s.false_positives[:3])
        for t, s in result.types.items()
        if s.precision < 1 or s.recall < 1
    }
    assert result.benign_flags == 0, report
    assert result.precision == 1.0, report
    assert result.recall == 1.0, report


def test_score_counts_benign_flags_and_misses():
    truth = {("a", "1"), ("a", "2")}
    near = {("a", "3")}
    s = score({("a", "1"), ("a", "3"), ("b", "9")}, truth, near, ["a", "b"])
    assert s.types["a"].recall == 0.5 and s.types["a"].precision == 0.5
    assert s.types["a"].benign_flags == 1 and s.benign_flags == 1
    assert s.types["b"].precision == 0.0 and not s.perfect


def test_every_rule_type_is_scored(company):
    assert set(rule_types()) <= set(score_paths(company).types)


def test_second_build_keeps_exception_ids_stable(company):
    con = _con(company)
    before = dict(
        con.execute(
            "select exception_id, exception_type || '|' || exception_key from marts.exceptions"
        ).fetchall()
    )
    con.close()
    assert before
    assert build(company, quiet=True).success
    con = _con(company)
    after = dict(
        con.execute(
            "select exception_id, exception_type || '|' || exception_key from marts.exceptions"
        ).fetchall()
    )
    statuses = {
        s for (s,) in con.execute("select distinct status from marts.exceptions").fetchall()
    }
    con.close()
    assert after == before
    assert statuses == {"open"}


def test_exception_fixed_upstream_becomes_resolved_not_deleted(company):
    con = _con(company)
    dup = con.execute(
        "select exception_id, exception_key from marts.exceptions "
        "where exception_type = 'duplicate_invoice' and status = 'open' order by 2 limit 1"
    ).fetchone()
    if dup is None:
        con.close()
        pytest.skip("no duplicate invoice in this small company")
    exception_id, invoice_no = dup
    # the billing team voids the duplicate invoice in the ERP; the next load reflects it
    con.execute("delete from raw_erp.invoice_lines where invoice_no = ?", [invoice_no])
    con.execute("delete from raw_erp.invoices where invoice_no = ?", [invoice_no])
    total = con.execute("select count(*) from marts.exceptions").fetchone()[0]
    con.close()
    assert build(company, quiet=True).success
    con = _con(company)
    status, resolved_at, first, last = con.execute(
        "select status, resolved_at, first_detected_at, last_seen_at from marts.exceptions "
        "where exception_id = ?",
        [exception_id],
    ).fetchone()
    total_after = con.execute("select count(*) from marts.exceptions").fetchone()[0]
    con.close()
    assert status == "resolved"
    assert str(resolved_at).startswith(manifest_as_of(company)[:10])
    assert first <= last
    assert total_after == total  # history kept
    truth, near = read_truth(company.sources)
    flagged = read_open_exceptions(company.warehouse)
    assert ("duplicate_invoice", invoice_no) not in flagged
    assert score(flagged, truth - {("duplicate_invoice", invoice_no)}, near).benign_flags == 0
