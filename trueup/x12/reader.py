"""The crash-proof entry point: bytes in, validated (and optionally mapped) model out."""

from __future__ import annotations

from trueup.x12.documents import map_transactions
from trueup.x12.envelope import parse_envelopes
from trueup.x12.mapping import paused_gc
from trueup.x12.model import ParseResult, X12Error


def parse(
    data: bytes | str, source_name: str = "<memory>", *, map_documents: bool = True
) -> ParseResult:
    """Parse one file's content into interchanges with validation errors.

    Args:
        data: raw file content (bytes preferred, so hashes cover the exact bytes received).
        source_name: file name recorded on every error and row.
        map_documents: also map accepted sets to rows now (a bad value then rejects its set,
            which inspection must show); pass False for envelope-only speed.

    Returns:
        A ``ParseResult``. Never raises: a reader bug becomes a file-level ``X12:INTERNAL``
        error so one odd file cannot stop a batch.
    """
    try:
        with paused_gc():
            result = parse_envelopes(data, source_name)
            if map_documents:
                map_transactions(result)
    except Exception as exc:  # the public API promises structured errors, never exceptions
        result = ParseResult(source_name=source_name)
        result.errors.append(
            X12Error("file", "X12:INTERNAL", f"reader failed: {exc!r}", source_name)
        )
    return result
