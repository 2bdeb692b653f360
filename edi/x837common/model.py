"""Typed claim parts shared by the 837P and the 837I: what both writers render and both readers return.

Money is Decimal (JSON: a string or a number; never a float in Python). Free text (names,
addresses) is made X12-safe by the writer (see ``edi.envelope.sanitize_text``); identifiers
and codes are validated here and refused by the writer if they contain a delimiter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from edi.npi import is_valid_npi

FUNCTIONAL_ID = "HC"
MAX_CLAIMS_PER_SUBSCRIBER = 100  # X222 and X223 cap 2300 loops per 2000B/2000C parent

READING: dict[str, Any] = {"reading": True}
"""Validation context of the reader. Some rules here are ours for what we send (NPI check digit,
PRV*BI, ZIP+4, ICD-10 shape, our id character sets), not the implementation guide's: other
senders break them in valid files, so under this context they pass and the reader reports them."""


def writer_rule(ok: bool, message: str, info: ValidationInfo) -> None:
    if not ok and not (isinstance(info.context, dict) and info.context.get("reading")):
        raise ValueError(message)


def _npi(value: str, info: ValidationInfo) -> str:
    writer_rule(is_valid_npi(value), "not a valid NPI (10 digits, first 1 or 2, Luhn check digit)", info)
    return value


def plain_id(max_length: int) -> AfterValidator:
    """Letters, digits and hyphens up to ``max_length``: what we send in ids a partner echoes back."""

    def check(value: str, info: ValidationInfo) -> str:
        ok = len(value) <= max_length and re.fullmatch(r"[A-Za-z0-9\-]+", value) is not None
        writer_rule(ok, f"must be at most {max_length} letters, digits or hyphens", info)
        return value

    return AfterValidator(check)


def _zip(value: str) -> str:
    digits = value.replace("-", "")
    if not re.fullmatch(r"\d{5}(\d{4})?", digits):
        raise ValueError("ZIP must be 5 or 9 digits")
    return digits


def _amount(value: Decimal) -> Decimal:
    if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("amount must be finite with at most 2 decimal places")
    return value


def _diagnosis(value: str, info: ValidationInfo) -> str:
    code = value.replace(".", "").strip().upper()
    writer_rule(re.fullmatch(r"[A-Z][0-9][0-9A-Z]{1,5}", code) is not None, "not an ICD-10-CM code shape", info)
    return code


def _alphanumeric_id(value: str, info: ValidationInfo) -> str:
    writer_rule(value.isascii() and value.isalnum(), "must be letters and digits only", info)
    return value


_alphanumeric = AfterValidator(_alphanumeric_id)
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


def _taxonomy_code(value: str, info: ValidationInfo) -> str:
    writer_rule(re.fullmatch(r"[0-9]{3}[0-9A-Z]{6}X", value) is not None, "not a NUCC taxonomy code shape", info)
    return value


Taxonomy = Annotated[str, Field(min_length=10, max_length=10), AfterValidator(_taxonomy_code)]
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
MEDICARE_FILING = frozenset({"MA", "MB", "16"})


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Address(Model):
    line1: Annotated[str, Field(min_length=1, max_length=55)]
    line2: Annotated[str | None, Field(max_length=55)] = None
    city: Annotated[str, Field(min_length=2, max_length=30)]
    state: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    zip: Zip


class Submitter(Model):
    name: FreeText
    id: Identifier  # NM109 (46 ETIN) assigned by the receiver
    contact_name: FreeText
    phone: Annotated[str, Field(pattern=r"^\d{10}$")]


class Receiver(Model):
    name: FreeText
    id: Identifier


class BillingProvider(Model):
    name: FreeText  # organization name (NM102 = 2)
    npi: NPI
    taxonomy: Taxonomy | None = Field(default=None, validate_default=True, description="PRV*BI; required when writing")
    tax_id: Annotated[str, Field(pattern=r"^\d{9}$")]  # REF*EI
    address: Address

    @field_validator("address")
    @classmethod
    def _zip_plus_four(cls, value: Address, info: ValidationInfo) -> Address:
        writer_rule(len(value.zip) == 9, "billing provider ZIP must be ZIP+4 (9 digits)", info)
        return value

    @field_validator("taxonomy")
    @classmethod
    def _taxonomy(cls, value: str | None, info: ValidationInfo) -> str | None:
        writer_rule(value is not None, "billing provider taxonomy (PRV*BI) is required", info)
        return value


class Person(Model):
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


class Payer(Model):
    name: FreeText
    id: Identifier  # NM109 (PI)


class Provider(Person):
    npi: NPI
    taxonomy: Taxonomy | None = None  # 837P 2310B PRV*PE (rendering), 837I 2310A PRV*AT (attending)


class ServiceFacility(Model):
    """837P 2310C, 837I 2310E: where the services were rendered, when not at the billing provider's address."""

    name: FreeText
    npi: NPI | None = None
    address: Address


class Adjustment(Model):
    """One CAS triplet: group code, reason (CARC), amount, optional quantity."""

    group: AdjustmentGroup
    reason: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,5}$")]
    amount: Money
    quantity: Quantity | None = None




class LineAdjudicationBase(Model):
    """2430: how another payer adjudicated a line (secondary claims); SVD03/SVD04 differ by variant."""

    payer_id: Identifier  # SVD01, must match an OtherPayer.payer.id
    paid_amount: Money
    units: Quantity
    adjustments: Annotated[list[Adjustment], Field(max_length=30)] = []
    adjudication_date: date
    remaining_patient_liability: Money | None = None  # 2430 AMT*EAF


class LineBase(Model):
    """What every service line has: its charge and the other payers' adjudications of it."""

    charge: NonNegativeMoney
    adjudications: Sequence[LineAdjudicationBase] = []


class OtherPayer(Model):
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


class ClaimBase(Model):
    """The 2300 data both variants share and the rules that hold for both; each variant adds its
    CLM05, dates, codes, providers and lines."""

    LINE_CHARGE: ClassVar[str]  # the line charge element CLM02 sums, for messages

    submission_id: Annotated[str, Field(min_length=1, max_length=38), plain_id(20)]  # CLM01
    billing_provider: BillingProvider
    subscriber: Subscriber
    patient: Patient | None = None
    payer: Payer
    payer_responsibility: PayerResponsibility = "P"  # SBR01
    claim_filing_indicator: ClaimFilingIndicator  # SBR09
    insurance_type: InsuranceType | None = None  # SBR05: Medicare as a payer that is not primary
    total_charge: NonNegativeMoney | None = None  # CLM02; computed from the lines when omitted
    frequency: str = "1"  # CLM05-3, narrowed by each variant
    payer_claim_control_number: Identifier | None = None  # REF*F8
    prior_authorization: Identifier | None = None  # REF*G1
    referral_number: Identifier | None = None  # REF*9F
    assignment: Literal["A", "B", "C"] = "A"  # CLM07
    benefits_assigned: Literal["Y", "N", "W"] = "Y"  # CLM08
    release_of_information: Literal["Y", "I"] = "Y"  # CLM09
    other_payers: Annotated[list[OtherPayer], Field(max_length=10)] = []
    lines: Sequence[LineBase]

    @property
    def line_total(self) -> Decimal:
        return sum((line.charge for line in self.lines), Decimal(0))

    @property
    def charge(self) -> Decimal:
        """CLM02: the stated total, which validation guarantees equals the line total."""
        return self.total_charge if self.total_charge is not None else self.line_total

    @model_validator(mode="after")
    def _shared_rules(self) -> ClaimBase:
        if self.total_charge is not None and self.total_charge != self.line_total:
            raise ValueError(f"total_charge must equal the sum of the line charges (CLM02 = sum of {self.LINE_CHARGE})")
        if self.frequency in {"7", "8"} and not self.payer_claim_control_number:
            raise ValueError("frequency 7/8 needs payer_claim_control_number (REF*F8)")
        if self.frequency not in {"7", "8"} and self.payer_claim_control_number:
            raise ValueError("payer_claim_control_number (REF*F8) is only for frequency 7 or 8")
        if self.patient is None and (
            self.subscriber.address is None or self.subscriber.birth_date is None or self.subscriber.gender is None
        ):
            raise ValueError("subscriber who is the patient needs address, birth_date and gender (2010BA)")
        payer_ids = {other.payer.id for other in self.other_payers}
        for n, line in enumerate(self.lines, start=1):
            if any(adj.payer_id not in payer_ids for adj in line.adjudications):
                raise ValueError(f"line {n}: adjudication payer_id matches no other_payers[].payer.id")
        line_payers = {adj.payer_id for line in self.lines for adj in line.adjudications}
        if any(o.adjudication_date is not None and o.payer.id in line_payers for o in self.other_payers):
            raise ValueError(
                "other payer adjudication_date (2330B DTP*573) is only for payers without "
                "line adjudications; put the date on each line adjudication (2430)"
            )
        if len(payer_ids) != len(self.other_payers):
            raise ValueError("other_payers must have distinct payer ids")
        self._check_insurance_types()
        if any(o.remaining_patient_liability is not None and o.payer.id in line_payers for o in self.other_payers):
            raise ValueError(
                "other payer remaining_patient_liability (2320 AMT*EAF) is only for payers without line "
                "adjudications; put it on each line adjudication (2430 AMT*EAF)"
            )
        return self

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


class BatchBase(Model):
    """One interchange: envelope parameters, submitter/receiver and the claims.

    A single claim can be given as ``"claim": {...}`` instead of ``"claims": [...]``.
    """

    sender_id: Annotated[str, Field(min_length=2, max_length=15), _alphanumeric]  # ISA06
    receiver_id: Annotated[str, Field(min_length=2, max_length=15), _alphanumeric]  # ISA08
    interchange_control_number: Annotated[int, Field(ge=1, le=999_999_999)] = 1
    group_control_number: Annotated[int, Field(ge=1, le=999_999_999)] = 1
    created: datetime
    usage_indicator: Literal["T", "P"] = "T"
    reference: Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9\-]+$")]  # BHT03
    submitter: Submitter
    receiver: Receiver
    claims: Sequence[ClaimBase]

    @model_validator(mode="before")
    @classmethod
    def _single_claim(cls, data: Any) -> Any:
        if isinstance(data, dict) and "claim" in data and "claims" not in data:
            data = dict(data)
            data["claims"] = [data.pop("claim")]
        return data

    @model_validator(mode="after")
    def _unique_ids(self) -> BatchBase:
        ids = [claim.submission_id for claim in self.claims]
        if len(set(ids)) != len(ids):
            raise ValueError("claim submission_id values must be unique in a batch")
        return self
