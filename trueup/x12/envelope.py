"""Tokenise X12 text into interchanges, groups and transaction sets, and validate envelopes.

Rejection policy (each finding rejects the smallest unit that it makes untrustworthy; the
rest of the file still loads):

=============================================  ===========  ==============================
Finding                                        Code         Unit rejected
=============================================  ===========  ==============================
no ISA in the file                             X12:NOT_X12  file (nothing loads)
text before the first ISA / after an IEA       X12:OUTSIDE  nothing (file flagged)
unusable ISA (separators, truncated)           TA1:024/026  interchange
ISA13 is not numeric                           TA1:018      interchange
bad ISA09 date / ISA10 time                    TA1:014/015  interchange
IEA missing                                    TA1:023      interchange
IEA02 differs from ISA13                       TA1:001      interchange
IEA01 differs from the number of GS groups     TA1:021      interchange
segment between groups (not TA1/ISB/ISE)       TA1:024      interchange
GE missing                                     AK9:3        group (all its sets)
GE02 differs from GS06                         AK9:4        group
GE01 differs from the number of ST sets        AK9:5        group
GS06 not numeric, or repeated in interchange   AK9:6        group
bad GS04 date / GS05 time                      X12:GS_DATE  group
segment between sets inside a group            X12:OUTSIDE  group
invalid ST01 (not a 3-digit set ID)            AK5:1        transaction set
SE missing                                     AK5:2        transaction set
SE02 differs from ST02, or ST02 empty          AK5:3        transaction set
SE01 differs from the ST..SE segment count     AK5:4        transaction set
malformed segment ID inside the set            AK5:5        transaction set
ST02 repeated within the group                 AK5:23       transaction set
ST01 does not belong to GS01                   X12:GS01     nothing (warning)
ISA16 missing, terminator inferred             X12:ISA16    nothing (warning)
=============================================  ===========  ==============================

Mapping to rows (``trueup.x12.documents``) may reject further sets with ``AK5:5``.

Speed comes from doing per-segment work with C-level string methods: line breaks are removed
with ``str.replace``, segments come from one ``str.split`` per interchange, and only envelope
segments are split into elements here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from trueup.x12.delimiters import find_isa, read_isa
from trueup.x12.model import Group, Interchange, ParseResult, Transaction, X12Error

_TAG_RE = re.compile(r"[A-Z0-9]{2,3}")
_SET_ID_RE = re.compile(r"[1-9][0-9]{2}")
_BLANKS = " \t\r\n"
_INTERCHANGE_LEVEL_OK = frozenset({"TA1", "ISB", "ISE"})
_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"}) | _INTERCHANGE_LEVEL_OK

# Functional identifier (GS01) expected for each transaction set (ST01) [DOMAIN.md 1.1].
EXPECTED_GS01 = {
    "850": "PO",
    "855": "PR",
    "856": "SH",
    "810": "IN",
    "820": "RA",
    "940": "OW",
    "945": "SW",
    "846": "IB",
    "180": "AN",
    "997": "FA",
    "999": "FA",
    "210": "IM",
    "214": "QM",
    "860": "PC",
    "944": "RE",
    "832": "SC",
    "864": "TX",
    "204": "SM",
    "990": "GF",
}


def decode(data: bytes | str) -> tuple[str, str, int]:
    """Return (text without BOM, encoding that round-trips it exactly, bytes of BOM skipped)."""
    if isinstance(data, str):
        text, encoding = data, "utf-8"
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            # latin-1 maps every byte, so the exact bytes can be re-created for hashing.
            text, encoding = data.decode("latin-1"), "latin-1"
    if text.startswith("\ufeff"):
        return text[1:], encoding, 3
    return text, encoding, 0


def _valid_date(value: str, fmt: str) -> bool:
    try:
        dt.datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


def _valid_gs_date(value: str, version: str) -> bool:
    """GS04 is CCYYMMDD from 004010 on; releases before 004 used YYMMDD."""
    if len(value) == 8:
        return _valid_date(value, "%Y%m%d")
    return len(value) == 6 and version < "004" and _valid_date(value, "%y%m%d")


def _valid_time(value: str) -> bool:
    """HHMM, HHMMSS or HHMMSSd..: a time of day."""
    if not value.isdigit() or len(value) not in (4, 6, 7, 8):
        return False
    hh, mm = int(value[:2]), int(value[2:4])
    ss = int(value[4:6]) if len(value) >= 6 else 0
    return hh < 24 and mm < 60 and ss < 60


def _same_number(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a == b


class _InterchangeReader:
    """Walks the segments of one interchange and builds the validated model."""

    def __init__(self, result: ParseResult, ic: Interchange, segs: list[str], base: int):
        self.result = result
        self.file = result.source_name
        self.ic = ic
        self.segs = segs
        self.base = base
        self.sep = ic.delimiters.element if ic.delimiters else "*"
        self.group: Group | None = None
        self.group_first = 0
        self.group_st02: set[str] = set()
        self.gs06_seen: set[str] = set()
        self.tx_start = -1
        self.tx_head: list[str] = []
        self.tx_bad: list[tuple[int, str]] = []
        self.stray_group: list[int] = []
        self.stray_ic: list[int] = []
        self.good_tags: set[str] = set()

    # -- errors ---------------------------------------------------------------------------
    def _ic_error(self, code: str, reason: str, severity: str = "error", seg: int | None = None):
        self.ic.errors.append(
            X12Error(
                "interchange",
                code,
                reason,
                self.file,
                severity,  # type: ignore[arg-type]
                segment_index=seg,
                byte_offset=self.ic.byte_start,
                interchange_control=self.ic.control_number,
            )
        )
        if severity == "error":
            self.ic.rejected = True

    def _group_error(self, group: Group, code: str, reason: str, seg: int | None) -> None:
        group.errors.append(
            X12Error(
                "group",
                code,
                reason,
                self.file,
                segment_index=seg,
                interchange_control=self.ic.control_number,
                group_control=group.control_number,
            )
        )
        group.rejected = True

    def _tx_error(
        self, tx: Transaction, code: str, reason: str, seg: int | None, severity: str = "error"
    ) -> None:
        tx.errors.append(
            X12Error(
                "transaction",
                code,
                reason,
                self.file,
                severity,  # type: ignore[arg-type]
                segment_index=seg,
                interchange_control=self.ic.control_number,
                group_control=self.group.control_number if self.group else None,
                set_control=tx.control_number,
            )
        )
        if severity == "error":
            tx.rejected = True

    # -- walk -----------------------------------------------------------------------------
    def run(self) -> None:
        """Walk all segments after the ISA, then validate the interchange as a whole."""
        segs, sep = self.segs, self.sep
        good = self.good_tags
        iea: list[str] | None = None
        iea_at = -1
        for i in range(1, len(segs)):
            s = segs[i]
            p = s.find(sep)
            tag = s[:p] if p >= 0 else s
            if tag in _ENVELOPE_TAGS:
                if tag == "IEA":
                    iea, iea_at = s.split(sep), i
                    break
                self._envelope_segment(i, tag, s)
            elif self.tx_start >= 0:
                if tag not in good:
                    if _TAG_RE.fullmatch(tag):
                        good.add(tag)
                    else:
                        self.tx_bad.append((i, tag))
            elif self.group is not None:
                self.stray_group.append(i)
            else:
                self.stray_ic.append(i)
        end = iea_at if iea_at >= 0 else len(segs)
        self._close_transaction(end, None)
        self._close_group(end, None)
        self._finish_interchange(iea, iea_at)

    def _envelope_segment(self, i: int, tag: str, s: str) -> None:
        if tag == "SE":
            if self.tx_start < 0:
                self._stray(i)
            else:
                self._close_transaction(i, s.split(self.sep))
        elif tag == "ST":
            self._close_transaction(i, None)
            if self.group is None:
                self.stray_ic.append(i)
            else:
                self.tx_start, self.tx_head, self.tx_bad = i, s.split(self.sep), []
        elif tag == "GS":
            self._close_transaction(i, None)
            self._close_group(i, None)
            self._open_group(i, s.split(self.sep))
        elif tag == "GE":
            self._close_transaction(i, None)
            if self.group is None:
                self.stray_ic.append(i)
            else:
                self._close_group(i, s.split(self.sep))
        elif self.group is not None or self.tx_start >= 0:  # TA1/ISB/ISE/ISA inside a group
            self._stray(i)
        elif tag == "ISA":
            self.stray_ic.append(i)

    def _stray(self, i: int) -> None:
        if self.group is not None:
            self.stray_group.append(i)
        else:
            self.stray_ic.append(i)

    def _open_group(self, i: int, el: list[str]) -> None:
        el = el + [""] * (9 - len(el))
        self.group = Group(
            functional_id=el[1],
            app_sender=el[2].strip(),
            app_receiver=el[3].strip(),
            date=el[4],
            time=el[5],
            control_number=el[6].strip(),
            version=el[8].strip(),
            segment_start=self.base + i,
        )
        self.group_first = i
        self.group_st02 = set()
        self.stray_group = []
        self.ic.groups.append(self.group)

    def _close_group(self, i: int, ge: list[str] | None) -> None:
        group = self.group
        if group is None:
            return
        self.group = None
        at = self.base + i
        gs06 = group.control_number
        if ge is None:
            group.segment_end = self.base + i - 1
            self._group_error(group, "AK9:3", f"GE missing for group GS06={gs06}", at)
        else:
            group.segment_end = at
            ge01 = ge[1].strip() if len(ge) > 1 else ""
            ge02 = ge[2].strip() if len(ge) > 2 else ""
            if not _same_number(ge02, gs06):
                self._group_error(group, "AK9:4", f"GE02 {ge02!r} does not match GS06 {gs06!r}", at)
            n = len(group.transactions)
            if not ge01.isdigit() or int(ge01) != n:
                self._group_error(
                    group, "AK9:5", f"GE01 {ge01!r} but the group holds {n} transaction sets", at
                )
        first = self.base + self.group_first
        if not gs06.isdigit() or len(gs06) > 9:
            self._group_error(group, "AK9:6", f"GS06 {gs06!r} is not a 1-9 digit number", first)
        elif gs06 in self.gs06_seen:
            self._group_error(group, "AK9:6", f"GS06 {gs06} repeated in the interchange", first)
        self.gs06_seen.add(gs06)
        if not _valid_gs_date(group.date, group.version):
            self._group_error(group, "X12:GS_DATE", f"GS04 {group.date!r} is not CCYYMMDD", first)
        if not _valid_time(group.time):
            self._group_error(group, "X12:GS_DATE", f"GS05 {group.time!r} is not a time", first)
        if self.stray_group:
            k = self.stray_group[0]
            self._group_error(
                group,
                "X12:OUTSIDE",
                f"{len(self.stray_group)} segment(s) between transaction sets, first "
                f"{self.segs[k][:40]!r}",
                self.base + k,
            )
            self.stray_group = []

    def _close_transaction(self, i: int, se: list[str] | None) -> None:
        """Close the open set at segment ``i`` (its SE, or the segment that cut it short)."""
        start = self.tx_start
        if start < 0:
            return
        self.tx_start = -1
        group = self.group
        assert group is not None  # sets only open inside groups
        st = self.tx_head
        raw = self.segs[start : i + 1] if se is not None else self.segs[start:i]
        tx = Transaction(
            set_id=st[1].strip() if len(st) > 1 else "",
            control_number=st[2].strip() if len(st) > 2 else "",
            raw_segments=raw,
            first_segment_index=self.base + start,
            element_separator=self.sep,
        )
        group.transactions.append(tx)
        at = self.base + i
        if not _SET_ID_RE.fullmatch(tx.set_id):
            self._tx_error(tx, "AK5:1", f"ST01 {tx.set_id!r} is not a transaction set ID", at)
        if se is None:
            self._tx_error(tx, "AK5:2", f"SE missing for set ST02={tx.control_number}", at)
        else:
            se01 = se[1].strip() if len(se) > 1 else ""
            se02 = se[2].strip() if len(se) > 2 else ""
            if not tx.control_number or se02 != tx.control_number:
                self._tx_error(
                    tx, "AK5:3", f"SE02 {se02!r} does not match ST02 {tx.control_number!r}", at
                )
            if not se01.isdigit() or int(se01) != len(raw):
                self._tx_error(
                    tx, "AK5:4", f"SE01 {se01!r} but the set has {len(raw)} segments (ST..SE)", at
                )
        for k, tag in self.tx_bad[:3]:
            self._tx_error(
                tx, "AK5:5", f"unrecognized segment ID {tag[:40]!r} (AK3 code 1)", self.base + k
            )
        if tx.control_number in self.group_st02:
            self._tx_error(tx, "AK5:23", f"ST02 {tx.control_number} repeated in the group", at)
        self.group_st02.add(tx.control_number)
        expected = EXPECTED_GS01.get(tx.set_id)
        if expected and group.functional_id != expected:
            self._tx_error(
                tx,
                "X12:GS01",
                f"set {tx.set_id} in a {group.functional_id!r} group (expected {expected!r})",
                self.base + start,
                severity="warning",
            )

    def _finish_interchange(self, iea: list[str] | None, iea_at: int) -> None:
        ic = self.ic
        isa13 = ic.control_number
        if not isa13.isdigit():
            self._ic_error("TA1:018", f"ISA13 {isa13!r} is not numeric", seg=self.base)
        elif len(isa13) != 9:
            self._ic_error("TA1:018", f"ISA13 {isa13!r} is not 9 digits", "warning", self.base)
        if not (len(ic.date) == 6 and _valid_date(ic.date, "%y%m%d")):
            self._ic_error("TA1:014", f"ISA09 {ic.date!r} is not YYMMDD", seg=self.base)
        if not (len(ic.time) == 4 and _valid_time(ic.time)):
            self._ic_error("TA1:015", f"ISA10 {ic.time!r} is not HHMM", seg=self.base)
        if self.stray_ic:
            k = self.stray_ic[0]
            self._ic_error(
                "TA1:024",
                f"{len(self.stray_ic)} segment(s) outside any functional group, first "
                f"{self.segs[k][:40]!r}",
                seg=self.base + k,
            )
        if iea is None:
            ic.segment_end = self.base + len(self.segs) - 1
            self._ic_error("TA1:023", f"IEA missing for interchange ISA13={isa13}")
            return
        at = self.base + iea_at
        ic.segment_end = at
        iea01 = iea[1].strip() if len(iea) > 1 else ""
        iea02 = iea[2].strip() if len(iea) > 2 else ""
        if iea02 != isa13:
            # "3438" for "000003438" is a padding slip, not a different interchange.
            padded_only = _same_number(iea02, isa13) and iea02.isdigit()
            self._ic_error(
                "TA1:001",
                f"IEA02 {iea02!r} does not match ISA13 {isa13!r}"
                + (" (same number, not zero-padded)" if padded_only else ""),
                "warning" if padded_only else "error",
                at,
            )
        n = len(ic.groups)
        if not iea01.isdigit() or len(iea01) > 5 or int(iea01) != n:
            self._ic_error(
                "TA1:021", f"IEA01 {iea01!r} but the interchange holds {n} group(s)", seg=at
            )
        after = [s for s in self.segs[iea_at + 1 :] if s.strip(_BLANKS)]
        if after:
            self.result.errors.append(
                X12Error(
                    "file",
                    "X12:OUTSIDE",
                    f"{len(after)} segment(s) after IEA of interchange {isa13}, first "
                    f"{after[0][:40]!r}",
                    self.file,
                    segment_index=at + 1,
                    interchange_control=isa13,
                )
            )
            self.result.stray_text.append(
                ic.delimiters.segment.join(after) if ic.delimiters else ""
            )


def _segments_of(region: str, term: str) -> list[str]:
    """Split one interchange's text into non-empty segments with surrounding blanks removed."""
    if term == "\n":
        body = region.replace("\r\n", "\n").replace("\r", "\n")
    else:
        # Hard-wrapped files break lines inside segments: every line break is noise.
        body = region.replace("\r", "").replace("\n", "")
    parts = body.split(term)
    if term + " " in body or term + "\t" in body or " " + term in body or "\t" + term in body:
        return [t for p in parts if (t := p.strip(_BLANKS))]
    if parts and not parts[-1].strip(_BLANKS):
        parts.pop()
    if "" in parts:
        return [p for p in parts if p]
    return parts


def _interchange_from_header(elements: list[str]) -> Interchange:
    el = elements + [""] * (17 - len(elements))
    return Interchange(
        sender_qual=el[5].strip(),
        sender_id=el[6].strip(" \u00a0"),
        receiver_qual=el[7].strip(),
        receiver_id=el[8].strip(" \u00a0"),
        date=el[9].strip(),
        time=el[10].strip(),
        control_number=el[13].strip(),
        version=el[12].strip(),
        usage=el[15].strip(),
        delimiters=None,
    )


def parse_envelopes(data: bytes | str, source_name: str = "<memory>") -> ParseResult:
    """Tokenise ``data`` and validate every envelope; transaction bodies are not mapped.

    May raise on a reader bug; ``trueup.x12.reader.parse`` is the crash-proof entry point.
    """
    text, encoding, bom = decode(data)
    size = len(data.encode(encoding)) if isinstance(data, str) else len(data)
    result = ParseResult(source_name=source_name, size_bytes=size)
    ascii_only = text.isascii()
    start = len(text) - len(text.lstrip(_BLANKS))
    k = find_isa(text, start, None)
    if k < 0:
        result.errors.append(
            X12Error("file", "X12:NOT_X12", "no ISA segment found: not an X12 file", source_name)
        )
        result.stray_text.append(text)
        return result
    if text[start:k].strip(_BLANKS + "\u00a0"):
        result.errors.append(
            X12Error(
                "file",
                "X12:OUTSIDE",
                f"{k - start} character(s) before the first ISA: {text[start:k][:40]!r}",
                source_name,
                byte_offset=bom + start,
            )
        )
        result.stray_text.append(text[start:k])
    seg_base = 0
    byte_pos, char_pos = bom, 0
    while k >= 0:
        if ascii_only:
            byte_start = bom + k
        else:
            byte_pos += len(text[char_pos:k].encode(encoding))
            char_pos = k
            byte_start = byte_pos
        header = read_isa(text, k)
        term = header.delimiters.segment if header.delimiters else None
        nxt = find_isa(text, k + 3, term)
        region = text[k : nxt if nxt >= 0 else len(text)]
        ic = _interchange_from_header(header.elements)
        ic.delimiters = header.delimiters
        ic.byte_start = byte_start
        ic.segment_start = seg_base
        result.interchanges.append(ic)
        if header.delimiters is None or term is None:
            raw = region.rstrip(_BLANKS)
            ic.raw_segments = [raw]
            reader = _InterchangeReader(result, ic, [raw], seg_base)
            reader._ic_error(header.error_code or "TA1:024", header.error or "unusable ISA")
            ic.segment_end = seg_base
            seg_base += 1
        else:
            segs = _segments_of(region, term)
            sep = header.delimiters.element
            i = region.rfind("IEA" + sep)
            j = region.find(term, i) if i >= 0 else -1
            raw = region[: j + 1] if j >= 0 else region.rstrip(_BLANKS)
            ic.raw_segments = segs
            reader = _InterchangeReader(result, ic, segs, seg_base)
            for code, reason in header.warnings:
                reader._ic_error(code, reason, "warning", seg_base)
            reader.run()
            seg_base += len(segs)
        ic.raw_text = raw
        raw_bytes = raw.encode(encoding)
        ic.raw_sha256 = hashlib.sha256(raw_bytes).hexdigest()
        ic.byte_end = byte_start + len(raw_bytes)
        k = nxt
    return result
