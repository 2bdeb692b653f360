"""What a claim is made of (stored as JSON in claims.doc): the encounter, its lines, its payer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import MEDICAID_FILING, Bills, CasAdjustment, ClaimType, Coverage, EncounterDetails, Provider
from schemas.intake import NdcUnit

ROOM_AND_BOARD = range(100, 220)
"""NUBC accommodation revenue codes 0100-0219 (all-inclusive rate, room and board, nursery, leave
of absence, subacute, intensive and coronary care): their units are days (837I SV204 DA), every
other revenue code's are units (UN)."""


def is_room_and_board(revenue_code: str | None) -> bool:
    return revenue_code is not None and revenue_code.isdigit() and int(revenue_code) in ROOM_AND_BOARD


def billed_payer(coverage: Coverage, claim_type: ClaimType) -> tuple[str, str]:
    """The payer id and name a claim of `claim_type` on `coverage` goes to: an institutional claim
    goes to the coverage's facility payer when it names one (Medicare Part A for the hospital's
    claim while payer_id is the Part B carrier that takes the physician's)."""
    if claim_type == "institutional" and coverage.facility_payer_id is not None:
        return coverage.facility_payer_id, coverage.facility_payer_name or coverage.payer_name
    return coverage.payer_id, coverage.payer_name


def billed_payer_ids(coverage: Coverage, bills: Bills) -> list[str]:
    """The payers an encounter that `bills` this way sends its claims on `coverage` to."""
    types: list[ClaimType] = ["professional", "institutional"] if bills == "both" else [bills]
    return list(dict.fromkeys(billed_payer(coverage, t)[0] for t in types))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DraftLine(_Model):
    charge_id: str
    summed_charge_ids: list[str] = Field(default_factory=list)
    """The other charges an institutional revenue-code line sums (`charge_id` is the first)."""
    procedure_code: str | None
    """HCPCS/CPT; None only on an institutional line without one (room and board, inpatient supplies)."""
    modifiers: list[str] = Field(default_factory=list)
    description: str | None = None
    revenue_code: str | None = None
    service_date: date
    service_end_date: date | None = None
    units: Decimal
    charge: Decimal
    diagnosis_pointers: list[int]
    expected_allowed: Decimal | None = None
    place_of_service: str
    rendering_npi: str | None = None
    rendering_provider: Provider | None = None
    """The line's rendering provider by name (2420A needs one), when it is known."""
    ordering_provider: Provider | None = None
    ndc: str | None = None
    ndc_quantity: Decimal | None = None
    ndc_unit: NdcUnit | None = None

    @property
    def code(self) -> str:
        """The procedure code of a line that must have one (every professional line)."""
        if self.procedure_code is None:
            raise ValueError(f"line of charge {self.charge_id} has no procedure code: only an institutional "
                             "line may lack one")
        return self.procedure_code

    @property
    def unit_code(self) -> Literal["UN", "DA"]:
        """837I SV204: days for room and board, else units."""
        return "DA" if is_room_and_board(self.revenue_code) else "UN"

    @property
    def charge_ids(self) -> list[str]:
        return [self.charge_id, *self.summed_charge_ids]


class LineOutcome(_Model):
    """How a prior payer adjudicated one of our lines (835 2110 -> 837 2430)."""

    charge_id: str
    paid: Decimal
    procedure_code: str | None
    revenue_code: str | None = None
    modifiers: list[str] = Field(default_factory=list)
    units: Decimal
    adjustments: list[CasAdjustment] = Field(default_factory=list)


class PriorPayer(_Model):
    """A payer that adjudicated the claim before this one (837 2320/2330)."""

    coverage: Coverage
    paid: Decimal
    claim_adjustments: list[CasAdjustment] = Field(default_factory=list)
    adjudication_date: date
    lines: list[LineOutcome] = Field(default_factory=list)


class ClaimDraft(_Model):
    encounter: EncounterDetails
    encounter_id: str
    patient_account_id: str
    coverage_rank: int
    claim_type: ClaimType = "professional"
    diagnoses: list[str]
    lines: list[DraftLine]
    prior_payers: list[PriorPayer] = Field(default_factory=list)

    @property
    def coverage(self) -> Coverage:
        return self.encounter.coverages[self.coverage_rank - 1]

    @property
    def total_charge(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal("0.00"))

    @property
    def charge_ids(self) -> list[str]:
        """Every charge the claim bills, the summed ones of an institutional line included."""
        return [c for line in self.lines for c in line.charge_ids]

    @property
    def first_service_date(self) -> date:
        return min(line.service_date for line in self.lines)

    def next_coverage(self) -> Coverage | None:
        covs = self.encounter.coverages
        return covs[self.coverage_rank] if len(covs) > self.coverage_rank else None

    def patient_protection(self) -> tuple[Literal["medicaid", "qmb"], Decimal | None] | None:
        """Why the patient may not be billed the cost share, and their Medi-Cal share of cost: any
        Medicaid coverage (its share of cost is still theirs), else a Medicare coverage with QMB."""
        covs = self.encounter.coverages
        medicaid = next((c for c in covs if c.claim_filing_indicator == MEDICAID_FILING), None)
        if medicaid is not None:
            return "medicaid", medicaid.share_of_cost
        if any(c.qmb for c in covs):
            return "qmb", None
        return None


class StoredDraft:
    """A claim's draft as stored (its JSON text and the columns derived from it), validated on
    first use only: a pass that moves a claim without reading its content (an acknowledgment) never
    validates it, and a claim whose content did not change is written back with the same text,
    not dumped again. A draft is never changed in place (the models are frozen): new content is a
    new draft (`Claim.draft = ...`)."""

    __slots__ = ("_draft", "charge_ids", "text", "total_charge")

    def __init__(self, text: str, charge_ids: list[str], total_charge: Decimal) -> None:
        self.text = text
        self.charge_ids = charge_ids
        self.total_charge = total_charge
        self._draft: ClaimDraft | None = None

    def draft(self) -> ClaimDraft:
        if self._draft is None:
            self._draft = ClaimDraft.model_validate_json(self.text)
        return self._draft
