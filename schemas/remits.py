"""Events of the remits service.

* `rcm.remittances.v1`: what 835 remittances did to each claim, keyed by `claim_id`;
  file-level events (RemittanceReceived, UnmatchedRemittance, ProviderAdjustmentPosted)
  are keyed by `remittance_id`.
* `rcm.patient-balances.v1`: what patients owe and pay, keyed by `patient_account_id`.

Amounts are as the payer reported them: a reversal (CLP02 22) carries negated amounts.
Remittance events carry enough line detail (CAS triplets, allowed, remarks) for claims to
build a secondary claim's COB loops without asking remits anything.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from schemas import examples as ex
from schemas.base import Contract, Event, examples, rule
from schemas.common import CasAdjustment, ClaimStatusCode, PatientShare, PayerRef, Text80
from schemas.intake import PaymentMethod
from schemas.types import (
    CarcCode,
    ClaimSubmissionId,
    DrgCode,
    Factor,
    IdempotencyKey,
    LineControlNumber,
    Modifier,
    Money,
    NonNegativeMoney,
    Npi,
    OpaqueId,
    PayerClaimControlNumber,
    PositiveMoney,
    ProcedureCode,
    Quantity,
    RarcCode,
    ReferenceNumber,
    RevenueCode,
    Sha256Hex,
    TransactionSetControlNumber,
)

__all__ = [
    "BalanceItem",
    "BalanceWrittenOff",
    "ClaimDenied",
    "ClaimPaymentPosted",
    "ClaimPaymentReversed",
    "CreditBalanceCreated",
    "Denial",
    "InsuranceBalanceWrittenOff",
    "InsuranceWriteOffReason",
    "OverpaymentDetected",
    "PatientBalanceCreated",
    "PatientBalanceUpdated",
    "PatientPaymentPosted",
    "PaymentApplication",
    "ProviderAdjustment",
    "ProviderAdjustmentPosted",
    "RemitLine",
    "RemittancePosition",
    "RemittanceReceived",
    "SuspenseResolution",
    "UnderpaymentDetected",
    "UnmatchedRemittance",
    "UnmatchedRemittanceResolved",
    "VarianceLine",
]

ZERO = Decimal("0.00")

DenialCategory = Literal[
    "eligibility", "coding", "authorization", "medical_necessity", "timely_filing", "duplicate",
    "bundling", "missing_information", "coordination_of_benefits", "non_covered", "other",
]  # fmt: skip

RecommendedAction = Literal[
    "correct_and_resubmit", "appeal", "write_off", "bill_patient", "bill_next_payer",
    "verify_eligibility", "review",
]  # fmt: skip


def _sum(values: Any) -> Decimal:
    return sum(values, ZERO)


# --------------------------------------------------------------------------- remittances


class RemitLine(Contract):
    """One 835 service line (loop 2110)."""

    line_control_number: LineControlNumber | None = None
    """REF*6R as echoed by the payer; absent when the payer did not echo it."""
    procedure_code: ProcedureCode | None
    """SVC01-2 (the adjudicated code, which may differ from the billed one); null on an institutional
    line the payer answered by revenue code alone (SVC01 NU:<revenue code>)."""
    revenue_code: RevenueCode | None = None
    """Institutional lines: SVC04, or SVC01-2 of an NU line."""
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    service_date: date | None = None
    charge: Money
    """SVC02."""
    allowed: Money
    """AMT*B6 when present, else paid + all PR + reductions applied after allowance."""
    paid: Money
    """SVC03."""
    units_paid: Quantity | None = None
    adjustments: list[CasAdjustment] = Field(default_factory=list)
    remark_codes: list[RarcCode] = Field(default_factory=list)
    """LQ*HE remarks."""

    @model_validator(mode="after")
    def _balanced(self) -> Self:
        if self.charge - _sum(a.amount for a in self.adjustments) != self.paid:
            raise rule("line_unbalanced", "charge minus line adjustments must equal paid")
        return self


_AETNA_LINES: list[dict[str, Any]] = [
    {
        "line_control_number": ex.LINE_CONTROL_NUMBERS[0],
        "procedure_code": "99213",
        "modifiers": ["25"],
        "service_date": "2026-03-02",
        "charge": "150.00",
        "allowed": "98.00",
        "paid": "58.00",
        "units_paid": "1",
        "adjustments": [
            {"group": "CO", "reason_code": "45", "amount": "52.00", "quantity": None},
            {"group": "PR", "reason_code": "3", "amount": "40.00", "quantity": None},
        ],
        "remark_codes": [],
    },
    {
        "line_control_number": ex.LINE_CONTROL_NUMBERS[1],
        "procedure_code": "87880",
        "modifiers": ["QW"],
        "service_date": "2026-03-02",
        "charge": "35.00",
        "allowed": "16.50",
        "paid": "16.50",
        "units_paid": "1",
        "adjustments": [{"group": "CO", "reason_code": "45", "amount": "18.50", "quantity": None}],
        "remark_codes": [],
    },
]

_CLAIM_PAYMENT: dict[str, Any] = {
    "claim_id": ex.CLAIM_ID,
    "claim_family_id": ex.CLAIM_FAMILY_ID,
    "encounter_id": ex.ENCOUNTER_ID,
    "remittance_id": ex.REMITTANCE_ID,
    "submission_id": ex.SUBMISSION_ID,
    "payer": ex.AETNA,
    "claim_status": "1",
    "payer_claim_control_number": "2026061000123",
    "adjudication_date": "2026-04-08",
    "total_charge": "185.00",
    "total_paid": "74.50",
    "patient_responsibility": "40.00",
    "patient_share": {"deductible": "0.00", "coinsurance": "0.00", "copay": "40.00", "other": "0.00"},
    "claim_adjustments": [],
    "remark_codes": [],
    "lines": _AETNA_LINES,
    "crossover_payer_name": None,
    "posted_at": "2026-04-08T15:02:11Z",
}


class _RemittanceClaim(Event):
    """An 835 claim payment (loop 2100) matched to our claim."""

    claim_id: OpaqueId
    """Our claim id (the Kafka key)."""
    claim_family_id: OpaqueId
    encounter_id: OpaqueId
    remittance_id: OpaqueId
    submission_id: ClaimSubmissionId
    """CLP01 as echoed by the payer."""
    payer: PayerRef
    claim_status: ClaimStatusCode
    """CLP02."""
    payer_claim_control_number: PayerClaimControlNumber
    """CLP07; needed as REF*F8 to replace or void the claim."""
    adjudication_date: date
    total_charge: Money
    """CLP03."""
    total_paid: Money
    """CLP04."""
    patient_responsibility: Money
    """CLP05."""
    patient_share: PatientShare
    """CLP05 split into deductible (PR-1), coinsurance (PR-2), copay (PR-3) and other PR."""
    claim_adjustments: list[CasAdjustment] = Field(default_factory=list)
    """Claim-level CAS."""
    remark_codes: list[RarcCode] = Field(default_factory=list)
    """Claim-level MOA/MIA remarks."""
    lines: list[RemitLine] = Field(default_factory=list)
    """The 835's service lines; none when the payer adjudicated the claim as a whole (an inpatient stay
    paid by DRG or per diem): remits then allocates it over the submitted lines (docs/remits.md)."""
    drg_code: DrgCode | None = None
    """CLP11: the DRG the payer paid an inpatient stay by."""
    drg_weight: Factor | None = None
    """CLP12: the DRG's relative weight."""
    covered_days: Quantity | None = None
    """MIA01: the inpatient days the payer covered (a per-diem payment pays these)."""
    drg_amount: Money | None = None
    """MIA04: the DRG amount of an inpatient payment."""
    outlier_amount: Money | None = None
    """MIA02: the cost outlier amount paid on top of the DRG or per-diem amount."""
    reimbursement_rate: Factor | None = None
    """MOA01: an outpatient claim's reimbursement rate (a fraction, e.g. 0.8)."""
    hcpcs_payable: Money | None = None
    """MOA02: the outpatient claim's HCPCS payable amount."""
    crossover_payer_name: Text80 | None = None
    """NM1*TT: the payer forwarded the claim to this payer itself."""
    posted_at: AwareDatetime

    @model_validator(mode="after")
    def _balanced(self) -> Self:
        adjustments = _sum(a.amount for a in self.claim_adjustments) + _sum(
            a.amount for line in self.lines for a in line.adjustments
        )
        if self.total_charge - adjustments != self.total_paid:
            raise rule("claim_unbalanced", "total_charge minus claim and line adjustments must equal total_paid")
        if self.patient_share.total() != self.patient_responsibility:
            raise rule("patient_share", "patient_share must add up to patient_responsibility")
        return self


class ClaimPaymentPosted(_RemittanceClaim):
    """A remittance for the claim was posted to the ledger (paid, partly paid, or all to the
    patient, e.g. a deductible). Zero-paid lines denied by the payer also raise ClaimDenied."""

    model_config = ConfigDict(json_schema_extra=examples(_CLAIM_PAYMENT))


class Denial(Contract):
    """One denial reason with what to do about it."""

    line_control_number: LineControlNumber | None = None
    """The denied line; absent for a whole-claim denial reason."""
    group: Literal["CO", "PR", "OA", "PI"]
    reason_code: CarcCode
    remark_codes: list[RarcCode] = Field(default_factory=list)
    amount: Money
    """The amount denied under this reason."""
    category: DenialCategory
    recommended_action: RecommendedAction


class ClaimDenied(_RemittanceClaim):
    """The payer denied the whole claim (CLP02 4, or nothing paid and no patient share with a
    non-contractual reason) or single lines of it (paid 0 with a denial CARC). Denials stay
    open to correct, appeal or write off; they are never silent write-offs."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_CLAIM_PAYMENT,
                "total_paid": "58.00",
                "lines": [
                    _AETNA_LINES[0],
                    {
                        **_AETNA_LINES[1],
                        "allowed": "0.00",
                        "paid": "0.00",
                        "adjustments": [{"group": "CO", "reason_code": "97", "amount": "35.00", "quantity": None}],
                        "remark_codes": ["M15"],
                    },
                ],
                "denial_scope": "line",
                "denials": [
                    {
                        "line_control_number": ex.LINE_CONTROL_NUMBERS[1],
                        "group": "CO",
                        "reason_code": "97",
                        "remark_codes": ["M15"],
                        "amount": "35.00",
                        "category": "bundling",
                        "recommended_action": "correct_and_resubmit",
                    }
                ],
            }
        )
    )

    denial_scope: Literal["claim", "line"]
    denials: list[Denial] = Field(min_length=1)

    @model_validator(mode="after")
    def _scope(self) -> Self:
        if self.denial_scope == "line" and any(d.line_control_number is None for d in self.denials):
            raise rule("line_denial", "a line denial must name the line_control_number of each denied line")
        return self


class ClaimPaymentReversed(_RemittanceClaim):
    """The payer took back an earlier payment (CLP02 22, amounts negated). The ledger posts
    the exact reverse of the original; a corrected payment usually follows."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_CLAIM_PAYMENT,
                "remittance_id": "rem_01JQ0R7N3C",
                "claim_status": "22",
                "adjudication_date": "2026-05-06",
                "total_charge": "-185.00",
                "total_paid": "-74.50",
                "patient_responsibility": "-40.00",
                "patient_share": {"deductible": "0.00", "coinsurance": "0.00", "copay": "-40.00", "other": "0.00"},
                "claim_adjustments": [
                    {"group": "CO", "reason_code": "45", "amount": "-70.50", "quantity": None},
                    {"group": "PR", "reason_code": "3", "amount": "-40.00", "quantity": None},
                ],
                "lines": [],
                "reversed_remittance_id": ex.REMITTANCE_ID,
                "posted_at": "2026-05-06T14:00:00Z",
            }
        )
    )

    reversed_remittance_id: OpaqueId | None = None
    """The remittance whose posting is reversed, when it was matched."""


class VarianceLine(Contract):
    """Allowed amount versus contract for one line."""

    line_control_number: LineControlNumber
    procedure_code: ProcedureCode
    expected_allowed: NonNegativeMoney
    allowed: Money
    variance: Money
    """allowed - expected_allowed (negative: underpaid)."""

    @model_validator(mode="after")
    def _variance(self) -> Self:
        if self.variance != self.allowed - self.expected_allowed:
            raise rule("variance", "variance must equal allowed minus expected_allowed")
        return self


class _AllowedVariance(Event):
    claim_id: OpaqueId
    claim_family_id: OpaqueId
    encounter_id: OpaqueId
    remittance_id: OpaqueId
    submission_id: ClaimSubmissionId
    payer: PayerRef
    lines: list[VarianceLine] = Field(min_length=1)
    """Every compared line (denied lines are denials and are left out)."""
    total_expected_allowed: NonNegativeMoney
    total_allowed: Money
    total_variance: Money
    tolerance: NonNegativeMoney
    """The configured tolerance the total variance exceeded."""
    detected_at: AwareDatetime

    @model_validator(mode="after")
    def _totals(self) -> Self:
        if (
            self.total_expected_allowed != _sum(line.expected_allowed for line in self.lines)
            or self.total_allowed != _sum(line.allowed for line in self.lines)
            or self.total_variance != self.total_allowed - self.total_expected_allowed
        ):
            raise rule("totals", "totals must be the sums of the lines and total_variance = allowed - expected")
        if abs(self.total_variance) <= self.tolerance:
            raise rule("within_tolerance", "total_variance must exceed tolerance")
        return self


_VARIANCE: dict[str, Any] = {
    "claim_id": ex.CLAIM_ID,
    "claim_family_id": ex.CLAIM_FAMILY_ID,
    "encounter_id": ex.ENCOUNTER_ID,
    "remittance_id": ex.REMITTANCE_ID,
    "submission_id": ex.SUBMISSION_ID,
    "payer": ex.AETNA,
    "tolerance": "1.00",
    "detected_at": "2026-04-08T15:02:12Z",
}


class UnderpaymentDetected(_AllowedVariance):
    """The payer allowed less than the contract (compares allowed, not paid)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_VARIANCE,
                "lines": [
                    {
                        "line_control_number": ex.LINE_CONTROL_NUMBERS[0],
                        "procedure_code": "99213",
                        "expected_allowed": "98.00",
                        "allowed": "91.00",
                        "variance": "-7.00",
                    },
                    {
                        "line_control_number": ex.LINE_CONTROL_NUMBERS[1],
                        "procedure_code": "87880",
                        "expected_allowed": "16.50",
                        "allowed": "16.50",
                        "variance": "0.00",
                    },
                ],
                "total_expected_allowed": "114.50",
                "total_allowed": "107.50",
                "total_variance": "-7.00",
            }
        )
    )

    @model_validator(mode="after")
    def _under(self) -> Self:
        if self.total_variance >= 0:
            raise rule("direction", "an underpayment has a negative total_variance")
        return self


class OverpaymentDetected(_AllowedVariance):
    """The payer allowed more than the contract (a refund request may follow)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_VARIANCE,
                "lines": [
                    {
                        "line_control_number": ex.LINE_CONTROL_NUMBERS[0],
                        "procedure_code": "99213",
                        "expected_allowed": "98.00",
                        "allowed": "120.00",
                        "variance": "22.00",
                    }
                ],
                "total_expected_allowed": "98.00",
                "total_allowed": "120.00",
                "total_variance": "22.00",
            }
        )
    )

    @model_validator(mode="after")
    def _over(self) -> Self:
        if self.total_variance <= 0:
            raise rule("direction", "an overpayment has a positive total_variance")
        return self


class RemittanceReceived(Event):
    """An 835 was read, balanced, and accepted for posting (keyed by remittance_id)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "remittance_id": ex.REMITTANCE_ID,
                "file_sha256": ex.FILE_SHA256,
                "payer": ex.AETNA,
                "payee_npi": "1234567893",
                "trace_number": "EFT-883120045",
                "handling_code": "I",
                "payment_method": "ACH",
                "total_payment": "74.50",
                "payment_date": "2026-04-08",
                "claim_count": 1,
                "provider_adjustment_total": "0.00",
                "received_at": "2026-04-08T15:02:10Z",
            }
        )
    )

    remittance_id: OpaqueId
    file_sha256: Sha256Hex
    """The same file is posted once; so is the same payer + trace number in a new envelope."""
    payer: PayerRef
    payee_npi: Npi | None = None
    trace_number: ReferenceNumber
    """TRN02: check or EFT trace number."""
    handling_code: Literal["C", "D", "H", "I", "P", "U", "X"]
    """BPR01: I remittance only, C payment with remittance, H notification only, ..."""
    payment_method: Literal["ACH", "BOP", "CHK", "FWT", "NON"]
    """BPR04."""
    total_payment: Money
    """BPR02 = sum(CLP04) - sum(PLB amounts)."""
    payment_date: date
    """BPR16."""
    claim_count: int = Field(ge=0)
    provider_adjustment_total: Money
    """Sum of PLB amounts (positive reduces the payment)."""
    received_at: AwareDatetime


class RemittancePosition(Contract):
    """Where in the 835 file the unmatched claim payment is."""

    transaction_set_control_number: TransactionSetControlNumber
    """ST02 of the transaction holding it."""
    claim_index: int = Field(ge=1)
    """1-based position of the CLP within that transaction."""
    segment_number: int = Field(ge=1)
    """1-based position of the CLP segment in the file."""


class UnmatchedRemittance(Event):
    """A claim payment in an 835 matched no claim of ours; a person must look at it."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "remittance_id": ex.REMITTANCE_ID,
                "file_sha256": ex.FILE_SHA256,
                "payer": ex.AETNA,
                "position": {"transaction_set_control_number": "0001", "claim_index": 2, "segment_number": 41},
                "reported_submission_id": "S01HX0000000",
                "claim_status": "1",
                "payer_claim_control_number": "2026061000777",
                "total_charge": "220.00",
                "total_paid": "130.00",
                "reason": "unknown_submission_id",
                "detected_at": "2026-04-08T15:02:12Z",
            }
        )
    )

    remittance_id: OpaqueId
    """The Kafka key."""
    file_sha256: Sha256Hex
    payer: PayerRef
    position: RemittancePosition
    reported_submission_id: str = Field(min_length=1, max_length=38, pattern=r"^[^\x00-\x1f\x7f]+$")
    """CLP01 exactly as the payer sent it."""
    claim_status: ClaimStatusCode
    payer_claim_control_number: PayerClaimControlNumber | None = None
    total_charge: Money
    total_paid: Money
    reason: Literal["unknown_submission_id", "not_our_claim", "ambiguous_match"]
    detected_at: AwareDatetime


SuspenseResolution = Literal["claim_submitted", "operator_rematch"]
"""How a claim payment left suspense: its ClaimSubmitted arrived (the automatic late match), or an
operator swept suspense with `rcm remits rematch`."""


class UnmatchedRemittanceResolved(Event):
    """A claim payment raised as UnmatchedRemittance (and held in suspense) was matched to its claim
    and re-posted. Keyed like the UnmatchedRemittance it resolves (remittance_id), so it follows it on
    the partition; `position` says which claim payment of the remittance it was. The re-posting
    itself raises the usual ClaimPaymentPosted / ClaimDenied / ... keyed by claim_id. Emitted once
    per resolved claim payment, in the transaction of the re-posting."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "remittance_id": ex.REMITTANCE_ID,
                "position": {"transaction_set_control_number": "0001", "claim_index": 2, "segment_number": 41},
                "reported_submission_id": "S01HX0000000",
                "claim_id": "clm_01HX00000Q",
                "encounter_id": "enc_01HX00000R",
                "amount_released": "130.00",
                "resolution": "claim_submitted",
                "resolved_at": "2026-04-09T08:15:03Z",
            }
        )
    )

    remittance_id: OpaqueId
    """The Kafka key: the remittance of the UnmatchedRemittance this resolves."""
    position: RemittancePosition
    """The same position the UnmatchedRemittance named (with remittance_id, the claim payment)."""
    reported_submission_id: str = Field(min_length=1, max_length=38, pattern=r"^[^\x00-\x1f\x7f]+$")
    """CLP01 as the UnmatchedRemittance reported it (now a known submission id)."""
    claim_id: OpaqueId
    """The claim it matched."""
    encounter_id: OpaqueId
    amount_released: Money
    """CLP04 moved out of unmatched_suspense onto the claim (negative for a held reversal)."""
    resolution: SuspenseResolution
    resolved_at: AwareDatetime


InsuranceWriteOffReason = Literal[
    "timely_filing", "no_authorization", "not_medically_necessary", "non_covered", "duplicate",
    "coordination_of_benefits", "recoupment_accepted", "no_response", "small_balance", "administrative", "other",
]  # fmt: skip


class InsuranceBalanceWrittenOff(Event):
    """An operator wrote off what a payer left open on a claim (its open denials first, then what it
    still owed), with a reason, so the claim's A/R clears. Never billed to the patient. Keyed by
    claim_id; `payer` and `coverage_rank` say which payer's balance it was (a crossover's secondary
    answers under the primary's claim)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "claim_id": ex.CLAIM_ID,
                "claim_family_id": ex.CLAIM_FAMILY_ID,
                "encounter_id": ex.ENCOUNTER_ID,
                "payer": ex.MEDI_CAL,
                "coverage_rank": 2,
                "amount": "99.84",
                "reason": "no_authorization",
                "operator_id": "op-17",
                "remaining_open": "0.00",
                "written_off_at": "2026-06-01T09:30:00Z",
            }
        )
    )

    claim_id: OpaqueId
    claim_family_id: OpaqueId
    encounter_id: OpaqueId
    payer: PayerRef
    coverage_rank: int = Field(ge=1, le=3)
    amount: PositiveMoney
    reason: InsuranceWriteOffReason
    operator_id: OpaqueId
    remaining_open: NonNegativeMoney
    """What that payer still has open on the claim after this write-off."""
    written_off_at: AwareDatetime


class ProviderAdjustment(Contract):
    """One PLB adjustment."""

    reason_code: str = Field(pattern=r"^[A-Z0-9]{2}$")
    """PLB03-1: L6 interest, WO overpayment recovery, FB forwarding balance, CS adjustment, ..."""
    reference: ReferenceNumber | None = None
    """PLB03-2."""
    amount: Money
    """Positive reduces the payment; negative increases it (L6 interest is negative)."""
    claim_id: OpaqueId | None = None
    """The claim a recoupment (WO, 72) named by its payer claim number or CLM01, when remits knows
    it: that claim's books are reopened for the amount, to be worked."""
    encounter_id: OpaqueId | None = None


class ProviderAdjustmentPosted(Event):
    """Provider-level adjustments (PLB) of an 835 were posted (keyed by remittance_id)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "remittance_id": ex.REMITTANCE_ID,
                "payer": ex.AETNA,
                "provider_identifier": "1234567893",
                "fiscal_period_date": "2026-12-31",
                "adjustments": [
                    {"reason_code": "L6", "reference": "INT-2026-04", "amount": "-1.12"},
                    {"reason_code": "WO", "reference": "2025123100045", "amount": "25.00"},
                ],
                "total_amount": "23.88",
                "posted_at": "2026-04-08T15:02:12Z",
            }
        )
    )

    remittance_id: OpaqueId
    payer: PayerRef
    provider_identifier: ReferenceNumber
    """PLB01: the provider's NPI or tax id as the payer identifies it."""
    fiscal_period_date: date
    """PLB02."""
    adjustments: list[ProviderAdjustment] = Field(min_length=1)
    total_amount: Money
    posted_at: AwareDatetime

    @model_validator(mode="after")
    def _total(self) -> Self:
        if self.total_amount != _sum(a.amount for a in self.adjustments):
            raise rule("total", "total_amount must equal the sum of adjustments")
        return self


# --------------------------------------------------------------------------- patient balances


class BalanceItem(Contract):
    """One service on a patient balance, as a statement itemizes it."""

    charge_id: OpaqueId
    claim_id: OpaqueId | None = None
    service_date: date
    procedure_code: ProcedureCode | None
    """Null on a facility line billed by revenue code alone (room and board): see revenue_code."""
    revenue_code: RevenueCode | None = None
    """A facility (institutional) line's revenue code."""
    description: Text80 | None = None
    charge: NonNegativeMoney
    insurance_paid: Money
    """Net of every payer's payments and reversals."""
    adjustments: Money
    """Contractual and other non-patient adjustments."""
    patient_share: PatientShare
    patient_responsibility: NonNegativeMoney
    """deductible + coinsurance + copay + other."""

    @model_validator(mode="after")
    def _share(self) -> Self:
        share = self.patient_share
        if min(share.deductible, share.coinsurance, share.copay, share.other) < 0:
            raise rule("share_negative", "patient_share amounts must not be negative on a balance")
        if share.total() != self.patient_responsibility:
            raise rule("share_total", "patient_responsibility must equal the patient_share total")
        return self


class _Balance(Event):
    patient_account_id: OpaqueId
    """The Kafka key; printed on statements."""
    balance_id: OpaqueId
    """One balance per encounter."""
    encounter_id: OpaqueId
    claim_ids: list[OpaqueId] = Field(min_length=1)
    items: list[BalanceItem] = Field(min_length=1)
    total_patient_responsibility: NonNegativeMoney
    patient_paid: NonNegativeMoney
    written_off: NonNegativeMoney
    amount_due: NonNegativeMoney
    """total_patient_responsibility - patient_paid - written_off."""
    due_date: date

    @model_validator(mode="after")
    def _totals(self) -> Self:
        if self.total_patient_responsibility != _sum(i.patient_responsibility for i in self.items):
            raise rule("total", "total_patient_responsibility must equal the sum of item patient_responsibility")
        if self.amount_due != self.total_patient_responsibility - self.patient_paid - self.written_off:
            raise rule("amount_due", "amount_due must equal total_patient_responsibility - patient_paid - written_off")
        return self


_BALANCE: dict[str, Any] = {
    "patient_account_id": ex.PATIENT_ACCOUNT_ID,
    "balance_id": ex.BALANCE_ID,
    "encounter_id": ex.ENCOUNTER_ID,
    "claim_ids": [ex.CLAIM_ID],
    "items": [
        {
            "charge_id": ex.CHARGE_IDS[0],
            "claim_id": ex.CLAIM_ID,
            "service_date": "2026-03-02",
            "procedure_code": "99213",
            "description": "Office visit, established patient, low complexity",
            "charge": "150.00",
            "insurance_paid": "58.00",
            "adjustments": "52.00",
            "patient_share": {"deductible": "0.00", "coinsurance": "0.00", "copay": "40.00", "other": "0.00"},
            "patient_responsibility": "40.00",
        },
        {
            "charge_id": ex.CHARGE_IDS[1],
            "claim_id": ex.CLAIM_ID,
            "service_date": "2026-03-02",
            "procedure_code": "87880",
            "description": "Rapid strep A antigen test",
            "charge": "35.00",
            "insurance_paid": "16.50",
            "adjustments": "18.50",
            "patient_share": {"deductible": "0.00", "coinsurance": "0.00", "copay": "0.00", "other": "0.00"},
            "patient_responsibility": "0.00",
        },
    ],
    "total_patient_responsibility": "40.00",
    "patient_paid": "0.00",
    "written_off": "0.00",
    "amount_due": "40.00",
    "due_date": "2026-05-08",
}


class PatientBalanceCreated(_Balance):
    """The patient owes money for an encounter, after the last payer that will pay.

    No contact details: notifications keeps its own projection of them."""

    model_config = ConfigDict(json_schema_extra=examples({**_BALANCE, "created_at": "2026-04-08T15:02:12Z"}))

    created_at: AwareDatetime


class PatientBalanceUpdated(_Balance):
    """An existing balance changed; carries the whole new state (never a second balance)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_BALANCE,
                "patient_paid": "40.00",
                "amount_due": "0.00",
                "revision": 2,
                "reason": "patient_payment",
                "previous_amount_due": "40.00",
                "updated_at": "2026-04-15T17:30:00Z",
            }
        )
    )

    revision: int = Field(ge=2)
    """1 was PatientBalanceCreated; each update adds one."""
    reason: Literal[
        "remittance", "payment_reversal", "patient_payment", "write_off", "charge_correction", "next_payer_remittance"
    ]
    previous_amount_due: NonNegativeMoney
    updated_at: AwareDatetime


class PaymentApplication(Contract):
    """The part of a patient payment applied to one balance."""

    balance_id: OpaqueId
    encounter_id: OpaqueId
    amount: PositiveMoney


class PatientPaymentPosted(Event):
    """A patient payment was posted and applied to balances; any excess became a credit."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "patient_account_id": ex.PATIENT_ACCOUNT_ID,
                "payment_id": "pmt_01JPD8A0S6",
                "idempotency_key": "portal:pay-20260415-0071",
                "amount": "40.00",
                "method": "card",
                "received_on": "2026-04-15",
                "applications": [{"balance_id": ex.BALANCE_ID, "encounter_id": ex.ENCOUNTER_ID, "amount": "40.00"}],
                "unapplied_amount": "0.00",
                "credit_balance_id": None,
                "posted_at": "2026-04-15T17:30:00Z",
            }
        )
    )

    patient_account_id: OpaqueId
    payment_id: OpaqueId
    """Ledger id of the payment."""
    idempotency_key: IdempotencyKey
    """The PatientPaymentReceived this posting came from."""
    amount: PositiveMoney
    method: PaymentMethod
    received_on: date
    applications: list[PaymentApplication] = Field(default_factory=list)
    unapplied_amount: NonNegativeMoney
    credit_balance_id: OpaqueId | None = None
    """Set exactly when unapplied_amount > 0 (see CreditBalanceCreated)."""
    posted_at: AwareDatetime

    @model_validator(mode="after")
    def _applied(self) -> Self:
        if _sum(a.amount for a in self.applications) + self.unapplied_amount != self.amount:
            raise rule("applied", "applications plus unapplied_amount must equal amount")
        if (self.unapplied_amount > 0) != (self.credit_balance_id is not None):
            raise rule("credit", "credit_balance_id is required exactly when unapplied_amount is positive")
        return self


class CreditBalanceCreated(Event):
    """The patient paid more than owed: a credit to refund or apply."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "patient_account_id": ex.PATIENT_ACCOUNT_ID,
                "credit_balance_id": "crd_01JPF0N6E2",
                "amount": "15.00",
                "origin": "balance_reduced_after_payment",
                "payment_id": "pmt_01JPD8A0S6",
                "balance_id": ex.BALANCE_ID,
                "created_at": "2026-04-30T09:00:00Z",
            }
        )
    )

    patient_account_id: OpaqueId
    credit_balance_id: OpaqueId
    amount: PositiveMoney
    origin: Literal["patient_overpayment", "balance_reduced_after_payment"]
    """An overpayment, or a later remittance lowering a balance the patient had paid."""
    payment_id: OpaqueId | None = None
    balance_id: OpaqueId | None = None
    created_at: AwareDatetime


class BalanceWrittenOff(Event):
    """Part or all of a patient balance was written off."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "patient_account_id": ex.PATIENT_ACCOUNT_ID,
                "balance_id": ex.BALANCE_ID,
                "encounter_id": ex.ENCOUNTER_ID,
                "amount": "4.20",
                "reason": "small_balance",
                "operator_id": None,
                "remaining_amount_due": "0.00",
                "written_off_at": "2026-06-01T02:00:00Z",
            }
        )
    )

    patient_account_id: OpaqueId
    balance_id: OpaqueId
    encounter_id: OpaqueId
    amount: PositiveMoney
    reason: Literal["small_balance", "charity", "bad_debt", "administrative", "other"]
    operator_id: OpaqueId | None = None
    """Who approved it; absent for an automatic small-balance write-off."""
    remaining_amount_due: NonNegativeMoney
    written_off_at: AwareDatetime
