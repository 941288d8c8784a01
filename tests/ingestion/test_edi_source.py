"""The EDI source: X12 files under ``edi/{inbound,outbound}/<partner>/`` → ``raw_edi``.

Fixtures are small explicit interchanges (one group each, counts correct unless a test breaks
them on purpose), written with the X12 library's test builder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from ingestion.conservation import ConservationError
from ingestion.edi import SETS, build_source, column_type, location
from ingestion.pipeline import run_ingest
from ingestion.registry import ingest
from tests.x12.builders import PO_BODY, interchange
from trueup.settings import Paths
from trueup.x12 import DOCUMENT_TABLES, documents, parse

Query = Callable[[str], list[tuple]]

ASN = [
    "BSN*00*SH00000001*20260102*1200*0001",
    "HL*1**S",
    "TD1*CTN25*2****G*30*LB",
    "TD5*B*2*UPSN*U",
    "REF*BM*BOL1",
    "HL*2*1*O",
    "PRF*4500012345***20260101",
    "HL*3*2*I",
    "LIN**UP*012345678905*VN*WID-100",
    "SN1**12*CA**12",
    "CTT*3*12",
]
INVOICE = [
    "BIG*20260103*IN00000001*20260101*4500012345",
    "IT1*1*12*CA*18.50**UP*012345678905",
    "IT1*2*1*CA*5.00**UP*012345678912",
    "TDS*23000",
    "SAC*C*D240***1000",
    "CTT*2",
]
REMITTANCE = [
    "BPR*C*230.00*C*ACH*CTX***********20260110",
    "TRN*1*EFT000000001*1234567890",
    "N1*PR*MEGAMART",
    "ENT*1",
    "RMR*IV*IN00000001*PO*230.00*230.00",
]
ACK = ["AK1*IN*1", "AK2*810*0001", "AK5*A", "AK9*A*1*1*1"]

PARTNER = "megamart"
PO_FILE = f"inbound/{PARTNER}/20260101-000001.x12"
FILES = {
    PO_FILE: interchange([("850", PO_BODY)], control="000000101"),
    f"outbound/{PARTNER}/20260102-000001.x12": interchange(
        [("856", ASN)], control="000000102", gs_func="SH"
    ),
    f"outbound/{PARTNER}/20260103-000001.x12": interchange(
        [("810", INVOICE)], control="000000103", gs_func="IN"
    ),
    f"inbound/{PARTNER}/20260110-000001.x12": interchange(
        [("820", REMITTANCE)], control="000000104", gs_func="RA"
    ),
    f"inbound/{PARTNER}/20260104-000001.x12": interchange(
        [("997", ACK)], control="000000105", gs_func="FA"
    ),
}


@pytest.fixture
def edi_dir(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The default EDI folder of the test's data directory, with no outside overrides."""
    for name in ("TRUEUP_EDI_DIR", "TRUEUP_EDI_FILE_GLOBS", "SOURCES__EDI__BUCKET_URL"):
        monkeypatch.delenv(name, raising=False)
    root = paths.sources / "edi"
    root.mkdir(parents=True)
    return root


def write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def write_company(root: Path) -> None:
    for relative, text in FILES.items():
        write(root, relative, text)


def write_one_order(root: Path) -> None:
    """The smallest company: one 850 (tests running the source several times stay fast)."""
    write(root, PO_FILE, FILES[PO_FILE])


def count(warehouse: Query, table: str, where: str = "true") -> int:
    return warehouse(f"select count(*) from raw_edi.{table} where {where}")[0][0]


def rejected(warehouse: Query) -> list[tuple]:
    return warehouse(
        "select resource, file_or_endpoint, locator, reason, raw_payload "
        "from raw_quarantine.rejected_records where source = 'edi' order by rejected_at"
    )


def test_first_load_maps_850_856_810_820_997_into_their_tables(edi_dir: Path, warehouse: Query):
    write_company(edi_dir)

    result = ingest("edi")

    audit = result.audit(SETS)
    assert (audit.input_records, audit.loaded, audit.quarantined) == (5, 5, 0)
    assert warehouse("select po_number, direction, partner from raw_edi.x12_850_headers") == [
        ("4500012345", "inbound", PARTNER)
    ]
    assert count(warehouse, "x12_850_lines") == 1
    assert warehouse("select shipment_id, direction from raw_edi.x12_856_shipments") == [
        ("SH00000001", "outbound")
    ]
    assert count(warehouse, "x12_856_items", "units_shipped = 12") == 1
    assert warehouse("select invoice_number, total_amount from raw_edi.x12_810_headers") == [
        ("IN00000001", 230.0)
    ]
    assert warehouse("select line_number, row_index from raw_edi.x12_810_lines order by 2") == [
        ("1", 0),
        ("2", 1),
    ]
    assert count(warehouse, "x12_810_allowances_charges") == 1
    assert warehouse("select trace_number, payment_date from raw_edi.x12_820_payments") == [
        ("EFT000000001", date(2026, 1, 10))
    ]
    assert count(warehouse, "x12_820_remittances", "ref_number = 'IN00000001'") == 1
    assert warehouse("select ack_functional_id, group_status from raw_edi.x12_997_acks") == [
        ("IN", "A")
    ]
    assert count(warehouse, "x12_transactions") == 5
    assert count(warehouse, "x12_interchanges", "status = 'new' and sets_loaded = 1") == 5
    # Every segment of every loaded set is kept verbatim for audit, with its set.
    assert count(warehouse, "x12_transactions", "segments like '%~REF*BM*BOL1~%'") == 1


def test_second_run_adds_nothing(edi_dir: Path, warehouse: Query):
    write_company(edi_dir)
    ingest("edi")
    before = {t: count(warehouse, t) for t in ("x12_transactions", "x12_interchanges")}

    again = ingest("edi").audit(SETS)

    assert (again.loaded, again.quarantined, again.duplicates_skipped) == (0, 0, 5)
    assert (again.files_read, again.files_skipped) == (0, 5)
    assert {t: count(warehouse, t) for t in before} == before


def test_a_new_file_landing_loads_only_that_file(edi_dir: Path, warehouse: Query):
    write_one_order(edi_dir)
    ingest("edi")
    po = [s.replace("4500012345", "4500012346") for s in PO_BODY]
    write(
        edi_dir,
        f"inbound/{PARTNER}/20260111-000001.x12",
        interchange([("850", po)], control="000000106"),
    )

    audit = ingest("edi").audit(SETS)

    assert (audit.files_read, audit.files_skipped) == (1, 1)
    assert (audit.loaded, audit.duplicates_skipped) == (1, 1)
    assert warehouse("select po_number from raw_edi.x12_850_headers order by 1") == [
        ("4500012345",),
        ("4500012346",),
    ]


def test_retransmitted_interchange_under_a_new_file_name_is_loaded_once(
    edi_dir: Path, warehouse: Query
):
    write_one_order(edi_dir)
    ingest("edi")
    # The partner's VAN re-delivers the same interchange inside a file with another name and
    # another interchange: only the other interchange is new.
    second_po = [s.replace("4500012345", "4500012399") for s in PO_BODY]
    resent = FILES[PO_FILE] + interchange([("850", second_po)], control="000000107")
    write(edi_dir, f"inbound/{PARTNER}/resend-0001.x12", resent)

    audit = ingest("edi").audit(SETS)

    assert (audit.loaded, audit.quarantined) == (1, 0)
    assert audit.duplicates_skipped == 1 + 1  # the unchanged file, the retransmitted set
    assert audit.balanced
    assert warehouse("select po_number from raw_edi.x12_850_headers order by 1") == [
        ("4500012345",),
        ("4500012399",),
    ]
    assert count(warehouse, "x12_850_lines") == 2
    assert warehouse(
        "select source_file, status, original_file, sets_skipped from raw_edi.x12_interchanges "
        "where isa_control_number = '000000101' order by status"
    ) == [
        (PO_FILE, "new", None, 0),
        (f"inbound/{PARTNER}/resend-0001.x12", "retransmission", PO_FILE, 1),
    ]


def test_an_identical_file_delivered_twice_in_one_run_is_loaded_once(
    edi_dir: Path, warehouse: Query
):
    write(edi_dir, f"inbound/{PARTNER}/a.x12", FILES[PO_FILE])
    write(edi_dir, f"inbound/{PARTNER}/b.x12", FILES[PO_FILE])

    audit = ingest("edi").audit(SETS)

    assert (audit.input_records, audit.loaded, audit.duplicates_skipped) == (2, 1, 1)
    assert count(warehouse, "x12_850_headers") == 1
    assert warehouse("select status from raw_edi.x12_interchanges order by source_file") == [
        ("new",),
        ("retransmission",),
    ]


def test_a_different_interchange_reusing_isa13_is_quarantined_naming_the_original_file(
    edi_dir: Path, warehouse: Query
):
    write_one_order(edi_dir)
    ingest("edi")
    other_po = [s.replace("4500012345", "4599999999") for s in PO_BODY]
    write(
        edi_dir,
        f"inbound/{PARTNER}/20260112-000001.x12",
        interchange([("850", other_po)], control="000000101"),
    )

    audit = ingest("edi").audit(SETS)

    assert (audit.loaded, audit.quarantined) == (0, 1)
    assert warehouse("select po_number from raw_edi.x12_850_headers") == [("4500012345",)]
    [(resource, file, locator, reason, payload)] = rejected(warehouse)
    assert (resource, file) == (SETS, f"inbound/{PARTNER}/20260112-000001.x12")
    assert "control number reuse" in reason
    assert PO_FILE in reason
    assert "ISA13=000000101" in locator and "ST02=0001" in locator
    assert "4599999999" in payload and payload.startswith("ISA*")
    assert warehouse(
        "select status, original_file, sets_quarantined from raw_edi.x12_interchanges "
        "where source_file like '%20260112%'"
    ) == [("control_number_reuse", PO_FILE, 1)]


def test_a_bad_se01_count_quarantines_only_that_set_and_loads_its_siblings(
    edi_dir: Path, warehouse: Query
):
    second = [s.replace("IN00000001", "IN00000002") for s in INVOICE]
    text = interchange([("810", INVOICE), ("810", second)], control="000000201", gs_func="IN")
    text = text.replace(f"SE*{len(INVOICE) + 2}*0002", f"SE*{len(INVOICE) + 5}*0002")
    write(edi_dir, f"outbound/{PARTNER}/two-invoices.x12", text)

    audit = ingest("edi").audit(SETS)

    assert (audit.input_records, audit.loaded, audit.quarantined) == (2, 1, 1)
    assert warehouse("select invoice_number from raw_edi.x12_810_headers") == [("IN00000001",)]
    [(_, file, locator, reason, payload)] = rejected(warehouse)
    assert file == f"outbound/{PARTNER}/two-invoices.x12"
    assert "[AK5:4]" in reason and "SE01" in reason
    assert "ST02=0002" in locator and "segment" in locator
    assert payload.startswith("ST*810*0002") and "IN00000002" in payload
    assert warehouse(
        "select sets_found, sets_loaded, sets_quarantined from raw_edi.x12_interchanges"
    ) == [(2, 1, 1)]


def test_conservation_holds_and_a_lost_set_fails_the_run_loudly(
    edi_dir: Path, paths: Paths, warehouse: Query
):
    write_one_order(edi_dir)
    write(edi_dir, f"inbound/{PARTNER}/garbage.edi", b"\x00\x01 definitely not X12")
    bad = FILES[PO_FILE].replace("GE*1*1", "GE*3*1")
    write(edi_dir, f"inbound/{PARTNER}/bad-group.x12", bad.replace("000000101", "000000301"))

    result = ingest("edi")

    # 1 good set, 1 set in a group with a wrong GE01, 1 file that is not X12 at all.
    audit = result.audit(SETS)
    assert (audit.input_records, audit.loaded, audit.quarantined) == (3, 1, 2)
    assert warehouse(
        "select input_records, loaded, quarantined, duplicates_skipped, balanced "
        "from raw_quarantine.load_audit where source = 'edi'"
    ) == [(3, 1, 2, 0, True)]
    write(
        edi_dir, f"inbound/{PARTNER}/late.x12", interchange([("850", PO_BODY)], control="000000401")
    )

    def lose_one(rows: dict[str, int]) -> dict[str, int]:
        return {**rows, "x12_transactions": rows.get("x12_transactions", 0) - 1}

    with pytest.raises(ConservationError, match=SETS):
        run_ingest("edi", lambda run: build_source(run, paths), paths=paths, tamper=lose_one)


def test_a_garbage_file_is_quarantined_whole_and_does_not_stop_the_run(
    edi_dir: Path, warehouse: Query
):
    write_one_order(edi_dir)
    write(edi_dir, f"inbound/{PARTNER}/readme.txt", "Dear partner, please find attached...\n")

    audit = ingest("edi").audit(SETS)

    assert (audit.loaded, audit.quarantined) == (1, 1)
    [(_, file, locator, reason, payload)] = rejected(warehouse)
    assert file == f"inbound/{PARTNER}/readme.txt"
    assert "X12:NOT_X12" in reason and locator == "byte 0"
    assert payload.startswith("Dear partner")


def test_files_are_found_by_configured_globs_and_bucket_url(
    tmp_path: Path, edi_dir: Path, monkeypatch: pytest.MonkeyPatch, warehouse: Query
):
    elsewhere = tmp_path / "van-mailbox"
    write(elsewhere, f"inbound/{PARTNER}/po.x12", FILES[PO_FILE])
    write(elsewhere, f"inbound/{PARTNER}/po.dat", FILES[PO_FILE])
    monkeypatch.setenv("SOURCES__EDI__BUCKET_URL", str(elsewhere))
    monkeypatch.setenv("SOURCES__EDI__FILE_GLOBS", "**/*.dat")

    audit = ingest("edi").audit(SETS)

    assert (audit.files_read, audit.loaded) == (1, 1)
    assert warehouse("select source_file from raw_edi.x12_transactions") == [
        (f"inbound/{PARTNER}/po.dat",)
    ]


def test_location_reads_direction_and_partner_from_the_folders():
    assert location("inbound/megamart/a.x12") == ("inbound", "megamart")
    assert location("outbound/acme/2026/b.x12") == ("outbound", "acme")
    assert location("misc/c.x12") == (None, "misc")
    assert location("d.x12") == (None, None)


def test_declared_column_types_match_what_the_mappers_produce():
    bodies = [
        ("850", PO_BODY, "PO"),
        ("856", ASN, "SH"),
        ("810", INVOICE, "IN"),
        ("820", REMITTANCE, "RA"),
        ("997", ACK, "FA"),
    ]
    for set_id, body, func in bodies:
        tables = documents(parse(interchange([(set_id, body)], gs_func=func)))
        for table in (*DOCUMENT_TABLES, "x12_interchanges", "x12_transactions"):
            for row in tables[table]:
                for name, value in row.items():
                    if value is None:
                        continue
                    inferred = pa.array([value]).type
                    declared = column_type(name)
                    assert declared == inferred or (
                        declared == pa.date32() and inferred == pa.string()
                    ), f"{table}.{name}: declared {declared}, mapper gives {inferred}"


def _messy_company(root: Path) -> None:
    """Every fate a set can meet, spread over files small enough to fall in several chunks."""
    write_company(root)
    second = [s.replace("IN00000001", "IN00000002") for s in INVOICE]
    text = interchange([("810", INVOICE), ("810", second)], control="000000201", gs_func="IN")
    write(
        root,
        f"outbound/{PARTNER}/two-invoices.x12",
        text.replace(f"SE*{len(INVOICE) + 2}*0002", f"SE*{len(INVOICE) + 5}*0002"),
    )
    second_po = [s.replace("4500012345", "4500012399") for s in PO_BODY]
    resent = FILES[PO_FILE] + interchange([("850", second_po)], control="000000107")
    write(root, f"inbound/{PARTNER}/resend-0001.x12", resent)
    other_po = [s.replace("4500012345", "4599999999") for s in PO_BODY]
    reuse = interchange([("850", other_po)], control="000000101")
    write(root, f"inbound/{PARTNER}/reuse.x12", reuse)
    write(root, "at-the-root.x12", interchange([("850", second_po)], control="000000108"))
    write(root, f"inbound/{PARTNER}/garbage.edi", b"\x00\x01 definitely not X12")


def _snapshot(warehouse_file: Path) -> dict[str, list[tuple]]:
    """Every ``raw_edi`` row (without the load id) and every quarantined record, in order."""
    import duckdb

    out: dict[str, list[tuple]] = {}
    with duckdb.connect(str(warehouse_file), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw_edi' and table_name like 'x12%' order by 1"
        ).fetchall()
        for (table,) in tables:
            out[table] = con.execute(
                f"select * exclude (_dlt_load_id) from raw_edi.{table} order by all"
            ).fetchall()
        out["quarantine"] = con.execute(
            "select resource, file_or_endpoint, locator, reason, raw_payload "
            "from raw_quarantine.rejected_records order by rejected_at"
        ).fetchall()
    return out


def test_pooled_mapping_loads_exactly_what_serial_mapping_loads(
    tmp_path: Path, edi_dir: Path, monkeypatch: pytest.MonkeyPatch
):
    import ingestion.edi as edi_module

    _messy_company(edi_dir)
    monkeypatch.setenv("TRUEUP_EDI_DIR", str(edi_dir))
    monkeypatch.setattr(edi_module, "POOL_MIN_BYTES", 0)
    pools: list[int] = []
    mapped = edi_module._mapped
    monkeypatch.setattr(edi_module, "_mapped", lambda c, w: pools.append(w) or mapped(c, w))
    serial_dir, pooled_dir = Paths(tmp_path / "serial"), Paths(tmp_path / "pooled")

    serial = ingest("edi", paths=serial_dir, workers=1).audit(SETS)
    pooled = ingest("edi", paths=pooled_dir, workers=2, files_per_batch=2).audit(SETS)

    assert pools == [1, 2]

    # 12 sets: 8 loaded; a bad SE01, a reused ISA13 and a garbage file quarantined; 1 resent.
    assert (serial.input_records, serial.loaded, serial.quarantined) == (12, 8, 3)
    assert (pooled.input_records, pooled.loaded, pooled.quarantined) == (12, 8, 3)
    assert pooled.duplicates_skipped == serial.duplicates_skipped == 1
    serial_rows, pooled_rows = _snapshot(serial_dir.warehouse), _snapshot(pooled_dir.warehouse)
    assert pooled_rows == serial_rows
    # A malformed set inside a pooled file is still quarantined on its own, with its locator.
    [bad_set] = [r for r in pooled_rows["quarantine"] if "two-invoices" in r[1]]
    assert "[AK5:4]" in bad_set[3] and "ISA13=000000201 GS06=1 ST02=0002 segment" in bad_set[2]
    assert bad_set[4].startswith("ST*810*0002")
    # A file outside inbound/outbound loads with no direction.
    root_rows = [r for r in pooled_rows["x12_transactions"] if r[0] == "at-the-root.x12"]
    assert len(root_rows) == 1


def test_pooled_run_then_serial_run_adds_nothing(
    edi_dir: Path, monkeypatch: pytest.MonkeyPatch, warehouse: Query
):
    import ingestion.edi as edi_module

    _messy_company(edi_dir)
    monkeypatch.setattr(edi_module, "POOL_MIN_BYTES", 0)
    ingest("edi", workers=2, files_per_batch=1)
    before = {t: count(warehouse, t) for t in ("x12_transactions", "x12_850_lines")}

    again = ingest("edi", workers=1).audit(SETS)

    assert (again.loaded, again.quarantined, again.duplicates_skipped) == (0, 0, 12)
    assert {t: count(warehouse, t) for t in before} == before
