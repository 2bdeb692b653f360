"""X12 277 claim status response (005010X212): ``model``, ``writer``, ``reader``, ``checks``
and ``json``. Not the 277CA acknowledgment (005010X214, ``edi.x277ca``), whose STC composite
reading it shares."""

from edi.claimstatus import Person
from edi.x277.checks import check_277
from edi.x277.json import to_json_dict
from edi.x277.model import (
    FUNCTIONAL_ID,
    IMPLEMENTATION,
    OUTCOME_RANK,
    Outcome,
    Status,
    StatusResponse,
    outcome_of,
    outcome_of_category,
)
from edi.x277.reader import read_277, read_stc, read_transaction_set
from edi.x277.writer import render_277

__all__ = [
    "FUNCTIONAL_ID",
    "IMPLEMENTATION",
    "OUTCOME_RANK",
    "Outcome",
    "Person",
    "Status",
    "StatusResponse",
    "check_277",
    "outcome_of",
    "outcome_of_category",
    "read_277",
    "read_stc",
    "read_transaction_set",
    "render_277",
    "to_json_dict",
]
