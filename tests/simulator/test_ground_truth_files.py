"""File-based rules (EDI, carrier, Amazon, Shopify) checked by parsing the files themselves.

For each rule: every ground-truth key is found by an independent reconciliation of the outputs,
and everything that reconciliation finds is either in the ground truth or a listed near-miss.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest


def _truth(out: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    gt: dict[str, set[str]] = defaultdict(set)
    nm: dict[str, set[str]] = defaultdict(set)
    for r in csv.DictReader((out / "ground_truth" / "discrepancies.csv").open()):
        gt[r["exception_type"]].add(r["exception_key"])
    for r in csv.DictReader((out / "ground_truth" / "near_misses.csv").open()):
        nm[r["would_be_exception_type"]].add(r["exception_key"])
    return gt, nm


def _x12_sets(out: Path) -> list[tuple[str, bool, str, list[list[str]], str]]:
    """(partner folder, inbound, ISA sender id, segments of one set, GS06) for every set."""
    sets = []
    seen_files: set[bytes] = set()
    for f in sorted((out / "edi").rglob("*.x12")):
        raw = f.read_bytes()
        if raw in seen_files:
            continue  # a retransmission: same interchange, processed once
        seen_files.add(raw)
        text = raw.decode()
        term = text[105]
        inbound = f.parts[-3] == "inbound"
        sender = gs06 = ""
        cur: list[list[str]] = []
        for seg in (s.strip("\r\n") for s in text.split(term)):
            if not seg:
                continue
            el = seg.split("*")
            if el[0] == "ISA":
                sender = el[6].strip()
            elif el[0] == "GS":
                gs06 = el[6]
            elif el[0] == "ST":
                cur = [el]
            elif el[0] == "SE":
                sets.append((f.parts[-2], inbound, sender, cur, gs06))
            elif cur is not None:
                cur.append(el)
    return sets


def _check(name: str, found: set[str], gt: dict[str, set[str]], nm: dict[str, set[str]]) -> None:
    assert gt[name], f"no {name} in the ground truth"
    assert gt[name] <= found, (name, sorted(gt[name] - found)[:5])
    assert found - gt[name] <= nm[name], (name, sorted(found - gt[name] - nm[name])[:5])


@pytest.fixture(scope="module")
def parsed(medium_company):
    out, _ = medium_company
    con = sqlite3.connect(out / "erp" / "erp.sqlite")
    con.execute(f"ATTACH '{out / 'wms' / 'wms.sqlite'}' AS wms")
    return out, con, _x12_sets(out), *_truth(out)


def test_asn_mismatches_are_exactly_the_856s_that_disagree_with_the_shipment(parsed):
    _out, con, sets, gt, nm = parsed
    case = dict(con.execute("SELECT upc, case_qty FROM items"))
    shipped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (
        sid,
        upc,
        qb,
    ) in con.execute("""SELECT l.shipment_id, i.upc, l.qty_base FROM wms.shipment_lines l
                                       JOIN items i USING (item_no)"""):
        shipped[sid][upc] += qb
    asn: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for _p, inbound, _s, segs, _g in sets:
        if segs[0][1] == "945":  # the 3PL's shipments stand in for the WMS
            sid = segs[1][4]
            for el in segs:
                if el[0] == "W12":
                    shipped[sid][el[6]] += int(el[3]) * (
                        case[el[6]] if el[5] in ("CA", "CS") else 1
                    )
        if segs[0][1] != "856" or inbound:
            continue
        sid, upc = segs[1][2], None
        for el in segs:
            if el[0] == "LIN":
                upc = el[3]
            if el[0] == "SN1":
                asn[sid][upc] += int(el[2]) * (case[upc] if el[3] in ("CA", "CS") else 1)
    found = {sid for sid, q in asn.items() if dict(q) != dict(shipped[sid])}
    _check("asn_mismatch", found, gt, nm)


def test_edi_invoice_mismatches_are_the_810_totals_that_differ_from_the_erp(parsed):
    _out, con, sets, gt, nm = parsed
    totals = {
        k: Decimal(str(v)) for k, v in con.execute("SELECT invoice_no, total_amount FROM invoices")
    }
    found = set()
    for _p, inbound, _s, segs, _g in sets:
        if segs[0][1] == "810" and not inbound:
            inv = segs[1][2]
            tds = Decimal(next(el[1] for el in segs if el[0] == "TDS")) / 100
            if abs(tds - totals[inv]) > Decimal("0.01"):
                found.add(inv)
    _check("edi_invoice_mismatch", found, gt, nm)


def test_rejected_997s_are_the_ak5_r_of_our_sets(parsed):
    _out, _con, sets, gt, nm = parsed
    found = set()
    for _p, inbound, sender, segs, _g in sets:
        if segs[0][1] == "997" and inbound:
            group = ctl = ""
            for el in segs:
                if el[0] == "AK1":
                    group = el[2]
                elif el[0] == "AK2":
                    ctl = el[2]
                elif el[0] == "AK5" and el[1] == "R":
                    found.add(f"{sender}:{group}:{ctl}")
    _check("rejected_997", found, gt, nm)


def test_remittance_short_pays_are_rmr_payments_below_the_invoice_net_of_earned_discount(parsed):
    _out, con, sets, gt, nm = parsed
    inv = {
        k: (Decimal(str(t)), date.fromisoformat(d[:10]), terms)
        for k, t, d, terms in con.execute(
            "SELECT invoice_no, total_amount, invoice_date, terms FROM invoices"
        )
    }
    found = set()
    for _p, inbound, _s, segs, _g in sets:
        if segs[0][1] != "820" or not inbound:
            continue
        bpr = segs[1]
        paid_on = date(int(bpr[16][:4]), int(bpr[16][4:6]), int(bpr[16][6:]))
        trace = next(el[2] for el in segs if el[0] == "TRN")
        for el in segs:
            if el[0] == "RMR":
                total, inv_date, terms = inv[el[2]]
                disc = Decimal(0)
                if terms == "2/10 NET30" and paid_on <= inv_date + timedelta(days=10):
                    disc = (total * Decimal("0.02")).quantize(Decimal("0.01"), ROUND_HALF_UP)
                if total - disc - Decimal(el[4]) > 5:
                    found.add(f"{trace}:{el[2]}")
    _check("remittance_short_pay", found, gt, nm)


def test_channel_orders_missing_in_erp_are_850s_and_shopify_orders_without_a_sales_order(parsed):
    out, con, sets, gt, nm = parsed
    refs = {r for (r,) in con.execute("SELECT channel_order_ref FROM sales_orders")}
    found = {
        f"edi:{segs[1][3]}"
        for _p, inb, _s, segs, _g in sets
        if inb and segs[0][1] == "850" and segs[1][3] not in refs
    }
    shop = sqlite3.connect(out / "shopify" / "shopify.sqlite")
    found |= {
        f"shopify:{i}" for (i,) in shop.execute("SELECT id FROM orders") if str(i) not in refs
    }
    _check("channel_order_missing_in_erp", found, gt, nm)


def test_freight_bills_over_accrual_are_bill_lines_above_the_accrual_beyond_tolerance(parsed):
    out, con, _sets, gt, nm = parsed
    accrual = {
        k: Decimal(str(v))
        for k, v in con.execute("SELECT shipment_id, amount FROM freight_accruals")
    }
    found = set()
    for f in sorted((out / "carrier" / "freight_bills").glob("*.csv")):
        for r in csv.DictReader(f.open()):
            a = accrual.get(r["reference"])
            if a is not None and Decimal(r["net_charge"]) - a > max(
                Decimal(2), a * Decimal("0.05")
            ):
                found.add(r["reference"])
    _check("freight_bill_over_accrual", found, gt, nm)


def test_marketplace_mismatches_are_channel_amounts_or_fees_off_the_erp_and_fee_schedule(parsed):
    out, con, _sets, gt, nm = parsed
    invoiced: dict[str, Decimal] = defaultdict(Decimal)
    for ref, total in con.execute("""SELECT o.channel_order_ref, i.total_amount FROM invoices i
                                     JOIN sales_orders o USING (so_no) WHERE o.channel IN ('amazon','shopify')"""):
        invoiced[ref] += Decimal(str(total))
    cent = Decimal("0.01")
    found = set()
    gross: dict[str, Decimal] = defaultdict(Decimal)
    fee: dict[str, Decimal] = defaultdict(Decimal)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for rep in sorted((out / "amazon" / "settlements").glob("*.tsv")):
        rows = list(csv.DictReader(rep.open(), delimiter="\t"))
        for r in rows[1:]:
            if r["transaction-type"] != "Order":
                continue
            amt = Decimal(r["amount"])
            if r["amount-description"] == "Principal":
                gross[r["order-id"]] += amt
                expected[r["order-id"]] += (amt * Decimal("0.15")).quantize(cent, ROUND_HALF_UP)
            elif r["amount-description"] == "Commission":
                fee[r["order-id"]] -= amt
    for oid in gross:
        if (
            oid in invoiced
            and abs(gross[oid] - invoiced[oid]) + abs(fee[oid] - expected[oid]) > cent
        ):
            found.add(f"amazon:{oid}")
    shop = sqlite3.connect(out / "shopify" / "shopify.sqlite")
    for (payload,) in shop.execute(
        "SELECT payload FROM balance_transactions WHERE type = 'charge'"
    ):
        t = json.loads(payload)
        oid = str(t["source_order_id"])
        amt, f = Decimal(t["amount"]), Decimal(t["fee"])
        exp = (amt * Decimal("0.029")).quantize(cent, ROUND_HALF_UP) + Decimal("0.30")
        if oid in invoiced and abs(amt - invoiced[oid]) + abs(f - exp) > cent:
            found.add(f"shopify:{oid}")
    _check("marketplace_settlement_mismatch", found, gt, nm)


def test_3pl_inventory_variances_use_the_846_and_945s_in_transit(parsed):
    _out, con, sets, gt, _nm = parsed
    last = con.execute("SELECT max(snapshot_date) FROM inventory_balances").fetchone()[0]
    cutoff = (date.fromisoformat(last) + timedelta(days=1)).isoformat() + "T00:00:00Z"
    posted = {
        s
        for (s,) in con.execute("SELECT shipment_id FROM shipments WHERE posted_at < ?", (cutoff,))
    }
    physical: dict[tuple[str, str], int] = {}
    transit: dict[tuple[str, str], int] = defaultdict(int)
    for _p, _inbound, _s, segs, _g in sets:
        kind = segs[0][1]
        if kind == "846" and segs[1][4] == last.replace("-", ""):
            item = ""
            for el in segs:
                if el[0] == "LIN":
                    item, lot = el[3], (el[7] if len(el) > 7 else "")
                elif el[0] == "QTY":
                    physical[(item, lot)] = int(el[2])
        if kind == "945" and segs[1][4] not in posted:
            lot = ""
            rows = []
            for el in segs:
                if el[0] == "W12":
                    rows.append([el[8], int(el[3]), el[5], ""])
                if el[0] == "N9" and el[1] == "LT":
                    rows[-1][3] = el[2]
            for item, q, uom, lot in rows:
                f = con.execute(
                    "SELECT factor_to_base FROM item_uoms WHERE item_no=? AND uom=?", (item, uom)
                ).fetchone()[0]
                transit[(item, lot)] += q * f
    found = set()
    for item, lot, book in con.execute(
        """SELECT item_no, lot_no, on_hand_base FROM inventory_balances
                                          WHERE snapshot_date = ? AND warehouse_code = '3PL-CENTRAL'""",
        (last,),
    ):
        phys = physical[(item, lot)]
        if abs(book - transit[(item, lot)] - phys) > 0.01 * phys:
            found.add(f"3PL-CENTRAL:{item}:{lot}")
    expected = {k for k in gt["inventory_variance"] if k.startswith("3PL")}
    assert expected, "no 3PL inventory variance in the ground truth"
    assert found == expected
