"""Public partner samples from ../shared/realdata: quirks load, broken units are flagged.

The expected findings below come from MANIFEST.tsv descriptions and a reading of each file;
every file must be listed, so a new sample forces a decision instead of passing silently.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trueup.x12 import classify_all, documents, parse, rejections
from trueup.x12.inspect import inspect_file

REALDATA = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(
        not (REALDATA / "x12").is_dir(),
        reason=f"public sample data not present at {REALDATA} (only beside a full checkout)",
    ),
]

# Files under x12/ that break a rule: file -> (level rejected, reason substring).
BROKEN_IN_X12 = {
    "apimeister_x12-types__test-data_004010_310.edi": ("interchange", "IEA02 '000061216'"),
    "indice-co_EDI.Net__test_indice.Edi.Tests_Samples_204-MGCTLYST-SAMPLE.EDI": (
        "transaction",
        "SE01 '41' but the set has 38",
    ),
    "indice-co_EDI.Net__test_indice.Edi.Tests_Samples_x12.832.edi": ("transaction", "SE01 '17'"),
    "indice-co_EDI.Net__test_indice.Edi.Tests_Samples_x12.850.edi": (
        "interchange",
        "IEA02 '000000001' does not match ISA13 '000000055'",
    ),
    "indice-co_EDI.Net__test_indice.Edi.Tests_Samples_x12.850a.edi": ("interchange", "IEA02"),
    "indice-co_EDI.Net__test_indice.Edi.Tests_Samples_x12.Issue172.edi": ("interchange", "IEA02"),
    # Both 850s carry ST02 0001; the first also miscounts SE01.
    "indice-co_EDI.Net__test_indice.Edi.Tests_Samples_x12.850.issue135.edi": (
        "transaction",
        "ST02 0001 repeated",
    ),
    # Envelope fine, content not: a 997 without AK1, and AK302 holding repeats/composites.
    "xlate_staedi__src_test_resources_x12_empty997.edi": ("transaction", "AK102"),
    "xlate_staedi__src_test_resources_x12_extraDelimiter997.edi": ("transaction", "AK302"),
}

MALFORMED = {
    "hellooops_vscode-edi-support__docs_850-comments.x12": "before the first ISA",
    "hellooops_vscode-edi-support__docs_diagnosctics.x12": "IEA01 '0000000001'",
    "olmelabs_EdiEngine__EdiEngine.Tests_TestData_850.SyntaxNotes.ERR.edi": "paired-element",
    "olmelabs_EdiEngine__EdiEngine.Tests_TestData_940_Failed_SE01.edi": "SE01 '12'",
    "olmelabs_EdiEngine__EdiEngine.Tests_TestData_ControlNumbersMismatch.edi": "IEA02 '000003439'",
    "olmelabs_EdiEngine__EdiEngine.Tests_TestData_NonEdi.edi": "no ISA segment",
    "olmelabs_EdiEngine__EdiEngine.Tests_TestData_WrongGroupsAndTranCount.edi": "IEA01 '2'",
    "xlate_staedi__src_test_resources_x12_invalid997.edi": "AK101 'HC NOT IN CODESET'",
    "xlate_staedi__src_test_resources_x12_invalid997_min.edi": "GS04 'BAD_DATE'",
    "xlate_staedi__src_test_resources_x12_invalid999.edi": "SE01 '16'",
    "xlate_staedi__src_test_resources_x12_simple_with_binary_segment.edi": "ST01 '000'",
}


def _files(folder: str) -> list[Path]:
    return sorted(p for p in (REALDATA / folder).iterdir() if p.is_file())


def _x12_files() -> list[Path]:
    return _files("x12") if (REALDATA / "x12").is_dir() else []


def _malformed_files() -> list[Path]:
    return _files("x12_malformed") if (REALDATA / "x12_malformed").is_dir() else []


def _reasons(path: Path) -> list[tuple[str, str]]:
    result = parse(path.read_bytes(), path.name)
    documents(result)
    return [(r["level"], r["reason"]) for r in rejections(result)]


@pytest.mark.parametrize("path", _x12_files(), ids=lambda p: p.name[:60])
def test_every_sample_yields_interchanges_with_sets(path: Path):
    result = parse(path.read_bytes(), path.name)
    assert result.interchanges and any(
        g.transactions for ic in result.interchanges for g in ic.groups
    )
    reasons = _reasons(path)
    if path.name in BROKEN_IN_X12:
        level, needle = BROKEN_IN_X12[path.name]
        assert any(lv == level and needle in why for lv, why in reasons), reasons
    else:
        assert reasons == [], reasons


@pytest.mark.parametrize("path", _malformed_files(), ids=lambda p: p.name[:60])
def test_every_malformed_sample_is_rejected_with_its_reason(path: Path):
    assert path.name in MALFORMED, f"new malformed sample {path.name}: add its expected reason"
    report = inspect_file(path)
    assert report["rejected"] is True
    assert any(MALFORMED[path.name] in why for _, why in _reasons(path)), _reasons(path)


def test_expectation_lists_only_name_existing_files():
    names = {p.name for p in _x12_files()}
    assert set(BROKEN_IN_X12) <= names


def test_sound_sets_of_a_partly_broken_file_still_load():
    # The 810+850 file mixes a 3010 group (YYMMDD dates) with a 4010 one: both load.
    path = REALDATA / "x12" / "xlate_staedi__src_test_resources_x12_invoice810_po850_dual.edi"
    tables = documents(parse(path.read_bytes(), path.name))
    assert len(tables["x12_810_headers"]) == 2 and len(tables["x12_850_headers"]) == 1
    assert tables["x12_810_headers"][0]["total_amount"] == 2554.38  # TDS*255438


@pytest.mark.parametrize(
    ("name", "terminator"),
    [
        ("xlate_staedi__src_test_resources_x12_issue128_ts210_80char.edi", "~"),
        ("xlate_staedi__src_test_resources_x12_issue109_ts214_ellipses_segterm.edi", "\u2026"),
        ("indice-co_EDI.Net__test_indice.Edi.Tests_Samples_x12.810a.edi", "~"),
        ("aaronhuggins_node-x12__test_test-data_850_2.edi", "\n"),
        ("xlate_staedi__src_test_resources_x12_sample837-small.edi", "\n"),
    ],
    ids=["wrapped-80", "ellipsis", "unpadded-isa-tabs-bom", "newline", "backtick-repetition"],
)
def test_quirky_layouts_load(name: str, terminator: str):
    result = parse((REALDATA / "x12" / name).read_bytes(), name)
    assert result.interchanges[0].delimiters.segment == terminator
    assert not result.rejected


def test_fat_file_second_copy_is_a_retransmission():
    path = REALDATA / "x12" / "aaronhuggins_node-x12__test_test-data_850_fat.edi"
    statuses, _ = classify_all(parse(path.read_bytes()).interchanges, {})
    assert [s for _, s in statuses] == ["new", "retransmission"]


def test_820_sample_balances_per_domain_check():
    path = (
        REALDATA / "x12" / "indice-co_EDI.Net__test_indice.Edi.Tests_Samples_x12.820.issue140.edi"
    )
    tables = documents(parse(path.read_bytes()))
    [pay] = tables["x12_820_payments"]
    paid = sum(r["paid_amount"] for r in tables["x12_820_remittances"])
    assert round(paid, 2) == pay["total_amount"] == 21298.97
