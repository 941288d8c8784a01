"""Tell a new interchange from a retransmission or a reused control number.

Pure functions over previously seen keys: the caller (the dlt source) owns the state.
ISA13 must be unique per sender/receiver pair, so the key is (sender qualifier and ID,
receiver qualifier and ID, ISA13) and the content fingerprint is the SHA-256 of the exact
interchange bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from trueup.x12.model import Interchange

Status = Literal["new", "retransmission", "control_number_reuse"]
Key = tuple[str, str, str, str, str]


def classify(key: Key, raw_sha256: str, seen: Mapping[Key, str]) -> Status:
    """``new`` if the key is unseen; ``retransmission`` if seen with the same content;
    ``control_number_reuse`` if seen with different content (TA1 code 025 territory)."""
    previous = seen.get(key)
    if previous is None:
        return "new"
    return "retransmission" if previous == raw_sha256 else "control_number_reuse"


def classify_all(
    interchanges: Iterable[Interchange], seen: Mapping[Key, str]
) -> tuple[list[tuple[Interchange, Status]], dict[Key, str]]:
    """Classify in order, so a duplicate inside the same batch is caught too.

    Returns the classifications and the updated key → hash map (first content wins, so a
    reuse never overwrites what was loaded). ``seen`` itself is not modified.
    """
    state = dict(seen)
    out: list[tuple[Interchange, Status]] = []
    for ic in interchanges:
        status = classify(ic.key, ic.raw_sha256, state)
        out.append((ic, status))
        state.setdefault(ic.key, ic.raw_sha256)
    return out, state
