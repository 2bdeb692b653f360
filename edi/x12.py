"""Public X12 foundation API: delimiters, segments, envelopes and errors."""

from edi.envelope import (
    TRANSACTION_IDS,
    Element,
    EnvelopeParams,
    FunctionalGroup,
    Interchange,
    Repeats,
    SegmentSpec,
    SegmentWriter,
    TransactionSet,
    read_interchange,
    read_interchanges,
    sanitize_text,
    write_interchange,
)
from edi.errors import X12EnvelopeError, X12Error, X12SyntaxError
from edi.segments import DEFAULT_DELIMITERS, Delimiters, Segment, parse_segments, read_delimiters

__all__ = [
    "DEFAULT_DELIMITERS",
    "TRANSACTION_IDS",
    "Delimiters",
    "Element",
    "EnvelopeParams",
    "FunctionalGroup",
    "Interchange",
    "Repeats",
    "Segment",
    "SegmentSpec",
    "SegmentWriter",
    "TransactionSet",
    "X12EnvelopeError",
    "X12Error",
    "X12SyntaxError",
    "parse_segments",
    "read_delimiters",
    "read_interchange",
    "read_interchanges",
    "sanitize_text",
    "write_interchange",
]
