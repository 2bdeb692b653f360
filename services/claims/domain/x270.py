"""Claims data to the codec's 270 (edi.x270.Inquiry) and its 271 (edi.x271.EligibilityResponse)
to the decision's Answer (domain/eligibility.py).

What a 270 asks about is kept with the check when it is requested (`subject`: the patient, the
billing provider and the coverages on file, as the encounter carried them), so the batch that
sends it later, and the answer that names other payers, need nothing else."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Literal

from edi.envelope import EnvelopeParams
from edi.validate import validate
from edi.x270 import Inquiry, Person, render_270
from edi.x271 import BenefitInfo, EligibilityResponse, Rejection, read_271
from schemas.charges import EncounterReadyToBill
from schemas.common import Coverage, PersonName
from schemas.eligibility import Benefit, EligibilityRejection
from services.claims.domain.eligibility import REJECTION_REASONS, Answer, NamedPayer, describe
from services.claims.domain.x837parts import RECEIVER_ID, SENDER_ID

SELF = "18"
Gender = Literal["M", "F", "U"]
RejectionLoop = Literal["2100A", "2100B", "2100C", "2100D", "2000A", "2000B", "2000C", "2000D"]


def file_name(control_number: int) -> str:
    """The outbound file of a 270 interchange (named like the 837s by its ISA13)."""
    return f"{control_number:09d}.270"


def subject(ready: EncounterReadyToBill) -> dict[str, Any]:
    """What the checks of an encounter ask about, kept with each check (see the module doc)."""
    patient = ready.patient
    return {
        "patient": {"name": patient.name.model_dump(mode="json"), "birth_date": patient.birth_date.isoformat(),
                    "sex": patient.sex},
        "provider": {"name": ready.billing_provider.name, "npi": ready.billing_provider.npi},
        "coverages": [c.model_dump(mode="json") for c in ready.coverages],
    }


def _coverage(raw: dict[str, Any]) -> Coverage:
    """A coverage as `subject` stored it (JSON form): the contracts are strict, so read it as JSON,
    where a date is an ISO string (a subscriber's birth date)."""
    return Coverage.model_validate_json(json.dumps(raw))


def coverages_on_file(asked: dict[str, Any]) -> list[tuple[str, str]]:
    """(payer id, name) of every payer the patient's coverages name (facility payers included)."""
    out: list[tuple[str, str]] = []
    for raw in asked["coverages"]:
        c = _coverage(raw)
        out.append((c.payer_id, c.payer_name))
        if c.facility_payer_id:
            out.append((c.facility_payer_id, c.facility_payer_name or c.payer_name))
    return out


GENDERS: dict[str, Gender] = {"M": "M", "F": "F", "U": "U"}
REJECTION_LOOPS: dict[str, RejectionLoop] = {
    "2000A": "2000A", "2100A": "2100A", "2100B": "2100B", "2000C": "2000C", "2100C": "2100C",
    "2110C": "2100C", "2000D": "2000D", "2100D": "2100D", "2110D": "2100D"}
"""Where an AAA stood, as the event names it (an AAA of a benefit loop, 2110, is its person's)."""


def _person(name: PersonName, birth: date, sex: str, member_id: str = "", group: str | None = None,
            relationship: str | None = None) -> Person:
    return Person(last_name=name.family, first_name=name.given, member_id=member_id, birth_date=birth,
                  gender=GENDERS.get(sex), group_number=group, relationship=relationship)


def inquiry(asked: dict[str, Any], coverage_rank: int, trace_number: str, payer_id: str, payer_name: str,
            service_date: date) -> Inquiry:
    """The 270 inquiry of one check (`asked`: its `subject`): the subscriber (2100C) and, when the
    patient is someone else on the subscriber's plan, the dependent (2100D), for the date of service."""
    coverage = _coverage(asked["coverages"][coverage_rank - 1])
    patient = asked["patient"]
    provider = asked["provider"]
    patient_name = PersonName.model_validate(patient["name"])
    patient_birth = date.fromisoformat(patient["birth_date"])
    if coverage.relationship_to_subscriber == SELF or coverage.subscriber is None:
        subscriber = _person(patient_name, patient_birth, patient["sex"], coverage.member_id, coverage.group_number)
        dependent = None
    else:
        sub = coverage.subscriber
        subscriber = _person(sub.name, sub.birth_date, sub.sex, coverage.member_id, coverage.group_number)
        dependent = _person(patient_name, patient_birth, patient["sex"],
                            relationship=coverage.relationship_to_subscriber)
    return Inquiry(
        trace_number=trace_number, payer_name=payer_name, payer_id=payer_id,
        provider_name=provider["name"], provider_npi=provider["npi"], subscriber=subscriber, dependent=dependent,
        service_date=service_date)


def render(inquiries: list[Inquiry], control_number: int, created: datetime, usage: str = "T") -> str:
    return render_270(inquiries, EnvelopeParams(
        sender_id=SENDER_ID, receiver_id=RECEIVER_ID, interchange_control_number=control_number,
        group_control_number=control_number, created=created, usage_indicator=usage))


def problems(text: str) -> list[str]:
    """The error codes of a 270 we wrote: the codec's structural checks from the 005010X279A1
    segment tables (edi.validate; pyx12 has no 5010 270 map)."""
    return sorted({i.code for i in validate(text) if i.severity == "error"})


def answers(text: str) -> list[Answer]:
    """Each answer of a 271 file (raises X12Error when the file is not a readable 271)."""
    return [answer(r) for r in read_271(text)]


def benefit(b: BenefitInfo) -> Benefit:
    """One EB as the event carries it (the codec reads absent elements as empty strings)."""
    return Benefit(
        code=b.code, description=describe(b.code), coverage_level=b.coverage_level or None,
        service_types=list(b.service_types), insurance_type=b.insurance_type or None,
        plan_description=b.plan_description[:60] or None, time_period=b.time_period or None,
        amount=b.amount, percent=b.percent, authorization_required=b.authorization_required,
        in_network=None if b.in_network is None else ("Y" if b.in_network else "N"),
    )


def rejection(r: Rejection) -> EligibilityRejection:
    return EligibilityRejection(loop=REJECTION_LOOPS.get(r.loop, "2000A"), reason_code=r.reason_code,
                                follow_up=r.follow_up, description=REJECTION_REASONS.get(r.reason_code))


def answer(response: EligibilityResponse) -> Answer:
    """The decision's view of one 271 answer: its EBs as sent, its AAAs (those that say the payer
    could not answer: AAA01 N), the payers its EB*Rs name."""
    benefits = tuple(benefit(b) for b in response.benefits)
    rejections = tuple(rejection(r) for r in response.rejections if not r.valid)
    named = tuple(NamedPayer(role=e.role, name=e.name or None, payer_id=e.id or None,
                             insurance_type=b.insurance_type or None)
                  for b in response.benefits if b.code == "R" and (e := b.benefit_entity) is not None)
    return Answer(trace_number=response.trace_number, plan_begin=response.plan_begin, plan_end=response.plan_end,
                  benefits=benefits, rejections=rejections, named_payers=named, reference=response.reference)
