"""ClaimDraft + submission -> edi.x837 models, and a batch -> 837P interchange text. What the
837I mapping (x837i.py) shares with this one is in x837parts.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from edi import x837 as x
from edi.x837 import render_837p
from schemas.common import Accident
from services.claims.domain.model import ClaimDraft, DraftLine, LineOutcome, PriorPayer
from services.claims.domain.x837parts import (
    Submission,
    batch_envelope,
    billing_provider,
    coordination,
    line_adjudication_fields,
    line_control_number,
    person,
    provider,
    service_facility,
    subscriber,
)

CLIA_WAIVED = "QW"
_RELATED_CAUSE = {"auto": "AA", "employment": "EM", "other": "OA"}


def needs_clia(procedure_code: str, modifiers: Iterable[str]) -> bool:
    """A laboratory test: CPT pathology and laboratory (80000-89999), or a CLIA-waived test (QW)."""
    return CLIA_WAIVED in modifiers or (procedure_code.isdigit() and 80000 <= int(procedure_code) <= 89999)


def _accident(accident: Accident | None, claim_filing_indicator: str) -> dict[str, Any]:
    """CLM11 and DTP*439: the date goes with an auto or other accident, and with an employment
    accident on a workers' compensation claim."""
    if accident is None:
        return {}
    causes = [_RELATED_CAUSE[c] for c in accident.causes]
    dated = bool({"AA", "OA"} & set(causes)) or claim_filing_indicator == "WC"
    return {"related_causes": causes, "accident_state": accident.state,
            "accident_date": accident.occurred_on if dated else None}


def _line_adjudication(prior: PriorPayer, lo: LineOutcome) -> x.LineAdjudication:
    assert lo.procedure_code is not None, "a professional line's adjudication names its procedure code"
    return x.LineAdjudication(procedure_code=lo.procedure_code, modifiers=lo.modifiers,
                              **line_adjudication_fields(prior, lo, "professional"))


def _service_line(draft: ClaimDraft, line: DraftLine, n: int, sub: Submission,
                  adjudications: list[x.LineAdjudication]) -> x.ServiceLine:
    enc = draft.encounter
    claim_npi = enc.rendering_provider.npi if enc.rendering_provider else None
    own = line.rendering_provider if line.rendering_npi != claim_npi else None
    drug = (x.Drug(ndc=line.ndc, quantity=line.ndc_quantity, unit=line.ndc_unit)
            if line.ndc and line.ndc_quantity and line.ndc_unit else None)
    return x.ServiceLine(
        procedure_code=line.code, modifiers=line.modifiers, charge=line.charge, units=line.units,
        place_of_service=line.place_of_service if line.place_of_service != enc.place_of_service else None,
        diagnosis_pointers=line.diagnosis_pointers, service_date=line.service_date,
        service_date_end=line.service_end_date, line_control_number=line_control_number(sub.submission_id, n),
        drug=drug, rendering_provider=provider(own) if own else None,
        ordering_provider=provider(line.ordering_provider) if line.ordering_provider else None,
        adjudications=adjudications,
    )


def build_claim(draft: ClaimDraft, sub: Submission) -> x.Claim:
    enc = draft.encounter
    coverage = draft.coverage
    bp = enc.billing_provider
    sbr, patient = subscriber(draft, coverage)
    other_payers, line_adjudications = coordination(draft, _line_adjudication)
    rendering = enc.rendering_provider
    referring = enc.referring_provider
    lines = [_service_line(draft, line, n, sub, line_adjudications.get(line.charge_id, []))
             for n, line in enumerate(draft.lines, start=1)]
    lab = any(needs_clia(line.code, line.modifiers) for line in draft.lines)
    auth = coverage.prior_authorization_numbers[0] if coverage.prior_authorization_numbers else None
    return x.Claim(
        submission_id=sub.submission_id, billing_provider=billing_provider(bp),
        subscriber=sbr, patient=patient, payer=x.Payer(name=sub.payer_name, id=sub.payer_id),
        payer_responsibility="PST"[draft.coverage_rank - 1],
        claim_filing_indicator=coverage.claim_filing_indicator, insurance_type=coverage.insurance_type_code,
        total_charge=draft.total_charge, place_of_service=enc.place_of_service, frequency=sub.frequency,
        payer_claim_control_number=sub.payer_claim_control_number, prior_authorization=auth,
        referral_number=coverage.referral_number, clia_number=bp.clia_number if lab else None,
        **_accident(enc.accident, coverage.claim_filing_indicator),
        diagnoses=draft.diagnoses,
        referring_provider=x.Provider(**person(referring.name), npi=referring.npi) if referring else None,
        rendering_provider=provider(rendering) if rendering else None,
        service_facility=service_facility(enc, bp.address), other_payers=other_payers, lines=lines,
    )


def render_batch(claims: list[x.Claim], control_number: int, created: datetime, usage: str = "T") -> str:
    batch = x.ClaimBatch(**batch_envelope(control_number), created=created, usage_indicator=usage, claims=claims)
    return render_837p(batch)
