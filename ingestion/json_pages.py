"""JSON API pages → pyarrow tables shaped as dlt shapes JSON records, bad records quarantined.

dlt's own path for JSON records (extract, then normalize row by row) loads a few thousand rows
per second; this module does the same shaping column-wise, so the WMS and Shopify sources hand
dlt arrow tables:

- **Parse**: a page body is parsed by pyarrow's JSON reader in one call, with an explicit schema
  built from what is known of the records (:class:`Shape`: declared columns, columns dlt stored
  on earlier runs, columns learned in this run). Known columns are typed as the raw tables
  already are; money stays text, timestamps become ``timestamp[us, UTC]``.
- **Check**: a page that does not parse cleanly against that schema (a value of the wrong type,
  a record that is not an object, a missing key or cursor, or a field never seen before) goes
  the slow way: each record is checked in Python as dlt would coerce it, bad ones are
  quarantined with their reason, new fields are typed as dlt would type them (first value;
  ISO-8601 text is a timestamp), and the good records are parsed again.
- **Shape**: nested objects are flattened into their parent's columns (``customer__id``); lists
  become child tables named and linked as dlt names and links them (``orders__line_items`` with
  ``_dlt_id``, ``_dlt_parent_id``, ``_dlt_root_id``, ``_dlt_list_idx``).

dlt cannot extract arrow tables into its *nested* tables (it refuses a table with a parent that
a resource writes to), so child tables are top-level merge tables keyed by ``_dlt_root_id``
(see :func:`child_table_hints`): every load deletes the children of the root records it loads
and inserts their new children; a root record that now has no children in a table sends one
tombstone row (``_dlt_deleted``) so its old children are deleted too.
"""

from __future__ import annotations

import base64
import io
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
from dlt.common.data_types import coerce_value, py_type_to_sc_type
from dlt.common.normalizers.json.helpers import get_row_hash
from dlt.common.schema.detections import is_iso_timestamp

# dlt data type → the arrow type it is parsed as (dates are parsed as text, then cast).
ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.string(),
}
TIMESTAMP = pa.timestamp("us", tz="UTC")
ROW_ID, PARENT_ID, ROOT_ID, LIST_IDX, DELETED = (
    "_dlt_id",
    "_dlt_parent_id",
    "_dlt_root_id",
    "_dlt_list_idx",
    "_dlt_deleted",
)
_ISO_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def is_iso(value: object) -> bool:
    """An ISO-8601 date or date-time string (what a cursor compares and the API filters on)."""
    if not isinstance(value, str):
        return False
    if _ISO_INSTANT.match(value):
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def new_ids(n: int) -> pa.Array:
    """``n`` random row ids (16 url-safe base64 characters, 96 random bits), made in one call."""
    raw = base64.urlsafe_b64encode(os.urandom(12 * n))
    fixed = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw)])
    return fixed.cast(pa.binary()).cast(pa.string())


def key_ids(keys: pa.Array) -> pa.Array:
    """Row ids derived from primary key values, as dlt derives them for upserted root tables.

    A root record keeps its ``_dlt_id`` from version to version, so its children's
    ``_dlt_root_id`` stays the merge key that finds them.
    """
    return pa.array([get_row_hash({"id": key}, ["id"]) for key in keys.to_pylist()], pa.string())


@dataclass
class Shape:
    """What is known of one level of JSON objects: each field's dlt type, object or list shape.

    A field maps to a dlt data type (``"bigint"``...), to a nested :class:`Shape` (an object,
    flattened into the parent's columns), or to a :class:`ListOf` (a list, a child table).

    Args:
        table: The dlt table the objects' values land in.
        prefix: Column prefix of a flattened object (``customer__``), empty for a table's rows.
        fields: JSON key → type, :class:`Shape` or :class:`ListOf`.
    """

    table: str
    prefix: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    def arrow_type(self) -> pa.StructType:
        """The struct type records are parsed as (unknown fields are left to inference)."""
        return pa.struct([pa.field(name, _arrow(kind)) for name, kind in self.fields.items()])


@dataclass
class ListOf:
    """A list field: a child table of objects (``items`` a :class:`Shape`) or of scalars."""

    table: str
    items: Any = None  # Shape, a dlt type, or None while only empty lists were seen


def _arrow(kind: Any) -> pa.DataType:
    if isinstance(kind, Shape):
        return kind.arrow_type()
    if isinstance(kind, ListOf):
        return pa.list_(_arrow(kind.items) if kind.items is not None else pa.null())
    return ARROW_TYPES[kind]


def declare(table: str, columns: dict[str, Any], naming: Any = None) -> Shape:
    """A :class:`Shape` from a nested declaration: ``{"id": "bigint", "customer": {...},
    "line_items": [{...}], "tracking_numbers": ["text"]}``."""
    shape = Shape(table)
    _declare_into(shape, columns, naming)
    return shape


def _declare_into(shape: Shape, columns: dict[str, Any], naming: Any) -> None:
    for name, kind in columns.items():
        column = _norm(naming, name)
        if isinstance(kind, dict):
            sub = Shape(shape.table, f"{shape.prefix}{column}__")
            _declare_into(sub, kind, naming)
            shape.fields[name] = sub
        elif isinstance(kind, list):
            child = ListOf(f"{shape.table}__{shape.prefix}{column}")
            (element,) = kind
            if isinstance(element, dict):
                child.items = Shape(child.table)
                _declare_into(child.items, element, naming)
            else:
                child.items = element
            shape.fields[name] = child
        else:
            shape.fields[name] = kind


def _norm(naming: Any, name: str) -> str:
    return naming.normalize_identifier(name) if naming is not None else name


@dataclass
class Rules:
    """What every root record must carry to be loaded: a key and (optionally) an ISO cursor."""

    key: str = "id"
    cursor: str | None = "updated_at"


@dataclass
class Rejected:
    """One record that cannot be loaded, with where it was on the page and why."""

    index: int
    reason: str
    payload: str


@dataclass
class Page:
    """A parsed page: the good records as a struct array, the rejected ones, other body fields."""

    records: pa.StructArray
    read: int
    rejected: list[Rejected]
    meta: dict[str, Any]


class PageReader:
    """Turns page bodies of one resource into arrow tables (root table first, then children).

    Args:
        envelope: Key of the record list in the body (``data``, ``orders``).
        shape: Root :class:`Shape` (declared columns); grows with fields learned from pages.
        rules: Key and cursor every record needs.
        schema: The dlt schema (stored column types of earlier runs, naming convention).
        root_ids: ``"random"`` (a new ``_dlt_id`` per row) or ``"key"`` (derived from the key,
            needed when the records have child tables).
    """

    def __init__(
        self, envelope: str, shape: Shape, rules: Rules, schema: Any, *, root_ids: str = "random"
    ) -> None:
        self.envelope = envelope
        self.shape = shape
        self.rules = rules
        self.schema = schema
        self.naming = schema.naming
        self.root_ids = root_ids
        self._names: dict[str, str] = {}
        self._parse_schema: pa.Schema | None = None
        # Tables loaded before this run: only they can hold child rows a merge must delete.
        self._loaded_before = set(schema.tables)
        # Pages are parsed on the walking thread while earlier ones are shaped on dlt's, and
        # both learn fields into the shape: one at a time.
        self._lock = threading.RLock()

    # -- parsing ----------------------------------------------------------------------------
    def parse(self, body: bytes) -> Page:
        """Parse one page body; records that cannot be loaded faithfully are set aside.

        pyarrow's parse runs outside the lock (dlt's thread shapes earlier pages meanwhile, and
        several walks may share a reader). If another page grew the shape in the meantime, the
        body is parsed again against the grown shape: it decides which fields are new.
        """
        with self._lock:
            schema = self._current_parse_schema()
        parsed = self._parse_with(body, schema)
        with self._lock:
            if schema is not self._parse_schema:
                parsed = self._try_parse(body)
            if parsed is not None:
                records, meta = parsed
                if self._clean(records):
                    return Page(records, len(records), [], meta)
            return self._parse_slowly(body)

    def _current_parse_schema(self) -> pa.Schema:
        if self._parse_schema is None:
            self._parse_schema = pa.schema(
                [pa.field(self.envelope, pa.list_(self.shape.arrow_type()))]
            )
        return self._parse_schema

    def _try_parse(self, body: bytes) -> tuple[pa.StructArray, dict[str, Any]] | None:
        with self._lock:
            schema = self._current_parse_schema()
        return self._parse_with(body, schema)

    def _parse_with(
        self, body: bytes, schema: pa.Schema
    ) -> tuple[pa.StructArray, dict[str, Any]] | None:
        try:
            table = pj.read_json(
                io.BytesIO(body),
                # One block: the body is one line. Threads only add hand-offs for one block.
                read_options=pj.ReadOptions(
                    block_size=max(len(body) + 1, 1 << 16), use_threads=False
                ),
                parse_options=pj.ParseOptions(
                    explicit_schema=schema, unexpected_field_behavior="infer"
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            return None
        if table.num_rows != 1:
            return None
        lists = table.column(self.envelope).combine_chunks()
        if lists.null_count or not isinstance(lists.type, pa.ListType):
            return None
        records = lists.flatten()
        if not isinstance(records, pa.StructArray):
            return None
        meta = {
            name: table.column(name)[0].as_py()
            for name in table.column_names
            if name != self.envelope and not pa.types.is_nested(table.schema.field(name).type)
        }
        return records, meta

    def _clean(self, records: pa.StructArray) -> bool:
        """No null record, key or cursor, and no field that is not known yet."""
        if records.null_count or _novel(records.type, self.shape):
            return False
        names = [records.type.field(i).name for i in range(records.type.num_fields)]
        key, cursor = self.rules.key, self.rules.cursor
        if key not in names:
            return False
        for name, kind in self.shape.fields.items():
            if kind == "date" and name in names:  # parsed as text: every value must be a date
                dates = records.field(names.index(name))
                parsed = pc.strptime(dates, "%Y-%m-%d", "s", error_is_null=True)
                if parsed.null_count != dates.null_count:
                    return False
        ids = records.field(names.index(key))
        if ids.null_count or (pa.types.is_string(ids.type) and pc.any(pc.equal(ids, "")).as_py()):
            return False
        return cursor is None or (
            cursor in names and not records.field(names.index(cursor)).null_count
        )

    def _parse_slowly(self, body: bytes) -> Page:
        """Record by record: quarantine what cannot load, learn new fields, parse the rest."""
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"page is not JSON: {exc}") from None
        items = document.get(self.envelope) if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise ValueError(f"page has no '{self.envelope}' list")
        meta = {k: v for k, v in document.items() if k != self.envelope}
        rejected: list[Rejected] = []
        good: list[tuple[int, dict[str, Any]]] = []
        for index, record in enumerate(items):
            payload = orjson.dumps(record).decode()
            reason = self._problem(record)
            if reason is None:
                good.append((index, record))
            else:
                rejected.append(Rejected(index, reason, payload))
        self._parse_schema = None  # the shape may have grown
        records = self._parse_good(good, rejected)
        return Page(records, len(items), rejected, meta)

    def _parse_good(
        self, good: list[tuple[int, dict[str, Any]]], rejected: list[Rejected]
    ) -> pa.StructArray:
        body = orjson.dumps({self.envelope: [record for _, record in good]})
        parsed = self._try_parse(body)
        if parsed is not None and not parsed[0].null_count:
            return parsed[0]
        # Still refused (a value pyarrow will not convert although dlt coerced it): take the
        # records one at a time and quarantine the ones pyarrow refuses.
        kept: list[pa.StructArray] = []
        for index, record in good:
            one = self._try_parse(orjson.dumps({self.envelope: [record]}))
            if one is None:
                reason = "a value cannot be converted to its column's type"
                rejected.append(Rejected(index, reason, orjson.dumps(record).decode()))
            else:
                kept.append(one[0])
        if not kept:
            return pa.array([], self.shape.arrow_type())
        return _concat_structs(kept)

    def _problem(self, record: Any) -> str | None:
        if not isinstance(record, dict):
            return f"record is a {type(record).__name__}, not an object"
        key, cursor = self.rules.key, self.rules.cursor
        if record.get(key) in (None, ""):
            return f"missing primary key '{key}'"
        if cursor is not None and not is_iso(record.get(cursor)):
            return f"'{cursor}' value {record.get(cursor)!r} is not an ISO-8601 date or timestamp"
        return self._check(record, self.shape)

    def _check(self, record: dict[str, Any], shape: Shape) -> str | None:
        """The first value that cannot be coerced to its column's type; coerces the rest."""
        for name, value in record.items():
            if value is None:
                continue
            kind = shape.fields.get(name)
            column = shape.prefix + self._name(name)
            if isinstance(value, dict):
                if kind is None:
                    kind = shape.fields[name] = Shape(shape.table, column + "__")
                if not isinstance(kind, Shape):
                    return f"'{_where(shape, column)}' is an object, not a {_kind(kind)}"
                problem = self._check(value, kind)
                if problem:
                    return problem
                continue
            if isinstance(value, list):
                if kind is None:
                    kind = shape.fields[name] = ListOf(f"{shape.table}__{column}")
                if not isinstance(kind, ListOf):
                    return f"'{_where(shape, column)}' is a list, not a {_kind(kind)}"
                problem = self._check_list(value, kind)
                if problem:
                    return problem
                continue
            if kind is None:
                kind = shape.fields[name] = self._learn(shape.table, column, value)
            if isinstance(kind, Shape | ListOf):
                return f"'{_where(shape, column)}' value {value!r} is not a {_kind(kind)}"
            coerced = _coerce(kind, value)
            if coerced is _MISFIT:
                return (
                    f"'{_where(shape, column)}' value {value!r} does not fit the column's type "
                    f"{kind}"
                )
            record[name] = coerced
        return None

    def _check_list(self, values: list[Any], kind: ListOf) -> str | None:
        for index, element in enumerate(values):
            if element is None:
                continue
            if isinstance(element, dict):
                if kind.items is None:
                    kind.items = Shape(kind.table)
                if not isinstance(kind.items, Shape):
                    return f"'{kind.table}' holds {kind.items} values, not objects"
                problem = self._check(element, kind.items)
                if problem:
                    return problem
            elif isinstance(element, list):
                return f"'{kind.table}' holds lists of lists, which are not loaded"
            else:
                if kind.items is None:
                    kind.items = self._learn(kind.table, "value", element)
                if isinstance(kind.items, Shape):
                    return f"'{kind.table}' value {element!r} is not an object"
                coerced = _coerce(kind.items, element)
                if coerced is _MISFIT:
                    return (
                        f"'{kind.table}.value' value {element!r} does not fit the column's type "
                        f"{kind.items}"
                    )
                values[index] = coerced
        return None

    def _learn(self, table: str, column: str, value: Any) -> str:
        """A new field's type: as stored by an earlier run, else as dlt infers it."""
        stored = self.schema.tables.get(table, {}).get("columns", {}).get(column, {})
        if stored.get("data_type") in ARROW_TYPES:
            return str(stored["data_type"])
        found = py_type_to_sc_type(type(value))
        if found == "text" and (_ISO_INSTANT.match(value) or is_iso_timestamp(str, value)):
            return "timestamp"  # dlt's default iso_timestamp detection
        if found not in ARROW_TYPES:
            return "text"
        return found

    def _name(self, field_name: str) -> str:
        name = self._names.get(field_name)
        if name is None:
            name = self._names[field_name] = self.naming.normalize_identifier(field_name)
        return name

    # -- shaping ----------------------------------------------------------------------------
    def tables(self, records: pa.StructArray) -> dict[str, pa.Table]:
        """The root table and every child table of a page's good records.

        Child tables of every list the shape knows are returned even when empty for this page,
        with one tombstone row per root record that has no child row in them.
        """
        with self._lock:
            return self._tables(records)

    def _tables(self, records: pa.StructArray) -> dict[str, pa.Table]:
        out: dict[str, list[dict[str, pa.Array]]] = {}
        keys = records.field(records.type.get_field_index(self.rules.key))
        ids = key_ids(keys) if self.root_ids == "key" else new_ids(len(records))
        self._shred(records, self.shape, self.shape.table, ids, ids, None, None, out)
        result = {table: _table(parts) for table, parts in out.items()}
        # The key never is null (checked above); saying so matches dlt's primary-key hint.
        root = result[self.shape.table]
        key = root.schema.get_field_index(self.naming.normalize_identifier(self.rules.key))
        root_schema = root.schema.set(key, root.schema.field(key).with_nullable(False))
        result[self.shape.table] = root.cast(root_schema)
        if self.root_ids == "key":
            for child in self.child_tables():
                # Only a table loaded before can hold old children to delete (in this run an
                # order is loaded once, so its children here are its only ones).
                if child in self._loaded_before:
                    result[child] = _with_tombstones(result.get(child), ids)
                elif child in result:
                    # No tombstones, but the column all the same: a file that lacks a column
                    # of its table is rewritten by dlt's normalizer to add it.
                    children = result[child]
                    result[child] = children.append_column(
                        DELETED, pa.nulls(len(children), pa.bool_())
                    )
        return result

    def child_tables(self) -> list[str]:
        """Every child table of the shape whose rows are known (objects or scalars)."""
        found: list[str] = []
        with self._lock:
            _children(self.shape, found)
        return found

    def _shred(
        self,
        records: pa.StructArray,
        shape: Shape,
        table: str,
        row_ids: pa.Array,
        root_ids: pa.Array,
        parent_ids: pa.Array | None,
        list_idx: pa.Array | None,
        out: dict[str, list[dict[str, pa.Array]]],
    ) -> None:
        columns: dict[str, pa.Array] = {}
        self._flatten(records, shape, row_ids, root_ids, columns, out)
        if parent_ids is not None:
            columns[PARENT_ID] = parent_ids
            columns[ROOT_ID] = root_ids
            columns[LIST_IDX] = list_idx
        columns[ROW_ID] = row_ids
        out.setdefault(table, []).append(columns)

    def _flatten(
        self,
        records: pa.StructArray,
        shape: Shape,
        row_ids: pa.Array,
        root_ids: pa.Array,
        columns: dict[str, pa.Array],
        out: dict[str, list[dict[str, pa.Array]]],
    ) -> None:
        children = records.flatten()  # parent nulls applied to every child
        for i, array in enumerate(children):
            name = records.type.field(i).name
            kind = shape.fields.get(name)
            column = shape.prefix + self._name(name)
            if pa.types.is_null(array.type) and kind is None:
                continue  # only nulls so far: no column, as dlt creates none
            if isinstance(kind, Shape) or pa.types.is_struct(array.type):
                if kind is None:
                    kind = shape.fields[name] = Shape(shape.table, column + "__")
                if pa.types.is_struct(array.type) and isinstance(kind, Shape):
                    self._flatten(array, kind, row_ids, root_ids, columns, out)
                continue
            if isinstance(kind, ListOf) or pa.types.is_list(array.type):
                if kind is None:
                    kind = shape.fields[name] = ListOf(f"{shape.table}__{column}")
                if pa.types.is_list(array.type) and isinstance(kind, ListOf):
                    self._explode(array, kind, row_ids, root_ids, out)
                continue
            columns[column] = _cast(array, kind)

    def _explode(
        self,
        lists: pa.ListArray,
        kind: ListOf,
        row_ids: pa.Array,
        root_ids: pa.Array,
        out: dict[str, list[dict[str, pa.Array]]],
    ) -> None:
        values = pc.list_flatten(lists)
        if len(values) == 0 or pa.types.is_null(values.type):
            return
        parents = pc.list_parent_indices(lists)
        lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
        starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
        list_idx = pa.array(np.arange(len(values), dtype=np.int64) - starts)
        child_parents = row_ids.take(parents)
        child_roots = root_ids.take(parents)
        child_ids = new_ids(len(values))
        if pa.types.is_struct(values.type):
            if kind.items is None:
                kind.items = Shape(kind.table)
            self._shred(
                values, kind.items, kind.table, child_ids, child_roots, child_parents, list_idx, out
            )
            return
        if kind.items is None:
            kind.items = _dlt_type(values.type)
        out.setdefault(kind.table, []).append(
            {
                "value": _cast(values, kind.items),
                PARENT_ID: child_parents,
                ROOT_ID: child_roots,
                LIST_IDX: list_idx,
                ROW_ID: child_ids,
            }
        )


def child_table_hints() -> dict[str, dict[str, Any]]:
    """Column hints of a child table: merged by root id, tombstones delete."""
    return {
        ROOT_ID: {"data_type": "text", "merge_key": True},
        DELETED: {"data_type": "bool", "hard_delete": True},
    }


_MISFIT = object()


def _coerce(kind: str, value: Any) -> Any:
    """``value`` as JSON pyarrow parses into ``kind``'s column, or ``_MISFIT``."""
    found = py_type_to_sc_type(type(value))
    if kind == "timestamp" and isinstance(value, str) and _ISO_INSTANT.match(value):
        return value
    if found == kind:
        return value
    try:
        coerced = coerce_value(kind, found, value)
    except Exception:
        return _MISFIT
    if isinstance(coerced, datetime | date):
        return coerced.isoformat()
    return coerced


def _cast(array: pa.Array, kind: Any) -> pa.Array:
    if kind == "date":
        return pc.cast(array, pa.date32())
    target = ARROW_TYPES.get(kind) if isinstance(kind, str) else None
    if target is None or array.type == target:
        return array
    return pc.cast(array, target)


def _dlt_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    return "text"


def _novel(parsed: pa.DataType, shape: Any) -> bool:
    """Whether a parsed type holds values the shape does not know (all-null fields do not count)."""
    if pa.types.is_null(parsed):
        return False
    if shape is None:
        return True
    if pa.types.is_struct(parsed):
        if not isinstance(shape, Shape):
            return True
        for i in range(parsed.num_fields):
            child = parsed.field(i)
            if _novel(child.type, shape.fields.get(child.name)):
                return True
        return False
    if pa.types.is_list(parsed):
        return not isinstance(shape, ListOf) or _novel(parsed.value_type, shape.items)
    return isinstance(shape, Shape | ListOf)


def _children(shape: Shape, found: list[str]) -> None:
    for kind in shape.fields.values():
        if isinstance(kind, Shape):
            _children(kind, found)
        elif isinstance(kind, ListOf) and kind.items is not None:
            found.append(kind.table)
            if isinstance(kind.items, Shape):
                _children(kind.items, found)


def _where(shape: Shape, column: str) -> str:
    return column if "__" not in shape.table else f"{shape.table}.{column}"


def _kind(kind: Any) -> str:
    if isinstance(kind, Shape):
        return "object"
    if isinstance(kind, ListOf):
        return "list"
    return f"{kind} value"


def _table(parts: list[dict[str, pa.Array]]) -> pa.Table:
    tables = [pa.table(part) for part in parts]
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")


def _with_tombstones(children: pa.Table | None, root_ids: pa.Array) -> pa.Table:
    """A child table plus one deleting row per root record that has no row in it."""
    if children is not None:
        orphaned = pc.invert(pc.is_in(root_ids, value_set=children.column(ROOT_ID)))
        missing = root_ids.filter(orphaned)
    else:
        missing = root_ids
    n = len(missing)
    tombstones = pa.table(
        {
            PARENT_ID: missing,
            ROOT_ID: missing,
            LIST_IDX: pa.array(np.full(n, -1, dtype=np.int64)),
            ROW_ID: new_ids(n),
            DELETED: pa.array(np.ones(n, dtype=bool)),
        }
    )
    if children is None:
        return tombstones
    return pa.concat_tables([children, tombstones], promote_options="permissive")


def batches(tables: Iterable[pa.Table], rows: int) -> Iterable[pa.Table]:
    """Consecutive tables joined into batches of at least ``rows`` rows (fewer, larger items
    for dlt, whose per-item cost is fixed); a table with other columns starts a new batch."""
    pending: list[pa.Table] = []
    count = 0
    for table in tables:
        if pending and table.schema != pending[0].schema:
            yield _joined(pending)
            pending, count = [], 0
        if len(table):
            pending.append(table)
            count += len(table)
        if count >= rows:
            yield _joined(pending)
            pending, count = [], 0
    if pending:
        yield _joined(pending)


def _joined(tables: list[pa.Table]) -> pa.Table:
    return tables[0] if len(tables) == 1 else pa.concat_tables(tables)


def _concat_structs(parts: Iterable[pa.StructArray]) -> pa.StructArray:
    tables = [pa.Table.from_struct_array(part) for part in parts]
    merged = pa.concat_tables(tables, promote_options="permissive").combine_chunks()
    return merged.to_struct_array().combine_chunks()
