"""ClaimDraft + submission -> edi.x837 models, and a batch -> 837P interchange text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from edi import x837 as x
from edi.x837 import render_837p
from schemas.common import Accident, Address, CasAdjustment, Coverage, EncounterDetails, PersonName, Provider
from services.claims.domain.model import ClaimDraft, DraftLine

SENDER_ID = "REVCYCLE"
RECEIVER_ID = "RCMCLEARINGHSE"
SUBMITTER = x.Submitter(name="Revcycle Billing", id="REVCYCLE", contact_name="Billing Office", phone="4155550100")
RECEIVER = x.Receiver(name="Revcycle Clearinghouse", id="RCMCLEARINGHSE")
TRANSACTION_SET_CONTROL_NUMBER = "0001"  # one ST per interchange
CLIA_WAIVED = "QW"
_RELATED_CAUSE = {"auto": "AA", "employment": "EM", "other": "OA"}


@dataclass(frozen=True)
class Submission:
    submission_id: str
    frequency: str  # 1, 7, 8
    payer_id: str
    payer_name: str
    payer_claim_control_number: str | None = None


def line_control_number(submission_id: str, line_number: int) -> str:
    return f"{submission_id}-{line_number}"


def needs_clia(procedure_code: str, modifiers: Iterable[str]) -> bool:
    """A laboratory test: CPT pathology and laboratory (80000-89999), or a CLIA-waived test (QW)."""
    return CLIA_WAIVED in modifiers or (procedure_code.isdigit() and 80000 <= int(procedure_code) <= 89999)


def _address(a: Address) -> x.Address:
    return x.Address(line1=a.line1, line2=a.line2, city=a.city, state=a.state, zip=a.postal_code)


def _person(name: PersonName) -> dict[str, str | None]:
    return {"last_name": name.family, "first_name": name.given, "middle_name": name.middle, "suffix": name.suffix}


def _subscriber(draft: ClaimDraft, coverage: Coverage) -> tuple[x.Subscriber, x.Patient | None]:
    patient = draft.encounter.patient
    if coverage.relationship_to_subscriber == "18":
        sub = x.Subscriber(**_person(patient.name), member_id=coverage.member_id, group_number=coverage.group_number,
                           address=_address(patient.address), birth_date=patient.birth_date, gender=patient.sex)
        return sub, None
    s = coverage.subscriber
    assert s is not None
    sub = x.Subscriber(**_person(s.name), member_id=coverage.member_id, group_number=coverage.group_number,
                       address=_address(s.address) if s.address else None, birth_date=s.birth_date, gender=s.sex)
    relationship = coverage.relationship_to_subscriber
    return sub, x.Patient(**_person(patient.name), relationship=relationship,
                          address=_address(patient.address), birth_date=patient.birth_date, gender=patient.sex)


def _provider(provider: Provider) -> x.Provider:
    return x.Provider(**_person(provider.name), npi=provider.npi, taxonomy=provider.taxonomy)


def _other_payer(draft: ClaimDraft, cov: Coverage, **adjudication: Any) -> x.OtherPayer:
    name = cov.subscriber.name if cov.subscriber else draft.encounter.patient.name
    return x.OtherPayer(
        responsibility="PST"[cov.rank - 1], relationship=cov.relationship_to_subscriber,
        claim_filing_indicator=cov.claim_filing_indicator, insurance_type=cov.insurance_type_code,
        group_number=cov.group_number, subscriber=x.Person(**_person(name)), member_id=cov.member_id,
        payer=x.Payer(name=cov.payer_name, id=cov.payer_id), **adjudication,
    )


def _patient_liability(adjustments: Iterable[CasAdjustment]) -> Decimal:
    """AMT*EAF: what the prior payer left to the patient (its PR adjustments), zero included."""
    return sum((a.amount for a in adjustments if a.group == "PR"), Decimal("0.00"))


def _adjustments(adjustments: Iterable[CasAdjustment]) -> list[x.Adjustment]:
    return [x.Adjustment(group=a.group, reason=a.reason_code, amount=a.amount, quantity=a.quantity)
            for a in adjustments]


def _service_facility(enc: EncounterDetails) -> x.ServiceFacility | None:
    """2310C, only when the care was given somewhere else than the billing provider's address."""
    facility, billing = enc.facility, enc.billing_provider.address
    if facility is None:
        return None
    place = facility.address
    same = (place.line1.casefold(), place.city.casefold(), place.state, place.postal_code[:5]) == (
        billing.line1.casefold(), billing.city.casefold(), billing.state, billing.postal_code[:5])
    return None if same else x.ServiceFacility(name=facility.name, npi=facility.npi, address=_address(place))


def _accident(accident: Accident | None, claim_filing_indicator: str) -> dict[str, Any]:
    """CLM11 and DTP*439: the date goes with an auto or other accident, and with an employment
    accident on a workers' compensation claim."""
    if accident is None:
        return {}
    causes = [_RELATED_CAUSE[c] for c in accident.causes]
    dated = bool({"AA", "OA"} & set(causes)) or claim_filing_indicator == "WC"
    return {"related_causes": causes, "accident_state": accident.state,
            "accident_date": accident.occurred_on if dated else None}


def _service_line(draft: ClaimDraft, line: DraftLine, n: int, sub: Submission,
                  adjudications: list[x.LineAdjudication]) -> x.ServiceLine:
    enc = draft.encounter
    claim_npi = enc.rendering_provider.npi if enc.rendering_provider else None
    own = line.rendering_provider if line.rendering_npi != claim_npi else None
    drug = (x.Drug(ndc=line.ndc, quantity=line.ndc_quantity, unit=line.ndc_unit)
            if line.ndc and line.ndc_quantity and line.ndc_unit else None)
    return x.ServiceLine(
        procedure_code=line.procedure_code, modifiers=line.modifiers, charge=line.charge, units=line.units,
        place_of_service=line.place_of_service if line.place_of_service != enc.place_of_service else None,
        diagnosis_pointers=line.diagnosis_pointers, service_date=line.service_date,
        service_date_end=line.service_end_date, line_control_number=line_control_number(sub.submission_id, n),
        drug=drug, rendering_provider=_provider(own) if own else None,
        ordering_provider=_provider(line.ordering_provider) if line.ordering_provider else None,
        adjudications=adjudications,
    )


def build_claim(draft: ClaimDraft, sub: Submission) -> x.Claim:
    enc = draft.encounter
    coverage = draft.coverage
    bp = enc.billing_provider
    subscriber, patient = _subscriber(draft, coverage)
    other_payers: list[x.OtherPayer] = []
    line_adjudications: dict[str, list[x.LineAdjudication]] = {}
    for prior in draft.prior_payers:
        cov = prior.coverage
        # Date and remaining patient liability go on each 2430 when the payer adjudicated by
        # line, else on its 2320/2330B: the TR3 wants them in one place, never both.
        other_payers.append(_other_payer(
            draft, cov, paid_amount=prior.paid, adjustments=_adjustments(prior.claim_adjustments),
            adjudication_date=None if prior.lines else prior.adjudication_date,
            remaining_patient_liability=None if prior.lines else _patient_liability(prior.claim_adjustments),
        ))
        for lo in prior.lines:
            line_adjudications.setdefault(lo.charge_id, []).append(x.LineAdjudication(
                payer_id=cov.payer_id, paid_amount=lo.paid, procedure_code=lo.procedure_code,
                modifiers=lo.modifiers, units=lo.units, adjustments=_adjustments(lo.adjustments),
                adjudication_date=prior.adjudication_date,
                remaining_patient_liability=_patient_liability(lo.adjustments),
            ))
    # 2320 is required whenever another payer may pay on the claim: the payers still to come are
    # listed too (no AMT*D, no CAS), which is what lets a Medicare carrier cross the claim over.
    other_payers += [_other_payer(draft, cov) for cov in enc.coverages if cov.rank > draft.coverage_rank]
    rendering = enc.rendering_provider
    referring = enc.referring_provider
    lines = [_service_line(draft, line, n, sub, line_adjudications.get(line.charge_id, []))
             for n, line in enumerate(draft.lines, start=1)]
    lab = any(needs_clia(line.procedure_code, line.modifiers) for line in draft.lines)
    auth = coverage.prior_authorization_numbers[0] if coverage.prior_authorization_numbers else None
    return x.Claim(
        submission_id=sub.submission_id,
        billing_provider=x.BillingProvider(name=bp.name, npi=bp.npi, taxonomy=bp.taxonomy, tax_id=bp.tax_id,
                                           address=_address(bp.address)),
        subscriber=subscriber, patient=patient, payer=x.Payer(name=sub.payer_name, id=sub.payer_id),
        payer_responsibility="PST"[draft.coverage_rank - 1],
        claim_filing_indicator=coverage.claim_filing_indicator, insurance_type=coverage.insurance_type_code,
        total_charge=draft.total_charge, place_of_service=enc.place_of_service, frequency=sub.frequency,
        payer_claim_control_number=sub.payer_claim_control_number, prior_authorization=auth,
        referral_number=coverage.referral_number, clia_number=bp.clia_number if lab else None,
        **_accident(enc.accident, coverage.claim_filing_indicator),
        diagnoses=draft.diagnoses,
        referring_provider=x.Provider(**_person(referring.name), npi=referring.npi) if referring else None,
        rendering_provider=_provider(rendering) if rendering else None,
        service_facility=_service_facility(enc), other_payers=other_payers, lines=lines,
    )


def render_batch(claims: list[x.Claim], control_number: int, created: datetime, usage: str = "T") -> str:
    batch = x.ClaimBatch(
        sender_id=SENDER_ID, receiver_id=RECEIVER_ID, interchange_control_number=control_number,
        group_control_number=control_number, created=created, usage_indicator=usage,
        reference=f"B{control_number:09d}", submitter=SUBMITTER, receiver=RECEIVER, claims=claims,
    )
    return render_837p(batch)


def file_name(control_number: int) -> str:
    return f"{control_number:09d}.837"
