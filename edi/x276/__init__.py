"""X12 276 (005010X212) claim status request: ``model``, ``writer``, ``reader``, ``checks`` and
``json`` (the normalized document). pyx12 has only a 4010 map for the 276, so ``check_276``
is our own structural check from the 005010X212 segment tables."""

from edi.claimstatus import Person
from edi.x276.checks import check_276
from edi.x276.json import to_json_dict
from edi.x276.model import FUNCTIONAL_ID, IMPLEMENTATION, StatusInquiry
from edi.x276.reader import read_276, read_transaction_set
from edi.x276.writer import render_276

__all__ = [
    "FUNCTIONAL_ID",
    "IMPLEMENTATION",
    "Person",
    "StatusInquiry",
    "check_276",
    "read_276",
    "read_transaction_set",
    "render_276",
    "to_json_dict",
]
