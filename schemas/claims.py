"""Events of the claims service, on `rcm.claims.v1`, keyed by `claim_id`.

One event per transition of the claims state machine, so a consumer sees one claim's whole
lifecycle in order on one partition. A claim family links an original claim with its
secondary, replacement and void claims; each submission of a claim (original, resubmission
after a rejection, replacement, void) gets its own `submission_id` (837 CLM01).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from schemas import examples as ex
from schemas.base import Contract, Event, examples, rule
from schemas.common import ClaimStatusCode, ClaimType, Frequency, PayerRef, Text30, Text80, Text200, Text500
from schemas.intake import DiagnosisPointer
from schemas.types import (
    ClaimSubmissionId,
    EditId,
    GroupControlNumber,
    Icd10Code,
    InterchangeControlNumber,
    LineControlNumber,
    Modifier,
    Money,
    NonNegativeMoney,
    Npi,
    OpaqueId,
    PayerClaimControlNumber,
    PlaceOfService,
    ProcedureCode,
    RevenueCode,
    TransactionSetControlNumber,
    TypeOfBill,
    Units,
)

MAX_PROFESSIONAL_LINES = 50
"""837P loop 2400 repeat; a professional encounter with more lines is split into claims of 50."""
MAX_INSTITUTIONAL_LINES = 999
"""837I loop 2400 repeat: a stay or an outpatient visit is one claim."""
MAX_PROFESSIONAL_DIAGNOSES = 12
MAX_INSTITUTIONAL_DIAGNOSES = 25
"""The principal diagnosis (HI ABK) and 24 others (two HI ABF segments of 12)."""

__all__ = [
    "AcknowledgmentCode",
    "ClaimAccepted",
    "ClaimAdjudicated",
    "ClaimClosed",
    "ClaimCorrected",
    "ClaimCreated",
    "ClaimFollowUpDue",
    "ClaimForwarded",
    "ClaimHeld",
    "ClaimRejected",
    "ClaimReleased",
    "ClaimResubmitted",
    "ClaimState",
    "ClaimStatusChecked",
    "ClaimSubmitted",
    "ClaimVoided",
    "FailedEdit",
    "InterchangeControl",
    "NextPayer",
    "PatientProtection",
    "SubmittedLine",
]

ClaimState = Literal[
    "created", "held", "ready", "submitted", "accepted", "rejected", "adjudicated",
    "denied", "forwarded", "corrected", "voided", "closed",
]  # fmt: skip
"""States of the claims state machine."""

CoverageRank = Literal[1, 2, 3]

_IDS: dict[str, Any] = {
    "claim_id": ex.CLAIM_ID,
    "claim_family_id": ex.CLAIM_FAMILY_ID,
    "encounter_id": ex.ENCOUNTER_ID,
}


class _ClaimEvent(Event):
    claim_id: OpaqueId
    """Our claim id (the Kafka key)."""
    claim_family_id: OpaqueId
    """Links an original claim with its secondary, replacement and void claims."""
    encounter_id: OpaqueId


class FailedEdit(Contract):
    """A scrubber edit the claim failed."""

    edit_id: EditId
    severity: Literal["error", "warning"]
    """Errors hold the claim; warnings are shown but do not hold it on their own."""
    message: Text500
    source: Literal[
        "required-fields", "diagnosis-pointer", "icd10", "ncci-ptp", "mue", "age-sex",
        "duplicate", "timely-filing", "correction-reference", "payer-rule", "pos-component", "em-procedure",
        "institutional", "eligibility",
    ]  # fmt: skip
    """Which rule set raised the edit (docs/claims.md lists each edit and its published source)."""
    line_number: int | None = Field(default=None, ge=1, le=MAX_INSTITUTIONAL_LINES)
    """The claim line concerned; absent for claim-level edits."""


class ClaimCreated(_ClaimEvent):
    """Posted charges were assembled into a claim for one payer (not yet scrubbed)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "patient_account_id": ex.PATIENT_ACCOUNT_ID,
                "payer": ex.AETNA,
                "coverage_rank": 1,
                "origin": "original",
                "origin_claim_id": None,
                "frequency": "1",
                "charge_ids": ex.CHARGE_IDS,
                "total_charge": "185.00",
                "encounter_revision": 1,
                "created_at": "2026-03-05T08:00:04Z",
            },
            {
                "claim_id": "clm_01JPB3F7R2",
                "claim_family_id": ex.CLAIM_FAMILY_ID,
                "encounter_id": ex.ENCOUNTER_ID,
                "patient_account_id": ex.PATIENT_ACCOUNT_ID,
                "payer": ex.MEDI_CAL,
                "coverage_rank": 2,
                "origin": "secondary",
                "origin_claim_id": ex.CLAIM_ID,
                "frequency": "1",
                "charge_ids": ex.CHARGE_IDS,
                "total_charge": "185.00",
                "encounter_revision": 1,
                "created_at": "2026-04-10T09:12:00Z",
            },
        )
    )

    patient_account_id: OpaqueId
    payer: PayerRef
    coverage_rank: CoverageRank
    origin: Literal["original", "secondary", "replacement", "void"]
    origin_claim_id: OpaqueId | None = None
    """The claim this one follows from (primary claim for a secondary, replaced or voided
    claim); absent for an original."""
    frequency: Frequency
    charge_ids: list[OpaqueId] = Field(min_length=1, max_length=MAX_INSTITUTIONAL_LINES)
    """The posted charges the claim bills (an institutional line may sum several)."""
    total_charge: NonNegativeMoney
    claim_type: ClaimType = "professional"
    """professional: an 837P (CMS-1500); institutional: an 837I (UB-04), the facility's claim."""
    encounter_revision: int = Field(ge=1)
    """The EncounterReadyToBill revision the claim was built from."""
    created_at: AwareDatetime

    @model_validator(mode="after")
    def _origin_rules(self) -> Self:
        if (self.origin == "original") != (self.origin_claim_id is None):
            raise rule("origin_claim", "origin_claim_id is required unless origin is original")
        expected = {"replacement": "7", "void": "8"}.get(self.origin, "1")
        if self.frequency != expected:
            raise rule("frequency", "frequency must be 7 for a replacement, 8 for a void and 1 otherwise")
        return self


class ClaimHeld(_ClaimEvent):
    """The scrubber held the claim: at least one edit failed. Staff fix it or override."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "edits": [
                    {
                        "edit_id": "EM-MODIFIER-25",
                        "severity": "error",
                        "message": "99213 is billed with 20610 (a minor procedure, 000-day global period) on "
                        "the same date: the visit is part of the procedure unless it was significant and "
                        "separately identifiable; append 25 to the E/M when the record shows that, otherwise "
                        "remove the E/M line",
                        "source": "em-procedure",
                        "line_number": 1,
                    }
                ],
                "held_at": "2026-03-05T08:00:05Z",
            }
        )
    )

    edits: list[FailedEdit] = Field(min_length=1)
    held_at: AwareDatetime


class ClaimReleased(_ClaimEvent):
    """A held claim was released for submission (edits fixed, or overridden by staff)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "released_by": "operator",
                "operator_id": "usr_billing_042",
                "overridden_edit_ids": ["NCCI-PTP"],
                "reason": "QW-waived test billed separately per payer policy",
                "released_at": "2026-03-05T10:31:00Z",
            }
        )
    )

    released_by: Literal["scrubber", "operator"]
    """scrubber: re-run after a fix passed; operator: a person released it."""
    operator_id: OpaqueId | None = None
    """Required when released_by is operator."""
    overridden_edit_ids: list[EditId] = Field(default_factory=list)
    reason: Text200 | None = None
    released_at: AwareDatetime

    @model_validator(mode="after")
    def _operator(self) -> Self:
        if (self.released_by == "operator") != (self.operator_id is not None):
            raise rule("operator_id", "operator_id is required exactly when released_by is operator")
        return self


class SubmittedLine(Contract):
    """A service line as sent in the 837P (loop 2400)."""

    line_number: int = Field(ge=1, le=MAX_INSTITUTIONAL_LINES)
    """LX01, 1..n in order."""
    line_control_number: LineControlNumber
    """REF*6R; payers echo it on the 835 line."""
    charge_id: OpaqueId
    summed_charge_ids: list[OpaqueId] = Field(default_factory=list)
    """Institutional lines only: the other posted charges this revenue-code line sums (room and
    board days, an inpatient stay's supplies); `charge_id` is the first of them."""
    procedure_code: ProcedureCode | None
    """HCPCS/CPT (837P SV101, 837I SV202); null on an institutional line without one (room and board)."""
    modifiers: list[Modifier] = Field(default_factory=list, max_length=4)
    description: Text80 | None = None
    revenue_code: RevenueCode | None = None
    service_date: date
    service_end_date: date | None = None
    units: Units
    charge: NonNegativeMoney
    """SV102 line charge."""
    diagnosis_pointers: list[DiagnosisPointer] = Field(max_length=4)
    """Positions in the claim's `diagnoses`; professional lines only (at least one)."""
    expected_allowed: NonNegativeMoney | None = None
    """Contracted allowed amount from the payer's fee schedule; absent when none is loaded."""


class InterchangeControl(Contract):
    """Where the claim travelled in X12: the envelope numbers of the 837 file."""

    interchange_control_number: InterchangeControlNumber
    group_control_number: GroupControlNumber
    transaction_set_control_number: TransactionSetControlNumber
    file_name: Text80 | None = None
    """Name of the 837 file in the clearinghouse outbound folder."""


class PatientProtection(Contract):
    """The patient may not be billed the cost share of this claim: they have Medicaid coverage, or
    their Medicare coverage carries a QMB indicator. Only a Medi-Cal share of cost (PR-178) is theirs."""

    model_config = ConfigDict(json_schema_extra=examples({"reason": "medicaid", "share_of_cost": "30.00"}))

    reason: Literal["medicaid", "qmb"]
    """medicaid: the patient has Medicaid coverage; qmb: a Qualified Medicare Beneficiary."""
    share_of_cost: NonNegativeMoney | None = None
    """The Medicaid coverage's monthly share of cost: the most the patient owes on this claim as
    share of cost (None: none)."""


class NextPayer(PayerRef):
    """The next payer in coverage order: a patient balance waits for its remittance."""

    model_config = ConfigDict(
        json_schema_extra=examples({"payer_id": "610442", "payer_name": "Medi-Cal", "coverage_rank": 2})
    )

    coverage_rank: Literal[2, 3]


_LINES: list[dict[str, Any]] = [
    {
        "line_number": 1,
        "line_control_number": ex.LINE_CONTROL_NUMBERS[0],
        "charge_id": ex.CHARGE_IDS[0],
        "procedure_code": "99213",
        "modifiers": ["25"],
        "description": "Office visit, established patient, low complexity",
        "revenue_code": "0510",
        "service_date": "2026-03-02",
        "service_end_date": None,
        "units": "1",
        "charge": "150.00",
        "diagnosis_pointers": [1, 2],
        "expected_allowed": "98.00",
    },
    {
        "line_number": 2,
        "line_control_number": ex.LINE_CONTROL_NUMBERS[1],
        "charge_id": ex.CHARGE_IDS[1],
        "procedure_code": "87880",
        "modifiers": ["QW"],
        "description": "Rapid strep A antigen test",
        "revenue_code": "0300",
        "service_date": "2026-03-02",
        "service_end_date": None,
        "units": "1",
        "charge": "35.00",
        "diagnosis_pointers": [1],
        "expected_allowed": "16.50",
    },
]


class ClaimSubmitted(_ClaimEvent):
    """The claim was sent to the clearinghouse in an 837P (professional) or an 837I (institutional).

    Emitted for every submission (original, resubmission, replacement, void, secondary):
    remits matches and judges remittances from this event alone.
    """

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "submission_id": ex.SUBMISSION_ID,
                "patient_account_id": ex.PATIENT_ACCOUNT_ID,
                "payer": ex.AETNA,
                "coverage_rank": 1,
                "frequency": "1",
                "payer_claim_control_number": None,
                "billing_provider_npi": "1234567893",
                "place_of_service": "11",
                "diagnoses": ["J020", "R509"],
                "total_charge": "185.00",
                "lines": _LINES,
                "next_payer": {**ex.MEDI_CAL, "coverage_rank": 2},
                "interchange": {
                    "interchange_control_number": "000000417",
                    "group_control_number": "417",
                    "transaction_set_control_number": "0001",
                    "file_name": "837P_000000417.x12",
                },
                "submitted_at": "2026-03-05T10:45:00Z",
            }
        )
    )

    submission_id: ClaimSubmissionId
    """837 CLM01; echoed as 835 CLP01 and 277CA TRN02."""
    patient_account_id: OpaqueId
    payer: PayerRef
    coverage_rank: CoverageRank
    frequency: Frequency
    payer_claim_control_number: PayerClaimControlNumber | None = None
    """REF*F8: the payer's number of the adjudicated claim being replaced or voided;
    required for frequency 7 and 8, absent for 1."""
    billing_provider_npi: Npi
    place_of_service: PlaceOfService
    diagnoses: list[Icd10Code] = Field(min_length=1, max_length=MAX_INSTITUTIONAL_DIAGNOSES)
    """HI: the first is principal (ABK), the rest ABF; at most 12 on a professional claim."""
    total_charge: NonNegativeMoney
    """CLM02 = the sum of the line charges."""
    claim_type: ClaimType = "professional"
    """professional: an 837P; institutional: an 837I (revenue-code lines, a type of bill)."""
    type_of_bill: TypeOfBill | None = None
    """Institutional claims only (and required there): facility type and classification, CLM05-1;
    the frequency digit is `frequency`."""
    lines: list[SubmittedLine] = Field(min_length=1, max_length=MAX_INSTITUTIONAL_LINES)
    next_payer: NextPayer | None = None
    interchange: InterchangeControl
    submitted_at: AwareDatetime
    patient_protection: PatientProtection | None = None
    """Set when the patient may not be billed the cost share (Medicaid coverage or QMB)."""

    @model_validator(mode="after")
    def _claim_rules(self) -> Self:
        if [line.line_number for line in self.lines] != list(range(1, len(self.lines) + 1)):
            raise rule("line_numbers", "lines must be numbered 1..n in order")
        if len({line.line_control_number for line in self.lines}) != len(self.lines):
            raise rule("line_control_duplicate", "line_control_number must be unique within the claim")
        if sum((line.charge for line in self.lines), Decimal("0.00")) != self.total_charge:
            raise rule("total_charge", "total_charge must equal the sum of line charges")
        if (self.frequency == "1") != (self.payer_claim_control_number is None):
            raise rule(
                "payer_claim_control_number",
                "payer_claim_control_number is required for frequency 7 or 8 and absent for 1",
            )
        if any(p > len(self.diagnoses) for line in self.lines for p in line.diagnosis_pointers):
            raise rule("pointer_range", "diagnosis_pointers must point into diagnoses")
        self._claim_type_rules()
        if self.next_payer is not None and self.next_payer.coverage_rank <= self.coverage_rank:
            raise rule("next_payer_rank", "next_payer must come after this coverage in billing order")
        return self


    def _claim_type_rules(self) -> None:
        if self.claim_type == "institutional":
            if self.type_of_bill is None:
                raise rule("type_of_bill", "an institutional claim needs type_of_bill")
            if any(line.revenue_code is None for line in self.lines):
                raise rule("revenue_code_required", "every institutional line needs revenue_code")
            return
        if self.type_of_bill is not None:
            raise rule("type_of_bill", "type_of_bill is for institutional claims only")
        if len(self.lines) > MAX_PROFESSIONAL_LINES or len(self.diagnoses) > MAX_PROFESSIONAL_DIAGNOSES:
            raise rule("professional_limits", "a professional claim has at most 50 lines and 12 diagnoses")
        for line in self.lines:
            if line.procedure_code is None or not line.diagnosis_pointers or line.summed_charge_ids:
                raise rule("professional_line",
                           f"line {line.line_number}: a professional line needs procedure_code and "
                           "diagnosis_pointers and sums no other charge")


class AcknowledgmentCode(Contract):
    """A status or error code from a TA1, 999 or 277CA."""

    segment: Literal["AK9", "IK3", "IK4", "IK5", "STC", "TA1"]
    code: Text30
    """E.g. IK5 "R", IK3 "8", STC "A7:562:85", TA1 "R:024" (TA104:TA105)."""
    description: Text200 | None = None


class ClaimAccepted(_ClaimEvent):
    """The clearinghouse (999) or payer (277CA) accepted the submission."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "submission_id": ex.SUBMISSION_ID,
                "source": "277CA",
                "codes": [{"segment": "STC", "code": "A2:20:PR", "description": "Accepted for processing"}],
                "payer_claim_control_number": "2026061000123",
                "accepted_at": "2026-03-06T07:15:00Z",
            }
        )
    )

    submission_id: ClaimSubmissionId
    source: Literal["999", "277CA"]
    """999: syntax accepted by the clearinghouse; 277CA: accepted into adjudication."""
    codes: list[AcknowledgmentCode] = Field(default_factory=list)
    payer_claim_control_number: PayerClaimControlNumber | None = None
    """277CA REF*1K when the payer assigned one."""
    accepted_at: AwareDatetime


class ClaimRejected(_ClaimEvent):
    """The submission was rejected (TA1, 999 or 277CA) and never entered adjudication.

    Fix it and it goes again as a new original (frequency 1) with a new submission id.
    """

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "submission_id": ex.SUBMISSION_ID,
                "source": "277CA",
                "codes": [
                    {
                        "segment": "STC",
                        "code": "A7:562:85",
                        "description": "Entity's National Provider Identifier (NPI) - billing provider",
                    }
                ],
                "reason": "Payer does not recognize the billing provider NPI for this tax id",
                "rejected_at": "2026-03-06T07:15:00Z",
            }
        )
    )

    submission_id: ClaimSubmissionId
    source: Literal["999", "277CA", "TA1"]
    """TA1: the clearinghouse rejected the whole interchange that carried the claim."""
    codes: list[AcknowledgmentCode] = Field(min_length=1)
    reason: Text500
    """Readable summary for billing staff."""
    rejected_at: AwareDatetime


class ClaimResubmitted(_ClaimEvent):
    """A rejected claim was fixed and queued again as a new original submission.

    A ClaimSubmitted with the new submission id follows once the 837 is sent.
    """

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "previous_submission_id": ex.SUBMISSION_ID,
                "submission_id": "S01JNRB2T9QW",
                "reason": "Billing provider NPI corrected in payer enrollment",
                "operator_id": "usr_billing_042",
                "resubmitted_at": "2026-03-07T09:02:00Z",
            }
        )
    )

    previous_submission_id: ClaimSubmissionId
    submission_id: ClaimSubmissionId
    reason: Text200
    operator_id: OpaqueId | None = None
    resubmitted_at: AwareDatetime

    @model_validator(mode="after")
    def _new_id(self) -> Self:
        if self.submission_id == self.previous_submission_id:
            raise rule("submission_id_reuse", "a resubmission needs a new submission_id")
        return self


class ClaimAdjudicated(_ClaimEvent):
    """The payer adjudicated the claim (from an 835 posted by remits)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "submission_id": ex.SUBMISSION_ID,
                "remittance_id": ex.REMITTANCE_ID,
                "payer": ex.AETNA,
                "claim_status": "1",
                "payer_claim_control_number": "2026061000123",
                "outcome": "paid",
                "total_charge": "185.00",
                "total_paid": "74.50",
                "patient_responsibility": "40.00",
                "adjudicated_on": "2026-04-08",
            }
        )
    )

    submission_id: ClaimSubmissionId
    remittance_id: OpaqueId
    payer: PayerRef
    claim_status: ClaimStatusCode
    payer_claim_control_number: PayerClaimControlNumber
    outcome: Literal["paid", "partially_denied", "denied", "patient_responsibility_only", "reversed"]
    total_charge: Money
    total_paid: Money
    patient_responsibility: Money
    adjudicated_on: date


class ClaimForwarded(_ClaimEvent):
    """The payer crossed the claim over to the next payer itself (835 CLP02 19/20/21 or
    NM1*TT): no secondary claim is sent, and the patient balance waits for that payer."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "submission_id": ex.SUBMISSION_ID,
                "remittance_id": ex.REMITTANCE_ID,
                "from_payer": ex.AETNA,
                "to_payer_name": "Medi-Cal",
                "to_coverage_rank": 2,
                "forwarded_on": "2026-04-08",
            }
        )
    )

    submission_id: ClaimSubmissionId
    remittance_id: OpaqueId
    from_payer: PayerRef
    to_payer_name: Text80 | None = None
    """NM1*TT crossover carrier name, when the 835 gives it."""
    to_coverage_rank: Literal[2, 3] | None = None
    """The matching coverage on file, when one matches."""
    forwarded_on: date


class ClaimCorrected(_ClaimEvent):
    """An adjudicated claim is being replaced (frequency 7) by `replacement_claim_id`."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "replacement_claim_id": "clm_01JPC4K1D8",
                "payer_claim_control_number": "2026061000123",
                "reason": "Modifier 25 documented; replacing to add separate E/M",
                "operator_id": "usr_billing_042",
                "corrected_at": "2026-04-12T11:20:00Z",
            }
        )
    )

    replacement_claim_id: OpaqueId
    payer_claim_control_number: PayerClaimControlNumber
    """The payer's number of this claim, sent as REF*F8 on the replacement."""
    reason: Text200
    operator_id: OpaqueId | None = None
    corrected_at: AwareDatetime


class ClaimVoided(_ClaimEvent):
    """An adjudicated claim is being voided (frequency 8) by `void_claim_id`."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "void_claim_id": "clm_01JPC4M6G3",
                "payer_claim_control_number": "2026061000123",
                "reason": "Billed under the wrong patient account",
                "operator_id": "usr_billing_042",
                "voided_at": "2026-04-12T11:25:00Z",
            }
        )
    )

    void_claim_id: OpaqueId
    payer_claim_control_number: PayerClaimControlNumber
    reason: Text200
    operator_id: OpaqueId | None = None
    voided_at: AwareDatetime


class ClaimFollowUpDue(_ClaimEvent):
    """A claim needs a person: no acknowledgment, no remittance, an open denial, or timely
    filing running out."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "submission_id": ex.SUBMISSION_ID,
                "payer": ex.AETNA,
                "state": "accepted",
                "reason": "no_remittance",
                "days_outstanding": 45,
                "due_on": "2026-04-20",
                "timely_filing_deadline": "2026-06-30",
            }
        )
    )

    submission_id: ClaimSubmissionId | None = None
    payer: PayerRef
    state: ClaimState
    reason: Literal["no_acknowledgment", "no_remittance", "denial_open", "timely_filing_risk", "era_missing"]
    """era_missing: a claim status answer (277) says the payer paid or denied the claim, but no 835 came."""
    days_outstanding: int = Field(ge=0)
    due_on: date
    timely_filing_deadline: date | None = None


ClaimStatusOutcome = Literal["finalized_paid", "finalized_denied", "finalized_other", "pending", "rejected",
                             "not_found"]
"""What a 277 says of a claim (STC01-1 category, edi.x277.outcome_of_category): F1 / F2 / F0, F3, F4
finalized; P0-P5, A0-A2, A5 and E0/E1/E2/E4 pending; A3, A6, A7, A8, E3 and R* rejected or returned
for information; A4 and D0 (the payer has no record of it) not found."""


class ClaimStatusChecked(_ClaimEvent):
    """A claim status answer (X12 277, 005010X212) to the 276 claims sent for a claim past its
    follow-up date with no 835, or asked for on demand."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "submission_id": ex.SUBMISSION_ID,
                "payer": ex.AETNA,
                "trigger": "follow_up",
                "category_code": "F1",
                "status_code": "65",
                "entity_code": "PR",
                "outcome": "finalized_paid",
                "action": "era_missing",
                "payer_claim_control_number": "AE2026030200017",
                "effective_on": "2026-03-20",
                "total_charge": "250.00",
                "paid_amount": "141.20",
                "adjudicated_on": "2026-03-18",
                "paid_on": "2026-03-20",
                "check_number": "EFT000451",
                "checked_at": "2026-04-20T09:00:00Z",
            }
        )
    )

    submission_id: ClaimSubmissionId
    payer: PayerRef
    trigger: Literal["follow_up", "on_demand"]
    category_code: Text30
    """STC01-1, e.g. F1 finalized/payment, P1 pending/in process, A4 not found."""
    status_code: Text30
    """STC01-2, e.g. 65 claim has been paid, 20 accepted for processing."""
    entity_code: Text30 | None = None
    """STC01-3 when sent."""
    outcome: ClaimStatusOutcome
    action: Literal["none", "era_missing", "resubmit_scheduled", "follow_up_scheduled"]
    """What claims did with the answer: era_missing raises ClaimFollowUpDue (paid or denied, no
    835); resubmit_scheduled: not found, resubmitted after the configured wait unless an
    acknowledgment or 835 comes first; follow_up_scheduled: pending, asked again later."""
    payer_claim_control_number: PayerClaimControlNumber | None = None
    """REF*1K of the 277."""
    effective_on: date | None = None
    """STC02."""
    total_charge: NonNegativeMoney | None = None
    """STC04."""
    paid_amount: Money | None = None
    """STC05."""
    adjudicated_on: date | None = None
    """STC06."""
    paid_on: date | None = None
    """STC08 (check issue or EFT effective date)."""
    check_number: Text30 | None = None
    """STC09."""
    next_check_on: date | None = None
    """When claims asks again (pending) or resubmits (not found)."""
    checked_at: AwareDatetime


class ClaimClosed(_ClaimEvent):
    """Nothing more is expected on the claim."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                **_IDS,
                "resolution": "paid_with_patient_balance",
                "total_paid": "74.50",
                "closed_at": "2026-04-08T12:00:00Z",
            }
        )
    )

    resolution: Literal["paid_in_full", "paid_with_patient_balance", "written_off", "replaced", "voided"]
    total_paid: Money
    """Net paid by this claim's payer over all its remittances."""
    closed_at: AwareDatetime
