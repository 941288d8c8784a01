"""Shared plumbing for the per-document mappers: the context rows are written into."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from trueup.x12.values import MappingError

Row = dict[str, Any]


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of acyclic rows.

    Rows and segment lists hold no reference cycles, yet every allocation burst triggers a
    collection that rescans the whole (growing) heap: on 50 MB of X12 that tripled mapping
    time. Reference counting still frees everything; the collector resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(slots=True)
class MapContext:
    """Envelope keys every row carries, the component separator, and the output tables.

    ``at`` is the offset of the segment being read, so a ``MappingError`` can be located.
    """

    keys: Row
    component: str
    tables: dict[str, list[Row]] = field(default_factory=dict)
    at: int = 0

    def add(self, table: str, row: Row) -> Row:
        """Append ``row`` to ``table`` and return it (mappers fill some columns later)."""
        self.tables.setdefault(table, []).append(row)
        return row

    def row(self, **columns: Any) -> Row:
        """A new row: envelope keys first, then ``columns``."""
        out = dict(self.keys)
        out.update(columns)
        return out


def text(seg: list[str], i: int) -> str | None:
    """Element ``i`` stripped, or None when empty or absent."""
    # Inlined rather than calling el(): this runs for most elements of a 50 MB file.
    return (seg[i].strip() or None) if i < len(seg) else None


def first_component(value: str | None, component: str) -> str | None:
    """First component of a composite element (``CA>12`` gives ``CA``)."""
    if not value:
        return None
    return value.split(component, 1)[0] or None


def require(value: Any, what: str) -> Any:
    """Reject the set when its document number (or another key) is missing."""
    if value in (None, ""):
        raise MappingError(f"{what} missing: the document cannot be identified")
    return value
