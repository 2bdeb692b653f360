"""What validation reports: rejections (the line or encounter cannot be posted) and warnings.

Messages are fixed sentences that may name counts and positions but never a submitted identifier
or amount (PHI once tied to a patient); a diagnosis finding points at the code by its field
(diagnoses[2]) and names the ICD-10-CM edition, never the code or the date. Messages travel in
events and HL7 ACKs, never into logs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Stable machine-readable codes; they travel as RejectionReason.code in rejection events."""

    # Encounter level
    ENC_NPI_CHECK_DIGIT = "ENC_NPI_CHECK_DIGIT"
    ENC_NO_DIAGNOSIS = "ENC_NO_DIAGNOSIS"
    ENC_DX_TOO_MANY = "ENC_DX_TOO_MANY"
    ENC_DX_DUPLICATE = "ENC_DX_DUPLICATE"
    ENC_DX_INVALID = "ENC_DX_INVALID"
    ENC_DX_NOT_BILLABLE = "ENC_DX_NOT_BILLABLE"
    ENC_DX_EXTERNAL_CAUSE_FIRST = "ENC_DX_EXTERNAL_CAUSE_FIRST"
    ENC_COVERAGE_MISSING = "ENC_COVERAGE_MISSING"
    ENC_COVERAGE_RANK = "ENC_COVERAGE_RANK"
    ENC_POS_INVALID = "ENC_POS_INVALID"
    ENC_ADMISSION_DATE_FUTURE = "ENC_ADMISSION_DATE_FUTURE"
    # Encounter level: the institutional claim's data
    ENC_INSTITUTIONAL_MISSING = "ENC_INSTITUTIONAL_MISSING"
    ENC_INSTITUTIONAL_NOT_BILLED = "ENC_INSTITUTIONAL_NOT_BILLED"
    ENC_STATEMENT_PERIOD_ORDER = "ENC_STATEMENT_PERIOD_ORDER"
    ENC_STATEMENT_DATE_FUTURE = "ENC_STATEMENT_DATE_FUTURE"
    ENC_STAY_OUTSIDE_STATEMENT = "ENC_STAY_OUTSIDE_STATEMENT"
    ENC_INPATIENT_ADMISSION_MISSING = "ENC_INPATIENT_ADMISSION_MISSING"
    ENC_HOUR_WITHOUT_DATE = "ENC_HOUR_WITHOUT_DATE"
    ENC_HOURS_ORDER = "ENC_HOURS_ORDER"
    ENC_PCS_NOT_INPATIENT = "ENC_PCS_NOT_INPATIENT"
    ENC_PCS_PRINCIPAL_MISSING = "ENC_PCS_PRINCIPAL_MISSING"
    ENC_PCS_DATE_OUTSIDE_STATEMENT = "ENC_PCS_DATE_OUTSIDE_STATEMENT"
    ENC_SPAN_ORDER = "ENC_SPAN_ORDER"
    ENC_NUBC_CODE_DUPLICATE = "ENC_NUBC_CODE_DUPLICATE"
    ENC_POSTED_LINE_UNBILLED = "ENC_POSTED_LINE_UNBILLED"
    ENC_POSTED_LINE_OUTSIDE_STATEMENT = "ENC_POSTED_LINE_OUTSIDE_STATEMENT"
    # Charge level: codes
    CHG_CODE_CHOICE = "CHG_CODE_CHOICE"
    CHG_CPT_SHAPE = "CHG_CPT_SHAPE"
    CHG_CPT_UNKNOWN = "CHG_CPT_UNKNOWN"
    CHG_HCPCS_SHAPE = "CHG_HCPCS_SHAPE"
    CHG_HCPCS_UNKNOWN = "CHG_HCPCS_UNKNOWN"
    CHG_HCPCS_NOT_EFFECTIVE = "CHG_HCPCS_NOT_EFFECTIVE"
    CHG_MODIFIER_COUNT = "CHG_MODIFIER_COUNT"
    CHG_MODIFIER_INVALID = "CHG_MODIFIER_INVALID"
    CHG_MODIFIER_DUPLICATE = "CHG_MODIFIER_DUPLICATE"
    CHG_POS_INVALID = "CHG_POS_INVALID"
    CHG_NPI_CHECK_DIGIT = "CHG_NPI_CHECK_DIGIT"
    CHG_ICD_UNKNOWN = "CHG_ICD_UNKNOWN"
    CHG_ICD_NOT_BILLABLE = "CHG_ICD_NOT_BILLABLE"
    CHG_DX_POINTER_COUNT = "CHG_DX_POINTER_COUNT"
    CHG_DX_POINTER_RANGE = "CHG_DX_POINTER_RANGE"
    CHG_DX_POINTER_DUPLICATE = "CHG_DX_POINTER_DUPLICATE"
    # Either level: the ICD-10-CM edition that judged the date is not the one in force on it
    ICD10_EDITION_STALE = "ICD10_EDITION_STALE"
    ICD10_EDITION_EARLIER = "ICD10_EDITION_EARLIER"
    # Charge level: quantities, money, dates
    CHG_UNITS = "CHG_UNITS"
    CHG_AMOUNT = "CHG_AMOUNT"
    CHG_AMOUNT_PRECISION = "CHG_AMOUNT_PRECISION"
    CHG_AMOUNT_MISMATCH = "CHG_AMOUNT_MISMATCH"
    CHG_PRICE_MISSING = "CHG_PRICE_MISSING"
    CHG_SERVICE_DATE_FUTURE = "CHG_SERVICE_DATE_FUTURE"
    CHG_SERVICE_DATE_ORDER = "CHG_SERVICE_DATE_ORDER"
    # Charge level: which claim the line goes on, and what that claim needs of it
    CHG_CLAIM_TYPE_REQUIRED = "CHG_CLAIM_TYPE_REQUIRED"
    CHG_CLAIM_TYPE_NOT_BILLED = "CHG_CLAIM_TYPE_NOT_BILLED"
    CHG_PROCEDURE_REQUIRED = "CHG_PROCEDURE_REQUIRED"
    CHG_REVENUE_CODE_MISSING = "CHG_REVENUE_CODE_MISSING"
    CHG_REVENUE_CODE_TOTAL = "CHG_REVENUE_CODE_TOTAL"
    CHG_SERVICE_OUTSIDE_STATEMENT = "CHG_SERVICE_OUTSIDE_STATEMENT"
    # Charge level: corrections and voids
    CHG_ORIGINAL_NOT_POSTED = "CHG_ORIGINAL_NOT_POSTED"
    CHG_ALREADY_REVERSED = "CHG_ALREADY_REVERSED"
    # Intake door (the chassis consumer): the payload or its record broke the intake contract
    INTAKE_UNKNOWN_FIELD = "INTAKE_UNKNOWN_FIELD"
    INTAKE_KEY_MISMATCH = "INTAKE_KEY_MISMATCH"
    INTAKE_SUBJECT_MISMATCH = "INTAKE_SUBJECT_MISMATCH"
    # Chargemaster
    CDM_UNKNOWN = "CDM_UNKNOWN"
    CDM_NOT_LOADED = "CDM_NOT_LOADED"
    CDM_NOT_EFFECTIVE = "CDM_NOT_EFFECTIVE"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A finding that stops the encounter or charge from being accepted."""

    code: Reason
    field: str | None
    """Path of the offending field in the sender's event, e.g. ``modifiers[1]``."""
    message: str


@dataclass(frozen=True, slots=True)
# Shadows the builtin on purpose: it is the domain's word, and this layer never needs the builtin.
class Warning:
    """A finding worth recording (and showing to billing staff) that does not stop posting."""

    code: Reason
    field: str | None
    message: str


Finding = Rejection | Warning


@dataclass(frozen=True, slots=True)
class ValidationResult:
    rejections: tuple[Rejection, ...] = ()
    warnings: tuple[Warning, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.rejections

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> ValidationResult:
        items = list(findings)
        return cls(
            rejections=tuple(f for f in items if isinstance(f, Rejection)),
            warnings=tuple(f for f in items if isinstance(f, Warning)),
        )

    def codes(self) -> frozenset[Reason]:
        """Every reason code present, rejections and warnings alike (handy for tests and metrics)."""
        return frozenset(r.code for r in self.rejections) | frozenset(w.code for w in self.warnings)


@dataclass(frozen=True, slots=True)
class LineError:
    """A problem in an uploaded file (chargemaster, HCPCS release), located by line number."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"
