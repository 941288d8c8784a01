"""Small helpers that write X12 test fixtures explicitly, segment by segment."""

from __future__ import annotations


def isa(
    control: str = "000000101",
    elem: str = "*",
    comp: str = ">",
    rep: str = "U",
    version: str = "00401",
) -> str:
    """A fixed-width 106-character ISA without its terminator."""
    fields = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        "ZZ",
        "SENDER".ljust(15),
        "ZZ",
        "RECEIVER".ljust(15),
        "250301",
        "1200",
        rep,
        version,
        control,
        "0",
        "P",
        comp,
    ]
    return elem.join(fields)


def interchange(
    sets: list[tuple[str, list[str]]],
    *,
    control: str = "000000101",
    gs_func: str = "PO",
    gs_control: str = "1",
    elem: str = "*",
    comp: str = ">",
    term: str = "~",
    after: str = "\n",
) -> str:
    """One ISA with one GS holding ``sets`` = [(ST01, body segments)], counts all correct.

    Segments are written with '*' and converted to ``elem`` so fixtures stay readable.
    """
    segs = [isa(control, elem, comp)]
    segs.append(f"GS*{gs_func}*SENDER*RECEIVER*20250301*1200*{gs_control}*X*004010")
    for n, (set_id, body) in enumerate(sets, start=1):
        st02 = f"{n:04d}"
        segs.append(f"ST*{set_id}*{st02}")
        segs.extend(body)
        segs.append(f"SE*{len(body) + 2}*{st02}")
    segs.append(f"GE*{len(sets)}*{gs_control}")
    segs.append(f"IEA*1*{control}")
    out = [segs[0]] + [s.replace("*", elem) for s in segs[1:]]
    return "".join(s + term + after for s in out)


PO_BODY = [
    "BEG*00*SA*4500012345**20250301",
    "REF*DP*042",
    "DTM*002*20250314",
    "N1*ST*RETAILER DC 6094*UL*0012345000010",
    "PO1*1*12*CA*18.50*PE*UP*012345678905*VN*WID-100",
    "PID*F****WIDGET 24PK",
    "PO4*24*1*EA",
    "CTT*1*12",
]
