"""Acknowledgments (999, 277CA) -> what happened to which submission, with readable reasons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from edi.x277ca import ACCEPTED_STATUS, Ack277CA, ClaimAck, StatusCode
from edi.x999 import Ack999, TransactionSetAck

Kind = Literal["999", "277CA"]

# A few common claim status codes (X12 external code list 508) in our own words.
STATUS_TEXT: dict[str, str] = {
    "0": "cannot provide further status electronically",
    "3": "claim has been adjudicated and is awaiting payment",
    "19": "entity acknowledges receipt of the claim",
    "20": "accepted for processing",
    "21": "missing or invalid information",
    "33": "subscriber and subscriber id not found",
    "35": "claim or encounter not found",
    "54": "duplicate of a previously processed claim",
    "88": "entity not eligible",
    "116": "claim submitted to the incorrect payer",
    "145": "entity's primary identifier",
    "187": "date of service",
    "218": "NDC number",
    "247": "line information",
    "252": "prior authorization or pre-certification",
    "255": "diagnosis code",
    "454": "procedure code for services rendered",
    "562": "entity's National Provider Identifier (NPI)",
}
CATEGORY_TEXT: dict[str, str] = {
    "A1": "received", "A2": "accepted into adjudication", "A3": "returned as unprocessable",
    "A4": "not found", "A6": "rejected for missing information", "A7": "rejected for invalid information",
    "A8": "rejected for relational field in error",
}
ENTITY_TEXT: dict[str, str] = {
    "85": "billing provider", "82": "rendering provider", "IL": "subscriber", "QC": "patient", "PR": "payer",
    "40": "receiver", "41": "submitter", "77": "service location", "DN": "referring provider",
}
IK3_TEXT: dict[str, str] = {
    "1": "unrecognized segment", "2": "unexpected segment", "3": "required segment missing",
    "4": "loop occurs over maximum times", "5": "segment exceeds maximum use", "6": "segment not defined",
    "7": "segment not in proper sequence", "8": "segment has data element errors",
}
IK4_TEXT: dict[str, str] = {
    "1": "required element missing", "2": "conditional required element missing", "3": "too many elements",
    "4": "element too short", "5": "element too long", "6": "invalid character", "7": "invalid code value",
    "8": "invalid date", "9": "invalid time", "10": "exclusion condition violated", "12": "too many repetitions",
}


@dataclass(frozen=True)
class Code:
    segment: Literal["AK9", "IK3", "IK4", "IK5", "STC"]
    code: str
    description: str | None = None


def describe_status(s: StatusCode) -> str:
    parts = [CATEGORY_TEXT.get(s.category, s.category)]
    if s.status:
        parts.append(STATUS_TEXT.get(s.status, f"status {s.status}"))
    if s.entity:
        parts.append(ENTITY_TEXT.get(s.entity, f"entity {s.entity}"))
    return ": ".join(parts)


def stc_codes(claim: ClaimAck) -> list[Code]:
    codes: list[Code] = []
    for status in claim.statuses:
        for c in status.codes:
            text = ":".join(x for x in (c.category, c.status, c.entity) if x)
            codes.append(Code("STC", text[:30], describe_status(c)[:200]))
    return codes


def claim_reason(claim: ClaimAck) -> str:
    rejecting = [c for s in claim.statuses for c in s.codes if c.category in {"A3", "A6", "A7", "A8"}]
    texts = [describe_status(c) for c in rejecting or [claim.primary_status]]
    messages = [s.message for s in claim.statuses if s.message]
    return ("; ".join(texts + messages))[:500]


def is_acceptance(claim: ClaimAck) -> bool:
    """A2 (accepted into adjudication); A1 alone only says the claim was received."""
    return claim.accepted and any(c.category == ACCEPTED_STATUS.category for s in claim.statuses for c in s.codes)


def set_codes(ts: TransactionSetAck, ack: Ack999) -> list[Code]:
    codes = [Code("IK5", ts.code.value, "transaction set " + ("accepted" if ts.accepted else "rejected"))]
    for err in ts.segment_errors:
        codes.append(Code("IK3", f"{err.segment_id}:{err.code}"[:30], f"{err.segment_id} at position "
                          f"{err.position}: {IK3_TEXT.get(err.code, 'segment error ' + err.code)}"[:200]))
        for el in err.element_errors:
            codes.append(Code("IK4", f"{el.position}:{el.code}"[:30], f"{err.segment_id}{el.position:02d}: "
                              f"{IK4_TEXT.get(el.code, 'element error ' + el.code)}"[:200]))
    codes.append(Code("AK9", ack.group_code.value, None))
    return codes


def set_reason(ts: TransactionSetAck) -> str:
    parts = [f"the clearinghouse rejected the 837 transaction set {ts.control_number} (999 IK5 {ts.code.value})"]
    for err in ts.segment_errors:
        detail = IK3_TEXT.get(err.code, f"segment error {err.code}")
        elements = ", ".join(f"{err.segment_id}{el.position:02d} {IK4_TEXT.get(el.code, el.code)}"
                             for el in err.element_errors)
        parts.append(f"{err.segment_id} ({detail})" + (f": {elements}" if elements else ""))
    return "; ".join(parts)[:500]


def kind_of(functional_id: str) -> Kind | None:
    if functional_id == "FA":
        return "999"
    return "277CA" if functional_id == "HN" else None


__all__ = ["Ack277CA", "Ack999", "Code", "claim_reason", "is_acceptance", "kind_of", "set_codes", "set_reason",
           "stc_codes"]
