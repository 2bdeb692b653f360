"""Assembly: an encounter released for billing -> claim drafts, one per payer in coverage order.

Only the primary is built at release; a secondary (rank 2, 3) is built when the previous
payer's payment posts (see secondary_draft). Each charge goes on the claim of its claim type.
Professional lines are split into claims of at most 50; each claim's diagnoses are the
encounter's codes its lines point to, in encounter order (the principal first), and the line
pointers are renumbered into that list. Institutional lines make one claim per stay or visit
(never split: the 837I carries 999 lines, and the scrubber holds a claim with more), with the
diagnoses of the encounter's institutional data; an inpatient bill sums its lines by revenue
code, an outpatient bill keeps one line per charge. Reversed charges are left out by the caller
(they are not in the posted set).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from schemas.charges import ChargePosted
from schemas.common import ClaimType, EncounterDetails, InstitutionalDetails, Provider, is_inpatient_bill
from schemas.intake import NdcUnit
from services.claims.domain.model import ClaimDraft, DraftLine, LineOutcome, PriorPayer
from services.claims.domain.payers import FeeSchedule

MAX_LINES = 50
MAX_DIAGNOSES = 12


@dataclass(frozen=True)
class PostedCharge:
    """The part of a ChargePosted that a claim line needs."""

    charge_id: str
    procedure_code: str | None
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
    claim_type: ClaimType = "professional"

    @property
    def code(self) -> str:
        """The procedure code of a professional charge (the charges service requires one)."""
        if self.procedure_code is None:
            raise ValueError(f"professional charge {self.charge_id} has no procedure code")
        return self.procedure_code

    @classmethod
    def from_event(cls, charge: ChargePosted) -> PostedCharge:
        return cls(
            charge_id=charge.charge_id, procedure_code=charge.procedure_code, modifiers=list(charge.modifiers),
            description=charge.description, revenue_code=charge.revenue_code, service_date=charge.service_date,
            service_end_date=charge.service_end_date, units=charge.units, amount=charge.amount,
            diagnosis_codes=list(charge.diagnosis_codes), place_of_service=charge.place_of_service,
            rendering_npi=charge.rendering_provider_npi, rendering_provider=charge.rendering_provider,
            ordering_provider=charge.ordering_provider, ndc=charge.ndc, ndc_quantity=charge.ndc_quantity,
            ndc_unit=charge.ndc_unit, claim_type=charge.claim_type,
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
    """Claim drafts for the coverage of `coverage_rank`: the professional ones (at most 50 lines
    each), then the institutional one when the encounter has institutional charges."""
    drafts = _professional(encounter, encounter_id, patient_account_id,
                           [c for c in charges if c.claim_type == "professional"], fee_schedule, coverage_rank)
    facility = [c for c in charges if c.claim_type == "institutional"]
    if facility and encounter.institutional is not None:
        drafts.append(ClaimDraft(
            encounter=encounter, encounter_id=encounter_id, patient_account_id=patient_account_id,
            coverage_rank=coverage_rank, claim_type="institutional",
            diagnoses=institutional_diagnoses(encounter.institutional),
            lines=institutional_lines(encounter, facility),
        ))
    return drafts


def institutional_diagnoses(details: InstitutionalDetails) -> list[str]:
    """The facility claim's codes: the principal diagnosis, then the other diagnoses (HI ABK, ABF)."""
    return [details.principal_diagnosis.code, *(d.code for d in details.other_diagnoses)]


def institutional_lines(encounter: EncounterDetails, charges: Sequence[PostedCharge]) -> list[DraftLine]:
    """The facility claim's lines in revenue-code order (the UB-04's): an inpatient bill has one
    line per revenue code summing its charges' units and amounts (room and board: units are
    days) over the range of their dates; an outpatient bill has one line per charge, with its
    HCPCS code, modifiers and date. No expected allowed amount: there is no facility fee schedule."""
    assert encounter.institutional is not None
    ordered = sorted(charges, key=lambda c: (c.revenue_code or "", c.service_date))
    groups: dict[str, list[PostedCharge]] = {}
    if is_inpatient_bill(encounter.institutional.type_of_bill):
        for c in ordered:
            groups.setdefault(c.revenue_code or "", []).append(c)
    else:
        groups = {c.charge_id: [c] for c in ordered}
    return [_summed_line(encounter, group) for group in groups.values()]


def _summed_line(encounter: EncounterDetails, group: list[PostedCharge]) -> DraftLine:
    """One institutional line for charges of one revenue code (one charge on an outpatient bill).
    The HCPCS code and modifiers stay when every charge has the same ones (modifiers need a code:
    SV202)."""
    first = group[0]
    same_code = first.procedure_code is not None and all(
        (c.procedure_code, c.modifiers) == (first.procedure_code, first.modifiers) for c in group)
    start = min(c.service_date for c in group)
    end = max(c.service_end_date or c.service_date for c in group)
    single = len(group) == 1
    return DraftLine(
        charge_id=first.charge_id, summed_charge_ids=[c.charge_id for c in group[1:]],
        procedure_code=first.procedure_code if same_code else None,
        modifiers=first.modifiers if same_code else [], description=first.description,
        revenue_code=first.revenue_code, service_date=start, service_end_date=end if end != start else None,
        units=sum((c.units for c in group), Decimal(0)), charge=sum((c.amount for c in group), Decimal("0.00")),
        diagnosis_pointers=[], place_of_service=encounter.place_of_service,
        ndc=first.ndc if single else None, ndc_quantity=first.ndc_quantity if single else None,
        ndc_unit=first.ndc_unit if single else None,
    )


def _professional(
    encounter: EncounterDetails, encounter_id: str, patient_account_id: str, charges: Sequence[PostedCharge],
    fee_schedule: FeeSchedule, coverage_rank: int,
) -> list[ClaimDraft]:
    drafts: list[ClaimDraft] = []
    for part in chunks(charges):
        diagnoses = order_diagnoses(encounter.diagnoses, part)
        lines = [
            DraftLine(
                charge_id=c.charge_id, procedure_code=c.code, modifiers=c.modifiers,
                description=c.description, revenue_code=c.revenue_code, service_date=c.service_date,
                service_end_date=c.service_end_date, units=c.units, charge=c.amount,
                diagnosis_pointers=[diagnoses.index(code) + 1 for code in c.diagnosis_codes],
                expected_allowed=fee_schedule.expected_allowed(c.code, c.modifiers, c.service_date, c.units),
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
    lines = primary.lines if primary.claim_type == "institutional" else [
        line.model_copy(update={"expected_allowed": fee_schedule.expected_allowed(
            line.code, line.modifiers, line.service_date, line.units)})
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
        # An institutional line is named by what was billed (the 837I 2430 SVD: revenue code, and
        # the HCPCS code when the line had one); a professional one by the code the payer paid.
        institutional = primary.claim_type == "institutional"
        outcomes.append(LineOutcome(
            charge_id=charge_id, paid=Decimal(rl["paid"]),
            procedure_code=draft_line.procedure_code if institutional else rl["procedure_code"],
            revenue_code=draft_line.revenue_code if institutional else None,
            modifiers=draft_line.modifiers if institutional else list(rl.get("modifiers") or []),
            units=Decimal(rl["units_paid"]) if rl.get("units_paid") else draft_line.units,
            adjustments=[CasAdjustment.model_validate(a) for a in rl.get("adjustments", [])],
        ))
    return PriorPayer(
        coverage=primary.coverage, paid=Decimal(remit["total_paid"]),
        claim_adjustments=[CasAdjustment.model_validate(a) for a in remit.get("claim_adjustments", [])],
        adjudication_date=date.fromisoformat(remit["adjudication_date"]), lines=outcomes,
    )
