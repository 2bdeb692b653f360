"""Sub-models shared by several events: people, addresses, coverages, providers, the encounter.

One class per concept, reused everywhere it appears, so an address or a coverage has one
shape in intake, in EncounterReadyToBill and in the claims the 837P is built from.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from schemas.base import Contract, examples, rule
from schemas.types import (
    AdmissionSource,
    CarcCode,
    CliaNumber,
    Email,
    Icd10Code,
    Icd10PcsCode,
    MemberId,
    Money,
    NonNegativeMoney,
    Npi,
    NubcCode,
    PatientStatus,
    PayerId,
    Phone,
    PlaceOfService,
    Quantity,
    ReferenceNumber,
    SourceId,
    SourceSystem,
    StateCode,
    TaxId,
    Taxonomy,
    TypeOfBill,
    ZipCode,
    ZipPlus4,
)

__all__ = [
    "MEDICAID_FILING",
    "MEDICARE_FILING",
    "Accident",
    "AccidentCause",
    "Address",
    "AdmissionType",
    "BillingProvider",
    "Bills",
    "CasAdjustment",
    "ClaimFilingIndicator",
    "ClaimStatusCode",
    "ClaimType",
    "ContactPreference",
    "Coverage",
    "EncounterDetails",
    "Facility",
    "Frequency",
    "Guarantor",
    "Hour",
    "InstitutionalDetails",
    "InstitutionalDiagnosis",
    "InstitutionalProcedure",
    "MspInsuranceType",
    "OccurrenceCode",
    "OccurrenceSpan",
    "Patient",
    "PatientShare",
    "PayerRef",
    "PersonName",
    "PresentOnAdmission",
    "Provider",
    "ProviderAddress",
    "RejectionReason",
    "Sex",
    "Subscriber",
    "Text10",
    "Text25",
    "Text30",
    "Text35",
    "Text38",
    "Text55",
    "Text60",
    "Text80",
    "Text200",
    "Text500",
    "ValueCode",
]

_NO_CONTROL = r"^[^\x00-\x1f\x7f]+$"


# Free text: 1..N characters, no control characters (they would corrupt X12 and logs).
Text10 = Annotated[str, StringConstraints(min_length=1, max_length=10, pattern=_NO_CONTROL)]
Text25 = Annotated[str, StringConstraints(min_length=1, max_length=25, pattern=_NO_CONTROL)]
Text30 = Annotated[str, StringConstraints(min_length=1, max_length=30, pattern=_NO_CONTROL)]
Text35 = Annotated[str, StringConstraints(min_length=1, max_length=35, pattern=_NO_CONTROL)]
Text38 = Annotated[str, StringConstraints(min_length=1, max_length=38, pattern=_NO_CONTROL)]
Text55 = Annotated[str, StringConstraints(min_length=1, max_length=55, pattern=_NO_CONTROL)]
Text60 = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=_NO_CONTROL)]
Text80 = Annotated[str, StringConstraints(min_length=1, max_length=80, pattern=_NO_CONTROL)]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_CONTROL)]
Text500 = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=_NO_CONTROL)]


Sex = Literal["M", "F", "U"]
"""Administrative sex as X12 DMG03 carries it: M, F, U (unknown)."""

ContactPreference = Literal["email", "mail", "none"]
"""How statements and reminders reach this person; `none` means no patient communication."""

RelationshipToSubscriber = Literal["18", "01", "19", "20", "21", "39", "40", "53", "G8"]
"""X12 individual relationship code (SBR02/PAT01): 18 self, 01 spouse, 19 child, 20 employee,
21 unknown, 39 organ donor, 40 cadaver donor, 53 life partner, G8 other relationship."""

ClaimFilingIndicator = Literal[
    "11", "12", "13", "14", "15", "16", "17", "AM", "BL", "CH", "CI", "DS", "FI", "HM",
    "LM", "MA", "MB", "MC", "OF", "TV", "VA", "WC", "ZZ",
]  # fmt: skip
"""X12 SBR09 claim filing indicator: CI commercial, MB Medicare Part B, MA Medicare Part A,
MC Medicaid, BL Blue Cross/Blue Shield, HM HMO, 16 HMO Medicare risk, CH TRICARE, VA, WC
workers' compensation, 12 PPO, 13 POS, 14 EPO, 15 indemnity, 11 other non-federal, 17 dental,
AM auto medical, DS disability, FI federal employees, LM liability medical, OF other federal,
TV Title V, ZZ unknown."""


MEDICARE_FILING = frozenset({"MA", "MB", "16"})
"""Claim filing indicators of Medicare coverages (Part A, Part B, Medicare risk HMO)."""
MEDICAID_FILING = "MC"

MspInsuranceType = Literal["12", "13", "14", "15", "16", "41", "42", "43", "47"]
"""X12 SBR05 insurance type of a Medicare coverage that is not primary (Medicare secondary
payer): 12 working aged with an employer group health plan, 13 end-stage renal disease with an
employer group health plan, 14 no-fault insurance, 15 workers' compensation, 16 public health
service or other federal agency, 41 black lung, 42 veterans affairs, 43 disabled under 65 with
a large group health plan, 47 other liability insurance."""

AccidentCause = Literal["auto", "employment", "other"]
"""Why the injury happened (837P CLM11 related causes AA, EM, OA)."""

ClaimStatusCode = Literal["1", "2", "3", "4", "19", "20", "21", "22", "23", "25"]
"""835 CLP02: 1/2/3 processed as primary/secondary/tertiary, 4 denied, 19/20/21 processed and
forwarded to another payer, 22 reversal of a previous payment, 23 not our claim, 25
predetermination only."""

Frequency = Literal["1", "7", "8"]
"""837 CLM05-3 claim frequency: 1 original, 7 replacement, 8 void."""

Bills = Literal["professional", "institutional", "both"]
"""What an encounter bills: the professional claim (837P, CMS-1500), the institutional claim
(837I, UB-04: the facility's charges), or both (a hospital-employed physician's visit: the
facility claim and the professional claim)."""

ClaimType = Literal["professional", "institutional"]
"""The claim a charge line goes on."""

PresentOnAdmission = Literal["Y", "N", "U", "W", "1"]
"""Present-on-admission indicator (837I HI01-9): Y yes, N no, U documentation insufficient, W
clinically undetermined, 1 exempt from POA reporting (the 837I leaves the indicator empty)."""

AdmissionType = Literal["1", "2", "3", "4", "5", "9"]
"""NUBC priority (type) of admission or visit (UB-04 FL14, 837I CL101): 1 emergency, 2 urgent,
3 elective, 4 newborn, 5 trauma center, 9 information not available."""

Hour = Annotated[int, Field(ge=0, le=23)]
"""Hour of the day, 0-23 (UB-04 admission and discharge hour codes 00-23)."""


class PersonName(Contract):
    """A person's legal name as the payer has it on file (X12 NM1 limits)."""

    model_config = ConfigDict(json_schema_extra=examples({"family": "Rivera", "given": "Ana", "middle": "L"}))

    family: Text60
    """Last name."""
    given: Text35
    """First name."""
    middle: Text25 | None = None
    suffix: Text10 | None = None
    """Jr, Sr, III, ..."""


class Address(Contract):
    """A US postal address."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "line1": "1450 Valencia St",
                "line2": "Apt 3",
                "city": "San Francisco",
                "state": "CA",
                "postal_code": "94110",
            }
        )
    )

    line1: Text55
    line2: Text55 | None = None
    city: Text30
    state: StateCode
    postal_code: ZipCode
    """ZIP or ZIP+4, carried without the hyphen."""


class ProviderAddress(Address):
    """A provider's street address: the 837P billing provider needs ZIP+4 (and no PO box)."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {"line1": "2100 Webster St", "city": "San Francisco", "state": "CA", "postal_code": "941151234"}
        )
    )

    postal_code: ZipPlus4
    """ZIP+4, carried as 9 digits."""


class Patient(Contract):
    """The patient: demographics and contact details for claims and statements.

    No MRN on purpose (minimum necessary): nothing downstream needs it, and the sender's
    encounter id already links back to the EHR.
    """

    name: PersonName
    birth_date: date
    sex: Sex
    address: Address
    email: Email | None = None
    phone: Phone | None = None
    contact_preference: ContactPreference
    source_account_number: Text38
    """The hospital's account number for this patient (printed on its own statements)."""

    @model_validator(mode="after")
    def _email_when_preferred(self) -> Self:
        if self.contact_preference == "email" and self.email is None:
            raise rule("email_required", "email is required when contact_preference is email")
        return self


class Guarantor(Contract):
    """Who is financially responsible and receives statements."""

    relationship_to_patient: Literal["self", "spouse", "parent", "legal_guardian", "other"]
    name: PersonName
    address: Address
    email: Email | None = None
    phone: Phone | None = None
    contact_preference: ContactPreference
    """How statements reach the guarantor."""

    @model_validator(mode="after")
    def _email_when_preferred(self) -> Self:
        if self.contact_preference == "email" and self.email is None:
            raise rule("email_required", "email is required when contact_preference is email")
        return self


class Subscriber(Contract):
    """The insured person when it is not the patient (837P loop 2010BA)."""

    name: PersonName
    birth_date: date
    sex: Sex
    address: Address | None = None


class Coverage(Contract):
    """One insurance coverage; coverages are listed in the order payers are billed."""

    rank: int = Field(ge=1, le=3)
    """1 primary, 2 secondary, 3 tertiary; must equal the position in the list."""
    payer_id: PayerId
    payer_name: Text60
    facility_payer_id: PayerId | None = None
    """The payer that adjudicates this coverage's institutional (837I) claims when it is not
    payer_id: Medicare Part A for a hospital's claims while payer_id is the Part B carrier."""
    facility_payer_name: Text60 | None = None
    """The facility payer's name; only with facility_payer_id."""
    member_id: MemberId
    group_number: ReferenceNumber | None = None
    relationship_to_subscriber: RelationshipToSubscriber
    subscriber: Subscriber | None = None
    """Required unless the patient is the subscriber (relationship 18), absent when it is."""
    claim_filing_indicator: ClaimFilingIndicator
    prior_authorization_numbers: list[ReferenceNumber] = Field(default_factory=list, max_length=10)
    qmb: bool = False
    """Medicare coverage of a Qualified Medicare Beneficiary: Medicaid covers the Medicare cost
    share, which the patient is never billed (Medicare coverages only: MA, MB, 16)."""
    share_of_cost: NonNegativeMoney | None = None
    """Medi-Cal share of cost: the monthly amount the patient meets before Medicaid pays, the
    only part of the cost share the patient may be billed (Medicaid coverages only: MC)."""
    referral_number: ReferenceNumber | None = None
    """The payer's referral number for this visit (837P REF*9F), when the plan requires a
    referral from the primary care physician (HMO, POS plans)."""
    insurance_type_code: MspInsuranceType | None = None
    """Why Medicare is not the primary payer (837P SBR05), for a Medicare coverage ranked 2 or 3
    (Medicare secondary payer): Medicare returns such claims without it. Only allowed there."""

    @model_validator(mode="after")
    def _subscriber_matches_relationship(self) -> Self:
        if self.relationship_to_subscriber == "18" and self.subscriber is not None:
            raise rule("subscriber_forbidden", "subscriber must be absent when relationship_to_subscriber is 18 (self)")
        if self.relationship_to_subscriber != "18" and self.subscriber is None:
            raise rule("subscriber_required", "subscriber is required unless relationship_to_subscriber is 18 (self)")
        if self.qmb and self.claim_filing_indicator not in MEDICARE_FILING:
            raise rule("qmb_not_medicare", "qmb applies to a Medicare coverage only (claim_filing_indicator MA, MB "
                                           "or 16)")
        if self.share_of_cost is not None and self.claim_filing_indicator != "MC":
            raise rule("share_of_cost_not_medicaid", "share_of_cost applies to a Medicaid coverage only "
                                                     "(claim_filing_indicator MC)")
        if self.insurance_type_code is not None and (self.rank == 1 or self.claim_filing_indicator not in
                                                     MEDICARE_FILING):
            raise rule("insurance_type_not_msp", "insurance_type_code applies to a Medicare coverage (claim_filing_"
                                                 "indicator MA, MB or 16) ranked 2 or 3 only")
        if self.facility_payer_name is not None and self.facility_payer_id is None:
            raise rule("facility_payer_name_without_id", "facility_payer_name requires facility_payer_id")
        return self


class BillingProvider(Contract):
    """The billing provider (837P loop 2010AA)."""

    npi: Npi
    tax_id: TaxId
    taxonomy: Taxonomy
    name: Text60
    """Organization name."""
    address: ProviderAddress
    clia_number: CliaNumber | None = None
    """CLIA certificate of the laboratory the provider bills tests for (837P REF*X4), sent on
    claims with laboratory codes (80000-89999, or any code with modifier QW, CLIA-waived).
    It belongs to the billing site as its NPI and tax id do, and travels with them."""


class Provider(Contract):
    """A rendering or referring practitioner."""

    npi: Npi
    name: PersonName
    taxonomy: Taxonomy | None = None


class Facility(Contract):
    """Service facility location when it differs from the billing provider (837P loop 2310C)."""

    name: Text60
    npi: Npi | None = None
    address: Address


class Accident(Contract):
    """The encounter treats an injury from an accident (837P CLM11 related causes, DTP*439)."""

    model_config = ConfigDict(
        json_schema_extra=examples({"causes": ["auto"], "occurred_on": "2026-02-27", "state": "CA"})
    )

    causes: list[AccidentCause] = Field(min_length=1, max_length=2)
    """One or two causes, e.g. ["employment", "auto"] for a crash while driving for work."""
    occurred_on: date
    """The accident date."""
    state: StateCode | None = None
    """Where an auto accident happened: required with the cause auto, absent otherwise."""

    @model_validator(mode="after")
    def _accident_rules(self) -> Self:
        if len(set(self.causes)) != len(self.causes):
            raise rule("accident_cause_duplicate", "causes must not repeat")
        if ("auto" in self.causes) != (self.state is not None):
            raise rule("accident_state", "state is required with the cause auto and only allowed with it")
        return self


class PayerRef(Contract):
    """A payer, by id and name."""

    model_config = ConfigDict(json_schema_extra=examples({"payer_id": "60054", "payer_name": "Aetna"}))

    payer_id: PayerId
    payer_name: Text60


class RejectionReason(Contract):
    """Why an inbound event was rejected: fix the named field and send it again."""

    model_config = ConfigDict(
        json_schema_extra=examples(
            {
                "code": "ICD10_NOT_BILLABLE",
                "field": "diagnoses[0]",
                "message": "diagnosis is a category, not a billable code",
            }
        )
    )

    code: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,63}$")]
    """Stable machine-readable reason code."""
    field: Text200 | None = None
    """Path of the offending field in the sender's event (e.g. coverages[0].member_id)."""
    message: Text500
    """Readable explanation. Never echoes patient data."""


class CasAdjustment(Contract):
    """One CAS triplet: group, reason, amount (and optional quantity)."""

    model_config = ConfigDict(
        json_schema_extra=examples({"group": "CO", "reason_code": "45", "amount": "32.00", "quantity": None})
    )

    group: Literal["CO", "PR", "OA", "PI"]
    """CO contractual, PR patient responsibility, OA other, PI payer-initiated."""
    reason_code: CarcCode
    amount: Money
    """Positive reduces the payment; negative in reversals."""
    quantity: Quantity | None = None


class PatientShare(Contract):
    """Patient responsibility split the way statements show it (PR CARC 1, 2, 3, other).

    Signed because a remittance reversal negates it; balances require it non-negative."""

    deductible: Money
    coinsurance: Money
    copay: Money
    other: Money
    """Other PR adjustments (e.g. PR-96 non-covered, PR-204)."""

    def total(self) -> Decimal:
        return self.deductible + self.coinsurance + self.copay + self.other


def is_inpatient_bill(type_of_bill: str) -> bool:
    """Whether a type of bill (facility digit + classification) is an inpatient bill: the inpatient
    classifications (1 inpatient Part A, 2 inpatient Part B, 8 swing bed) of the facilities that
    admit patients: hospitals (1x), skilled nursing (2x), religious nonmedical hospitals (4x) and
    intermediate care (6x). Home health (3x) classifies visits, and clinics (7x) and special
    facilities (8x) use the digit for their kind: none of them admits. One rule for every service
    (charges validates, claims scrubs and assembles, the sandbox adjudicates by it)."""
    return type_of_bill[0] in "1246" and type_of_bill[1] in "128"


class InstitutionalDiagnosis(Contract):
    """An ICD-10-CM code of the institutional claim with its present-on-admission indicator."""

    model_config = ConfigDict(json_schema_extra=examples({"code": "J189", "present_on_admission": "Y"}))

    code: Icd10Code
    present_on_admission: PresentOnAdmission | None = None
    """Whether the condition was present when the inpatient was admitted; payers require it on
    inpatient claims (Medicare: acute-care hospitals), the claims scrubber checks it per payer."""


class InstitutionalProcedure(Contract):
    """An inpatient ICD-10-PCS procedure and the day it was performed (837I HI BBR/BBQ)."""

    model_config = ConfigDict(json_schema_extra=examples({"code": "0BH17EZ", "performed_on": "2026-03-03"}))

    code: Icd10PcsCode
    performed_on: date
    """Inside the statement covers period."""


class OccurrenceCode(Contract):
    """A NUBC occurrence code and its date (UB-04 FL31-34, 837I HI BH), e.g. 11 onset of symptoms."""

    model_config = ConfigDict(json_schema_extra=examples({"code": "11", "occurred_on": "2026-02-28"}))

    code: NubcCode
    occurred_on: date


class OccurrenceSpan(Contract):
    """A NUBC occurrence span code and its period (UB-04 FL35-36, 837I HI BI), e.g. 74 non-covered
    level of care."""

    model_config = ConfigDict(
        json_schema_extra=examples({"code": "74", "from_date": "2026-03-02", "through_date": "2026-03-03"})
    )

    code: NubcCode
    from_date: date
    through_date: date
    """Not before from_date."""


class ValueCode(Contract):
    """A NUBC value code and its amount (UB-04 FL39-41, 837I HI BE), e.g. 80 covered days."""

    model_config = ConfigDict(json_schema_extra=examples({"code": "80", "amount": "3.00"}))

    code: NubcCode
    amount: NonNegativeMoney
    """A dollar amount, or a count written as an amount (days: "3.00")."""


class InstitutionalDetails(Contract):
    """What the institutional claim (837I, UB-04) needs beyond the encounter: required when the
    encounter bills institutional or both, absent otherwise.

    Shapes are checked here; the rules between fields (statement period order, admission inside
    it, procedures on inpatient bills only, no repeated codes) are checked by the charges service,
    which answers a breach with EncounterRejected naming the field.
    """

    type_of_bill: TypeOfBill
    """Facility type and classification (11 hospital inpatient, 13 hospital outpatient)."""
    billing_provider: BillingProvider | None = None
    """The facility billing the institutional claim (837I loop 2010AA) when it is not the
    encounter's billing_provider (which then bills the professional claim: a physician group)."""
    statement_from: date
    """First day of the statement covers period (UB-04 FL6, 837I DTP*434)."""
    statement_through: date
    """Last day of the period; every institutional charge's service dates fall inside it."""
    admission_hour: Hour | None = None
    """Hour of admission (837I DTP*435 with the encounter's admission_date)."""
    admission_type: AdmissionType | None = None
    """Required on inpatient bills (837I CL101)."""
    admission_source: AdmissionSource | None = None
    """Point of origin; required on inpatient bills (837I CL102)."""
    discharge_hour: Hour | None = None
    """Hour of discharge (837I DTP*096); only with the encounter's discharge_date."""
    patient_status: PatientStatus
    """Discharge status as of statement_through (837I CL103)."""
    attending_provider: Provider
    """The attending physician (837I loop 2310A); taxonomy recommended."""
    operating_provider: Provider | None = None
    """The surgeon of the principal procedure (837I loop 2310B)."""
    other_operating_provider: Provider | None = None
    """Another operating physician (837I loop 2310C)."""
    principal_diagnosis: InstitutionalDiagnosis
    """The condition chiefly responsible for the stay or visit (837I HI ABK)."""
    admitting_diagnosis: Icd10Code | None = None
    """The diagnosis at admission (837I HI ABJ), on inpatient bills."""
    reason_for_visit: list[Icd10Code] = Field(default_factory=list, max_length=3)
    """The patient's reasons for an unscheduled outpatient visit (837I HI APR)."""
    other_diagnoses: list[InstitutionalDiagnosis] = Field(default_factory=list, max_length=24)
    """Other conditions coexisting or arising during the stay (837I HI ABF, two segments of 12)."""
    principal_procedure: InstitutionalProcedure | None = None
    """The principal ICD-10-PCS procedure, inpatient bills only (837I HI BBR)."""
    other_procedures: list[InstitutionalProcedure] = Field(default_factory=list, max_length=24)
    """Other ICD-10-PCS procedures, inpatient bills only, with a principal one (837I HI BBQ)."""
    condition_codes: list[NubcCode] = Field(default_factory=list, max_length=24)
    """NUBC condition codes (UB-04 FL18-28, 837I HI BG)."""
    occurrence_codes: list[OccurrenceCode] = Field(default_factory=list, max_length=24)
    occurrence_spans: list[OccurrenceSpan] = Field(default_factory=list, max_length=24)
    value_codes: list[ValueCode] = Field(default_factory=list, max_length=24)


class EncounterDetails(Contract):
    """The encounter as the EHR knows it: patient, guarantor, coverages, providers, diagnoses.

    Every encounter event carries the whole current state (event-carried state transfer),
    never a delta, so a consumer rebuilds its projection from the latest event alone.
    """

    source_system: SourceSystem
    source_encounter_id: SourceId
    """The sender's visit identifier: an opaque surrogate, never an MRN (it is the Kafka key)."""
    patient: Patient
    guarantor: Guarantor
    coverages: list[Coverage] = Field(default_factory=list, max_length=3)
    """In billing order (primary first); empty for self-pay."""
    billing_provider: BillingProvider
    rendering_provider: Provider | None = None
    """Omit when the billing provider is an individual who rendered the care."""
    referring_provider: Provider | None = None
    """The practitioner who referred the patient (837P loop 2310A)."""
    facility: Facility | None = None
    """Where the care was given when it is not the billing provider's address (837P loop
    2310C): required for a hospital, emergency room or other facility place of service."""
    place_of_service: PlaceOfService
    admission_date: date | None = None
    discharge_date: date | None = None
    diagnoses: list[Icd10Code] = Field(default_factory=list, max_length=12)
    """ICD-10-CM codes in order; the first is the principal diagnosis. May be empty until
    coding is complete (EncounterClosed)."""
    accident: Accident | None = None
    """Set when the encounter treats an injury from an accident (auto, at work, other)."""
    bills: Bills = "professional"
    """Which claims the encounter produces: professional (the default), institutional, or both."""
    institutional: InstitutionalDetails | None = None
    """The facility claim's data: required when bills is institutional or both, absent when
    it is professional."""

    @model_validator(mode="after")
    def _encounter_rules(self) -> Self:
        if [c.rank for c in self.coverages] != list(range(1, len(self.coverages) + 1)):
            raise rule("coverage_rank_order", "coverages must be listed with rank 1, 2, 3 in order")
        if len(set(self.diagnoses)) != len(self.diagnoses):
            raise rule("diagnosis_duplicate", "diagnoses must not repeat a code")
        if self.discharge_date is not None:
            if self.admission_date is None:
                raise rule("admission_required", "admission_date is required when discharge_date is set")
            if self.discharge_date < self.admission_date:
                raise rule("discharge_before_admission", "discharge_date must not be before admission_date")
        return self
