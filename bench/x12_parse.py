"""Benchmark the X12 reader on ~50 MB of synthetic 856/810/850 traffic.

Run: ``.venv/bin/python bench/x12_parse.py [--mb 50]``. Prints MB/s for envelope parsing with
validation, for mapping to rows, and for the two together. Target: >= 20 MB/s envelope+validate.
"""

from __future__ import annotations

import argparse
import random
import time

from trueup.x12 import documents, parse
from trueup.x12.documents import map_transactions


def _850(n: int, rnd: random.Random) -> list[str]:
    segs = [
        f"BEG*00*SA*45{n:08d}**20250301",
        "REF*DP*042",
        "DTM*002*20250314",
        "N1*ST*RETAILER DC 6094*UL*0012345000010",
    ]
    lines = rnd.randint(3, 12)
    for i in range(1, lines + 1):
        segs += [
            f"PO1*{i}*{rnd.randint(1, 99)}*CA*{rnd.randint(100, 9999) / 100:.2f}*PE"
            f"*UP*0123456{i:05d}*VN*WID-{i:03d}",
            f"PID*F****WIDGET {i} 24PK",
            "PO4*24*1*EA",
        ]
    segs.append(f"CTT*{lines}")
    return segs


def _856(n: int, rnd: random.Random) -> list[str]:
    segs = [
        f"BSN*00*SH{n:08d}*20250305*1200*0001",
        "HL*1**S",
        "TD1*CTN25*3****G*42*LB",
        "TD5*B*2*UPSN*U",
        f"REF*BM*BOL{n:06d}",
        "DTM*011*20250305",
        "HL*2*1*O",
        f"PRF*45{n:08d}***20250301",
    ]
    hl = 2
    for _ in range(rnd.randint(1, 4)):
        hl += 1
        pack = hl
        segs += [f"HL*{pack}*2*P", f"MAN*GM*0000812345{n % 10**9:09d}{pack % 10}"]
        for j in range(rnd.randint(1, 3)):
            hl += 1
            segs += [f"HL*{hl}*{pack}*I", f"LIN**UP*0123456{j:05d}", f"SN1**{j + 1}*CA"]
    segs.append(f"CTT*{hl}")
    return segs


def _810(n: int, rnd: random.Random) -> list[str]:
    segs = [
        f"BIG*20250306*INV{n:08d}*20250301*45{n:08d}",
        "REF*IA*VEND001",
        "N1*ST*RETAILER DC 6094*UL*0012345000010",
        "ITD*01*3*2**10**30",
    ]
    lines = rnd.randint(2, 10)
    total = 0
    for i in range(1, lines + 1):
        qty, price = rnd.randint(1, 50), rnd.randint(100, 5000)
        total += qty * price
        segs += [f"IT1*{i}*{qty}*CA*{price / 100:.2f}**UP*0123456{i:05d}", f"PID*F****ITEM {i}"]
    segs += [f"TDS*{total}", "SAC*C*D240***1500", f"CTT*{lines}"]
    return segs


def synthetic(target_bytes: int, seed: int = 7) -> bytes:
    """Interchanges of 50 groups each, every group holding one kind of set, '~' + CRLF."""
    rnd = random.Random(seed)
    kinds = [("PO", "850", _850), ("SH", "856", _856), ("IN", "810", _810)]
    out: list[str] = []
    size, ic, n = 0, 0, 0
    while size < target_bytes:
        ic += 1
        body = [
            "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
            f"*250301*1200*U*00401*{ic:09d}*0*P*>"
        ]
        for g in range(1, 51):
            fid, set_id, make = kinds[g % 3]
            body.append(f"GS*{fid}*SENDER*RECEIVER*20250301*1200*{g}*X*004010")
            for t in range(1, 21):
                n += 1
                segs = make(n, rnd)
                body.append(f"ST*{set_id}*{t:04d}")
                body += segs
                body.append(f"SE*{len(segs) + 2}*{t:04d}")
            body += ["GE*20*" + str(g)]
        body.append(f"IEA*50*{ic:09d}")
        text = "~\r\n".join(body) + "~\r\n"
        out.append(text)
        size += len(text)
    return "".join(out).encode("ascii")


def _rate(nbytes: int, seconds: float) -> str:
    return f"{nbytes / 1e6 / seconds:7.1f} MB/s ({seconds:.2f} s)"


def main() -> None:
    """Generate, parse, map, and print throughput."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=50.0)
    args = ap.parse_args()
    data = synthetic(int(args.mb * 1e6))
    mb = len(data)
    t0 = time.perf_counter()
    result = parse(data, "bench.edi", map_documents=False)
    t1 = time.perf_counter()
    map_transactions(result)
    t2 = time.perf_counter()
    tables = documents(result)
    t3 = time.perf_counter()
    sets = sum(len(g.transactions) for ic in result.interchanges for g in ic.groups)
    segs = sum(len(ic.raw_segments) for ic in result.interchanges)
    print(
        f"input: {mb / 1e6:.1f} MB, {len(result.interchanges)} interchanges, {sets} sets, {segs} segments"
    )
    print(f"errors: {len(result.all_errors())} (expected 0)")
    print(f"envelope + validation : {_rate(mb, t1 - t0)}")
    print(f"mapping to rows       : {_rate(mb, t2 - t1)}")
    print(f"collect tables        : {_rate(mb, t3 - t2)}")
    print(f"end to end            : {_rate(mb, t3 - t0)}")
    rows = {k: len(v) for k, v in tables.items() if v}
    print("rows:", rows)


if __name__ == "__main__":
    main()
