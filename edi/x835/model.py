"""The X12 835 (005010X221A1) model: the claim payment/advice as frozen dataclasses.

Amounts are ``Decimal``. Enums hold the code lists the reader accepts (CLP02, BPR01, BPR04,
CAS01); ``CLAIM_DATES``, ``LINE_DATES`` and the MIA element numbers map qualifiers and element
positions to fields for the reader and the writer alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from edi.composites import Procedure
from edi.issues import X12Issue

IMPLEMENTATION = "005010X221A1"
FUNCTIONAL_ID = "HP"


class ClaimStatus(StrEnum):
    """CLP02."""

    PROCESSED_AS_PRIMARY = "1"
    PROCESSED_AS_SECONDARY = "2"
    PROCESSED_AS_TERTIARY = "3"
    DENIED = "4"
    PROCESSED_AS_PRIMARY_FORWARDED = "19"
    PROCESSED_AS_SECONDARY_FORWARDED = "20"
    PROCESSED_AS_TERTIARY_FORWARDED = "21"
    REVERSAL = "22"
    NOT_OUR_CLAIM = "23"
    PREDETERMINATION = "25"

    @property
    def forwarded(self) -> bool:
        """The payer crossed the claim over itself: billing the next payer would duplicate it."""
        return self in _FORWARDED


_FORWARDED = frozenset(
    {
        ClaimStatus.PROCESSED_AS_PRIMARY_FORWARDED,
        ClaimStatus.PROCESSED_AS_SECONDARY_FORWARDED,
        ClaimStatus.PROCESSED_AS_TERTIARY_FORWARDED,
    }
)


class HandlingCode(StrEnum):
    """BPR01."""

    PAYMENT_WITH_REMITTANCE = "C"
    MAKE_PAYMENT_ONLY = "D"
    NOTIFICATION_ONLY = "H"
    REMITTANCE_ONLY = "I"
    PRENOTIFICATION = "P"
    SPLIT_PAYMENT = "U"
    HANDLING_PARTY_OPTION = "X"


class PaymentMethod(StrEnum):
    """BPR04."""

    ACH = "ACH"
    BOP = "BOP"
    CHK = "CHK"
    FWT = "FWT"
    NON = "NON"


class AdjustmentGroup(StrEnum):
    """CAS01. CR (correction and reversal) belongs to 837 COB loops, not to a 5010 835."""

    CONTRACTUAL = "CO"
    OTHER = "OA"
    PAYER_INITIATED = "PI"
    PATIENT_RESPONSIBILITY = "PR"


@dataclass(frozen=True, kw_only=True)
class Address:
    line1: str
    line2: str = ""
    city: str
    state: str = ""
    postal_code: str = ""
    country: str = ""


@dataclass(frozen=True)
class Reference:
    qualifier: str
    value: str


@dataclass(frozen=True)
class Contact:
    function: str  # PER01: BL technical, CX business, IC web site
    name: str = ""
    numbers: tuple[tuple[str, str], ...] = ()  # (qualifier, number) pairs: TE, EM, FX, UR, EX


@dataclass(frozen=True, kw_only=True)
class Payer:
    name: str
    address: Address
    id_qualifier: str = ""  # N103 (XV)
    id: str = ""  # N104
    references: tuple[Reference, ...] = ()  # REF 2U, EO, HI, NF
    contacts: tuple[Contact, ...] = ()  # PER*BL is required by the guide

    @property
    def technical_contact(self) -> Contact | None:
        return next((c for c in self.contacts if c.function == "BL"), None)


@dataclass(frozen=True, kw_only=True)
class Payee:
    name: str
    id_qualifier: str  # N103: XX NPI, FI tax id, XV CMS plan id
    id: str
    address: Address | None = None
    references: tuple[Reference, ...] = ()  # REF TJ tax id, PQ, 0B, D3

    @property
    def npi(self) -> str | None:
        return self.id if self.id_qualifier == "XX" else None

    @property
    def tax_id(self) -> str | None:
        if self.id_qualifier == "FI":
            return self.id
        return next((r.value for r in self.references if r.qualifier == "TJ"), None)


@dataclass(frozen=True, kw_only=True)
class EntityName:
    """An NM1 of the claim loop: QC patient, IL insured, 74 corrected name, 82 rendering
    provider, TT crossover carrier, PR corrected priority payer, GB other subscriber."""

    entity: str
    entity_type: str = "1"  # NM102: 1 person, 2 organization
    last_name: str = ""
    first_name: str = ""
    middle_name: str = ""
    suffix: str = ""
    id_qualifier: str = ""
    id: str = ""


@dataclass(frozen=True)
class Adjustment:
    group: AdjustmentGroup
    reason: str  # CARC
    amount: Decimal
    quantity: Decimal | None = None


@dataclass(frozen=True)
class Amount:
    qualifier: str
    amount: Decimal


@dataclass(frozen=True)
class Quantity:
    qualifier: str
    quantity: Decimal


@dataclass(frozen=True)
class Remark:
    qualifier: str  # LQ01: HE remittance advice remark code (RARC), RX NCPDP reject code
    code: str


@dataclass(frozen=True, kw_only=True)
class OutpatientAdjudication:
    """MOA."""

    reimbursement_rate: Decimal | None = None
    hcpcs_payable: Decimal | None = None
    remark_codes: tuple[str, ...] = ()  # MOA03-MOA07
    esrd_payment: Decimal | None = None
    nonpayable_professional: Decimal | None = None


# MIA element numbers: remark codes, and the amounts and counts kept by number in ``values``.
MIA_REMARKS = (5, 20, 21, 22, 23)
MIA_NUMBERS = (2, 4, *range(6, 20), 24)


@dataclass(frozen=True, kw_only=True)
class InpatientAdjudication:
    """MIA. The many Medicare Part A amounts are kept by element number, not named one by one."""

    covered_days: Decimal  # MIA01
    lifetime_psychiatric_days: Decimal | None = None  # MIA03
    remark_codes: tuple[str, ...] = ()  # MIA05, MIA20-MIA23
    values: tuple[tuple[int, Decimal], ...] = ()  # (element number, value) for MIA02, 04, 06-19, 24


# DTM qualifier -> date field of the claim (loop 2100) and of the service line (loop 2110).
CLAIM_DATES = {"232": "statement_from", "233": "statement_to", "036": "coverage_expiration", "050": "received"}
LINE_DATES = {"472": "service_date", "150": "service_start", "151": "service_end"}


@dataclass(frozen=True, kw_only=True)
class ServiceLine:
    """Loop 2110 (SVC)."""

    procedure: Procedure
    charge: Decimal  # SVC02
    paid: Decimal  # SVC03
    revenue_code: str = ""  # SVC04
    units_paid: Decimal | None = None  # SVC05
    original_procedure: Procedure | None = None  # SVC06, when the payer changed the code
    original_units: Decimal | None = None  # SVC07
    service_date: date | None = None  # DTM*472
    service_start: date | None = None  # DTM*150
    service_end: date | None = None  # DTM*151
    adjustments: tuple[Adjustment, ...] = ()
    line_control_number: str = ""  # REF*6R, echoed from the 837 so the line can be matched
    references: tuple[Reference, ...] = ()  # other REF
    amounts: tuple[Amount, ...] = ()  # AMT: B6 allowed, KH late filing reduction, ...
    quantities: tuple[Quantity, ...] = ()
    remarks: tuple[Remark, ...] = ()  # LQ
    position: int | None = field(default=None, compare=False)  # SVC segment, for messages

    @property
    def allowed(self) -> Decimal | None:
        return _amount(self.amounts, "B6")

    @property
    def date_of_service(self) -> date | None:
        return self.service_date or self.service_start


@dataclass(frozen=True, kw_only=True)
class ClaimPayment:
    """Loop 2100 (CLP) with its service lines."""

    patient_control_number: str  # CLP01 = 837 CLM01
    status: ClaimStatus
    charge: Decimal  # CLP03
    paid: Decimal  # CLP04
    patient_responsibility: Decimal | None = None  # CLP05
    filing_indicator: str  # CLP06
    payer_claim_control_number: str  # CLP07
    facility_code: str = ""  # CLP08
    frequency_code: str = ""  # CLP09
    drg_code: str = ""  # CLP11
    drg_weight: Decimal | None = None  # CLP12
    discharge_fraction: Decimal | None = None  # CLP13
    adjustments: tuple[Adjustment, ...] = ()  # claim-level CAS only
    patient: EntityName  # NM1*QC
    insured: EntityName | None = None  # NM1*IL
    corrected_name: EntityName | None = None  # NM1*74
    rendering_provider: EntityName | None = None  # NM1*82
    crossover_carrier: EntityName | None = None  # NM1*TT
    corrected_priority_payer: EntityName | None = None  # NM1*PR
    other_subscriber: EntityName | None = None  # NM1*GB
    inpatient: InpatientAdjudication | None = None
    outpatient: OutpatientAdjudication | None = None
    statement_from: date | None = None  # DTM*232
    statement_to: date | None = None  # DTM*233
    coverage_expiration: date | None = None  # DTM*036
    received: date | None = None  # DTM*050
    references: tuple[Reference, ...] = ()  # REF 1L, EA, F8, ... and rendering provider ids
    amounts: tuple[Amount, ...] = ()  # AMT: AU coverage, I interest, ...
    quantities: tuple[Quantity, ...] = ()
    service_lines: tuple[ServiceLine, ...] = ()
    position: int | None = field(default=None, compare=False)  # CLP segment, for messages

    @property
    def line_adjustments(self) -> tuple[Adjustment, ...]:
        return tuple(a for line in self.service_lines for a in line.adjustments)

    @property
    def all_adjustments(self) -> tuple[Adjustment, ...]:
        return self.adjustments + self.line_adjustments

    @property
    def remark_codes(self) -> tuple[str, ...]:
        codes: tuple[str, ...] = ()
        if self.inpatient:
            codes += self.inpatient.remark_codes
        if self.outpatient:
            codes += self.outpatient.remark_codes
        return codes

    def reference(self, qualifier: str) -> str | None:
        return next((r.value for r in self.references if r.qualifier == qualifier), None)


@dataclass(frozen=True)
class HeaderNumber:
    """Loop 2000 (LX): claims grouped by the payer, e.g. by bill type."""

    number: int
    claims: tuple[ClaimPayment, ...]


@dataclass(frozen=True, kw_only=True)
class ProviderAdjustment:
    """One reason/amount pair of a PLB. A positive amount reduces the payment (recoupment,
    WO), a negative one increases it (L6 interest)."""

    provider_id: str  # PLB01
    fiscal_period_date: date  # PLB02
    reason: str  # PLB03-1: L6, WO, FB, 72, CS, ...
    reference: str = ""  # PLB03-2
    amount: Decimal


@dataclass(frozen=True, kw_only=True)
class BankDetails:
    """BPR06-BPR15 (EFT routing), all situational."""

    sender_dfi_qualifier: str = ""
    sender_dfi_id: str = ""
    sender_account_qualifier: str = ""
    sender_account: str = ""
    originating_company_id: str = ""  # BPR10
    originating_company_supplemental: str = ""  # BPR11
    receiver_dfi_qualifier: str = ""
    receiver_dfi_id: str = ""
    receiver_account_qualifier: str = ""
    receiver_account: str = ""


@dataclass(frozen=True, kw_only=True)
class RemittanceTransaction:
    """One ST 835 transaction set: one payment (or notification) from one payer to one payee."""

    handling_code: HandlingCode  # BPR01
    total_payment: Decimal  # BPR02
    credit_debit: str = "C"  # BPR03
    payment_method: PaymentMethod  # BPR04
    payment_format: str = ""  # BPR05: CCP, CTX
    bank: BankDetails | None = None
    payment_date: date  # BPR16
    trace_number: str  # TRN02: check or EFT trace number
    trace_payer_id: str  # TRN03: "1" + payer EIN
    trace_supplemental: str = ""  # TRN04
    currency: str = ""  # CUR02
    receiver_id: str = ""  # REF*EV
    version_id: str = ""  # REF*F2
    production_date: date | None = None  # DTM*405
    payer: Payer
    payee: Payee
    header_numbers: tuple[HeaderNumber, ...] = ()
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    control_number: str = field(default="", compare=False)  # ST02, assigned by the writer
    position: int | None = field(default=None, compare=False)  # ST segment
    findings: tuple[X12Issue, ...] = field(default=(), compare=False)  # read anyway, reported (e.g. no PER*BL)

    @property
    def claims(self) -> tuple[ClaimPayment, ...]:
        return tuple(c for header in self.header_numbers for c in header.claims)


@dataclass(frozen=True, kw_only=True)
class Remittance835:
    """A whole 835 file: envelope identifiers (of its first interchange when it holds several) and
    the transaction sets of every interchange in file order."""

    sender_id: str
    receiver_id: str
    interchange_control_number: str
    group_control_number: str
    transactions: tuple[RemittanceTransaction, ...]
    envelope_findings: tuple[X12Issue, ...] = field(default=(), compare=False)  # counts, control numbers

    @property
    def findings(self) -> tuple[X12Issue, ...]:
        """Every finding of the file: envelope first, then each transaction set's."""
        return self.envelope_findings + tuple(f for t in self.transactions for f in t.findings)

    @property
    def claims(self) -> tuple[ClaimPayment, ...]:
        return tuple(c for t in self.transactions for c in t.claims)


def _amount(amounts: Iterable[Amount], qualifier: str) -> Decimal | None:
    return next((a.amount for a in amounts if a.qualifier == qualifier), None)
