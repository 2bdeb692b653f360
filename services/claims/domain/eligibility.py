"""Eligibility (270/271) decided: what a payer's answer means for a coverage on the date of
service, whether a stored answer is fresh enough to reuse, and the edit that holds a claim whose
coverage is not active. Pure: the 271 reaches it as an `Answer` (domain/x270.py maps the codec's
EligibilityResponse to one); the service layer stores and sends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from schemas.eligibility import Benefit, EligibilityOutcome, EligibilityRejection, OtherPayer
from services.claims.domain.findings import Finding

ACTIVE_CODES = frozenset("12345")
"""EB01 1 active coverage, 2 active full risk capitation, 3 services capitated, 4 services
capitated to primary care physician, 5 active pending investigation."""
INACTIVE_CODES = frozenset("678")
"""EB01 6 inactive, 7 inactive pending eligibility update, 8 inactive pending investigation."""
OTHER_PAYER_CODE = "R"
PLAN_COVERAGE = "30"
"""EQ01/EB03 30: health benefit plan coverage (what a 270 asks by default)."""

BENEFIT_NAMES = {
    "1": "active coverage", "2": "active full risk capitation", "3": "active services capitated",
    "4": "active services capitated to primary care physician", "5": "active pending investigation",
    "6": "inactive", "7": "inactive pending eligibility update", "8": "inactive pending investigation",
    "A": "co-insurance", "B": "co-payment", "C": "deductible", "D": "benefit description", "F": "limitations",
    "G": "out of pocket (stop loss)", "I": "non-covered", "R": "other or additional payor",
}  # fmt: skip
"""EB01 in words (005010X279A1), for `rcm claims show` and the event's `description`."""

REJECTION_REASONS = {
    "04": "authorized quantity exceeded", "15": "required application data missing",
    "41": "authorization/access restrictions", "42": "unable to respond at current time",
    "43": "invalid/missing provider identification", "45": "invalid/missing provider specialty",
    "47": "invalid/missing provider state", "48": "invalid/missing referring provider identification number",
    "51": "provider not on file", "52": "service dates not within provider plan enrollment",
    "56": "inappropriate date", "57": "invalid/missing date(s) of service", "58": "invalid/missing date-of-birth",
    "60": "date of birth follows date(s) of service", "61": "date of death precedes date(s) of service",
    "62": "date of service not within allowable inquiry period", "63": "date of service in future",
    "71": "patient birth date does not match that for the patient on the database",
    "72": "invalid/missing subscriber/insured id", "73": "invalid/missing subscriber/insured name",
    "74": "invalid/missing subscriber/insured gender code", "75": "subscriber/insured not found",
    "76": "duplicate subscriber/insured id number", "78": "subscriber/insured not in group/plan identified",
}  # fmt: skip
"""AAA03 in words (005010X279A1), carried as the rejection's description."""

ROLES: dict[str, Literal["primary", "secondary", "tertiary"]] = {"PRP": "primary", "SEP": "secondary",
                                                                  "TTP": "tertiary"}
RANK_NAMES = {1: "primary", 2: "secondary", 3: "tertiary"}

Trigger = Literal["ready_to_bill", "on_demand"]
Source = Literal["271", "cache", "timeout"]
CheckState = Literal["pending", "sent", "answered", "timed_out"]


@dataclass(frozen=True)
class NamedPayer:
    """A payer an EB*R names in its loop 2120 (NM101 role, NM103 name, NM109 payer id)."""

    role: str
    name: str | None
    payer_id: str | None
    insurance_type: str | None


@dataclass(frozen=True)
class Answer:
    """A 271's answer to one inquiry, as the decision reads it."""

    trace_number: str
    plan_begin: date | None = None
    plan_end: date | None = None
    benefits: tuple[Benefit, ...] = ()
    rejections: tuple[EligibilityRejection, ...] = ()
    named_payers: tuple[NamedPayer, ...] = ()
    reference: str = ""
    """BHT03 echoed: the 270 interchange asked (what matches an answer without a trace number,
    a request the payer rejected as a whole)."""


@dataclass(frozen=True)
class Decision:
    """The outcome for a coverage on a date, with the answer's details as the event carries them."""

    outcome: EligibilityOutcome
    plan_begin: date | None = None
    plan_end: date | None = None
    coverage_level: str | None = None
    benefits: tuple[Benefit, ...] = ()
    rejections: tuple[EligibilityRejection, ...] = ()
    other_payers: tuple[OtherPayer, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """What is stored with the check (read back by `from_json`)."""
        return {
            "plan_begin": self.plan_begin and self.plan_begin.isoformat(),
            "plan_end": self.plan_end and self.plan_end.isoformat(),
            "coverage_level": self.coverage_level,
            "benefits": [b.model_dump(mode="json", exclude_none=True) for b in self.benefits],
            "rejections": [r.model_dump(mode="json", exclude_none=True) for r in self.rejections],
            "other_payers": [o.model_dump(mode="json", exclude_none=True) for o in self.other_payers],
        }

    @classmethod
    def from_json(cls, outcome: EligibilityOutcome, data: dict[str, Any] | None) -> Decision:
        data = data or {}
        return cls(
            outcome=outcome,
            plan_begin=date.fromisoformat(data["plan_begin"]) if data.get("plan_begin") else None,
            plan_end=date.fromisoformat(data["plan_end"]) if data.get("plan_end") else None,
            coverage_level=data.get("coverage_level"),
            benefits=tuple(Benefit.model_validate(b) for b in data.get("benefits", [])),
            rejections=tuple(EligibilityRejection.model_validate(r) for r in data.get("rejections", [])),
            other_payers=tuple(OtherPayer.model_validate(o) for o in data.get("other_payers", [])),
        )


NO_RESPONSE = Decision("no_response")


def _plan_coverage(benefit: Benefit) -> bool:
    """A status benefit about the plan as a whole (not one service type, e.g. dental only)."""
    return not benefit.service_types or PLAN_COVERAGE in benefit.service_types


def _covers(plan_begin: date | None, plan_end: date | None, day: date) -> bool:
    return (plan_begin is None or plan_begin <= day) and (plan_end is None or day <= plan_end)


def decide(answer: Answer, service_date: date, on_file: Sequence[tuple[str, str]]) -> Decision:
    """The payer's answer for the date of service. Rejected when the payer sent an AAA (it could
    not answer); inactive when a plan-level EB says 6/7/8, when the plan dates leave the date
    out, or when nothing says active; active otherwise. `on_file` is the patient's coverages
    (payer id, payer name): a payer the 271 names (EB*R) is marked whether it is one of them."""
    active = [b for b in answer.benefits if b.code in ACTIVE_CODES]
    inactive = [b for b in answer.benefits if b.code in INACTIVE_CODES and _plan_coverage(b)]
    outcome: EligibilityOutcome
    if answer.rejections:
        outcome = "rejected"
    elif inactive or not active or not _covers(answer.plan_begin, answer.plan_end, service_date):
        outcome = "inactive"
    else:
        outcome = "active"
    return Decision(
        outcome=outcome, plan_begin=answer.plan_begin,
        plan_end=answer.plan_end if answer.plan_begin is None or answer.plan_end is None
        or answer.plan_end >= answer.plan_begin else None,
        coverage_level=active[0].coverage_level if active else None,
        benefits=answer.benefits, rejections=answer.rejections,
        other_payers=tuple(_other_payer(p, on_file) for p in answer.named_payers),
    )


def _other_payer(named: NamedPayer, on_file: Sequence[tuple[str, str]]) -> OtherPayer:
    ids = {payer_id.upper() for payer_id, _ in on_file}
    names = {name.casefold() for _, name in on_file}
    known = (named.payer_id is not None and named.payer_id.upper() in ids) or (
        named.payer_id is None and named.name is not None and named.name.casefold() in names)
    return OtherPayer(role=ROLES.get(named.role, "other"), payer_name=named.name and named.name[:60],
                      payer_id=named.payer_id, insurance_type=named.insurance_type, on_file=known)


def fresh_since(now: datetime, freshness_h: float) -> datetime:
    """Answers given at or after this are fresh: reused for the same payer, member and date."""
    return now - timedelta(hours=freshness_h)


def waited_since(now: datetime, wait_s: float) -> datetime:
    """Checks asked at or before this have waited long enough for a 271: their claims go out
    unchecked (no_response)."""
    return now - timedelta(seconds=wait_s)


def holding_finding(decision: Decision, coverage_rank: int, service_date: date) -> Finding | None:
    """The edit that holds a claim whose coverage the payer says is not active on the date of
    service (or could not confirm); None when the outcome lets the claim go. No PHI: the rank,
    the date and the payer's reason codes only."""
    rank = RANK_NAMES.get(coverage_rank, f"rank {coverage_rank}")
    if decision.outcome == "inactive":
        return Finding("ELIG-INACTIVE", "error",
                       f"the payer's 271 says the {rank} coverage is not active on {service_date.isoformat()}: "
                       "correct the coverage and send the encounter again, or release the claim", "eligibility")
    if decision.outcome == "rejected":
        reasons = ", ".join(f"AAA {r.reason_code}/{r.follow_up}" for r in decision.rejections)
        return Finding("ELIG-REJECTED", "error",
                       f"the payer could not check the {rank} coverage for {service_date.isoformat()} ({reasons}): "
                       "correct the member id, name or date of birth and send the encounter again, "
                       "or release the claim", "eligibility")
    return None


def describe(code: str) -> str | None:
    return BENEFIT_NAMES.get(code)
