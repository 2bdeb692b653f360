"""Assembly: an encounter released for billing -> claim drafts, one per payer in coverage order.

Only the primary is built at release; a secondary (rank 2, 3) is built when the previous
payer's payment posts (see secondary_draft). Lines are split into claims of at most 50; each
claim's diagnoses are the encounter's codes its lines point to, in encounter order (the
principal first), and the line pointers are renumbered into that list. Reversed charges are
left out by the caller (they are not in the posted set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from schemas.charges import ChargePosted
from schemas.common import EncounterDetails, Provider
from schemas.intake import NdcUnit
from services.claims.domain.model import ClaimDraft, DraftLine, LineOutcome, PriorPayer
from services.claims.domain.payers import FeeSchedule

MAX_LINES = 50
MAX_DIAGNOSES = 12


@dataclass(frozen=True)
class PostedCharge:
    """The part of a ChargePosted that a claim line needs."""

    charge_id: str
    procedure_code: str
    modifiers: list[str]
    description: str | None
    revenue_code: str | None
    service_date: date
    service_end_date: date | None
    units: Decimal
    amount: Decimal
    diagnosis_codes: list[str]
    place_of_service: str
    rendering_npi: str | None
    rendering_provider: Provider | None = None
    ordering_provider: Provider | None = None
    ndc: str | None = None
    ndc_quantity: Decimal | None = None
    ndc_unit: NdcUnit | None = None

    @classmethod
    def from_event(cls, charge: ChargePosted) -> PostedCharge:
        """A professional line (the contract gives every one a procedure code)."""
        if charge.procedure_code is None:
            raise ValueError("a professional claim line needs a procedure code (an institutional line?)")
        return cls(
            charge_id=charge.charge_id, procedure_code=charge.procedure_code, modifiers=list(charge.modifiers),
            description=charge.description, revenue_code=charge.revenue_code, service_date=charge.service_date,
            service_end_date=charge.service_end_date, units=charge.units, amount=charge.amount,
            diagnosis_codes=list(charge.diagnosis_codes), place_of_service=charge.place_of_service,
            rendering_npi=charge.rendering_provider_npi, rendering_provider=charge.rendering_provider,
            ordering_provider=charge.ordering_provider, ndc=charge.ndc, ndc_quantity=charge.ndc_quantity,
            ndc_unit=charge.ndc_unit,
        )


def line_rendering_provider(encounter: EncounterDetails, charge: PostedCharge) -> Provider | None:
    """The named rendering provider of a line: its own, else the encounter's provider with its NPI."""
    if charge.rendering_provider is not None or charge.rendering_npi is None:
        return charge.rendering_provider
    known = (encounter.rendering_provider, encounter.referring_provider)
    return next((p for p in known if p is not None and p.npi == charge.rendering_npi), None)


def order_diagnoses(encounter_dx: Sequence[str], charges: Sequence[PostedCharge]) -> list[str]:
    """The codes the charges point to, in encounter order; codes unknown to the encounter last."""
    used = {code for c in charges for code in c.diagnosis_codes}
    ordered = [code for code in encounter_dx if code in used]
    for c in charges:
        for code in c.diagnosis_codes:
            if code not in ordered:
                ordered.append(code)
    return ordered


def chunks(charges: Sequence[PostedCharge], size: int = MAX_LINES) -> list[list[PostedCharge]]:
    ordered = sorted(charges, key=lambda c: c.service_date)  # stable: posting order within a day
    return [list(ordered[i : i + size]) for i in range(0, len(ordered), size)]


def assemble(
    encounter: EncounterDetails,
    encounter_id: str,
    patient_account_id: str,
    charges: Sequence[PostedCharge],
    fee_schedule: FeeSchedule,
    coverage_rank: int = 1,
) -> list[ClaimDraft]:
    """Claim drafts (at most 50 lines each) for the coverage of `coverage_rank`."""
    drafts: list[ClaimDraft] = []
    for part in chunks(charges):
        diagnoses = order_diagnoses(encounter.diagnoses, part)
        lines = [
            DraftLine(
                charge_id=c.charge_id, procedure_code=c.procedure_code, modifiers=c.modifiers,
                description=c.description, revenue_code=c.revenue_code, service_date=c.service_date,
                service_end_date=c.service_end_date, units=c.units, charge=c.amount,
                diagnosis_pointers=[diagnoses.index(code) + 1 for code in c.diagnosis_codes],
                expected_allowed=fee_schedule.expected_allowed(c.procedure_code, c.modifiers, c.service_date, c.units),
                place_of_service=c.place_of_service, rendering_npi=c.rendering_npi,
                rendering_provider=line_rendering_provider(encounter, c), ordering_provider=c.ordering_provider,
                ndc=c.ndc, ndc_quantity=c.ndc_quantity, ndc_unit=c.ndc_unit,
            )
            for c in part
        ]
        drafts.append(ClaimDraft(encounter=encounter, encounter_id=encounter_id, patient_account_id=patient_account_id,
                                 coverage_rank=coverage_rank, diagnoses=diagnoses, lines=lines))
    return drafts


def secondary_draft(primary: ClaimDraft, prior: PriorPayer, fee_schedule: FeeSchedule) -> ClaimDraft | None:
    """The claim for the next coverage after `primary`, carrying the prior payer's adjudication."""
    rank = primary.coverage_rank + 1
    if rank > len(primary.encounter.coverages):
        return None
    lines = [
        line.model_copy(update={"expected_allowed": fee_schedule.expected_allowed(
            line.procedure_code, line.modifiers, line.service_date, line.units)})
        for line in primary.lines
    ]
    return primary.model_copy(update={"coverage_rank": rank, "lines": lines,
                                      "prior_payers": [*primary.prior_payers, prior]})


def prior_payer_from_remit(primary: ClaimDraft, remit: dict[str, Any], line_control: dict[str, str]) -> PriorPayer:
    """The COB data of a ClaimPaymentPosted payload; `line_control` maps line control number -> charge id."""
    from schemas.common import CasAdjustment

    outcomes: list[LineOutcome] = []
    for rl in remit.get("lines", []):
        charge_id = line_control.get(rl.get("line_control_number") or "")
        if charge_id is None:
            continue
        draft_line = next(line for line in primary.lines if line.charge_id == charge_id)
        outcomes.append(LineOutcome(
            charge_id=charge_id, paid=Decimal(rl["paid"]), procedure_code=rl["procedure_code"],
            modifiers=list(rl.get("modifiers") or []),
            units=Decimal(rl["units_paid"]) if rl.get("units_paid") else draft_line.units,
            adjustments=[CasAdjustment.model_validate(a) for a in rl.get("adjustments", [])],
        ))
    return PriorPayer(
        coverage=primary.coverage, paid=Decimal(remit["total_paid"]),
        claim_adjustments=[CasAdjustment.model_validate(a) for a in remit.get("claim_adjustments", [])],
        adjudication_date=date.fromisoformat(remit["adjudication_date"]), lines=outcomes,
    )
