"""JSON-able report of one X12 file, for ``trueup edi inspect``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trueup.x12.model import ParseResult
from trueup.x12.reader import parse


def report(result: ParseResult) -> dict[str, Any]:
    """Interchanges, groups, sets (type, control numbers, segment counts) and every finding."""
    interchanges = []
    for ic in result.interchanges:
        d = ic.delimiters
        interchanges.append(
            {
                "control_number": ic.control_number,
                "sender": f"{ic.sender_qual}:{ic.sender_id}",
                "receiver": f"{ic.receiver_qual}:{ic.receiver_id}",
                "date": ic.date,
                "time": ic.time,
                "version": ic.version,
                "usage": ic.usage,
                "delimiters": None
                if d is None
                else {
                    "element": d.element,
                    "component": d.component,
                    "segment": d.segment,
                    "repetition": d.repetition,
                },
                "segments": [ic.segment_start, ic.segment_end],
                "bytes": [ic.byte_start, ic.byte_end],
                "raw_sha256": ic.raw_sha256,
                "rejected": ic.rejected,
                "errors": [e.as_dict() for e in ic.errors],
                "groups": [
                    {
                        "functional_id": gr.functional_id,
                        "control_number": gr.control_number,
                        "sender": gr.app_sender,
                        "receiver": gr.app_receiver,
                        "version": gr.version,
                        "rejected": gr.rejected,
                        "errors": [e.as_dict() for e in gr.errors],
                        "transactions": [
                            {
                                "set_id": tx.set_id,
                                "control_number": tx.control_number,
                                "segment_count": len(tx.raw_segments),
                                "first_segment_index": tx.first_segment_index,
                                "mapped": tx.rows is not None,
                                "rejected": tx.rejected,
                                "errors": [e.as_dict() for e in tx.errors],
                            }
                            for tx in gr.transactions
                        ],
                    }
                    for gr in ic.groups
                ],
            }
        )
    return {
        "file": result.source_name,
        "size_bytes": result.size_bytes,
        "rejected": result.rejected,
        "errors": [e.as_dict() for e in result.errors],
        "interchanges": interchanges,
    }


def inspect_file(path: str | Path) -> dict[str, Any]:
    """Parse and map ``path`` and report it; ``rejected`` is true if any unit was rejected or
    the file holds no valid interchange."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return {"file": str(path), "rejected": True, "errors": [str(exc)], "interchanges": []}
    return report(parse(data, str(path)))
