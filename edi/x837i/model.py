"""Typed 837I claim model (005010X223A2): what the writer renders and the reader returns.

The envelope, submitter, billing provider, subscriber, patient, payer and other-payer parts are
the 837P's (``edi.x837common.model``); here are the institutional claim (2300: type of bill,
statement dates, admission, CL1, the UB-04 code sets in HI), its providers (2310A-F) and its
revenue-code lines (2400 SV2). Limits follow the X223 map: 999 lines, the HI segments that repeat
twice hold 24 codes (12 a segment).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from edi.x837common.model import (
    BatchBase,
    ClaimBase,
    Diagnosis,
    LineAdjudicationBase,
    LineBase,
    Model,
    Modifier,
    Money,
    NonNegativeMoney,
    Procedure,
    Provider,
    Quantity,
    ServiceFacility,
)

IMPLEMENTATION_837I = "005010X223A2"
MAX_LINES = 999  # 2400 repeat in X223
HI_REPEATS = 12  # composites in one HI segment
MAX_HI_CODES = 2 * HI_REPEATS  # the HI segments that may repeat (other dx, procedures, codes) repeat twice

RevenueCode = Annotated[str, Field(pattern=r"^\d{4}$")]  # NUBC revenue code, SV201
TypeOfBill = Annotated[str, Field(pattern=r"^[1-8][1-9]$")]  # type of bill digits 2-3 (facility + classification)
IcdPcs = Annotated[str, Field(pattern=r"^[0-9A-HJ-NP-Z]{7}$")]  # ICD-10-PCS: 7 characters, no I or O
UbCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]  # NUBC occurrence, span, value and condition codes
# HIxx-09; exempt diagnoses leave it empty. In the order of schemas.eligibility's EB12 values: equal
# Literal types share one pydantic schema, so the first imported would order the other's JSON enum.
PresentOnAdmission = Literal["Y", "N", "W", "U"]
Frequency = Literal["1", "2", "3", "4", "5", "7", "8"]  # type of bill digit 4 (CLM05-3)
HourMinute = Annotated[str, Field(pattern=r"^([01]\d|2[0-3])[0-5]\d$")]  # HHMM


class CodedDiagnosis(Model):
    """An ICD-10-CM diagnosis with its present-on-admission indicator (HI ABK/ABF)."""

    code: Diagnosis
    present_on_admission: PresentOnAdmission | None = None


class ProcedureCode(Model):
    """An ICD-10-PCS procedure and its date (HI BBR/BBQ, D8)."""

    code: IcdPcs
    performed_on: date


class Occurrence(Model):
    code: UbCode
    occurred_on: date  # HI BH, D8


class OccurrenceSpan(Model):
    code: UbCode
    from_date: date  # HI BI, RD8
    through_date: date

    @model_validator(mode="after")
    def _ordered(self) -> OccurrenceSpan:
        if self.through_date < self.from_date:
            raise ValueError("occurrence span end is before its start")
        return self


class ValueAmount(Model):
    code: UbCode
    amount: Money  # HI BE, component 5


class LineAdjudication(LineAdjudicationBase):
    """2430: another payer's adjudication of this line (SVD03 procedure when billed, SVD04 revenue code)."""

    revenue_code: RevenueCode
    procedure_code: Procedure | None = None
    modifiers: Annotated[list[Modifier], Field(max_length=4)] = []


class ServiceLine(LineBase):
    """2400: one revenue-code line (SV2), with the HCPCS code when the payer needs it (outpatient)."""

    revenue_code: RevenueCode  # SV201
    procedure_code: Procedure | None = None  # SV202-2 (HC)
    modifiers: Annotated[list[Modifier], Field(max_length=4)] = []
    units: Quantity  # SV205: days for room and board (DA), else units (UN)
    unit_code: Literal["UN", "DA"] = "UN"  # SV204
    non_covered_charge: NonNegativeMoney | None = None  # SV207
    service_date: date | None = None  # DTP*472; required on outpatient lines
    service_date_end: date | None = None
    line_control_number: Annotated[str | None, Field(max_length=50, pattern=r"^[A-Za-z0-9\-]+$")] = None  # REF*6R
    adjudications: Annotated[list[LineAdjudication], Field(max_length=15)] = []

    @model_validator(mode="after")
    def _line_rules(self) -> ServiceLine:
        if self.modifiers and self.procedure_code is None:
            raise ValueError("modifiers (SV202-3..6) need a procedure_code (SV202-2)")
        if self.non_covered_charge is not None and self.non_covered_charge > self.charge:
            raise ValueError("non_covered_charge (SV207) exceeds the line charge (SV203)")
        if self.service_date_end is not None:
            if self.service_date is None or self.service_date_end < self.service_date:
                raise ValueError("service_date_end needs a service_date on or before it")
            if self.service_date_end == self.service_date:
                # A one-day range is written as a single D8 date; normalizing keeps round trips exact.
                object.__setattr__(self, "service_date_end", None)
        return self


class Claim(ClaimBase):
    """2300: one institutional claim (a stay or an outpatient visit)."""

    LINE_CHARGE: ClassVar[str] = "SV203"

    type_of_bill: TypeOfBill  # CLM05-1: facility type and classification (the frequency is CLM05-3)
    frequency: Frequency = "1"  # CLM05-3
    delay_reason: Literal["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "15"] | None = None  # CLM20
    statement_from: date  # DTP*434 RD8
    statement_through: date
    admission_date: date | None = None  # DTP*435 (D8, or DT with the hour)
    admission_hour: HourMinute | None = None
    discharge_hour: HourMinute | None = None  # DTP*096 TM
    admission_type: Annotated[str | None, Field(pattern=r"^[1-9]$")] = None  # CL101
    admission_source: Annotated[str | None, Field(pattern=r"^[1-9A-Z]$")] = None  # CL102
    patient_status: Annotated[str, Field(pattern=r"^\d{2}$")]  # CL103, discharge status
    patient_estimated_amount_due: NonNegativeMoney | None = None  # AMT*F3
    medical_record_number: Annotated[str | None, Field(max_length=50, pattern=r"^[A-Za-z0-9\-]+$")] = None  # REF*EA
    principal_diagnosis: CodedDiagnosis  # HI ABK
    admitting_diagnosis: Diagnosis | None = None  # HI ABJ
    reason_for_visit: Annotated[list[Diagnosis], Field(max_length=3)] = []  # HI APR
    drg: Annotated[str | None, Field(pattern=r"^\d{3}$")] = None  # HI DR
    other_diagnoses: Annotated[list[CodedDiagnosis], Field(max_length=MAX_HI_CODES)] = []  # HI ABF
    principal_procedure: ProcedureCode | None = None  # HI BBR
    other_procedures: Annotated[list[ProcedureCode], Field(max_length=MAX_HI_CODES)] = []  # HI BBQ
    occurrence_spans: Annotated[list[OccurrenceSpan], Field(max_length=MAX_HI_CODES)] = []  # HI BI
    occurrence_codes: Annotated[list[Occurrence], Field(max_length=MAX_HI_CODES)] = []  # HI BH
    value_codes: Annotated[list[ValueAmount], Field(max_length=MAX_HI_CODES)] = []  # HI BE
    condition_codes: Annotated[list[UbCode], Field(max_length=MAX_HI_CODES)] = []  # HI BG
    attending_provider: Provider | None = None  # 2310A (PRV*AT with its taxonomy)
    operating_provider: Provider | None = None  # 2310B
    other_operating_provider: Provider | None = None  # 2310C
    rendering_provider: Provider | None = None  # 2310D
    service_facility: ServiceFacility | None = None  # 2310E
    referring_provider: Provider | None = None  # 2310F
    lines: Annotated[list[ServiceLine], Field(min_length=1, max_length=MAX_LINES)]

    @model_validator(mode="after")
    def _institutional_rules(self) -> Claim:
        if self.statement_through < self.statement_from:
            raise ValueError("statement_through (DTP*434) is before statement_from")
        for n, line in enumerate(self.lines, start=1):
            end = line.service_date_end or line.service_date
            if line.service_date is not None and end is not None and not (
                self.statement_from <= line.service_date and end <= self.statement_through
            ):
                raise ValueError(f"line {n}: service date (DTP*472) outside the statement period (DTP*434)")
        if self.admission_hour is not None and self.admission_date is None:
            raise ValueError("admission_hour (DTP*435 DT) needs admission_date")
        if self.admission_date is not None and self.admission_date > self.statement_through:
            raise ValueError("admission_date (DTP*435) is after the statement period (DTP*434)")
        if self.other_procedures and self.principal_procedure is None:
            raise ValueError("other_procedures (HI BBQ) need a principal_procedure (HI BBR)")
        return self


class ClaimBatch(BatchBase):
    """One 837I interchange: envelope parameters, submitter/receiver and the claims.

    A single claim can be given as ``"claim": {...}`` instead of ``"claims": [...]``.
    """

    claims: Annotated[list[Claim], Field(min_length=1)]
