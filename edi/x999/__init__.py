"""X12 999 (005010X231A1) implementation acknowledgment: ``model``, ``reader``, ``writer`` and
``json`` (the normalized document). Building a 999 for a received group is the sandbox's job
(``sandbox.acknowledgments``)."""

from edi.x999.json import to_json_dict
from edi.x999.model import (
    FUNCTIONAL_ID,
    IMPLEMENTATION,
    Ack999,
    AckCode,
    ElementError,
    GroupAckCode,
    SegmentError,
    TransactionSetAck,
)
from edi.x999.reader import read_999, read_999_all, read_transaction_set
from edi.x999.writer import write_999

__all__ = [
    "FUNCTIONAL_ID",
    "IMPLEMENTATION",
    "Ack999",
    "AckCode",
    "ElementError",
    "GroupAckCode",
    "SegmentError",
    "TransactionSetAck",
    "read_999",
    "read_999_all",
    "read_transaction_set",
    "to_json_dict",
    "write_999",
]
