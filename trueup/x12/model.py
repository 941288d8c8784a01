"""Data model of a parsed X12 file: interchanges, groups, transaction sets and their errors.

Plain dataclasses so that callers (dlt source, inspect CLI, tests) can read them without
knowing how the reader works. Raw segments are kept for audit; element lists are split
lazily because envelope-only parsing never needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Level = Literal["file", "interchange", "group", "transaction"]
Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Delimiters:
    """Separators announced by one ISA segment."""

    element: str
    component: str
    segment: str
    repetition: str | None = None

    @property
    def newline_terminated(self) -> bool:
        """True when segments end at a line break rather than a visible character."""
        return self.segment in "\r\n"


@dataclass(slots=True)
class X12Error:
    """One validation finding, located precisely enough to answer a partner's question.

    ``code`` follows the TA1 (interchange), AK9 (group) and AK5/AK3/AK4 (set) code lists where
    one exists (``"TA1:001"``, ``"AK9:4"``, ``"AK5:3"``); other findings use ``"X12:<name>"``.
    An ``error`` rejects the unit named by ``level``; a ``warning`` rejects nothing.
    """

    level: Level
    code: str
    reason: str
    file: str
    severity: Severity = "error"
    segment_index: int | None = None
    byte_offset: int | None = None
    interchange_control: str | None = None
    group_control: str | None = None
    set_control: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "level": self.level,
            "severity": self.severity,
            "code": self.code,
            "reason": self.reason,
            "file": self.file,
            "segment_index": self.segment_index,
            "byte_offset": self.byte_offset,
            "interchange_control": self.interchange_control,
            "group_control": self.group_control,
            "set_control": self.set_control,
        }


@dataclass(slots=True)
class Transaction:
    """One ST..SE transaction set."""

    set_id: str
    control_number: str
    raw_segments: list[str]
    first_segment_index: int
    element_separator: str
    errors: list[X12Error] = field(default_factory=list)
    rejected: bool = False
    rows: dict[str, list[dict[str, Any]]] | None = None
    _segments: list[list[str]] | None = field(default=None, repr=False)

    @property
    def segments(self) -> list[list[str]]:
        """Segments split into elements (element 0 is the segment ID), split on first use."""
        if self._segments is None:
            sep = self.element_separator
            self._segments = [s.split(sep) for s in self.raw_segments]
        return self._segments


@dataclass(slots=True)
class Group:
    """One GS..GE functional group."""

    functional_id: str
    app_sender: str
    app_receiver: str
    date: str
    time: str
    control_number: str
    version: str
    transactions: list[Transaction] = field(default_factory=list)
    errors: list[X12Error] = field(default_factory=list)
    rejected: bool = False
    segment_start: int = 0
    segment_end: int | None = None


@dataclass(slots=True)
class Interchange:
    """One ISA..IEA interchange with the exact text it was parsed from."""

    sender_qual: str
    sender_id: str
    receiver_qual: str
    receiver_id: str
    date: str
    time: str
    control_number: str
    version: str
    usage: str
    delimiters: Delimiters | None
    groups: list[Group] = field(default_factory=list)
    errors: list[X12Error] = field(default_factory=list)
    raw_sha256: str = ""
    raw_text: str = ""
    raw_segments: list[str] = field(default_factory=list, repr=False)
    segment_start: int = 0
    segment_end: int | None = None
    byte_start: int = 0
    byte_end: int = 0
    rejected: bool = False

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """Identity used for duplicate detection: sender, receiver and ISA13."""
        return (
            self.sender_qual,
            self.sender_id,
            self.receiver_qual,
            self.receiver_id,
            self.control_number,
        )


@dataclass(slots=True)
class ParseResult:
    """Everything read from one file. ``errors`` holds file-level findings only."""

    source_name: str
    interchanges: list[Interchange] = field(default_factory=list)
    errors: list[X12Error] = field(default_factory=list)
    stray_text: list[str] = field(default_factory=list)
    size_bytes: int = 0
    mapped: bool = False

    def all_errors(self) -> list[X12Error]:
        """File, interchange, group and transaction findings, in file order per level."""
        out = list(self.errors)
        for ic in self.interchanges:
            out.extend(ic.errors)
            for gr in ic.groups:
                out.extend(gr.errors)
                for tx in gr.transactions:
                    out.extend(tx.errors)
        return out

    def accepted_transactions(self) -> list[tuple[Interchange, Group, Transaction]]:
        """Transaction sets whose own unit and every enclosing unit were accepted."""
        return [
            (ic, gr, tx)
            for ic in self.interchanges
            if not ic.rejected
            for gr in ic.groups
            if not gr.rejected
            for tx in gr.transactions
            if not tx.rejected
        ]

    @property
    def rejected(self) -> bool:
        """True when any unit was rejected, text lay outside envelopes, or nothing was accepted."""
        if any(e.severity == "error" for e in self.errors):
            return True
        if all(ic.rejected for ic in self.interchanges):
            return True
        return any(
            ic.rejected or gr.rejected or any(tx.rejected for tx in gr.transactions)
            for ic in self.interchanges
            for gr in ic.groups
        )
