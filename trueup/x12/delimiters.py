"""Read the delimiters and header elements of one ISA segment.

The ISA is nominally 106 fixed-width characters, but real partners send unpadded fields,
NBSP padding, lines wrapped inside the ISA and ISAs without ISA16. So the reader counts
element separators instead of trusting column positions, and infers the terminator when
ISA16 is missing (see ``read_isa``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from trueup.x12.model import Delimiters

# An ISA is ~106 characters; NBSP padding and wrapping add a few. Bounding the separator search
# keeps a missing separator from swallowing the rest of a 50 MB file.
_ISA_WINDOW = 400
_LINE_BREAKS = "\r\n"
_BLANKS = " \t\r\n"
DEFAULT_COMPONENT = ">"


@dataclass(slots=True)
class IsaHeader:
    """Outcome of reading one ISA: delimiters and ISA01..ISA15, or why they are unusable."""

    elements: list[str] = field(default_factory=list)
    delimiters: Delimiters | None = None
    error_code: str | None = None
    error: str | None = None
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _bad_separator(ch: str) -> bool:
    return not ch or ch.isalnum() or ch in _BLANKS


def _next_nonblank(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in _BLANKS:
        pos += 1
    return pos


def read_isa(text: str, start: int) -> IsaHeader:
    """Read the ISA that begins at ``text[start]`` (which must be ``"ISA"``).

    Rules, in order:
    - element separator = the character after ``ISA``;
    - ISA16 follows the 16th element separator; the terminator is the next character, or the
      newline when that character is a line break;
    - if ISA15 is longer than one character, the 16th separator is missing: ISA15 is its first
      character and the terminator the one after it (component separator defaulted);
    - if the "ISA16" character is followed by a line break and the next line ends with that
      same character, ISA16 is missing and that character is really the terminator.
    """
    out = IsaHeader()
    elem = text[start + 3 : start + 4]
    if _bad_separator(elem):
        out.error_code, out.error = "TA1:026", f"invalid element separator {elem!r} after ISA"
        return out
    limit = min(len(text), start + _ISA_WINDOW)
    seps = [start + 3]
    while len(seps) < 16:
        nxt = text.find(elem, seps[-1] + 1, limit)
        if nxt < 0:
            break
        seps.append(nxt)
    if len(seps) < 15:
        out.error_code = "TA1:024"
        out.error = f"ISA truncated: {len(seps)} element separators found, 16 expected"
        return out
    # Wrapped files break lines anywhere, even inside ISA fields.
    fields = [
        text[a + 1 : b].replace("\r", "").replace("\n", "") for a, b in itertools.pairwise(seps)
    ]
    component: str | None
    if len(seps) == 15 or len(fields[14].strip()) != 1:
        # ISA16 and its separator are missing: "...*P~GS*..."
        isa15_at = _next_nonblank(text, seps[14] + 1)
        fields = [*fields[:14], text[isa15_at : isa15_at + 1]]
        component, term = None, text[isa15_at + 1 : isa15_at + 2]
    else:
        comp_at = seps[15] + 1
        component = text[comp_at : comp_at + 1]
        term = text[comp_at + 1 : comp_at + 2]
        if term and term in _LINE_BREAKS:
            after = _next_nonblank(text, comp_at + 1)
            line_end = text.find("\n", after)
            next_line = text[after : line_end if line_end >= 0 else len(text)].rstrip(_BLANKS)
            if component and not component.isalnum() and next_line.endswith(component):
                # "...*T*~\nGS*...~": the '~' is the terminator, ISA16 is absent.
                component, term = None, component
            elif after < len(text) and not text[after].isalnum():
                term = text[after]  # wrapped exactly after ISA16: "...*>\n~GS*"
            else:
                term = "\n"
    if not term or term.isalnum() or term == " " or term == elem:
        out.error_code, out.error = "X12:BAD_TERMINATOR", f"invalid segment terminator {term!r}"
        return out
    if component is None:
        component = DEFAULT_COMPONENT if DEFAULT_COMPONENT not in (elem, term) else ":"
        out.warnings.append(
            (
                "X12:ISA16_MISSING",
                f"ISA16 component separator missing; terminator {term!r} inferred, "
                f"component separator assumed {component!r}",
            )
        )
    elif _bad_separator(component) or component in (elem, term):
        out.error_code, out.error = "TA1:027", f"invalid component separator {component!r}"
        return out
    if term == "\r":
        term = "\n"
    version = fields[11].strip()
    rep = fields[10]
    repetition = rep if version >= "00402" and len(rep) == 1 and not _bad_separator(rep) else None
    out.elements = ["ISA", *fields]
    out.delimiters = Delimiters(elem, component, term, repetition)
    return out


def isa_starts_at(text: str, pos: int, terminator: str | None) -> bool:
    """True when ``text[pos:]`` opens a new ISA segment rather than containing "ISA" in data.

    The candidate must be followed by a separator-like character and preceded (ignoring
    blanks) by the current terminator, by a line break, or by the start of the text.
    """
    nxt = text[pos + 3 : pos + 4]
    if _bad_separator(nxt):
        return False
    p = pos
    saw_break = False
    while p > 0 and text[p - 1] in _BLANKS:
        p -= 1
        saw_break = saw_break or text[p] in _LINE_BREAKS
    if p == 0:
        return True
    if terminator is None:
        return saw_break
    return text[p - 1] == terminator or (terminator in _LINE_BREAKS and saw_break)


def find_isa(text: str, pos: int, terminator: str | None) -> int:
    """Index of the next ISA segment at or after ``pos``, or -1."""
    while True:
        k = text.find("ISA", pos)
        if k < 0 or isa_starts_at(text, k, terminator):
            return k
        pos = k + 1
