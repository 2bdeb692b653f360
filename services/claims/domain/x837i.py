"""ClaimDraft + submission -> edi.x837i models, and a batch -> 837I interchange text: the
institutional claim (UB-04) of a hospital stay or outpatient visit. The parties, envelope and
COB are built as for the 837P (x837parts.py)."""

from __future__ import annotations

from datetime import datetime

from edi import x837i as x
from edi.x837common.model import Payer
from schemas.common import InstitutionalDetails, InstitutionalDiagnosis
from services.claims.domain import x837parts as parts
from services.claims.domain.model import ClaimDraft, DraftLine, LineOutcome, PriorPayer


def _hour(hour: int | None) -> str | None:
    """The contract's whole hour as the 837I's HHMM."""
    return None if hour is None else f"{hour:02d}00"


def _diagnosis(dx: InstitutionalDiagnosis) -> x.CodedDiagnosis:
    # "1" (exempt from POA reporting) is written as an empty HIxx-09, as the guide asks.
    poa = None if dx.present_on_admission in {None, "1"} else dx.present_on_admission
    return x.CodedDiagnosis(code=dx.code, present_on_admission=poa)


def _line_adjudication(prior: PriorPayer, lo: LineOutcome) -> x.LineAdjudication:
    assert lo.revenue_code is not None, "an institutional line's adjudication names its revenue code"
    return x.LineAdjudication(revenue_code=lo.revenue_code, procedure_code=lo.procedure_code,
                              modifiers=lo.modifiers,
                              **parts.line_adjudication_fields(prior, lo, "institutional"))


def _service_line(line: DraftLine, n: int, sub: parts.Submission,
                  adjudications: list[x.LineAdjudication]) -> x.ServiceLine:
    if line.revenue_code is None:
        raise ValueError(f"institutional line {n} has no revenue code (SV201)")
    return x.ServiceLine(
        revenue_code=line.revenue_code, procedure_code=line.procedure_code, modifiers=line.modifiers,
        charge=line.charge, units=line.units, unit_code=line.unit_code, service_date=line.service_date,
        service_date_end=line.service_end_date, line_control_number=parts.line_control_number(sub.submission_id, n),
        adjudications=adjudications,
    )


def _details(draft: ClaimDraft) -> InstitutionalDetails:
    details = draft.encounter.institutional
    if draft.claim_type != "institutional" or details is None:
        raise ValueError("an 837I is built from an institutional claim of an encounter with institutional data")
    return details


def build_claim(draft: ClaimDraft, sub: parts.Submission) -> x.Claim:
    enc, inst = draft.encounter, _details(draft)
    coverage = draft.coverage
    facility = inst.billing_provider or enc.billing_provider
    sbr, patient = parts.subscriber(draft, coverage)
    other_payers, line_adjudications = parts.coordination(draft, _line_adjudication)
    lines = [_service_line(line, n, sub, line_adjudications.get(line.charge_id, []))
             for n, line in enumerate(draft.lines, start=1)]
    auth = coverage.prior_authorization_numbers[0] if coverage.prior_authorization_numbers else None
    referring = enc.referring_provider
    return x.Claim(
        submission_id=sub.submission_id, billing_provider=parts.billing_provider(facility),
        subscriber=sbr, patient=patient, payer=Payer(name=sub.payer_name, id=sub.payer_id),
        payer_responsibility="PST"[draft.coverage_rank - 1],
        claim_filing_indicator=coverage.claim_filing_indicator, insurance_type=coverage.insurance_type_code,
        total_charge=draft.total_charge, type_of_bill=inst.type_of_bill, frequency=sub.frequency,
        payer_claim_control_number=sub.payer_claim_control_number, prior_authorization=auth,
        referral_number=coverage.referral_number,
        statement_from=inst.statement_from, statement_through=inst.statement_through,
        admission_date=enc.admission_date, admission_hour=_hour(inst.admission_hour) if enc.admission_date else None,
        discharge_hour=_hour(inst.discharge_hour) if enc.discharge_date else None,
        admission_type=inst.admission_type, admission_source=inst.admission_source,
        patient_status=inst.patient_status,
        principal_diagnosis=_diagnosis(inst.principal_diagnosis), admitting_diagnosis=inst.admitting_diagnosis,
        reason_for_visit=inst.reason_for_visit, other_diagnoses=[_diagnosis(d) for d in inst.other_diagnoses],
        principal_procedure=(x.ProcedureCode(code=inst.principal_procedure.code,
                                             performed_on=inst.principal_procedure.performed_on)
                             if inst.principal_procedure else None),
        other_procedures=[x.ProcedureCode(code=p.code, performed_on=p.performed_on) for p in inst.other_procedures],
        occurrence_codes=[x.Occurrence(code=o.code, occurred_on=o.occurred_on) for o in inst.occurrence_codes],
        occurrence_spans=[x.OccurrenceSpan(code=s.code, from_date=s.from_date, through_date=s.through_date)
                          for s in inst.occurrence_spans],
        value_codes=[x.ValueAmount(code=v.code, amount=v.amount) for v in inst.value_codes],
        condition_codes=inst.condition_codes,
        attending_provider=parts.provider(inst.attending_provider),
        operating_provider=parts.provider(inst.operating_provider) if inst.operating_provider else None,
        other_operating_provider=(parts.provider(inst.other_operating_provider) if inst.other_operating_provider
                                  else None),
        service_facility=parts.service_facility(enc, facility.address),
        referring_provider=parts.provider(referring) if referring else None,
        other_payers=other_payers, lines=lines,
    )


def render_batch(claims: list[x.Claim], control_number: int, created: datetime, usage: str = "T") -> str:
    batch = x.ClaimBatch(**parts.batch_envelope(control_number), created=created, usage_indicator=usage, claims=claims)
    return x.render_837i(batch)
