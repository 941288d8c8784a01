"""File sources: each file loaded once, each record once, bad records quarantined.

:func:`file_resource` turns dlt's ``filesystem`` listing into a resource that

- skips a file already loaded: same path with the same size and modification time (not even
  read), or the same content (SHA-256) under any name, e.g. a partner re-delivering a file. The
  record is kept in the resource's dlt state (``files`` and ``content``), which dlt stores in the
  destination with the load, so a lost pipelines folder does not reload everything;
- hands new or changed files to a source-specific reader that yields typed arrow tables and
  reports its input count and rejects to the :class:`~ingestion.pipeline.IngestRun`;
- drops records whose key was already seen earlier in the same run (counted as duplicates), so
  the loaded count equals the rows that reach the destination; re-delivered records from earlier
  runs are absorbed by the table's merge keys;
- stores nested values (a JSON object or array in a feed, e.g. a tracking event's
  ``tracking_location``) as compact JSON text, so every destination can load them: dlt writes
  arrow tables to PostgreSQL as CSV, and pyarrow's CSV writer rejects struct/list/map columns.
  (A warehouse whose column is already ``json`` keeps it; dlt loads the text into it.)
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import dlt
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from dlt.sources.filesystem import filesystem

from ingestion.pipeline import IngestRun

READERS = 2  # files read and parsed at once, per resource


@dataclass(frozen=True)
class TableSpec:
    """A destination table a file resource writes, with its keys and write disposition."""

    name: str
    primary_key: tuple[str, ...]
    write_disposition: str | dict[str, str] = "merge"
    merge_key: tuple[str, ...] | None = None

    def hints(self) -> dict[str, Any]:
        hints: dict[str, Any] = {
            "table_name": self.name,
            "primary_key": list(self.primary_key),
            "write_disposition": self.write_disposition,
        }
        if self.merge_key:
            hints["merge_key"] = list(self.merge_key)
        return hints


@dataclass(frozen=True)
class SourceFile:
    """A file handed to a reader."""

    path: str  # relative to the source's root, as recorded in quarantine
    data: bytes


# A reader parses one file: it calls run.read / run.reject and yields (table name, arrow table).
Reader = Callable[[IngestRun, str, SourceFile], Iterator[tuple[str, pa.Table]]]
# Counts a file's records without parsing it (for re-delivered content that is skipped).
RecordCounter = Callable[[bytes], int]


def file_resource(
    run: IngestRun,
    *,
    name: str,
    bucket_url: str,
    file_glob: str,
    reader: Reader,
    tables: Sequence[TableSpec],
    count_records: RecordCounter,
) -> Any:
    """Build a dlt resource loading every new file matching ``file_glob`` once.

    Args:
        run: The run the resource reports counts and rejects to.
        name: Resource name (also the audit's resource name).
        bucket_url: Folder or fsspec URL of the source's files.
        file_glob: Files to load, relative to ``bucket_url`` (``tracking/**/*.jsonl``).
        reader: Parses one file into typed arrow tables (see :data:`Reader`).
        tables: Tables the reader yields, with their keys. The first is the default table.
        count_records: Counts a file's records without parsing (for skipped re-deliveries).

    Returns:
        A ``filesystem | transformer`` dlt resource.
    """
    specs = {spec.name: spec for spec in tables}
    run.tables(name, *specs)
    listing = filesystem(bucket_url=bucket_url, file_glob=file_glob)
    # Built per run (sources are built per run), shared by every page of files dlt hands over.
    seen_keys = _RunKeys(specs)

    def load_file(item: Any, path: str, by_content: dict[str, str]) -> _LoadedFile:
        """Read, hash and parse one file on a worker; report nothing to the run yet.

        ``by_content`` (contents loaded by earlier runs, and by this one as dlt's thread takes
        files) is only read here, to skip parsing what is known. Whether a file repeats one
        read earlier in this run is decided on dlt's thread, in file order: two workers may be
        reading the two copies at once.
        """
        data = item.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest in by_content:
            return _LoadedFile(digest, count_records(data), None, [])
        report = _FileReport()
        tables = [
            (t, nested_as_json(table)) for t, table in reader(report, name, SourceFile(path, data))
        ]
        return _LoadedFile(digest, report.records, report, tables)

    @dlt.transformer(name=name, **_resource_hints(tables[0]))
    def read_files(items: list[Any]) -> Iterator[Any]:
        state = dlt.current.resource_state()
        loaded_files: dict[str, dict[str, Any]] = state.setdefault("files", {})
        by_content: dict[str, str] = state.setdefault("content", {})
        to_read = []
        for item in sorted(items, key=lambda i: i["relative_path"]):
            path = item["relative_path"]
            stat = {"size": item["size_in_bytes"], "mtime": str(item["modification_date"])}
            known = loaded_files.get(path)
            if known and known["size"] == stat["size"] and known["mtime"] == stat["mtime"]:
                run.read(name, known["records"])
                run.skip_duplicates(name, known["records"])
                run.file_skipped(name)
                continue
            to_read.append((item, path, stat))
        # Counts, quarantine and file state are recorded here, on dlt's thread, once a file's
        # tables are handed over: a file is never marked loaded before its rows reach dlt.
        jobs = [(item, path, by_content) for item, path, _ in to_read]
        # Two files of the page are parsed at once: the reader is the slower side, and dlt's
        # thread takes them in order. The workers end with the page (a pool kept for the
        # resource outlived its run: two idle threads per file resource and ingest).
        with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix=f"read-{name}") as pool:
            results = _in_order(pool, load_file, jobs, ahead=READERS)
            for (_, path, stat), loaded in zip(to_read, results, strict=True):
                run.read(name, loaded.records)
                # The same content was loaded before, under any name, by an earlier run or by an
                # earlier file of this one (the first file in order keeps it).
                if loaded.report is None or loaded.digest in by_content:
                    run.skip_duplicates(name, loaded.records)
                    run.file_skipped(name)
                else:
                    loaded.report.replay(run)
                    for table_name, table in loaded.tables:
                        table = seen_keys.drop_seen(run, name, table_name, table)
                        if table.num_rows:
                            yield seen_keys.mark(table_name, table)
                    by_content[loaded.digest] = path
                    run.file_read(name, path)
                loaded_files[path] = {**stat, "sha256": loaded.digest, "records": loaded.records}

    return listing | read_files


@dataclass
class _LoadedFile:
    """One file as the worker left it: its records, and its tables unless already loaded."""

    digest: str
    records: int
    report: _FileReport | None  # None: same content as a file loaded before
    tables: list[tuple[str, pa.Table]]


class _FileReport:
    """What a reader says about one file, held until the file's tables go to dlt.

    Readers run on the worker thread; the run's ledger and quarantine are shared with dlt's
    thread and with the other pages, so they are only told once the file is taken.
    """

    def __init__(self) -> None:
        self.records = 0
        self.rejects: list[tuple[Any, ...]] = []

    def read(self, resource: str, n: int = 1) -> None:
        self.records += n

    def reject(self, *args: Any) -> None:
        self.rejects.append(args)

    def replay(self, run: IngestRun) -> None:
        for args in self.rejects:
            run.reject(*args)


def _in_order(
    pool: ThreadPoolExecutor, work: Callable[..., Any], jobs: list[tuple], ahead: int
) -> Iterator[Any]:
    """``work(*job)`` for each job, results in job order, up to ``ahead`` jobs running on
    ``pool`` while the caller handles a result.

    A file's read, hash and parse (pyarrow and hashlib release the GIL for most of it) overlap
    with dlt writing the previous file's tables. A caller that stops early (an error
    downstream) leaves without waiting for the files being read ahead.
    """
    pending: deque[Future] = deque()
    try:
        for job in jobs:
            pending.append(pool.submit(work, *job))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def _resource_hints(spec: TableSpec) -> dict[str, Any]:
    hints = spec.hints()
    hints.pop("table_name")
    return hints


class _RunKeys:
    """Keys seen in this run per table, to drop repeats across and within files."""

    def __init__(self, specs: dict[str, TableSpec]) -> None:
        self.specs = specs
        self.seen: dict[str, set[Any]] = {name: set() for name in specs}
        self.hinted: set[str] = set()

    def drop_seen(
        self, run: IngestRun, resource: str, table_name: str, table: pa.Table
    ) -> pa.Table:
        spec = self.specs[table_name]
        if not spec.primary_key or table.num_rows == 0:
            return table
        table = _keys_not_null(table, spec.primary_key)
        columns = [table.column(k).to_pylist() for k in spec.primary_key]
        keys = columns[0] if len(columns) == 1 else list(zip(*columns, strict=True))
        seen = self.seen[table_name]
        fresh = set(keys)
        if len(fresh) == len(keys) and seen.isdisjoint(fresh):  # the usual case
            seen |= fresh
            return table
        # Repeats (a carrier sends some scans twice): each key's first row in this table,
        # unless an earlier table of the run had the key. Hashed in C, not row by row.
        keep = _first_rows(table, spec.primary_key)
        earlier = seen & fresh
        if earlier:
            keep &= _not_in(table, spec.primary_key, keys, earlier)
        seen |= fresh
        dropped = int((~keep).sum())
        if dropped:
            run.skip_duplicates(resource, dropped)
            table = table.filter(pa.array(keep))
        return table

    def mark(self, table_name: str, table: pa.Table) -> Any:
        """Route the table to its destination table; full hints only the first time."""
        if table_name not in self.hinted:
            self.hinted.add(table_name)
            # create_table_variant: without it the hints replace the whole resource's, so a
            # multi-table file resource would give every table the first table's keys.
            return dlt.mark.with_hints(
                table,
                dlt.mark.make_hints(**self.specs[table_name].hints()),
                create_table_variant=True,
            )
        return dlt.mark.with_table_name(table, table_name)


def _not_in(
    table: pa.Table, key_columns: Sequence[str], keys: list[Any], earlier: set[Any]
) -> np.ndarray:
    """Mask of the rows whose key is not in ``earlier`` (a few keys an earlier file had)."""
    if len(key_columns) == 1:
        column = table.column(key_columns[0])
        value_set = pa.array(list(earlier), type=column.type)
        return pc.invert(pc.is_in(column, value_set=value_set)).to_numpy(zero_copy_only=False)
    return np.fromiter((k not in earlier for k in keys), dtype=bool, count=len(keys))


def _first_rows(table: pa.Table, key_columns: Sequence[str]) -> np.ndarray:
    """Mask of the first row of each distinct key (null keys equal each other, as in a set)."""
    rows = table.select(list(key_columns)).append_column(
        "__row", pa.array(np.arange(table.num_rows, dtype=np.int64))
    )
    first = rows.group_by(list(key_columns), use_threads=False).aggregate([("__row", "min")])
    keep = np.zeros(table.num_rows, dtype=bool)
    keep[first.column("__row_min").to_numpy()] = True
    return keep


def nested_as_json(table: pa.Table) -> pa.Table:
    """Encode struct, list and map columns as compact JSON text.

    Declaring the column ``json`` instead would make dlt warn on every file (the arrow type, text,
    differs from the hint), so it stays text; read keys with the ``json_text`` dbt macro.

    Args:
        table: A reader's table.

    Returns:
        The table with every nested column replaced, in place, by its JSON text (nulls stay null).
    """
    for i, field in enumerate(table.schema):
        if not pa.types.is_nested(field.type):
            continue
        column = table.column(i).combine_chunks()
        text = _flat_struct_json(column)
        if text is None:
            text = _rows_json(column)
        table = table.set_column(i, pa.field(field.name, pa.string(), field.nullable), text)
    return table


def _rows_json(values: pa.Array) -> pa.Array:
    """JSON text of each value, one Python object at a time (any nesting)."""
    return pa.array([None if v is None else _json_text(v) for v in values.to_pylist()], pa.string())


# Characters JSON text can carry as they are; anything else (quotes and backslashes aside, which
# are escaped in bulk) sends the row to the per-row path, which escapes as json.dumps does.
_PLAIN = r"^[\x20-\x7e]*$"


def _flat_struct_json(values: pa.Array) -> pa.Array | None:
    """JSON text of a struct of strings, built column-wise (a tracking event's location).

    Same text as :func:`_json_text` per row: keys in field order, ``null`` for a missing value,
    ``"`` and ``\\`` escaped. Rows holding any other character outside printable ASCII take the
    per-row path. None when the struct has other field types (the caller goes per row).
    """
    kind = values.type
    if not pa.types.is_struct(kind) or kind.num_fields == 0:
        return None
    names = [kind.field(k).name for k in range(kind.num_fields)]
    if not all(pa.types.is_string(kind.field(k).type) for k in range(kind.num_fields)):
        return None
    if not all(name.isascii() and name.isprintable() for name in names):
        return None
    # One join over every field: literal runs between the values are merged into single
    # constants, since each constant argument costs the join about as much as a column.
    parts: list[Any] = []
    literal = ""
    plain = None
    for k, (name, child) in enumerate(zip(names, values.flatten(), strict=True)):
        ok = pc.fill_null(pc.match_substring_regex(child, _PLAIN), True)
        plain = ok if plain is None else pc.and_(plain, ok)
        if (
            pc.any(pc.match_substring(child, '"')).as_py()
            or pc.any(pc.match_substring(child, "\\")).as_py()
        ):
            child = pc.replace_substring(pc.replace_substring(child, "\\", "\\\\"), '"', '\\"')
        literal += ("{" if k == 0 else ",") + json.dumps(name) + ":"
        if child.null_count == 0:
            parts += [literal + '"', child]
            literal = '"'
        else:  # a missing value is a bare null, not a quoted string
            quoted = pc.binary_join_element_wise('"', child, '"', "")
            parts += [literal, pc.fill_null(quoted, "null")]
            literal = ""
    text = pc.binary_join_element_wise(*parts, literal + "}", "")
    text = pc.if_else(values.is_valid(), text, pa.scalar(None, pa.string()))
    odd = np.flatnonzero(~np.asarray(plain.to_numpy(zero_copy_only=False), dtype=bool))
    if len(odd):  # a quote-free world is not guaranteed: re-encode those rows one by one
        fixed = _rows_json(values.take(pa.array(odd)))
        merged = text.to_pylist()
        for row, value in zip(odd.tolist(), fixed.to_pylist(), strict=True):
            merged[row] = value
        text = pa.array(merged, pa.string())
    return text


def _json_text(value: Any) -> str:
    """Compact JSON text as ``json.dumps`` writes it, through orjson (10x faster; ships with dlt).

    orjson writes non-ASCII characters as UTF-8 where ``json.dumps`` escapes them, and refuses
    integers beyond 64 bits: those values take the slow path, so the text never depends on it.
    """
    try:
        text = orjson.dumps(value, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
    except orjson.JSONEncodeError:
        text = b"\x80"
    if text.isascii() and b"\x7f" not in text:  # json.dumps escapes DEL, orjson does not
        return text.decode()
    return json.dumps(value, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    # pyarrow infers timestamps inside nested JSON: give them back as ISO text.
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def count_lines(data: bytes, *, header: bool = False) -> int:
    """Non-blank lines of ``data`` (minus one header line): the record count of a line file."""
    from ingestion.parsing import index_lines

    n = len(index_lines(data, whitespace_is_blank=not header))
    return max(n - 1, 0) if header else n


def report_rejects(
    run: IngestRun, resource: str, file: SourceFile, lines: Any, rejects: Any
) -> None:
    """Quarantine a parser's rejected lines, with the raw line as payload.

    Args:
        run: Run context.
        resource: Resource the lines were meant for.
        file: The file they came from.
        lines: The file's :class:`~ingestion.parsing.LineIndex`.
        rejects: The parser's :class:`~ingestion.parsing.Rejects`.
    """
    for line_no, reason, payload in rejects:
        if not payload:
            i = int(np.searchsorted(lines.numbers, line_no))
            payload = lines.line(i) if i < len(lines) and lines.numbers[i] == line_no else b""
        run.reject(resource, file.path, f"line {line_no}", reason, payload)


def _keys_not_null(table: pa.Table, key: tuple[str, ...]) -> pa.Table:
    """Declare key columns without nulls non-nullable, as dlt declares primary keys: a file
    whose nullability differs from its table is rewritten by dlt's normalizer to match."""
    schema, changed = table.schema, False
    for name in key:
        i = schema.get_field_index(name)
        if schema.field(i).nullable and not table.column(i).null_count:
            schema, changed = schema.set(i, schema.field(i).with_nullable(False)), True
    # Same arrays under the stricter schema: a cast would run a kernel over every column.
    return pa.Table.from_arrays(table.columns, schema=schema) if changed else table


def with_provenance(table: pa.Table, file: SourceFile, line_numbers: np.ndarray) -> pa.Table:
    """Add ``source_file`` and ``source_line``: where each row came from, for audits and replay."""
    table = table.append_column("source_line", pa.array(line_numbers, pa.int64()))
    path = pa.repeat(pa.scalar(file.path, pa.string()), table.num_rows)  # not a list of n strs
    return table.append_column("source_file", path)
