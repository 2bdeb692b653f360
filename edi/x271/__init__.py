"""X12 271 (005010X279A1) eligibility response: ``model``, ``writer``, ``reader``, ``checks`` and
``json``. Building a 271 from a payer's plan is the sandbox's job (``sandbox.eligibility``)."""

from edi.x270.model import IMPLEMENTATION, Gender, Person
from edi.x271.checks import check_271
from edi.x271.json import to_json_dict
from edi.x271.model import (
    ACTIVE_CODES,
    FUNCTIONAL_ID,
    INACTIVE_CODES,
    BenefitDate,
    BenefitEntity,
    BenefitInfo,
    EligibilityResponse,
    Rejection,
)
from edi.x271.reader import read_271
from edi.x271.writer import render_271

__all__ = [
    "ACTIVE_CODES",
    "FUNCTIONAL_ID",
    "IMPLEMENTATION",
    "INACTIVE_CODES",
    "BenefitDate",
    "BenefitEntity",
    "BenefitInfo",
    "EligibilityResponse",
    "Gender",
    "Person",
    "Rejection",
    "check_271",
    "read_271",
    "render_271",
    "to_json_dict",
]
