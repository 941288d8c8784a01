"""Fast, fault-tolerant parsing of line-oriented files into typed pyarrow tables.

pyarrow parses a whole file at C speed but gives up on the first bad record and reports no line
number. These helpers keep that speed for clean files and only pay for precision when something is
wrong: a JSONL file that fails to parse is bisected until each bad line stands alone; delimited
files are read as text (wrong column counts come back from pyarrow's invalid-row handler) and
typed afterwards with vectorised checks, so every rejected record carries its physical line number
and the rest of the file loads.

Record = one non-blank physical line. Quoted newlines inside CSV values are not supported
(pyarrow's ``newlines_in_values=False``): none of the sources this serves produce them, and it keeps
line numbers exact.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pjson

# ---------------------------------------------------------------------------------------------
# Lines


@dataclass(frozen=True)
class LineIndex:
    """Byte spans of a file's non-blank lines, in order (the file's records)."""

    data: bytes
    starts: np.ndarray
    ends: np.ndarray
    numbers: np.ndarray  # 1-based physical line numbers

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, i: int) -> bytes:
        """The bytes of the ``i``-th non-blank line (0-based), without its line break."""
        return self.data[self.starts[i] : self.ends[i]]

    def span(self, lo: int, hi: int) -> bytes:
        """The bytes from non-blank line ``lo`` through ``hi - 1`` (blank lines in between)."""
        return self.data[self.starts[lo] : self.ends[hi - 1]]

    def drop_first(self) -> LineIndex:
        """The index without its first line (a header)."""
        return LineIndex(self.data, self.starts[1:], self.ends[1:], self.numbers[1:])


def index_lines(data: bytes, *, whitespace_is_blank: bool = True) -> LineIndex:
    """Index the non-blank lines of ``data``.

    Args:
        data: File contents.
        whitespace_is_blank: Treat lines of spaces/tabs as blank (JSON parsers skip them; CSV
            parsers see a one-column row, so delimited files pass False).

    Returns:
        The spans of the non-blank lines, ``\\r`` of CRLF endings excluded.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
    ends = np.concatenate((newlines, [len(data)])).astype(np.int64)
    numbers = np.arange(1, len(starts) + 1, dtype=np.int64)
    # CRLF: drop the \r before the \n.
    has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13) if len(data) else ends > starts
    ends = ends - has_cr.astype(np.int64)
    keep = ends > starts
    if whitespace_is_blank:
        # Only short lines can be whitespace-only in practice; check those in Python.
        for i in np.flatnonzero(keep & (ends - starts <= 16)):
            if not data[starts[i] : ends[i]].strip():
                keep[i] = False
        if len(data) and keep.any():
            # Longer whitespace-only lines: rare, but cheap to catch via the first byte.
            first = buf[np.minimum(starts, len(data) - 1)]
            for i in np.flatnonzero(keep & ((first == 32) | (first == 9))):
                if not data[starts[i] : ends[i]].strip():
                    keep[i] = False
    return LineIndex(data, starts[keep], ends[keep], numbers[keep])


@dataclass
class Rejects:
    """Records a parser rejected: 1-based line number, reason, raw line."""

    items: list[tuple[int, str, bytes]] = field(default_factory=list)

    def add(self, line_no: int, reason: str, payload: bytes) -> None:
        self.items.append((int(line_no), reason, payload))

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(sorted(self.items))


@dataclass
class Parsed:
    """A parsed file: good rows, the line number of each, and the rejected lines."""

    table: pa.Table
    line_numbers: np.ndarray
    rejects: Rejects

    def keep(self, mask: np.ndarray) -> Parsed:
        """Only the rows where ``mask`` is true."""
        if mask.all():  # the usual case: nothing to drop, no copy
            return self
        return Parsed(self.table.filter(pa.array(mask)), self.line_numbers[mask], self.rejects)


# ---------------------------------------------------------------------------------------------
# JSON lines


def parse_jsonl(lines: LineIndex, schema: pa.Schema) -> Parsed:
    """Parse JSON lines with pyarrow, isolating bad lines by bisection.

    Args:
        lines: The file's non-blank lines.
        schema: Types of the known fields as they appear in JSON (strings for timestamps and
            decimals; :func:`coerce` types those). Unknown fields are inferred and kept, so a new
            field in the feed becomes a new column.

    Returns:
        The parsed rows, their line numbers, and every line that is not valid JSON, not one
        object, or has a value of the wrong JSON type for ``schema``.
    """
    rejects = Rejects()
    n = len(lines)
    if n == 0:
        return Parsed(schema.empty_table(), np.empty(0, np.int64), rejects)
    longest = int((lines.ends - lines.starts).max())
    options = pjson.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="infer", newlines_in_values=False
    )
    read_options = pjson.ReadOptions(block_size=max(1 << 20, longest + 2))

    def parse(lo: int, hi: int) -> pa.Table:
        return pjson.read_json(
            io.BytesIO(lines.span(lo, hi)), read_options=read_options, parse_options=options
        )

    tables: list[pa.Table] = []
    numbers: list[np.ndarray] = []
    pending = [(0, n)]
    while pending:
        lo, hi = pending.pop()
        try:
            table = parse(lo, hi)
            if table.num_rows != hi - lo:
                raise ValueError(f"{table.num_rows} records on {hi - lo} lines")
        except (pa.ArrowInvalid, ValueError) as exc:
            if hi - lo == 1:
                rejects.add(lines.numbers[lo], _json_reason(exc), lines.line(lo))
            else:
                mid = (lo + hi) // 2
                # Pushed in reverse so ranges come back in file order.
                pending.extend([(mid, hi), (lo, mid)])
            continue
        tables.append(table)
        numbers.append(lines.numbers[lo:hi])
    if not tables:
        return Parsed(schema.empty_table(), np.empty(0, np.int64), rejects)
    table = (
        tables[0] if len(tables) == 1 else pa.concat_tables(tables, promote_options="permissive")
    )
    return Parsed(table, np.concatenate(numbers), rejects)


def _json_reason(exc: Exception) -> str:
    message = str(exc).replace("JSON parse error: ", "")
    message = re.sub(r" in row \d+$", "", message)
    return f"invalid JSON record: {message}"


# ---------------------------------------------------------------------------------------------
# Delimited text


def parse_delimited(lines: LineIndex, *, delimiter: str = ",", quoting: bool = True) -> Parsed:
    """Parse a delimited file with a header line; every column is read as text.

    Args:
        lines: The file's non-blank lines (index built with ``whitespace_is_blank=False``).
        delimiter: Field separator.
        quoting: Honour ``"`` quoting (CSV). Amazon's TSV flat files do not quote, and a stray
            ``"`` in a description must not swallow the rest of the file, so they pass False.

    Returns:
        Text columns named by the header, with each row's line number; rows with a wrong number
        of fields are rejected.
    """
    rejects = Rejects()
    if len(lines) == 0:
        return Parsed(pa.table({}), np.empty(0, np.int64), rejects)
    header_text = lines.line(0).decode("utf-8-sig", errors="replace")
    names = _unique(next(csv.reader([header_text], delimiter=delimiter, quoting=_quoting(quoting))))
    body = lines.drop_first()
    if len(body) == 0:
        return Parsed(_empty_text_table(names), np.empty(0, np.int64), rejects)

    invalid: list[tuple[int | None, str]] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    def read(use_threads: bool) -> pa.Table:
        invalid.clear()
        return pcsv.read_csv(
            io.BytesIO(body.span(0, len(body))),
            read_options=pcsv.ReadOptions(
                column_names=names,
                use_threads=use_threads,
                block_size=max(1 << 20, int((body.ends - body.starts).max()) + 2),
            ),
            parse_options=pcsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"' if quoting else False,
                newlines_in_values=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                # Only an empty field is missing: pyarrow's default list would silently turn a
                # charge of "N/A" or "NULL" into a null instead of a rejected record.
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )

    table = read(use_threads=True)
    if invalid and any(number is None for number, _ in invalid):
        # Row numbers are only known to a single-threaded read; pay for it only when needed.
        table = read(use_threads=False)
    bad = np.zeros(len(body), dtype=bool)
    for number, text in invalid:
        i = int(number) - 1  # pyarrow counts the non-empty rows it saw, from 1
        bad[i] = True
        got = len(next(csv.reader([text], delimiter=delimiter, quoting=_quoting(quoting))))
        rejects.add(
            body.numbers[i],
            f"wrong number of fields: expected {len(names)}, got {got}",
            body.line(i),
        )
    numbers = body.numbers[~bad]
    if len(numbers) != table.num_rows:
        raise RuntimeError(
            f"delimited parser row count {table.num_rows} != {len(numbers)} lines; "
            "the file probably has quoted line breaks"
        )
    return Parsed(table, numbers, rejects)


def _quoting(enabled: bool) -> int:
    return csv.QUOTE_MINIMAL if enabled else csv.QUOTE_NONE


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for raw in names:
        name = raw.strip() or "column"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


def _empty_text_table(names: Iterable[str]) -> pa.Table:
    return pa.table({n: pa.array([], pa.string()) for n in names})


# ---------------------------------------------------------------------------------------------
# Typing


@dataclass(frozen=True)
class Column:
    """The declared type of one parsed column.

    ``kind`` is one of ``string``, ``int``, ``float``, ``decimal``, ``timestamp``, ``date``,
    ``bool``. ``required`` rejects rows where the value is missing (keys). ``source`` names the
    column in the file when it differs from ``name`` (``settlement-id`` → ``settlement_id``).
    """

    name: str
    kind: str = "string"
    required: bool = False
    source: str | None = None
    precision: int = 18
    scale: int = 4

    @property
    def arrow_type(self) -> pa.DataType:
        return {
            "string": pa.string(),
            "int": pa.int64(),
            "float": pa.float64(),
            "decimal": pa.decimal128(self.precision, self.scale),
            "timestamp": pa.timestamp("us", tz="UTC"),
            "date": pa.date32(),
            "bool": pa.bool_(),
        }[self.kind]


def coerce(
    parsed: Parsed,
    columns: Sequence[Column],
    *,
    decimal_comma: bool | None = False,
    keep_extra: bool = True,
) -> Parsed:
    """Type the declared columns; reject rows whose value does not fit, keep the rest.

    Args:
        parsed: Rows from :func:`parse_jsonl` or :func:`parse_delimited`.
        columns: Declared columns, in output order. Missing ones are added as nulls (rows are
            rejected if the column is ``required``).
        decimal_comma: ``True`` for ``1.234,56`` decimals, ``False`` for ``1,234.56``, ``None``
            to decide per file from the values (marketplace files differ by locale).
        keep_extra: Keep undeclared columns (schema drift: a new column in the feed becomes a
            new column in the warehouse) after the declared ones, as they were parsed.

    Returns:
        Typed rows; rejected rows are added to ``parsed.rejects`` with the column, the value and
        the expected type.
    """
    table = parsed.table
    n = table.num_rows
    bad = np.zeros(n, dtype=bool)
    reasons: dict[int, str] = {}
    out: dict[str, pa.Array] = {}
    for col in columns:
        src = col.source or col.name
        if src not in table.column_names:
            out[col.name] = pa.nulls(n, col.arrow_type)
            if col.required and n:
                for i in np.flatnonzero(~bad):
                    reasons[i] = f"missing column '{src}'"
                bad[:] = True
            continue
        raw = table.column(src).combine_chunks()
        typed, invalid = _convert(raw, col, decimal_comma)
        if col.required:
            invalid = invalid | _missing(raw)
        new = invalid & ~bad
        if new.any():
            idx = np.flatnonzero(new)
            values = raw.take(pa.array(idx)).to_pylist()
            for i, value in zip(idx, values, strict=True):
                reasons[int(i)] = (
                    f"missing required value in '{src}'"
                    if value is None or value == ""
                    else f"'{src}' value {value!r} is not a valid {col.kind}"
                )
            bad |= new
        out[col.name] = typed
    if keep_extra:
        declared = {c.source or c.name for c in columns} | {c.name for c in columns}
        for name in table.column_names:
            if name not in declared:
                out[_snake(name)] = table.column(name).combine_chunks()
    result = pa.table(out) if out else table
    rejects = parsed.rejects
    for i, reason in reasons.items():
        rejects.add(parsed.line_numbers[i], reason, b"")
    if bad.any():
        result = result.filter(pa.array(~bad))
    required = {c.name for c in columns if c.required}
    if required:
        # Rows missing a required value were rejected above, so the keys are never null; saying so
        # in the arrow schema matches dlt's not-null primary-key hints.
        result = result.cast(
            pa.schema([f.with_nullable(False) if f.name in required else f for f in result.schema])
        )
    return Parsed(result, parsed.line_numbers[~bad], rejects)


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower() or name


def _missing(arr: pa.Array) -> np.ndarray:
    missing = arr.is_null()
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        # empty or all whitespace, without trimming copies of every value (3x faster)
        blank = pc.or_(pc.equal(pc.utf8_length(arr), 0), pc.utf8_is_space(arr))
        missing = pc.or_kleene(missing, blank)
    return _np(missing)


def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _convert(arr: pa.Array, col: Column, decimal_comma: bool | None) -> tuple[pa.Array, np.ndarray]:
    """Convert one column; return the typed array (nulls where invalid) and the invalid mask."""
    target = col.arrow_type
    if arr.type == target:
        return arr, np.zeros(len(arr), dtype=bool)
    if pa.types.is_null(arr.type):
        return pa.nulls(len(arr), target), np.zeros(len(arr), dtype=bool)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        try:
            return arr.cast(target), np.zeros(len(arr), dtype=bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            arr = arr.cast(pa.string())
    if col.kind == "string":  # kept as written: nothing to trim or validate
        return arr.cast(pa.string()), np.zeros(len(arr), dtype=bool)
    text = pc.utf8_trim_whitespace(arr)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    present = _np(text.is_valid())
    if col.kind in ("timestamp", "date"):
        typed = parse_timestamps(text)
        if col.kind == "date":
            typed = typed.cast(pa.date32())
    elif col.kind == "bool":
        lowered = pc.utf8_lower(text)
        truthy = pc.is_in(lowered, value_set=pa.array(["true", "t", "yes", "y", "1"]))
        falsy = pc.is_in(lowered, value_set=pa.array(["false", "f", "no", "n", "0"]))
        typed = pc.if_else(truthy, True, pc.if_else(falsy, False, pa.scalar(None, pa.bool_())))
    elif col.kind == "int":
        ok = pc.match_substring_regex(text, r"^[+-]?\d{1,18}$")
        typed = pc.if_else(ok, text, pa.scalar(None, pa.string())).cast(pa.int64())
    elif col.kind == "float":
        ok = pc.match_substring_regex(text, _NUMBER)
        typed = pc.if_else(ok, text, pa.scalar(None, pa.string())).cast(pa.float64())
    elif col.kind == "decimal":
        typed = parse_decimals(text, col.precision, col.scale, decimal_comma=decimal_comma)
    else:
        raise ValueError(f"unknown column kind {col.kind!r}")
    invalid = present & ~_np(typed.is_valid())
    return typed, invalid


_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def parse_decimals(
    text: pa.Array, precision: int, scale: int, *, decimal_comma: bool | None = False
) -> pa.Array:
    """Parse decimal text leniently; invalid or out-of-range values become null.

    Args:
        text: Trimmed strings (nulls for empty).
        precision: Total digits of the result.
        scale: Digits after the point; more are rounded half to even.
        decimal_comma: See :func:`coerce`.

    Returns:
        A ``decimal128(precision, scale)`` array.
    """
    if decimal_comma is None:
        comma = pc.sum(pc.match_substring_regex(text, r"^[+-]?[\d.\s]*,\d{1,2}$")).as_py() or 0
        dot = pc.sum(pc.match_substring_regex(text, r"^[+-]?[\d,\s]*\.\d{1,2}$")).as_py() or 0
        decimal_comma = comma > dot
    if decimal_comma:
        text = pc.replace_substring_regex(text, r"[.\s']", "")
        text = pc.replace_substring(text, ",", ".")
    else:
        text = _strip_grouping(text)
    ok = pc.match_substring_regex(text, r"^[+-]?(\d{1,28}\.?\d{0,10}|\.\d{1,10})$")
    clean = pc.if_else(ok, text, pa.scalar(None, pa.string()))
    wide = clean.cast(pa.decimal128(38, 10))
    rounded = pc.round(wide, ndigits=scale)
    limit = 10.0 ** (precision - scale)
    fits = pc.less(pc.abs(rounded.cast(pa.float64())), limit)
    kept = pc.if_else(fits, rounded, pa.scalar(None, wide.type))
    return kept.cast(pa.decimal128(precision, scale))


def _strip_grouping(text: pa.Array) -> pa.Array:
    """Remove thousands commas only where they group digits (``1,234.50``), not elsewhere."""
    grouped = pc.match_substring_regex(text, r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
    return pc.if_else(grouped, pc.replace_substring(text, ",", ""), text)


_TS_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y",
)
_ZONE_SUFFIX = re.compile(r"\s*(UTC|GMT|Z)$", re.IGNORECASE)
# Case-sensitive, like the vectorised strip that uses the same pattern.
_ZONE_NAME = re.compile(r"\s*(UTC|GMT)$")
# "...Z" or "...+02:00" / "-0500" after the time: what a timezone-aware cast accepts.
_HAS_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")


def parse_timestamps(text: pa.Array) -> pa.Array:
    """Parse timestamps leniently into UTC; unparseable values become null.

    ISO-8601 with or without an offset takes the vectorised path; anything else (``DD.MM.YYYY``,
    ``YYYY-MM-DD HH:MM:SS UTC``...) is parsed once per distinct value. Values without an offset
    are taken as UTC.

    Args:
        text: Trimmed strings (nulls for empty).

    Returns:
        A ``timestamp[us, UTC]`` array.
    """
    target = pa.timestamp("us", tz="UTC")

    def with_offset() -> pa.Array:
        return text.cast(target)

    def naive() -> pa.Array:
        return text.cast(pa.timestamp("us")).cast(target)

    def zone_name() -> pa.Array:
        # Amazon's "2026-01-15 07:00:00 UTC": drop the zone name, then ISO.
        return (
            pc.replace_substring_regex(text, _ZONE_NAME.pattern, "")
            .cast(pa.timestamp("us"))
            .cast(target)
        )

    # The three are mutually exclusive on well-formed values, so their order changes no result,
    # only the cost: a failed cast costs ~4x a successful one (1.4 s per 700k values), so the
    # first value picks the likely one and the others stay as fallbacks for mixed columns.
    sample = _first_valid(text) or ""
    if _ZONE_NAME.search(sample):
        attempts = (zone_name, with_offset, naive)
    elif sample and not _HAS_OFFSET.search(sample):
        attempts = (naive, with_offset, zone_name)
    else:
        attempts = (with_offset, naive, zone_name)
    for attempt in attempts:
        try:
            return attempt()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    distinct = pc.unique(text.drop_null())
    parsed = pa.array([_parse_one(v) for v in distinct.to_pylist()], type=target)
    return parsed.take(pc.index_in(text, value_set=distinct))


def _first_valid(text: pa.Array) -> str | None:
    """The first non-null value of ``text`` (None when all are null)."""
    # The validity bitmap, not drop_null(): no copy of the strings just to read one.
    first = pc.index(text.is_valid(), True).as_py()
    return None if first < 0 else text[first].as_py()


def _parse_one(value: str) -> datetime | None:
    stripped = _ZONE_SUFFIX.sub("", value)
    candidates = [value.replace("Z", "+00:00") if value.endswith("Z") else value, stripped]
    for candidate in candidates:
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    for fmt in _TS_FORMATS:
        try:
            return datetime.strptime(stripped, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
