"""Convert X12 element strings to plain Python values, raising ``MappingError`` on bad data.

A bad value rejects its transaction set (AK5 code 5) instead of loading a silent null: a
quantity that cannot be read is a discrepancy the partner must fix, not a zero.
"""

from __future__ import annotations

import datetime as dt

# Product/service ID qualifiers grouped into the columns every line table carries [DOMAIN 1.3].
ID_COLUMNS = {
    "UP": "upc",
    "UA": "upc",
    "EN": "gtin",
    "UK": "gtin",
    "EO": "gtin",
    "VN": "vendor_item",
    "VP": "vendor_item",
    "VA": "vendor_item",
    "BP": "buyer_item",
    "IN": "buyer_item",
    "CB": "buyer_item",
    "SK": "sku",
    "MG": "mfr_part",
}
ID_FIELDS = ("upc", "gtin", "vendor_item", "buyer_item", "sku", "mfr_part")


class MappingError(ValueError):
    """A segment whose content cannot be mapped; carries the AK4-style reason."""

    def __init__(self, reason: str, segment_offset: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.segment_offset = segment_offset


def el(seg: list[str], i: int) -> str:
    """Element ``i`` of a split segment (1-based like X12), stripped, or "" when absent."""
    return seg[i].strip() if i < len(seg) else ""


def num(seg: list[str], i: int) -> float | None:
    """Explicit-decimal (R) element as float; None when empty."""
    v = el(seg, i)
    if not v:
        return None
    try:
        return float(v)
    except ValueError:
        raise MappingError(f"{seg[0]}{i:02d} {v!r} is not a number (AK4 code 6)") from None


def integer(seg: list[str], i: int) -> int | None:
    """N0 element as int; None when empty."""
    v = el(seg, i)
    if not v:
        return None
    try:
        return int(v)
    except ValueError:
        raise MappingError(f"{seg[0]}{i:02d} {v!r} is not an integer (AK4 code 6)") from None


def implied2(seg: list[str], i: int) -> float | None:
    """N2 element (two implied decimals: ``255438`` is 2554.38); None when empty."""
    v = el(seg, i)
    if not v:
        return None
    try:
        # A sender that writes an explicit point means what it writes.
        return float(v) if "." in v else int(v) / 100
    except ValueError:
        raise MappingError(f"{seg[0]}{i:02d} {v!r} is not an N2 amount (AK4 code 6)") from None


# Valid dates already converted: a file repeats a handful of dates thousands of times.
_ISO_DATES: dict[str, str] = {}


def date(seg: list[str], i: int) -> str | None:
    """CCYYMMDD (or legacy YYMMDD) element as an ISO date string; None when empty."""
    v = el(seg, i)
    if not v:
        return None
    iso = _ISO_DATES.get(v)
    if iso is not None:
        return iso
    try:
        if len(v) == 8:
            iso = dt.date(int(v[:4]), int(v[4:6]), int(v[6:])).isoformat()
        elif len(v) == 6:
            iso = dt.date(2000 + int(v[:2]), int(v[2:4]), int(v[4:])).isoformat()
    except ValueError:
        pass
    if iso is None:
        raise MappingError(f"{seg[0]}{i:02d} {v!r} is not a CCYYMMDD date (AK4 code 8)")
    if len(_ISO_DATES) < 100_000:
        _ISO_DATES[v] = iso
    return iso


def product_ids(seg: list[str], first: int, last: int | None = None) -> dict[str, str | None]:
    """Read qualifier/ID pairs from element ``first`` on into the ``ID_FIELDS`` columns.

    A qualifier without its ID (or the reverse) breaks the X12 paired-element syntax note and
    rejects the set; unknown qualifiers are ignored.
    """
    out: dict[str, str | None] = dict.fromkeys(ID_FIELDS)
    stop = len(seg) if last is None else min(len(seg), last + 1)
    for q in range(first, stop - 1, 2):
        qual, value = seg[q].strip(), seg[q + 1].strip()
        if not qual and not value:
            continue
        if not qual or not value:
            raise MappingError(
                f"{seg[0]}{q:02d}/{q + 1:02d}: qualifier {qual!r} and ID {value!r} must both be "
                "present (paired-element syntax note, AK4 code 2)"
            )
        col = ID_COLUMNS.get(qual)
        if col and out[col] is None:
            out[col] = value
    return out


def sscc_check_digit_ok(sscc: str) -> bool:
    """GS1 mod-10 check of an 18-digit SSCC."""
    if len(sscc) != 18 or not sscc.isdigit():
        return False
    # Weights 3,1,3,... from the right of the 17 data digits: 3 on even positions from the left.
    total = 3 * sum(map(int, sscc[0:17:2])) + sum(map(int, sscc[1:17:2]))
    return (10 - total % 10) % 10 == int(sscc[-1])


def sscc_from_man(seg: list[str]) -> str | None:
    """SSCC-18 from ``MAN*GM*<AI 00 + 18 digits>`` (or the bare 18 digits); None otherwise."""
    if el(seg, 1) not in ("GM", "W"):
        return None
    v = el(seg, 2)
    if len(v) == 20 and v.startswith("00"):
        return v[2:]
    return v or None
