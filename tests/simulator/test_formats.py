"""Each system's format is internally valid: X12 envelopes, Amazon totals, JSON payloads."""

from __future__ import annotations

import json
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path

from simulator.server.store import SqliteStore
from simulator.timing import gs1_check_digit


def _segments(text: str) -> list[list[str]]:
    term = text[105]
    return [s.strip("\r\n").split("*") for s in text.split(term) if s.strip("\r\n")]


def check_x12(text: str) -> list[str]:
    """Envelope rules: counts, control numbers and ISA width. Returns the errors found."""
    errors: list[str] = []
    segs = _segments(text)
    isa = gs = st = None
    n_groups = n_sets = n_segs = 0
    for s in segs:
        tag = s[0]
        if tag == "ISA":
            isa, n_groups = s, 0
            if len(s) != 17:
                errors.append("ISA must have 16 elements")
        elif tag == "GS":
            gs, n_sets = s, 0
            n_groups += 1
        elif tag == "ST":
            st, n_segs = s, 1
            n_sets += 1
        elif tag == "SE":
            n_segs += 1
            if int(s[1]) != n_segs or s[2] != st[2]:
                errors.append(f"SE mismatch {s} counted {n_segs}")
            st = None
        elif tag == "GE":
            if int(s[1]) != n_sets or s[2] != gs[6]:
                errors.append(f"GE mismatch {s}")
        elif tag == "IEA":
            if int(s[1]) != n_groups or s[2] != isa[13]:
                errors.append(f"IEA mismatch {s}")
        elif st is not None:
            n_segs += 1
        if tag == "MAN" and len(s) > 2 and s[1] == "GM":
            sscc = s[2][2:]
            if len(sscc) != 18 or gs1_check_digit(sscc[:-1]) != int(sscc[-1]):
                errors.append(f"bad SSCC {s[2]}")
    return errors


def test_every_x12_file_has_consistent_envelopes_and_valid_ssccs(small_company):
    out, _ = small_company
    files = sorted((out / "edi").rglob("*.x12"))
    assert len(files) > 50
    for f in files:
        text = f.read_text()
        assert text.startswith("ISA") and len(text.split(text[105])[0]) == 105
        assert check_x12(text) == [], f.name


def test_isa13_is_unique_per_partner_pair_except_the_documented_reuse(small_company):
    out, _ = small_company
    seen: dict[tuple[str, str, str], str] = {}
    dupes = []
    for f in sorted((out / "edi").rglob("*.x12")):
        text = f.read_text()
        for s in _segments(text):
            if s[0] == "ISA":
                key = (s[6].strip(), s[8].strip(), s[13])
                body = text  # identical content under a new name is a retransmission, not a reuse
                if key in seen and seen[key] != body:
                    dupes.append(key)
                seen.setdefault(key, body)
    anomalies = (out / "ground_truth" / "edi_anomalies.csv").read_text().splitlines()[1:]
    assert len(dupes) == len(anomalies)


def test_amazon_settlement_detail_lines_sum_to_the_deposit(medium_company):
    out, _ = medium_company
    reports = sorted((out / "amazon" / "settlements").glob("*.tsv"))
    assert reports
    for rep in reports:
        rows = [r.split("\t") for r in rep.read_text().splitlines()]
        header, summary, detail = rows[0], rows[1], rows[2:]
        assert len(header) == 24 and all(len(r) == 24 for r in rows)
        amount = header.index("amount")
        total = Decimal(summary[header.index("total-amount")])
        assert sum(Decimal(r[amount]) for r in detail) == total


def test_shopify_payouts_equal_their_balance_transactions(small_company):
    out, _ = small_company
    con = sqlite3.connect(out / "shopify" / "shopify.sqlite")
    nets: dict[int, Decimal] = {}
    for (payload,) in con.execute("SELECT payload FROM balance_transactions"):
        t = json.loads(payload)
        if t["payout_id"]:
            nets[t["payout_id"]] = nets.get(t["payout_id"], Decimal(0)) + Decimal(t["net"])
    payouts = {
        json.loads(p)["id"]: Decimal(json.loads(p)["amount"])
        for (p,) in con.execute("SELECT payload FROM payouts")
    }
    assert payouts and payouts == nets
    order = json.loads(con.execute("SELECT payload FROM orders LIMIT 1").fetchone()[0])
    assert {
        "id",
        "name",
        "line_items",
        "fulfillments",
        "refunds",
        "financial_status",
    } <= order.keys()


def test_manifest_counts_match_the_files(small_company):
    out, manifest = small_company
    files = json.loads((out / "manifest.json").read_text())["files"]
    for rel, n in files.items():
        path = Path(out) / rel
        if rel.endswith(".jsonl"):
            assert len(path.read_text().splitlines()) == n
        if rel.endswith(".csv"):
            assert len(path.read_text().splitlines()) - 1 == n
    assert manifest["summary"]["order_lines"] > 0


def test_the_api_stores_carry_every_index_their_pages_need(small_company, tmp_path):
    # The API server only reads; a store missing an index would make it write one (and a server
    # stopped mid-build leaves a journal that read-only opens cannot roll back).
    out, _ = small_company
    for store in ("wms/wms.sqlite", "shopify/shopify.sqlite"):
        copy = tmp_path / store.replace("/", "_")
        shutil.copyfile(out / store, copy)
        notices: list[str] = []
        SqliteStore(copy, index_missing=False, log=notices.append)._current()
        assert notices == [], store
