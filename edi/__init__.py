"""X12 5010 codec: pure text-in, typed-objects-out library (no I/O, no service imports)."""

from edi.x12 import (
    DEFAULT_DELIMITERS,
    Delimiters,
    EnvelopeParams,
    FunctionalGroup,
    Interchange,
    Segment,
    TransactionSet,
    X12EnvelopeError,
    X12Error,
    X12SyntaxError,
    parse_segments,
    read_delimiters,
    read_interchange,
    read_interchanges,
    write_interchange,
)

__all__ = [
    "DEFAULT_DELIMITERS",
    "Delimiters",
    "EnvelopeParams",
    "FunctionalGroup",
    "Interchange",
    "Segment",
    "TransactionSet",
    "X12EnvelopeError",
    "X12Error",
    "X12SyntaxError",
    "parse_segments",
    "read_delimiters",
    "read_interchange",
    "read_interchanges",
    "write_interchange",
]
