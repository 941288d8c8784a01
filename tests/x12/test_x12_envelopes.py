"""Envelope reading and validation: delimiters, layout quirks, and each control rule."""

from __future__ import annotations

from trueup.x12 import classify, classify_all, parse, rejections
from trueup.x12.model import ParseResult

from .builders import PO_BODY, interchange, isa


def codes(result: ParseResult, severity: str = "error") -> list[str]:
    return [e.code for e in result.all_errors() if e.severity == severity]


def set_ids(result: ParseResult) -> list[str]:
    return [tx.set_id for _, _, tx in result.accepted_transactions()]


# -- delimiters and layout ---------------------------------------------------------------


def test_clean_interchange_loads_without_findings():
    result = parse(interchange([("850", PO_BODY)]), "po.edi")
    assert codes(result) == [] and codes(result, "warning") == []
    assert set_ids(result) == ["850"]
    ic = result.interchanges[0]
    assert (ic.sender_id, ic.receiver_id, ic.control_number) == ("SENDER", "RECEIVER", "000000101")
    assert not result.rejected


def test_odd_delimiters_are_read_from_the_isa():
    text = interchange([("850", PO_BODY)], elem="|", comp="^", term="!", after="")
    result = parse(text)
    d = result.interchanges[0].delimiters
    assert (d.element, d.component, d.segment) == ("|", "^", "!")
    assert set_ids(result) == ["850"]


def test_bom_leading_blanks_and_crlf_are_tolerated():
    text = "\ufeff \r\n" + interchange([("850", PO_BODY)], after="\r\n")
    result = parse(text.encode("utf-8"))
    assert codes(result) == [] and set_ids(result) == ["850"]


def test_newline_terminated_file_with_tab_indentation():
    text = interchange([("850", PO_BODY)], term="\n", after="")
    text = text.replace("\nBEG", "\n\tBEG").replace("\nPO1", "\n    PO1")
    result = parse(text)
    assert result.interchanges[0].delimiters.segment == "\n"
    assert codes(result) == [] and set_ids(result) == ["850"]


def test_segments_hard_wrapped_at_80_columns_are_rejoined():
    flat = interchange([("850", PO_BODY)], after="")
    wrapped = "\n".join(flat[i : i + 80] for i in range(0, len(flat), 80))
    result = parse(wrapped)
    assert codes(result) == [] and set_ids(result) == ["850"]
    assert result.interchanges[0].sender_id == "SENDER"


def test_isa_with_nbsp_padding_and_unpadded_fields_is_read_by_counting_separators():
    header = isa().replace("          ", "\u00a0 \u00a0").replace("SENDER         ", "SENDER")
    text = interchange([("850", PO_BODY)]).replace(isa(), header)
    result = parse(text.encode("utf-8"))
    assert codes(result) == [] and result.interchanges[0].sender_id == "SENDER"


def test_missing_isa16_infers_the_terminator_with_a_warning():
    # "...*P*~\nGS" : the '~' sits where ISA16 should be, and lines end with '~'.
    text = interchange([("850", PO_BODY)]).replace("*P*>~", "*P*~")
    result = parse(text)
    assert result.interchanges[0].delimiters.segment == "~"
    assert "X12:ISA16_MISSING" in codes(result, "warning")
    assert set_ids(result) == ["850"]


def test_two_interchanges_with_different_delimiters_in_one_file():
    first = interchange([("850", PO_BODY)], control="000000001")
    second = interchange([("850", PO_BODY)], control="000000002", elem="|", term="\n", after="")
    result = parse(first + second)
    assert [ic.delimiters.element for ic in result.interchanges] == ["*", "|"]
    assert codes(result) == [] and set_ids(result) == ["850", "850"]


def test_mixed_set_types_and_unknown_types_parse_without_error():
    text = interchange([("850", PO_BODY), ("860", ["BCH*01*SA*4500012345**20250301"])])
    result = parse(text)
    assert set_ids(result) == ["850", "860"]
    assert "X12:GS01" in codes(result, "warning")  # an 860 belongs in a PC group
    assert codes(result) == []


def test_repetition_separator_only_from_version_00402():
    old = parse(interchange([("850", PO_BODY)]))
    new_text = interchange([("850", PO_BODY)]).replace("*U*00401*", "*^*00501*")
    assert old.interchanges[0].delimiters.repetition is None
    assert parse(new_text).interchanges[0].delimiters.repetition == "^"


def test_segment_indexes_count_from_the_start_of_the_file():
    result = parse(interchange([("850", PO_BODY), ("850", PO_BODY)]))
    txs = [tx for _, _, tx in result.accepted_transactions()]
    assert [tx.first_segment_index for tx in txs] == [2, 2 + len(PO_BODY) + 2]


# -- envelope rules: each rejects the right unit -----------------------------------------


def test_se01_count_mismatch_rejects_only_that_set():
    text = interchange([("850", PO_BODY), ("850", PO_BODY)]).replace("SE*10*0001", "SE*9*0001")
    result = parse(text)
    assert codes(result) == ["AK5:4"]
    assert [tx.control_number for _, _, tx in result.accepted_transactions()] == ["0002"]
    [row] = rejections(result)
    assert row["level"] == "transaction" and row["set_control"] == "0001"
    assert row["raw_payload"].startswith("ST*850*0001~") and "SE*9*0001~" in row["raw_payload"]


def test_se02_differing_from_st02_rejects_the_set():
    result = parse(interchange([("850", PO_BODY)]).replace("SE*10*0001", "SE*10*0009"))
    assert codes(result) == ["AK5:3"] and set_ids(result) == []


def test_missing_se_rejects_the_set_but_not_its_neighbour():
    text = interchange([("850", PO_BODY), ("850", PO_BODY)]).replace("SE*10*0001~\n", "")
    result = parse(text)
    assert "AK5:2" in codes(result)
    assert [tx.control_number for _, _, tx in result.accepted_transactions()] == ["0002"]


def test_duplicate_st02_in_a_group_rejects_the_repeat():
    text = interchange([("850", PO_BODY), ("850", PO_BODY)]).replace("0002", "0001")
    result = parse(text)
    assert codes(result) == ["AK5:23"] and len(set_ids(result)) == 1


def test_ge02_mismatch_rejects_the_whole_group():
    result = parse(interchange([("850", PO_BODY)]).replace("GE*1*1~", "GE*1*2~"))
    assert codes(result) == ["AK9:4"] and set_ids(result) == []
    assert rejections(result)[0]["level"] == "group"


def test_ge01_count_mismatch_rejects_the_group():
    result = parse(interchange([("850", PO_BODY)]).replace("GE*1*1~", "GE*3*1~"))
    assert codes(result) == ["AK9:5"] and set_ids(result) == []


def test_missing_ge_rejects_the_group():
    result = parse(interchange([("850", PO_BODY)]).replace("GE*1*1~\n", ""))
    assert "AK9:3" in codes(result) and set_ids(result) == []


def test_iea02_mismatch_rejects_the_interchange_with_ta1_001():
    result = parse(interchange([("850", PO_BODY)]).replace("IEA*1*000000101", "IEA*1*000000999"))
    assert codes(result) == ["TA1:001"] and set_ids(result) == []
    [row] = rejections(result)
    assert row["level"] == "interchange" and row["raw_payload"].startswith("ISA*")


def test_iea02_without_zero_padding_is_only_a_warning():
    result = parse(interchange([("850", PO_BODY)]).replace("IEA*1*000000101", "IEA*1*101"))
    assert codes(result) == [] and "TA1:001" in codes(result, "warning")
    assert set_ids(result) == ["850"]


def test_iea01_group_count_mismatch_rejects_the_interchange():
    result = parse(interchange([("850", PO_BODY)]).replace("IEA*1*", "IEA*2*"))
    assert codes(result) == ["TA1:021"] and set_ids(result) == []


def test_missing_iea_rejects_the_interchange():
    result = parse(interchange([("850", PO_BODY)]).replace("IEA*1*000000101~\n", ""))
    assert codes(result) == ["TA1:023"] and result.rejected


def test_segment_between_groups_rejects_the_interchange():
    text = interchange([("850", PO_BODY)]).replace("GE*1*1~\n", "GE*1*1~\nREF*DP*1~\n")
    assert codes(parse(text)) == ["TA1:024"]


def test_segment_between_sets_rejects_the_group():
    text = interchange([("850", PO_BODY)]).replace("SE*10*0001~\n", "SE*10*0001~\nREF*DP*1~\n")
    assert codes(parse(text)) == ["X12:OUTSIDE"]


def test_malformed_segment_id_inside_a_set_rejects_it():
    text = interchange([("850", PO_BODY)]).replace("REF*DP*042", "Ref-x*DP*042")
    assert codes(parse(text)) == ["AK5:5"]


def test_text_before_the_first_isa_flags_the_file_but_the_interchange_loads():
    result = parse("garbage line\n" + interchange([("850", PO_BODY)]))
    assert [e.code for e in result.errors] == ["X12:OUTSIDE"]
    assert set_ids(result) == ["850"] and result.rejected


def test_non_x12_input_is_rejected_not_raised():
    for junk in (b"", b"hello world", b"ISA", b"ISA*00*", b"\xff\xfe\x00garbage ISAx", "ISA~~~"):
        result = parse(junk, "junk")
        assert result.rejected and result.all_errors()
        assert rejections(result)


def test_truncated_file_yields_errors_not_exceptions():
    full = interchange([("850", PO_BODY)])
    for cut in range(0, len(full), 7):
        result = parse(full[:cut])
        assert isinstance(result, ParseResult)
        assert result.rejected


def test_a_broken_interchange_does_not_stop_the_next_one():
    bad = interchange([("850", PO_BODY)], control="000000001").replace("IEA*1*000000001", "IEA*1*7")
    good = interchange([("850", PO_BODY)], control="000000002")
    result = parse(bad + good)
    assert [ic.rejected for ic in result.interchanges] == [True, False]
    assert set_ids(result) == ["850"]


# -- retransmissions ---------------------------------------------------------------------


def test_identical_interchange_twice_is_a_retransmission():
    text = interchange([("850", PO_BODY)])
    result = parse(text + text)
    statuses, state = classify_all(result.interchanges, {})
    assert [s for _, s in statuses] == ["new", "retransmission"]
    assert len(state) == 1


def test_same_control_number_with_different_content_is_a_reuse():
    first = parse(interchange([("850", PO_BODY)])).interchanges[0]
    changed = [s.replace("*12*CA*", "*13*CA*") for s in PO_BODY]
    second = parse(interchange([("850", changed)])).interchanges[0]
    seen = {first.key: first.raw_sha256}
    assert classify(second.key, second.raw_sha256, seen) == "control_number_reuse"
    assert classify(first.key, first.raw_sha256, {}) == "new"


def test_hash_covers_exact_interchange_bytes_only():
    text = interchange([("850", PO_BODY)])
    alone = parse(text).interchanges[0]
    padded = parse("\n\n" + text + "\n\n").interchanges[0]
    assert alone.raw_sha256 == padded.raw_sha256
    assert padded.byte_start == 2
