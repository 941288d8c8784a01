"""X12 004010 reader: envelopes, validation, and flat rows for distribution documents.

Typical use (one file)::

    result = parse(path.read_bytes(), path.name)
    tables = documents(result)      # {"x12_850_headers": [...], ..., "x12_transactions": [...]}
    quarantine = rejections(result) # rejected units with reasons and raw text
"""

from trueup.x12.documents import AUDIT_TABLES, DOCUMENT_TABLES, documents, rejections
from trueup.x12.model import Delimiters, Group, Interchange, ParseResult, Transaction, X12Error
from trueup.x12.reader import parse
from trueup.x12.retransmission import classify, classify_all

__all__ = [
    "AUDIT_TABLES",
    "DOCUMENT_TABLES",
    "Delimiters",
    "Group",
    "Interchange",
    "ParseResult",
    "Transaction",
    "X12Error",
    "classify",
    "classify_all",
    "documents",
    "parse",
    "rejections",
]
