"""EDI ingestion throughput: X12 files → ``raw_edi`` end to end, against parsing alone.

    .venv/bin/python bench/edi_ingest_bench.py [--mb 30] [--sim-dir DIR] [--work DIR]

Input is either synthetic 850/856/810 traffic (``bench/x12_parse.py``'s generator, split into
one file per interchange of ~1,000 sets, spread over partner folders), or, with ``--sim-dir``,
the ``edi/`` folder of a ``trueup simulate`` output (many small files, every document type).

Prints, for the same files:

- parse only: ``trueup.x12.parse`` + ``documents`` (rows as dicts, set texts included), in memory;
- end to end: ``ingestion.registry.ingest("edi")`` into a fresh warehouse (listing, hashing,
  parsing, arrow, dlt extract/normalize/merge-load, quarantine and audit);
- the second, no-op run (every file skipped by path, size and modification time);
- native: DuckDB reading the same files (``read_text``) and splitting them into one row per
  segment in a fresh database file, the closest thing to "DuckDB reading X12 natively".

Rows/s counts every row written to the ``raw_edi.x12_*`` tables (one text per set); the ratio
to native compares MB/s, since both read the same bytes into different rows. Peak RSS is this
process's (the parent: dlt, DuckDB) and, separately, the largest worker's.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

PARTNERS = ("MEGAMART", "BIGBOX", "HOMEMART", "CORNERSHOP")


def write_synthetic(root: Path, megabytes: float) -> None:
    """Synthetic interchanges, one file each, alternating inbound/outbound partner folders.

    Args:
        root: The EDI folder to fill.
        megabytes: Approximate total size.
    """
    from x12_parse import synthetic

    data = synthetic(int(megabytes * 1e6))
    chunks = data.split(b"ISA*")[1:]
    for i, chunk in enumerate(chunks):
        direction = "inbound" if i % 2 == 0 else "outbound"
        folder = root / direction / PARTNERS[i % len(PARTNERS)]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"bench-{i:05d}.x12").write_bytes(b"ISA*" + chunk)


def files_of(root: Path) -> list[Path]:
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix in (".x12", ".edi", ".txt")
    )


def parse_only(root: Path) -> tuple[float, int, int]:
    """Parse and map every file in memory.

    Args:
        root: The EDI folder.

    Returns:
        Seconds, rows produced and transaction sets found.
    """
    from trueup.x12 import documents, parse

    t0 = time.perf_counter()
    rows = sets = 0
    for path in files_of(root):
        result = parse(path.read_bytes(), str(path.relative_to(root)))
        tables = documents(result)
        rows += sum(len(v) for k, v in tables.items() if k != "x12_transactions")
        sets += len(tables["x12_transactions"])
    return time.perf_counter() - t0, rows, sets


def warehouse_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'raw_edi' and table_name like 'x12%'"
        ).fetchall()
        return sum(
            con.execute(f"select count(*) from raw_edi.{t}").fetchone()[0] for (t,) in tables
        )


def native(edi: Path, work: Path) -> tuple[float, int]:
    """DuckDB splitting the same files into segments (``~`` terminated, line breaks dropped).

    Returns:
        Seconds and segment rows stored.
    """
    db = work / "native-edi.duckdb"
    db.unlink(missing_ok=True)
    globs = ", ".join(f"'{edi}/**/*{ext}'" for ext in (".x12", ".edi", ".txt"))
    t0 = time.perf_counter()
    with duckdb.connect(str(db)) as con:
        con.execute(
            "create table segments as select filename, unnest(string_split(replace(replace("
            "content, chr(13), ''), chr(10), ''), '~')) as segment_text "
            f"from read_text([{globs}])"
        )
        rows = con.execute("select count(*) from segments").fetchone()[0]
    return time.perf_counter() - t0, rows


def peak_mib() -> tuple[float, float]:
    """Peak RSS of this process and of its largest finished child (worker), in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def rate(megabytes: float, rows: int, seconds: float) -> str:
    return f"{seconds:7.2f} s  {megabytes / seconds:7.2f} MB/s  {rows / seconds:10,.0f} rows/s"


def main() -> None:
    """Generate or locate the files, then time parse-only, a first load and a no-op re-run."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mb", type=float, default=30.0, help="size of the synthetic input")
    ap.add_argument("--sim-dir", type=Path, help="a `trueup simulate` output to read instead")
    ap.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    ap.add_argument("--skip-parse-only", action="store_true", help="time only the pipeline")
    args = ap.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="edi-bench-"))
    data_dir = work / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    if args.sim_dir:
        edi = args.sim_dir / "edi"
    else:
        edi = work / "edi"
        shutil.rmtree(edi, ignore_errors=True)
        write_synthetic(edi, args.mb)
    files = files_of(edi)
    megabytes = sum(p.stat().st_size for p in files) / 1e6
    print(f"input: {megabytes:.1f} MB in {len(files):,} files under {edi}")

    if not args.skip_parse_only:
        seconds, rows, sets = parse_only(edi)
        print(f"parse only   : {rate(megabytes, rows, seconds)}  ({sets:,} sets)")

    os.environ["TRUEUP_DATA_DIR"] = str(data_dir)
    os.environ["TRUEUP_EDI_DIR"] = str(edi)
    from ingestion.registry import ingest

    t0 = time.perf_counter()
    result = ingest("edi")
    seconds = time.perf_counter() - t0
    loaded = warehouse_rows(data_dir / "warehouse.duckdb")
    ours = megabytes / seconds
    print(
        f"end to end   : {rate(megabytes, loaded, seconds)}  ({result.loaded:,} sets loaded, "
        f"{result.quarantined:,} quarantined)"
    )
    own, worker = peak_mib()
    print(f"peak RSS     : {own:,.0f} MiB (this process), {worker:,.0f} MiB (largest worker)")
    t0 = time.perf_counter()
    again = ingest("edi")
    print(
        f"no-op re-run : {time.perf_counter() - t0:7.2f} s  ({again.loaded} sets loaded, "
        f"{again.duplicates_skipped:,} skipped)"
    )
    seconds, rows = native(edi, work)
    print(
        f"native DuckDB: {rate(megabytes, rows, seconds)}  (segments; trueup at "
        f"{ours / (megabytes / seconds):.0%} of its MB/s)"
    )
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
