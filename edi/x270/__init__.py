"""X12 270 (005010X279A1) eligibility inquiry: ``model``, ``writer``, ``reader``, ``checks``
and ``json``. The 271 (``edi.x271``) shares the person model and the HL tree."""

from edi.x270.checks import check_270
from edi.x270.json import to_json_dict
from edi.x270.model import FUNCTIONAL_ID, IMPLEMENTATION, Gender, Inquiry, Person
from edi.x270.reader import read_270, read_270_interchange
from edi.x270.writer import render_270

__all__ = [
    "FUNCTIONAL_ID",
    "IMPLEMENTATION",
    "Gender",
    "Inquiry",
    "Person",
    "check_270",
    "read_270",
    "read_270_interchange",
    "render_270",
    "to_json_dict",
]
