"""A small X12 004010 writer: segments → ST/SE, GS/GE, ISA/IEA with correct counts.

Segments are passed as element-joined strings using ``*`` (the element separator every simulated
partner uses); the writer adds the terminator. The ISA is fixed width: 106 characters including
its segment terminator (a trailing newline after ``~`` is the partner's cosmetic choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

SEP = "\x1d"  # placeholder segment separator inside pre-built multi-segment entries


@dataclass(frozen=True)
class Party:
    """One side of an interchange: ISA qualifier and ID (also used as GS application ID)."""

    qualifier: str
    isa_id: str


@dataclass(frozen=True)
class Syntax:
    """Per-partner delimiters: component separator and segment terminator (maybe + newline)."""

    component: str = ">"
    terminator: str = "~"


@dataclass
class TransactionSet:
    """An ST…SE body: set id (850…), control number (ST02) and the segments between ST and SE."""

    set_id: str
    control: str
    segments: list[str]

    def render(self) -> list[str]:
        """ST, body, SE. A body entry may hold several segments joined by ``SEP`` (built in bulk)."""
        body = [f"ST*{self.set_id}*{self.control}", *self.segments]
        count = len(body) + 1 + "".join(self.segments).count(SEP)
        return [*body, f"SE*{count}*{self.control}"]


@dataclass
class Group:
    """A GS…GE functional group."""

    functional_id: str
    control: int
    version: str
    sets: list[TransactionSet]


def _ts(epoch: int) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def isa_segment(
    sender: Party, receiver: Party, control: int, when: int, syntax: Syntax, usage: str = "P"
) -> str:
    """The fixed-width ISA (without terminator): 105 characters."""
    t = _ts(when)
    seg = "*".join(
        [
            "ISA",
            "00",
            " " * 10,
            "00",
            " " * 10,
            sender.qualifier,
            sender.isa_id.ljust(15),
            receiver.qualifier,
            receiver.isa_id.ljust(15),
            t.strftime("%y%m%d"),
            t.strftime("%H%M"),
            "U",
            "00401",
            f"{control:09d}",
            "0",
            usage,
            syntax.component,
        ]
    )
    assert len(seg) == 105, seg
    return seg


def interchange(
    sender: Party, receiver: Party, control: int, when: int, groups: list[Group], syntax: Syntax
) -> str:
    """Render one ISA…IEA interchange (with every count and control number consistent)."""
    t = _ts(when)
    segs = [isa_segment(sender, receiver, control, when, syntax)]
    for g in groups:
        segs.append(
            "*".join(
                [
                    "GS",
                    g.functional_id,
                    sender.isa_id,
                    receiver.isa_id,
                    t.strftime("%Y%m%d"),
                    t.strftime("%H%M"),
                    str(g.control),
                    "X",
                    g.version,
                ]
            )
        )
        for s in g.sets:
            segs.extend(s.render())
        segs.append(f"GE*{len(g.sets)}*{g.control}")
    segs.append(f"IEA*{len(groups)}*{control:09d}")
    term = syntax.terminator
    return (term.join(segs) + term).replace(SEP, term)
