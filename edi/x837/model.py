"""Typed 837P claim model (005010X222A1): what the writer renders and the reader returns.

Money is Decimal (JSON: a string or a number; never a float in Python). Free text (names,
addresses) is made X12-safe by the writer (see ``edi.envelope.sanitize_text``); identifiers
and codes are validated here and refused by the writer if they contain a delimiter.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from edi.npi import is_valid_npi

IMPLEMENTATION_837P = "005010X222A1"
FUNCTIONAL_ID = "HC"
MAX_LINES = 50
MAX_DIAGNOSES = 12
MAX_CLAIMS_PER_SUBSCRIBER = 100  # X222 caps 2300 loops per 2000B/2000C parent


def _npi(value: str) -> str:
    if not is_valid_npi(value):
        raise ValueError("not a valid NPI (10 digits, first 1 or 2, Luhn check digit)")
    return value


def _zip(value: str) -> str:
    digits = value.replace("-", "")
    if not re.fullmatch(r"\d{5}(\d{4})?", digits):
        raise ValueError("ZIP must be 5 or 9 digits")
    return digits


def _amount(value: Decimal) -> Decimal:
    if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("amount must be finite with at most 2 decimal places")
    return value


def _diagnosis(value: str) -> str:
    code = value.replace(".", "").strip().upper()
    if not re.fullmatch(r"[A-Z][0-9][0-9A-Z]{1,5}", code):
        raise ValueError("not an ICD-10-CM code shape")
    return code


NPI = Annotated[str, AfterValidator(_npi)]
Zip = Annotated[str, AfterValidator(_zip)]
Money = Annotated[Decimal, AfterValidator(_amount)]
NonNegativeMoney = Annotated[Decimal, Field(ge=0), AfterValidator(_amount)]
Quantity = Annotated[Decimal, Field(gt=0, max_digits=15, decimal_places=3)]
Diagnosis = Annotated[str, AfterValidator(_diagnosis)]
Identifier = Annotated[str, Field(min_length=2, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9\-./ ]*$")]
FreeText = Annotated[str, Field(min_length=1, max_length=60)]
Procedure = Annotated[str, Field(pattern=r"^[A-Z0-9]{5}$")]
Modifier = Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]
PlaceOfService = Annotated[str, Field(pattern=r"^\d{2}$")]
Taxonomy = Annotated[str, Field(pattern=r"^[0-9]{3}[0-9A-Z]{6}X$")]
Gender = Literal["M", "F", "U"]
ClaimFilingIndicator = Literal[
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "AM",
    "BL",
    "CH",
    "CI",
    "DS",
    "FI",
    "HM",
    "LM",
    "MA",
    "MB",
    "MC",
    "OF",
    "TV",
    "VA",
    "WC",
    "ZZ",
]
PayerResponsibility = Literal["P", "S", "T", "A", "B", "C", "D", "E", "F", "G", "H", "U"]
Relationship = Literal["01", "19", "20", "21", "39", "40", "53", "G8"]
AdjustmentGroup = Literal["CO", "CR", "OA", "PI", "PR"]
InsuranceType = Literal["12", "13", "14", "15", "16", "41", "42", "43", "47"]  # SBR05, Medicare secondary payer
RelatedCause = Literal["AA", "EM", "OA"]  # CLM11: auto accident, employment, other accident
DrugUnit = Literal["F2", "GR", "ME", "ML", "UN"]  # CTP05-1
MEDICARE_FILING = frozenset({"MA", "MB", "16"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Address(_Model):
    line1: Annotated[str, Field(min_length=1, max_length=55)]
    line2: Annotated[str | None, Field(max_length=55)] = None
    city: Annotated[str, Field(min_length=2, max_length=30)]
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    zip: Zip


class Submitter(_Model):
    name: FreeText
    id: Identifier  # NM109 (46 ETIN) assigned by the receiver
    contact_name: FreeText
    phone: Annotated[str, Field(pattern=r"^\d{10}$")]


class Receiver(_Model):
    name: FreeText
    id: Identifier


class BillingProvider(_Model):
    name: FreeText  # organization name (NM102 = 2)
    npi: NPI
    taxonomy: Taxonomy
    tax_id: Annotated[str, Field(pattern=r"^\d{9}$")]  # REF*EI
    address: Address

    @field_validator("address")
    @classmethod
    def _zip_plus_four(cls, value: Address) -> Address:
        if len(value.zip) != 9:
            raise ValueError("billing provider ZIP must be ZIP+4 (9 digits)")
        return value


class Person(_Model):
    last_name: FreeText
    first_name: Annotated[str | None, Field(max_length=35)] = None
    middle_name: Annotated[str | None, Field(max_length=25)] = None
    suffix: Annotated[str | None, Field(max_length=10)] = None


class Subscriber(Person):
    member_id: Identifier  # NM109 (MI)
    group_number: Identifier | None = None  # SBR03
    address: Address | None = None
    birth_date: date | None = None
    gender: Gender | None = None


class Patient(Person):
    """A dependent patient (2000C); when the patient is the subscriber leave Claim.patient empty."""

    relationship: Relationship  # PAT01
    address: Address
    birth_date: date
    gender: Gender


class Payer(_Model):
    name: FreeText
    id: Identifier  # NM109 (PI)


class Provider(Person):
    npi: NPI
    taxonomy: Taxonomy | None = None  # 2310B PRV*PE (rendering only)


class ServiceFacility(_Model):
    """2310C: where the services were rendered, when not at the billing provider's address."""

    name: FreeText
    npi: NPI | None = None
    address: Address


class Drug(_Model):
    """2410: the National Drug Code of a drug line and the quantity given (LIN, CTP)."""

    ndc: Annotated[str, Field(pattern=r"^\d{11}$")]  # LIN03, 5-4-2 without hyphens
    quantity: Quantity  # CTP04
    unit: DrugUnit  # CTP05-1


class Adjustment(_Model):
    """One CAS triplet: group code, reason (CARC), amount, optional quantity."""

    group: AdjustmentGroup
    reason: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]
    amount: Money
    quantity: Quantity | None = None


class LineAdjudication(_Model):
    """2430: how another payer adjudicated this line (secondary claims)."""

    payer_id: Identifier  # SVD01, must match an OtherPayer.payer.id
    paid_amount: Money
    procedure_code: Procedure
    modifiers: Annotated[list[Modifier], Field(max_length=4)] = []
    units: Quantity
    adjustments: Annotated[list[Adjustment], Field(max_length=30)] = []
    adjudication_date: date
    remaining_patient_liability: Money | None = None  # 2430 AMT*EAF


class ServiceLine(_Model):
    procedure_code: Procedure
    modifiers: Annotated[list[Modifier], Field(max_length=4)] = []
    charge: NonNegativeMoney
    units: Quantity = Decimal(1)
    unit_code: Literal["UN", "MJ"] = "UN"
    place_of_service: PlaceOfService | None = None  # SV105, only when it differs from CLM05-1
    diagnosis_pointers: Annotated[list[Annotated[int, Field(ge=1, le=12)]], Field(min_length=1, max_length=4)]
    service_date: date
    service_date_end: date | None = None
    line_control_number: Annotated[str | None, Field(max_length=50, pattern=r"^[A-Za-z0-9\-]+$")] = None
    drug: Drug | None = None  # 2410
    rendering_provider: Provider | None = None  # 2420A, only when it differs from the claim's
    ordering_provider: Provider | None = None  # 2420E
    adjudications: list[LineAdjudication] = []

    @model_validator(mode="after")
    def _date_range(self) -> ServiceLine:
        if self.service_date_end is not None:
            if self.service_date_end < self.service_date:
                raise ValueError("service_date_end is before service_date")
            if self.service_date_end == self.service_date:
                # A one-day range is written as a single D8 date; normalizing keeps round trips exact.
                object.__setattr__(self, "service_date_end", None)
        return self


class OtherPayer(_Model):
    """2320/2330A/2330B: another coverage of the patient, with that payer's adjudication."""

    responsibility: PayerResponsibility  # SBR01 of the other payer: P when it was primary
    relationship: Literal["01", "18", "19", "20", "21", "39", "40", "53", "G8"]  # patient to other subscriber
    claim_filing_indicator: ClaimFilingIndicator
    insurance_type: InsuranceType | None = None  # SBR05: a Medicare other payer that is not primary
    group_number: Identifier | None = None
    subscriber: Person
    member_id: Identifier
    payer: Payer
    paid_amount: Money | None = None  # AMT*D
    adjustments: Annotated[list[Adjustment], Field(max_length=30)] = []  # claim-level CAS
    adjudication_date: date | None = None  # 2330B DTP*573 (when no line-level 2430 is sent)
    remaining_patient_liability: Money | None = None  # AMT*EAF (when no line-level 2430 is sent)


class Claim(_Model):
    submission_id: Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9\-]+$")]  # CLM01
    billing_provider: BillingProvider
    subscriber: Subscriber
    patient: Patient | None = None
    payer: Payer
    payer_responsibility: PayerResponsibility = "P"  # SBR01
    claim_filing_indicator: ClaimFilingIndicator  # SBR09
    insurance_type: InsuranceType | None = None  # SBR05: Medicare as a payer that is not primary
    total_charge: NonNegativeMoney | None = None  # CLM02; computed from the lines when omitted
    place_of_service: PlaceOfService
    frequency: Literal["1", "7", "8"] = "1"
    payer_claim_control_number: Identifier | None = None  # REF*F8
    prior_authorization: Identifier | None = None  # REF*G1
    referral_number: Identifier | None = None  # REF*9F
    clia_number: Annotated[str | None, Field(pattern=r"^\d{2}D\d{7}$")] = None  # REF*X4
    related_causes: Annotated[list[RelatedCause], Field(max_length=2)] = []  # CLM11-1, CLM11-2
    accident_state: Annotated[str | None, Field(pattern=r"^[A-Z]{2}$")] = None  # CLM11-4, auto accidents
    accident_date: date | None = None  # DTP*439
    provider_signature: bool = True  # CLM06
    assignment: Literal["A", "B", "C"] = "A"  # CLM07
    benefits_assigned: Literal["Y", "N", "W"] = "Y"  # CLM08
    release_of_information: Literal["Y", "I"] = "Y"  # CLM09
    diagnoses: Annotated[list[Diagnosis], Field(min_length=1, max_length=MAX_DIAGNOSES)]
    referring_provider: Provider | None = None
    rendering_provider: Provider | None = None
    service_facility: ServiceFacility | None = None  # 2310C
    other_payers: Annotated[list[OtherPayer], Field(max_length=10)] = []
    lines: Annotated[list[ServiceLine], Field(min_length=1, max_length=MAX_LINES)]

    @property
    def line_total(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal(0))

    @property
    def charge(self) -> Decimal:
        """CLM02: the stated total, which validation guarantees equals the line total."""
        return self.total_charge if self.total_charge is not None else self.line_total

    @model_validator(mode="after")
    def _consistent(self) -> Claim:
        if self.total_charge is not None and self.total_charge != self.line_total:
            raise ValueError("total_charge must equal the sum of the line charges (CLM02 = sum of SV102)")
        if self.frequency in {"7", "8"} and not self.payer_claim_control_number:
            raise ValueError("frequency 7/8 needs payer_claim_control_number (REF*F8)")
        if self.frequency == "1" and self.payer_claim_control_number:
            raise ValueError("payer_claim_control_number (REF*F8) is only for frequency 7 or 8")
        if self.patient is None and (
            self.subscriber.address is None or self.subscriber.birth_date is None or self.subscriber.gender is None
        ):
            raise ValueError("subscriber who is the patient needs address, birth_date and gender (2010BA)")
        for n, line in enumerate(self.lines, start=1):
            if max(line.diagnosis_pointers) > len(self.diagnoses):
                raise ValueError(f"line {n}: diagnosis pointer beyond the {len(self.diagnoses)} diagnoses")
            if len(set(line.diagnosis_pointers)) != len(line.diagnosis_pointers):
                raise ValueError(f"line {n}: repeated diagnosis pointer")
            payer_ids = {other.payer.id for other in self.other_payers}
            if any(adj.payer_id not in payer_ids for adj in line.adjudications):
                raise ValueError(f"line {n}: adjudication payer_id matches no other_payers[].payer.id")
        line_payers = {adj.payer_id for line in self.lines for adj in line.adjudications}
        if any(o.adjudication_date is not None and o.payer.id in line_payers for o in self.other_payers):
            raise ValueError(
                "other payer adjudication_date (2330B DTP*573) is only for payers without "
                "line adjudications; put the date on each line adjudication (2430)"
            )
        if len({other.payer.id for other in self.other_payers}) != len(self.other_payers):
            raise ValueError("other_payers must have distinct payer ids")
        self._check_accident()
        self._check_insurance_types()
        if any(o.remaining_patient_liability is not None and o.payer.id in line_payers for o in self.other_payers):
            raise ValueError(
                "other payer remaining_patient_liability (2320 AMT*EAF) is only for payers without line "
                "adjudications; put it on each line adjudication (2430 AMT*EAF)"
            )
        return self

    def _check_accident(self) -> None:
        if len(set(self.related_causes)) != len(self.related_causes):
            raise ValueError("related_causes (CLM11) must not repeat")
        if ("AA" in self.related_causes) != (self.accident_state is not None):
            raise ValueError("accident_state (CLM11-4) is required with related cause AA and only allowed with it")
        if {"AA", "OA"} & set(self.related_causes) and self.accident_date is None:
            raise ValueError("related cause AA or OA needs accident_date (DTP*439)")
        if self.accident_date is not None and not self.related_causes:
            raise ValueError("accident_date (DTP*439) needs related_causes (CLM11)")

    def _check_insurance_types(self) -> None:
        # SBR05 says why Medicare is not primary, so it exists only for a non-primary Medicare payer.
        if self.insurance_type is not None and (
            self.payer_responsibility == "P" or self.claim_filing_indicator not in MEDICARE_FILING
        ):
            raise ValueError("insurance_type (SBR05) is only for a Medicare payer that is not primary")
        if any(
            o.insurance_type is not None
            and (o.responsibility == "P" or o.claim_filing_indicator not in MEDICARE_FILING)
            for o in self.other_payers
        ):
            raise ValueError("other payer insurance_type (2320 SBR05) is only for a Medicare payer that is not primary")


class ClaimBatch(_Model):
    """One 837P interchange: envelope parameters, submitter/receiver and the claims.

    A single claim can be given as ``"claim": {...}`` instead of ``"claims": [...]``.
    """

    sender_id: Annotated[str, Field(min_length=2, max_length=15, pattern=r"^[A-Za-z0-9]+$")]
    receiver_id: Annotated[str, Field(min_length=2, max_length=15, pattern=r"^[A-Za-z0-9]+$")]
    interchange_control_number: Annotated[int, Field(ge=1, le=999_999_999)] = 1
    group_control_number: Annotated[int, Field(ge=1, le=999_999_999)] = 1
    created: datetime
    usage_indicator: Literal["T", "P"] = "T"
    reference: Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9\-]+$")]  # BHT03
    submitter: Submitter
    receiver: Receiver
    claims: Annotated[list[Claim], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _single_claim(cls, data: Any) -> Any:
        if isinstance(data, dict) and "claim" in data and "claims" not in data:
            data = dict(data)
            data["claims"] = [data.pop("claim")]
        return data

    @model_validator(mode="after")
    def _unique_ids(self) -> ClaimBatch:
        ids = [claim.submission_id for claim in self.claims]
        if len(set(ids)) != len(ids):
            raise ValueError("claim submission_id values must be unique in a batch")
        return self
