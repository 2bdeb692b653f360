"""A claim and its submission -> an edi.x276 StatusInquiry, a batch -> 276 interchange text, and a
277 (005010X212) -> the domain's answers (domain/claim_status.py)."""

from __future__ import annotations

from datetime import datetime

from edi import x276, x277
from edi.envelope import EnvelopeParams
from services.claims.domain.claim import Claim
from services.claims.domain.claim_status import StatusAnswer, StatusLine
from services.claims.domain.x837parts import RECEIVER_ID, SENDER_ID, SUBMITTER

StatusInquiry = x276.StatusInquiry


def file_name(control_number: int) -> str:
    """The outbound file of a 276 interchange (beside the 837s, the same control numbers)."""
    return f"{control_number:09d}.276"


def inquiry(claim: Claim, trace_number: str) -> x276.StatusInquiry:
    """The 276 about the claim's current submission (REF*EJ = its CLM01): the subscriber and the
    patient, billing provider and payer as the 837 named them."""
    if claim.submission_id is None:
        raise ValueError("a claim status request names a submission: this claim was never queued")
    draft = claim.draft
    enc, coverage = draft.encounter, draft.coverage
    patient = enc.patient
    patient_person = x276.Person(last_name=patient.name.family, first_name=patient.name.given,
                                 birth_date=patient.birth_date, gender=patient.sex)
    dependent: x276.Person | None = None
    if coverage.relationship_to_subscriber == "18":
        subscriber = x276.Person(last_name=patient.name.family, first_name=patient.name.given,
                                 member_id=coverage.member_id, birth_date=patient.birth_date, gender=patient.sex)
    else:
        s = coverage.subscriber
        if s is None:
            raise ValueError("the coverage names no subscriber for a patient who is not the subscriber")
        subscriber = x276.Person(last_name=s.name.family, first_name=s.name.given, member_id=coverage.member_id,
                                 birth_date=s.birth_date, gender=s.sex)
        dependent = patient_person
    inst = enc.institutional
    first = draft.first_service_date
    last = max(line.service_end_date or line.service_date for line in draft.lines)
    return x276.StatusInquiry(
        trace_number=trace_number, payer_name=claim.payer_name, payer_id=claim.payer_id,
        provider_name=enc.billing_provider.name, provider_npi=enc.billing_provider.npi,
        subscriber=subscriber, dependent=dependent, patient_control_number=claim.submission_id,
        payer_claim_control_number=claim.payer_claim_control_number,
        # REF*BLT: facility type, classification and the claim's frequency (as 837I CLM05).
        type_of_bill=(inst.type_of_bill + claim.frequency
                      if draft.claim_type == "institutional" and inst is not None else None),
        total_charge=claim.total_charge, service_date=first, service_end_date=last if last != first else None,
        # 2100B, the information receiver: us, as the 837's submitter.
        receiver_name=SUBMITTER.name, receiver_id=SUBMITTER.id)


def render(inquiries: list[x276.StatusInquiry], control_number: int, created: datetime, usage: str = "T") -> str:
    return x276.render_276(inquiries, EnvelopeParams(
        sender_id=SENDER_ID, receiver_id=RECEIVER_ID, interchange_control_number=control_number,
        group_control_number=control_number, created=created, usage_indicator=usage))


def answers(text: str) -> list[StatusAnswer]:
    """Each claim a 277 answers about, with its claim-level STCs."""
    return [StatusAnswer(
        trace_number=r.trace_number, patient_control_number=r.patient_control_number or None,
        payer_claim_control_number=r.payer_claim_control_number or None,
        statuses=tuple(StatusLine(
            category_code=s.category_code, status_code=s.status_code, entity_code=s.entity_code or None,
            effective_date=s.effective_date, total_charge=s.total_charge, paid_amount=s.paid_amount,
            adjudication_date=s.adjudication_date, payment_date=s.payment_date, check_number=s.check_number or None)
            for s in r.statuses)) for r in x277.read_277(text)]
