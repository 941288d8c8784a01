"""Mapping accepted sets to typed rows, one specification per document family."""

from __future__ import annotations

import pytest

from trueup.x12 import DOCUMENT_TABLES, documents, parse, rejections

from .builders import PO_BODY, interchange


def tables_for(set_id: str, body: list[str], func: str = "PO") -> dict[str, list[dict]]:
    result = parse(interchange([(set_id, body)], gs_func=func), "t.edi")
    assert not result.rejected, rejections(result)
    return documents(result)


def test_every_row_carries_envelope_keys_and_every_table_is_present():
    tables = tables_for("850", PO_BODY)
    assert set(DOCUMENT_TABLES) <= set(tables)
    line = tables["x12_850_lines"][0]
    assert {k: line[k] for k in ("source_file", "isa_sender_id", "isa_control_number")} == {
        "source_file": "t.edi",
        "isa_sender_id": "SENDER",
        "isa_control_number": "000000101",
    }
    assert (line["gs_control_number"], line["st_control_number"]) == ("1", "0001")


def test_850_header_and_line_with_id_pairs_and_pack():
    tables = tables_for("850", PO_BODY)
    [head] = tables["x12_850_headers"]
    assert head["po_number"] == "4500012345" and head["po_date"] == "2025-03-01"
    assert head["requested_delivery_date"] == "2025-03-14" and head["department"] == "042"
    assert (head["ship_to_name"], head["line_count"]) == ("RETAILER DC 6094", 1)
    [line] = tables["x12_850_lines"]
    assert (line["quantity"], line["uom"], line["unit_price"]) == (12.0, "CA", 18.5)
    assert (line["upc"], line["vendor_item"], line["pack"]) == ("012345678905", "WID-100", 24.0)
    assert line["po_number"] == "4500012345" and line["description"] == "WIDGET 24PK"


def test_855_emits_one_row_per_ack():
    body = [
        "BAK*00*AC*4500012345*20250301",
        "PO1*1*12*CA*18.50**UP*012345678905",
        "ACK*IA*8*CA*068*20250310",
        "ACK*IB*4*CA",
        "PO1*2*5*CA*3.00",
        "CTT*2",
    ]
    lines = tables_for("855", body, "PR")["x12_855_lines"]
    assert [(r["line_number"], r["ack_status"], r["ack_quantity"]) for r in lines] == [
        ("1", "IA", 8.0),
        ("1", "IB", 4.0),
        ("2", None, None),
    ]
    assert lines[0]["ack_date"] == "2025-03-10"


ASN = [
    "BSN*00*SHIP0001*20250305*1200*0001",
    "HL*1**S",
    "TD1*CTN25*3****G*42*LB",
    "TD5*B*2*UPSN*U",
    "REF*BM*BOL778",
    "REF*CN*1Z999",
    "DTM*011*20250305",
    "HL*2*1*O",
    "PRF*4500012345***20250301",
    "HL*3*2*T",
    "MAN*GM*00008123450000000016",
    "HL*4*3*P",
    "MAN*GM*00008123450000000024",
    "HL*5*4*I",
    "LIN**UP*012345678905*VN*WID-100",
    "SN1**4*CA**12",
    "CTT*5*4",
]


def test_856_items_carry_their_order_pack_and_tare():
    tables = tables_for("856", ASN, "SH")
    [ship] = tables["x12_856_shipments"]
    assert (ship["shipment_id"], ship["bol_number"], ship["pro_number"]) == (
        "SHIP0001",
        "BOL778",
        "1Z999",
    )
    assert (ship["carrier_scac"], ship["gross_weight"], ship["ship_date"]) == (
        "UPSN",
        42.0,
        "2025-03-05",
    )
    [item] = tables["x12_856_items"]
    assert (item["po_number"], item["order_hl_id"]) == ("4500012345", "2")
    assert (item["tare_hl_id"], item["pack_hl_id"]) == ("3", "4")
    assert item["pack_sscc"] == "008123450000000024"
    assert (item["units_shipped"], item["uom"], item["quantity_ordered"]) == (4.0, "CA", 12.0)
    levels = {n["hl_id"]: (n["level"], n["parent_hl_id"]) for n in tables["x12_856_hl"]}
    assert levels == {
        "1": ("shipment", None),
        "2": ("order", "1"),
        "3": ("tare", "2"),
        "4": ("pack", "3"),
        "5": ("item", "4"),
    }


def test_856_sscc_with_a_bad_check_digit_is_flagged_not_rejected():
    hl = {n["hl_id"]: n for n in tables_for("856", ASN, "SH")["x12_856_hl"]}
    assert hl["3"]["sscc_check_digit_ok"] is True  # 00812345000000001 + check digit 6
    assert hl["4"]["sscc_check_digit_ok"] is False  # check digit should be 3


def test_856_orphan_hl_parent_rejects_the_set():
    body = [s.replace("HL*5*4*I", "HL*5*9*I") for s in ASN]
    result = parse(interchange([("856", body)], gs_func="SH"))
    documents(result)
    assert [e.code for e in result.all_errors()] == ["AK5:5"]
    assert "HL02" in rejections(result)[0]["reason"]


INVOICE = [
    "BIG*20250306*INV001*20250301*4500012345***CR",
    "N1*ST*RETAILER DC 6094*UL*0012345000010",
    "ITD*01*3*2**10**30",
    "IT1*1*12*CA*18.50**UP*012345678905",
    "PID*F****WIDGET",
    "SAC*A*C310***1110",
    "TDS*21090",
    "SAC*C*D240***1500",
    "CTT*1",
]


def test_810_implied_decimals_credit_memo_and_charges():
    tables = tables_for("810", INVOICE, "IN")
    [head] = tables["x12_810_headers"]
    assert head["total_amount"] == 210.90 and head["is_credit_memo"] is True
    assert (head["terms_discount_percent"], head["terms_net_days"]) == (2.0, 30)
    assert head["charge_total"] == 15.0 and head["allowance_total"] == 0.0
    [line] = tables["x12_810_lines"]
    assert line["extended_amount"] == 222.0 and line["description"] == "WIDGET"
    sacs = tables["x12_810_allowances_charges"]
    assert [(s["line_number"], s["signed_amount"]) for s in sacs] == [("1", -11.1), (None, 15.0)]


def test_810_non_numeric_quantity_rejects_the_set_with_a_located_reason():
    body = [s.replace("IT1*1*12*", "IT1*1*1O*") for s in INVOICE]
    result = parse(interchange([("810", body)], gs_func="IN"), "bad.edi")
    tables = documents(result)
    assert tables["x12_810_headers"] == []
    [err] = result.all_errors()
    assert err.code == "AK5:5" and "IT102 '1O' is not a number" in err.reason
    assert err.segment_index == 6  # ISA=0, GS=1, ST=2, BIG, N1, ITD, then IT1


def test_820_remittance_amounts_and_adjustments():
    body = [
        "BPR*C*4408.75*C*ACH*CTX***********20250310",
        "TRN*1*TRACE123*1234567890",
        "N1*PR*MART INC",
        "N1*PE*VENDOR CO",
        "ENT*1",
        "RMR*IV*26801*PO*4408.75*4650.41*97.9",
        "ADX*-143.76*59",
    ]
    tables = tables_for("820", body, "RA")
    [pay] = tables["x12_820_payments"]
    assert (pay["trace_number"], pay["total_amount"], pay["payment_date"]) == (
        "TRACE123",
        4408.75,
        "2025-03-10",
    )
    [rmr] = tables["x12_820_remittances"]
    assert (rmr["paid_amount"], rmr["invoice_amount"], rmr["discount_amount"]) == (
        4408.75,
        4650.41,
        97.9,
    )
    assert rmr["adjustment_amount"] == -143.76
    assert (
        round(rmr["invoice_amount"] - rmr["discount_amount"] + rmr["adjustment_amount"], 2)
        == (rmr["paid_amount"])
    )
    assert tables["x12_820_adjustments"][0]["reason"] == "59"


def test_940_and_945_orders_lines_and_lots():
    order = tables_for(
        "940",
        [
            "W05*N*DO-1*PO-1",
            "N1*ST*STORE 12*9*123",
            "G62*10*20250305",
            "W66*PP*M****** ***UPSN",
            "LX*1",
            "W01*12*CA*00012345678905*VN*WID-100",
            "W76*12*40*LB",
        ],
        "OW",
    )
    assert order["x12_940_orders"][0]["requested_ship_date"] == "2025-03-05"
    assert order["x12_940_lines"][0]["vendor_item"] == "WID-100"
    ship = tables_for(
        "945",
        [
            "W06*F*DO-1*20250306*SHP-9**PO-1",
            "W27*M*UPSN",
            "LX*1",
            "W12*CP*12*10*2*CA*00012345678905*VN*WID-100",
            "N9*LT*LOT42",
            "W03*10*40*LB",
        ],
        "SW",
    )
    [line] = ship["x12_945_lines"]
    assert (line["quantity_shipped"], line["quantity_difference"], line["lot_number"]) == (
        10.0,
        2.0,
        "LOT42",
    )
    assert ship["x12_945_shipments"][0]["shipment_id"] == "SHP-9"


def test_846_one_row_per_quantity_qualifier_and_sdq_location():
    rows = tables_for(
        "846",
        [
            "BIA*00*DD*INV-7*20250301",
            "N1*WH*DC EAST*9*111",
            "LIN**UP*012345678905",
            "PID*F****WIDGET",
            "QTY*33*120*EA",
            "QTY*17*130*EA",
            "SDQ*EA*92*S1*5*S2*7",
        ],
        "IB",
    )["x12_846_quantities"]
    assert [(r["qualifier"], r["quantity"], r["location"]) for r in rows] == [
        ("33", 120.0, None),
        ("17", 130.0, None),
        ("SDQ", 5.0, "S1"),
        ("SDQ", 7.0, "S2"),
    ]
    assert rows[0]["description"] == "WIDGET" and rows[0]["report_number"] == "INV-7"


@pytest.mark.parametrize(
    "detail",
    [["BLI*UP*012345678905*3*EA*18.5"], ["LIN**UP*012345678905", "SLN*1**I*3*EA*18.5"]],
    ids=["BLI", "LIN+SLN"],
)
def test_180_accepts_bli_or_lin_detail(detail):
    body = ["BGN*00*REQ-1*20250310", "N9*QJ*RMA-55", "PRF*4500012345", *detail, "RDR*RA*DM"]
    tables = tables_for("180", body, "AN")
    assert tables["x12_180_headers"][0]["rma_number"] == "RMA-55"
    line = tables["x12_180_lines"][0]
    assert (line["upc"], line["quantity"], line["disposition"], line["reason"]) == (
        "012345678905",
        3.0,
        "RA",
        "DM",
    )


def test_997_group_set_and_error_rows():
    body = [
        "AK1*PO*1",
        "AK2*850*0001",
        "AK3*PO1*6**8",
        "AK4*2*330*1",
        "AK5*R*5",
        "AK9*R*1*1*0",
    ]
    tables = tables_for("997", body, "FA")
    assert tables["x12_997_acks"][0]["group_status"] == "R"
    assert tables["x12_997_set_acks"][0]["error_codes"] == "5"
    [err] = tables["x12_997_errors"]
    assert (err["segment_id"], err["segment_position"], err["element_ref"]) == ("PO1", 6, 330)


def test_997_with_an_unknown_status_code_is_rejected():
    result = parse(interchange([("997", ["AK1*PO*1", "AK9*Z*1*1*1"])], gs_func="FA"))
    documents(result)
    assert "AK901 'Z'" in rejections(result)[0]["reason"]


def test_unknown_set_types_are_counted_but_not_mapped():
    result = parse(interchange([("832", ["BCT*PC*CAT1"])], gs_func="SC"))
    tables = documents(result)
    assert [t["status"] for t in tables["x12_transactions"]] == ["accepted"]
    assert not any(tables[name] for name in DOCUMENT_TABLES)
    assert tables["x12_transactions"][0]["segments"] == "ST*832*0001~BCT*PC*CAT1~SE*3*0001~"


def test_each_set_keeps_its_segments_verbatim_with_the_interchanges_terminator():
    text = interchange([("850", PO_BODY)], elem="|", term="!", after="\r\n")
    (row,) = documents(parse(text))["x12_transactions"]
    body = "!".join(s.replace("*", "|") for s in PO_BODY)
    assert row["segments"] == f"ST|850|0001!{body}!SE|{len(PO_BODY) + 2}|0001!"
    assert (row["first_segment_index"], row["segment_count"]) == (2, len(PO_BODY) + 2)


def test_945_line_keeps_the_depositor_order_line_number_from_n9_li():
    ship = tables_for(
        "945",
        ["W06*F*SO1*20260101*3P1", "LX*1", "W12*CC*10*10*0*EA**UP*012345678905", "N9*LI*003"],
        "SW",
    )
    [line] = ship["x12_945_lines"]
    assert line["order_line_number"] == "003"


def test_846_lot_comes_from_the_lt_pair_on_lin():
    [row] = tables_for(
        "846", ["BIA*00*DD*R1*20260101", "LIN*1*UP*012345678905*LT*LOT42", "QTY*17*100*EA"], "IB"
    )["x12_846_quantities"]
    assert (row["upc"], row["lot_number"], row["quantity"]) == ("012345678905", "LOT42", 100)
