"""What the 837P and the 837I mappings share (domain/x837.py, domain/x837i.py): the envelope
parties, the submission, line control numbers, and the subscriber, patient, provider, address
and other-payer (COB 2320/2330) parts built from a ClaimDraft."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from edi.x837common import model as x
from schemas.common import (
    Address,
    BillingProvider,
    CasAdjustment,
    ClaimType,
    Coverage,
    EncounterDetails,
    PersonName,
    Provider,
)
from services.claims.domain.model import ClaimDraft, LineOutcome, PriorPayer, billed_payer

SENDER_ID = "REVCYCLE"
RECEIVER_ID = "RCMCLEARINGHSE"
SUBMITTER = x.Submitter(name="Revcycle Billing", id="REVCYCLE", contact_name="Billing Office", phone="4155550100")
RECEIVER = x.Receiver(name="Revcycle Clearinghouse", id="RCMCLEARINGHSE")
TRANSACTION_SET_CONTROL_NUMBER = "0001"  # one ST per interchange
L = TypeVar("L", bound=x.LineAdjudicationBase)


@dataclass(frozen=True)
class Submission:
    submission_id: str
    frequency: str  # 1, 7, 8
    payer_id: str
    payer_name: str
    payer_claim_control_number: str | None = None


def line_control_number(submission_id: str, line_number: int) -> str:
    return f"{submission_id}-{line_number}"


def file_name(control_number: int) -> str:
    """The outbound file of an interchange, 837P or 837I alike (the clearinghouse reads GS08)."""
    return f"{control_number:09d}.837"


def batch_envelope(control_number: int) -> dict[str, Any]:
    """The ClaimBatch fields both interchanges fill the same way."""
    return {"sender_id": SENDER_ID, "receiver_id": RECEIVER_ID, "interchange_control_number": control_number,
            "group_control_number": control_number, "reference": f"B{control_number:09d}",
            "submitter": SUBMITTER, "receiver": RECEIVER}


def address(a: Address) -> x.Address:
    return x.Address(line1=a.line1, line2=a.line2, city=a.city, state=a.state, zip=a.postal_code)


def person(name: PersonName) -> dict[str, str | None]:
    return {"last_name": name.family, "first_name": name.given, "middle_name": name.middle, "suffix": name.suffix}


def subscriber(draft: ClaimDraft, coverage: Coverage) -> tuple[x.Subscriber, x.Patient | None]:
    patient = draft.encounter.patient
    if coverage.relationship_to_subscriber == "18":
        sub = x.Subscriber(**person(patient.name), member_id=coverage.member_id, group_number=coverage.group_number,
                           address=address(patient.address), birth_date=patient.birth_date, gender=patient.sex)
        return sub, None
    s = coverage.subscriber
    assert s is not None
    sub = x.Subscriber(**person(s.name), member_id=coverage.member_id, group_number=coverage.group_number,
                       address=address(s.address) if s.address else None, birth_date=s.birth_date, gender=s.sex)
    relationship = coverage.relationship_to_subscriber
    return sub, x.Patient(**person(patient.name), relationship=relationship,
                          address=address(patient.address), birth_date=patient.birth_date, gender=patient.sex)


def provider(p: Provider) -> x.Provider:
    return x.Provider(**person(p.name), npi=p.npi, taxonomy=p.taxonomy)


def other_payer(draft: ClaimDraft, cov: Coverage, **adjudication: Any) -> x.OtherPayer:
    name = cov.subscriber.name if cov.subscriber else draft.encounter.patient.name
    payer_id, payer_name = billed_payer(cov, draft.claim_type)
    return x.OtherPayer(
        responsibility="PST"[cov.rank - 1], relationship=cov.relationship_to_subscriber,
        claim_filing_indicator=cov.claim_filing_indicator, insurance_type=cov.insurance_type_code,
        group_number=cov.group_number, subscriber=x.Person(**person(name)), member_id=cov.member_id,
        payer=x.Payer(name=payer_name, id=payer_id), **adjudication,
    )


def patient_liability(adjustments: Iterable[CasAdjustment]) -> Decimal:
    """AMT*EAF: what the prior payer left to the patient (its PR adjustments), zero included."""
    return sum((a.amount for a in adjustments if a.group == "PR"), Decimal("0.00"))


def adjustments(found: Iterable[CasAdjustment]) -> list[x.Adjustment]:
    return [x.Adjustment(group=a.group, reason=a.reason_code, amount=a.amount, quantity=a.quantity) for a in found]


def line_adjudication_fields(prior: PriorPayer, outcome: LineOutcome, claim_type: ClaimType) -> dict[str, Any]:
    """The 2430 fields both variants fill the same way (the SVD service code is the variant's;
    SVD01 is the 2330B payer's id)."""
    return {"payer_id": billed_payer(prior.coverage, claim_type)[0], "paid_amount": outcome.paid,
            "units": outcome.units,
            "adjustments": adjustments(outcome.adjustments), "adjudication_date": prior.adjudication_date,
            "remaining_patient_liability": patient_liability(outcome.adjustments)}


def coordination(
    draft: ClaimDraft, line_adjudication: Callable[[PriorPayer, LineOutcome], L],
) -> tuple[list[x.OtherPayer], dict[str, list[L]]]:
    """COB: the other payers (2320/2330) and each line's prior adjudications (2430) by charge id."""
    other_payers: list[x.OtherPayer] = []
    by_line: dict[str, list[L]] = {}
    for prior in draft.prior_payers:
        # Date and remaining patient liability go on each 2430 when the payer adjudicated by
        # line, else on its 2320/2330B: the TR3 wants them in one place, never both.
        other_payers.append(other_payer(
            draft, prior.coverage, paid_amount=prior.paid, adjustments=adjustments(prior.claim_adjustments),
            adjudication_date=None if prior.lines else prior.adjudication_date,
            remaining_patient_liability=None if prior.lines else patient_liability(prior.claim_adjustments),
        ))
        for lo in prior.lines:
            by_line.setdefault(lo.charge_id, []).append(line_adjudication(prior, lo))
    # 2320 is required whenever another payer may pay on the claim: the payers still to come are
    # listed too (no AMT*D, no CAS), which is what lets a Medicare carrier cross the claim over.
    other_payers += [other_payer(draft, cov) for cov in draft.encounter.coverages if cov.rank > draft.coverage_rank]
    return other_payers, by_line


def service_facility(enc: EncounterDetails, billing: Address) -> x.ServiceFacility | None:
    """2310C (837P) / 2310E (837I), only when the care was given somewhere else than the billing
    provider's address."""
    facility = enc.facility
    if facility is None:
        return None
    place = facility.address
    same = (place.line1.casefold(), place.city.casefold(), place.state, place.postal_code[:5]) == (
        billing.line1.casefold(), billing.city.casefold(), billing.state, billing.postal_code[:5])
    return None if same else x.ServiceFacility(name=facility.name, npi=facility.npi, address=address(place))


def billing_provider(bp: BillingProvider) -> x.BillingProvider:
    """2010AA from the contract's BillingProvider."""
    return x.BillingProvider(name=bp.name, npi=bp.npi, taxonomy=bp.taxonomy, tax_id=bp.tax_id,
                             address=address(bp.address))
