"""Shapes of the codes a charge line carries: CPT, HCPCS Level II, modifiers, revenue codes.

Shape only. Whether a code exists is answered by the reference data (reference.py) and the
ICD-10-CM code set (icd10cm.py). Codes are expected canonical: uppercase, no dots, no spaces
(the wire contracts normalize them before a handler maps them into facts).
"""

from __future__ import annotations

import re
from enum import StrEnum

# Category I is five digits; Category II (F), Category III (T), PLA (U) and MAAA (M) codes
# are four digits and a letter.
_CPT = re.compile(r"[0-9]{4}[0-9FTUM]")
# W, X, Y and Z are not HCPCS Level II sections (CMS reserves none of them for national codes).
_HCPCS = re.compile(r"[A-V][0-9]{4}")
_MODIFIER = re.compile(r"[A-Z0-9]{2}")
_REVENUE = re.compile(r"[0-9]{4}")
_PLACE_OF_SERVICE = re.compile(r"[0-9]{2}")
_ICD10CM = re.compile(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{0,4}")
# Same alphabet as schemas.types.ChargemasterCode: the code is also a key in events and logs.
_CDM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,29}")


class ProcedureKind(StrEnum):
    CPT = "cpt"
    HCPCS = "hcpcs"


def procedure_kind(code: str) -> ProcedureKind | None:
    """CPT or HCPCS Level II by shape; None when the code has neither shape."""
    if _CPT.fullmatch(code):
        return ProcedureKind.CPT
    if _HCPCS.fullmatch(code):
        return ProcedureKind.HCPCS
    return None


def looks_like_cpt(code: str) -> bool:
    """A failed code is judged against the CPT shape when it starts with a digit, since no
    HCPCS Level II code does; the rejection then names the shape the sender was aiming at."""
    return code[:1].isdigit()


def is_modifier_shape(code: str) -> bool:
    return _MODIFIER.fullmatch(code) is not None


def is_revenue_code(code: str) -> bool:
    return _REVENUE.fullmatch(code) is not None


def is_place_of_service_shape(code: str) -> bool:
    return _PLACE_OF_SERVICE.fullmatch(code) is not None


def is_icd10cm_shape(code: str) -> bool:
    return _ICD10CM.fullmatch(code) is not None


def is_chargemaster_code(code: str) -> bool:
    return _CDM.fullmatch(code) is not None
