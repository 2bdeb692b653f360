"""X12 277CA (005010X214) claim acknowledgment: ``model``, ``reader``, ``writer`` and ``json``
(the normalized document). Building a 277CA from claim decisions is the sandbox's job
(``sandbox.acknowledgments``)."""

from edi.composites import StatusCode
from edi.x277ca.json import to_json_dict
from edi.x277ca.model import (
    ACCEPTED_CATEGORIES,
    ACCEPTED_STATUS,
    FUNCTIONAL_ID,
    IMPLEMENTATION,
    NOT_FOUND_CATEGORIES,
    REJECTED_CATEGORIES,
    Ack277CA,
    ClaimAck,
    ClaimAckTransaction,
    LineStatus,
    Outcome,
    PatientLevel,
    ProviderLevel,
    ReceiverLevel,
    SourceLevel,
    StatusInfo,
    Totals,
    outcome_of,
)
from edi.x277ca.reader import read_277ca, read_transaction_set
from edi.x277ca.writer import write_277ca

__all__ = [
    "ACCEPTED_CATEGORIES",
    "ACCEPTED_STATUS",
    "FUNCTIONAL_ID",
    "IMPLEMENTATION",
    "NOT_FOUND_CATEGORIES",
    "REJECTED_CATEGORIES",
    "Ack277CA",
    "ClaimAck",
    "ClaimAckTransaction",
    "LineStatus",
    "Outcome",
    "PatientLevel",
    "ProviderLevel",
    "ReceiverLevel",
    "SourceLevel",
    "StatusCode",
    "StatusInfo",
    "Totals",
    "outcome_of",
    "read_277ca",
    "read_transaction_set",
    "to_json_dict",
    "write_277ca",
]
