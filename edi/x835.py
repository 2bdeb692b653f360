"""X12 835 (005010X221A1) health care claim payment/advice: typed model, reader, writer, JSON.

``read_835`` turns a file (one or more ST 835 transaction sets) into frozen dataclasses with
``Decimal`` amounts; ``write_835`` renders the same model; ``to_json_dict`` produces the
normalized document other code (posting, CLI) relies on. Balancing lives in ``edi.balancing``
and is reported, never raised, so an unbalanced 835 can still be read and quarantined.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from edi import balancing
from edi.x12 import (
    EnvelopeParams,
    Segment,
    SegmentSpec,
    TransactionSet,
    X12EnvelopeError,
    read_interchange,
    sanitize_text,
    write_interchange,
)
from edi.x12values import (
    Cursor,
    element_error,
    expect_code,
    format_amount,
    format_date,
    format_optional,
    json_amount,
    json_date,
    json_optional_amount,
    json_quantity,
    optional_decimal,
    optional_quantity,
    parse_enum,
    required,
    required_date,
    required_decimal,
    required_int,
    segment_error,
)

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


# --- model ----------------------------------------------------------------------------------


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


@dataclass(frozen=True, kw_only=True)
class Procedure:
    qualifier: str  # HC (CPT/HCPCS), AD (ADA), NU (revenue code), N4 (NDC), ...
    code: str
    modifiers: tuple[str, ...] = ()
    description: str = ""  # SVC06-07 only


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


_MIA_REMARKS = (5, 20, 21, 22, 23)
_MIA_NUMBERS = (2, 4, *range(6, 20), 24)


@dataclass(frozen=True, kw_only=True)
class InpatientAdjudication:
    """MIA. The many Medicare Part A amounts are kept by element number, not named one by one."""

    covered_days: Decimal  # MIA01
    lifetime_psychiatric_days: Decimal | None = None  # MIA03
    remark_codes: tuple[str, ...] = ()  # MIA05, MIA20-MIA23
    values: tuple[tuple[int, Decimal], ...] = ()  # (element number, value) for MIA02, 04, 06-19, 24


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

    @property
    def claims(self) -> tuple[ClaimPayment, ...]:
        return tuple(c for header in self.header_numbers for c in header.claims)


@dataclass(frozen=True, kw_only=True)
class Remittance835:
    """A whole 835 file: envelope identifiers and its transaction sets in file order."""

    sender_id: str
    receiver_id: str
    interchange_control_number: str
    group_control_number: str
    transactions: tuple[RemittanceTransaction, ...]

    @property
    def claims(self) -> tuple[ClaimPayment, ...]:
        return tuple(c for t in self.transactions for c in t.claims)


def _amount(amounts: Iterable[Amount], qualifier: str) -> Decimal | None:
    return next((a.amount for a in amounts if a.qualifier == qualifier), None)


# --- reading --------------------------------------------------------------------------------


def read_835(text: str) -> Remittance835:
    """Read an 835 file. Raises ``X12Error`` subclasses naming segment position and element."""
    interchange = read_interchange(text)
    transactions: list[RemittanceTransaction] = []
    group_control = ""
    for group in interchange.groups:
        for ts in group.transactions:
            if group.functional_id != FUNCTIONAL_ID or ts.id != "835":
                st = ts.segments[0]
                raise X12EnvelopeError("transaction set is not an 835 (GS01 HP, ST01 835)",
                                       position=st.position, segment_id=st.tag)
            transactions.append(read_transaction_set(ts))
        group_control = group_control or group.control_number
    if not transactions:
        raise X12EnvelopeError("file holds no 835 transaction set", position=1, segment_id="ISA")
    return Remittance835(
        sender_id=interchange.sender_id,
        receiver_id=interchange.receiver_id,
        interchange_control_number=interchange.control_number,
        group_control_number=group_control,
        transactions=tuple(transactions),
    )


def read_transaction_set(ts: TransactionSet) -> RemittanceTransaction:
    """One ST 835 transaction set already split out by ``read_interchange``."""
    cur = Cursor(ts.segments[1:-1], ts.segments[-1])
    bpr = cur.expect("BPR", what="financial information")
    trn = cur.expect("TRN", what="reassociation trace number")
    expect_code(trn, 1, ("1",))
    cur_seg = cur.take("CUR")
    receiver_id = version_id = ""
    production_date: date | None = None
    while (seg := cur.peek()) is not None and seg.tag in {"REF", "DTM"}:
        seg = cur.next()
        qualifier = required(seg, 1)
        if seg.tag == "REF" and qualifier == "EV":
            receiver_id = required(seg, 2)
        elif seg.tag == "REF" and qualifier == "F2":
            version_id = required(seg, 2)
        elif seg.tag == "DTM" and qualifier == "405":
            production_date = required_date(seg, 2)
        else:
            raise element_error(seg, 1, "is not a qualifier allowed in the 835 header")
    payer = _read_payer(cur)
    payee = _read_payee(cur)
    headers: list[HeaderNumber] = []
    while cur.at("LX"):
        headers.append(_read_header_number(cur))
    plbs: list[ProviderAdjustment] = []
    while cur.at("PLB"):
        plbs.extend(_read_plb(cur.next()))
    if cur.peek() is not None:
        raise cur.unexpected("the 835 (expected LX, PLB or SE)")
    return RemittanceTransaction(
        handling_code=parse_enum(bpr, 1, HandlingCode, "valid transaction handling code"),
        total_payment=required_decimal(bpr, 2),
        credit_debit=expect_code(bpr, 3, ("C", "D")),
        payment_method=parse_enum(bpr, 4, PaymentMethod, "valid payment method code"),
        payment_format=bpr.el(5),
        bank=_read_bank(bpr),
        payment_date=required_date(bpr, 16),
        trace_number=required(trn, 2),
        trace_payer_id=required(trn, 3),
        trace_supplemental=trn.el(4),
        currency=cur_seg.el(2) if cur_seg else "",
        receiver_id=receiver_id,
        version_id=version_id,
        production_date=production_date,
        payer=payer,
        payee=payee,
        header_numbers=tuple(headers),
        provider_adjustments=tuple(plbs),
        control_number=ts.control_number,
        position=ts.segments[0].position,
    )


def _read_bank(bpr: Segment) -> BankDetails | None:
    values = [bpr.el(i) for i in range(6, 16)]
    if not any(values):
        return None
    return BankDetails(
        sender_dfi_qualifier=values[0], sender_dfi_id=values[1], sender_account_qualifier=values[2],
        sender_account=values[3], originating_company_id=values[4],
        originating_company_supplemental=values[5], receiver_dfi_qualifier=values[6],
        receiver_dfi_id=values[7], receiver_account_qualifier=values[8], receiver_account=values[9],
    )


def _read_address(cur: Cursor, required_segments: bool, what: str) -> Address | None:
    n3 = cur.expect("N3", what=f"{what} address") if required_segments else cur.take("N3")
    if n3 is None:
        if cur.at("N4"):
            raise segment_error(cur.next(), "N4 without the N3 it belongs to")
        return None
    n4 = cur.expect("N4", what=f"{what} city, state, ZIP code")
    return Address(line1=required(n3, 1), line2=n3.el(2), city=required(n4, 1), state=n4.el(2),
                   postal_code=n4.el(3), country=n4.el(4))


def _read_contact(seg: Segment) -> Contact:
    numbers = tuple((seg.el(i), seg.el(i + 1)) for i in (3, 5, 7) if seg.el(i) or seg.el(i + 1))
    for qualifier, number in numbers:
        if not qualifier or not number:
            raise segment_error(seg, "PER communication number and its qualifier must come together")
    return Contact(function=required(seg, 1), name=seg.el(2), numbers=numbers)


def _read_payer(cur: Cursor) -> Payer:
    n1 = cur.expect("N1", "PR", "payer identification")
    address = _read_address(cur, True, "payer")
    assert address is not None
    refs: list[Reference] = []
    contacts: list[Contact] = []
    while cur.at("REF") or cur.at("PER"):
        seg = cur.next()
        if seg.tag == "REF":
            refs.append(Reference(required(seg, 1), required(seg, 2)))
        else:
            contacts.append(_read_contact(seg))
    if not any(c.function == "BL" for c in contacts):
        raise segment_error(n1, "payer loop 1000A has no PER*BL technical contact")
    return Payer(name=required(n1, 2), address=address, id_qualifier=n1.el(3), id=n1.el(4),
                 references=tuple(refs), contacts=tuple(contacts))


def _read_payee(cur: Cursor) -> Payee:
    n1 = cur.expect("N1", "PE", "payee identification")
    address = _read_address(cur, False, "payee")
    refs: list[Reference] = []
    while cur.at("REF") or cur.at("RDM"):
        seg = cur.next()
        if seg.tag == "REF":
            refs.append(Reference(required(seg, 1), required(seg, 2)))
    return Payee(name=required(n1, 2), id_qualifier=expect_code(n1, 3, ("FI", "XV", "XX")),
                 id=required(n1, 4), address=address, references=tuple(refs))


def _read_header_number(cur: Cursor) -> HeaderNumber:
    lx = cur.next()
    number = required_int(lx, 1)
    # TS3/TS2 carry institutional (Part A) provider summaries that nothing downstream uses.
    while cur.at("TS3") or cur.at("TS2"):
        cur.next()
    claims: list[ClaimPayment] = []
    while cur.at("CLP"):
        claims.append(_read_claim(cur))
    if not claims:
        seg = cur.peek()
        raise segment_error(seg or lx, "header number loop (LX) holds no claim (CLP)")
    return HeaderNumber(number, tuple(claims))


def parse_cas(seg: Segment) -> tuple[Adjustment, ...]:
    """One CAS segment: a group code and up to six reason/amount/quantity triplets."""
    group = parse_enum(seg, 1, AdjustmentGroup, "valid claim adjustment group code (CO, OA, PI, PR)")
    adjustments: list[Adjustment] = []
    for k in range(6):
        reason_i = 2 + 3 * k
        if not (seg.el(reason_i) or seg.el(reason_i + 1) or seg.el(reason_i + 2)):
            continue
        reason = required(seg, reason_i)
        amount = required_decimal(seg, reason_i + 1)
        adjustments.append(Adjustment(group, reason, amount, optional_quantity(seg, reason_i + 2)))
    if not adjustments:
        raise element_error(seg, 2, "is required")
    if len(seg.elements) > 19:
        raise segment_error(seg, "CAS has more than six adjustment triplets")
    return tuple(adjustments)


def _read_name(seg: Segment) -> EntityName:
    return EntityName(entity=seg.el(1), entity_type=required(seg, 2), last_name=seg.el(3),
                      first_name=seg.el(4), middle_name=seg.el(5), suffix=seg.el(7),
                      id_qualifier=seg.el(8), id=seg.el(9))


_CLAIM_NAMES = {"QC": "patient", "IL": "insured", "74": "corrected_name", "82": "rendering_provider",
                "TT": "crossover_carrier", "PR": "corrected_priority_payer", "GB": "other_subscriber"}
_CLAIM_DATES = {"232": "statement_from", "233": "statement_to", "036": "coverage_expiration",
                "050": "received"}
_LINE_DATES = {"472": "service_date", "150": "service_start", "151": "service_end"}


def _read_claim(cur: Cursor) -> ClaimPayment:
    clp = cur.next()
    fields: dict[str, Any] = {}
    adjustments: list[Adjustment] = []
    references: list[Reference] = []
    amounts: list[Amount] = []
    quantities: list[Quantity] = []
    while (seg := cur.peek()) is not None and seg.tag in {"CAS", "NM1", "MIA", "MOA", "REF", "DTM",
                                                           "PER", "AMT", "QTY"}:
        seg = cur.next()
        if seg.tag == "CAS":
            adjustments.extend(parse_cas(seg))
        elif seg.tag == "NM1":
            name = _CLAIM_NAMES.get(seg.el(1))
            if name is None:
                raise element_error(seg, 1, "is not an entity code of the claim loop 2100")
            _set_once(fields, name, _read_name(seg), seg)
        elif seg.tag == "MIA":
            _set_once(fields, "inpatient", _read_mia(seg), seg)
        elif seg.tag == "MOA":
            _set_once(fields, "outpatient", _read_moa(seg), seg)
        elif seg.tag == "DTM":
            key = _CLAIM_DATES.get(seg.el(1))
            if key is None:
                raise element_error(seg, 1, "is not a date qualifier of the claim loop 2100")
            _set_once(fields, key, required_date(seg, 2), seg)
        elif seg.tag == "REF":
            references.append(Reference(required(seg, 1), required(seg, 2)))
        elif seg.tag == "AMT":
            amounts.append(Amount(required(seg, 1), required_decimal(seg, 2)))
        elif seg.tag == "QTY":
            quantities.append(Quantity(required(seg, 1), required_decimal(seg, 2, "decimal quantity")))
        # PER*CX claim contacts are informational and not kept.
    if "patient" not in fields:
        raise segment_error(clp, "claim loop 2100 has no NM1*QC patient name")
    lines: list[ServiceLine] = []
    while cur.at("SVC"):
        lines.append(_read_line(cur))
    if (seg := cur.peek()) is not None and seg.tag not in {"CLP", "LX", "PLB"}:
        where = "the service line loop 2110" if lines else "the claim loop 2100"
        raise cur.unexpected(where)
    return ClaimPayment(
        patient_control_number=required(clp, 1),
        status=parse_enum(clp, 2, ClaimStatus, "known claim status code"),
        charge=required_decimal(clp, 3),
        paid=required_decimal(clp, 4),
        patient_responsibility=optional_decimal(clp, 5),
        filing_indicator=required(clp, 6),
        payer_claim_control_number=required(clp, 7),
        facility_code=clp.el(8),
        frequency_code=clp.el(9),
        drg_code=clp.el(11),
        drg_weight=optional_quantity(clp, 12),
        discharge_fraction=optional_quantity(clp, 13),
        adjustments=tuple(adjustments),
        references=tuple(references),
        amounts=tuple(amounts),
        quantities=tuple(quantities),
        service_lines=tuple(lines),
        position=clp.position,
        **fields,
    )


def _set_once(fields: dict[str, Any], key: str, value: object, seg: Segment) -> None:
    if key in fields:
        raise segment_error(seg, "repeats a segment allowed once in its loop")
    fields[key] = value


def _read_mia(seg: Segment) -> InpatientAdjudication:
    values = tuple((i, v) for i in _MIA_NUMBERS if (v := optional_decimal(seg, i)) is not None)
    return InpatientAdjudication(
        covered_days=required_decimal(seg, 1, "decimal quantity"),
        lifetime_psychiatric_days=optional_quantity(seg, 3),
        remark_codes=tuple(seg.el(i) for i in _MIA_REMARKS if seg.el(i)),
        values=values,
    )


def _read_moa(seg: Segment) -> OutpatientAdjudication:
    return OutpatientAdjudication(
        reimbursement_rate=optional_decimal(seg, 1, "decimal rate"),
        hcpcs_payable=optional_decimal(seg, 2),
        remark_codes=tuple(seg.el(i) for i in range(3, 8) if seg.el(i)),
        esrd_payment=optional_decimal(seg, 8),
        nonpayable_professional=optional_decimal(seg, 9),
    )


def _read_procedure(seg: Segment, i: int) -> Procedure:
    parts = seg.comps(i)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise element_error(seg, i, "needs a product/service id qualifier and a procedure code")
    return Procedure(qualifier=parts[0], code=parts[1], modifiers=tuple(m for m in parts[2:6] if m),
                     description=parts[6] if len(parts) > 6 else "")


def _read_line(cur: Cursor) -> ServiceLine:
    svc = cur.next()
    fields: dict[str, Any] = {}
    adjustments: list[Adjustment] = []
    references: list[Reference] = []
    amounts: list[Amount] = []
    quantities: list[Quantity] = []
    remarks: list[Remark] = []
    while (seg := cur.peek()) is not None and seg.tag in {"DTM", "CAS", "REF", "AMT", "QTY", "LQ"}:
        seg = cur.next()
        if seg.tag == "DTM":
            key = _LINE_DATES.get(seg.el(1))
            if key is None:
                raise element_error(seg, 1, "is not a date qualifier of the service line loop 2110")
            _set_once(fields, key, required_date(seg, 2), seg)
        elif seg.tag == "CAS":
            adjustments.extend(parse_cas(seg))
        elif seg.tag == "REF":
            if seg.el(1) == "6R":
                _set_once(fields, "line_control_number", required(seg, 2), seg)
            else:
                references.append(Reference(required(seg, 1), required(seg, 2)))
        elif seg.tag == "AMT":
            amounts.append(Amount(required(seg, 1), required_decimal(seg, 2)))
        elif seg.tag == "QTY":
            quantities.append(Quantity(required(seg, 1), required_decimal(seg, 2, "decimal quantity")))
        else:
            remarks.append(Remark(expect_code(seg, 1, ("HE", "RX")), required(seg, 2)))
    return ServiceLine(
        procedure=_read_procedure(svc, 1),
        charge=required_decimal(svc, 2),
        paid=required_decimal(svc, 3),
        revenue_code=svc.el(4),
        units_paid=optional_quantity(svc, 5),
        original_procedure=_read_procedure(svc, 6) if svc.el(6) else None,
        original_units=optional_quantity(svc, 7),
        adjustments=tuple(adjustments),
        references=tuple(references),
        amounts=tuple(amounts),
        quantities=tuple(quantities),
        remarks=tuple(remarks),
        position=svc.position,
        **fields,
    )


def _read_plb(seg: Segment) -> list[ProviderAdjustment]:
    provider_id = required(seg, 1)
    fiscal = required_date(seg, 2)
    out: list[ProviderAdjustment] = []
    for k in range(6):
        ident_i = 3 + 2 * k
        if not seg.el(ident_i) and not seg.el(ident_i + 1):
            continue
        reason = seg.comp(ident_i, 1)
        if not reason:
            raise element_error(seg, ident_i, "needs an adjustment reason code")
        out.append(ProviderAdjustment(provider_id=provider_id, fiscal_period_date=fiscal, reason=reason,
                                      reference=seg.comp(ident_i, 2),
                                      amount=required_decimal(seg, ident_i + 1)))
    if not out:
        raise element_error(seg, 3, "is required")
    if len(seg.elements) > 14:
        raise segment_error(seg, "PLB has more than six adjustments")
    return out


# --- writing --------------------------------------------------------------------------------


def write_835(
    transactions: Sequence[RemittanceTransaction], params: EnvelopeParams, *, line_breaks: bool = False
) -> str:
    """Render transaction sets as one 005010X221A1 interchange (no ST03 in an 835).

    Names and addresses are free text and get delimiters replaced by spaces; identifiers and
    codes that contain a delimiter are refused with an ``X12Error``.
    """
    bodies = [_transaction_specs(t, params) for t in transactions]
    return write_interchange(params, FUNCTIONAL_ID, IMPLEMENTATION, bodies, st03=False,
                             line_breaks=line_breaks)


def _transaction_specs(t: RemittanceTransaction, params: EnvelopeParams) -> list[SegmentSpec]:
    def text(value: str) -> str:
        return sanitize_text(value, params.delimiters)

    bank = t.bank or BankDetails()
    out: list[SegmentSpec] = [
        ["BPR", t.handling_code.value, format_amount(t.total_payment), t.credit_debit,
         t.payment_method.value, t.payment_format, bank.sender_dfi_qualifier, bank.sender_dfi_id,
         bank.sender_account_qualifier, bank.sender_account, bank.originating_company_id,
         bank.originating_company_supplemental, bank.receiver_dfi_qualifier, bank.receiver_dfi_id,
         bank.receiver_account_qualifier, bank.receiver_account, format_date(t.payment_date)],
        ["TRN", "1", t.trace_number, t.trace_payer_id, t.trace_supplemental],
    ]
    if t.currency:
        out.append(["CUR", "PR", t.currency])
    if t.receiver_id:
        out.append(["REF", "EV", t.receiver_id])
    if t.version_id:
        out.append(["REF", "F2", t.version_id])
    if t.production_date:
        out.append(["DTM", "405", format_date(t.production_date)])
    payer = t.payer
    out.append(["N1", "PR", text(payer.name), payer.id_qualifier, payer.id])
    out.extend(_address_specs(payer.address, text))
    out.extend(["REF", r.qualifier, r.value] for r in payer.references)
    # PER*CX, PER*BL, PER*IC is the guide's order; the model keeps whatever order it was given.
    out.extend(_contact_spec(c, text) for c in sorted(payer.contacts, key=_contact_order))
    payee = t.payee
    out.append(["N1", "PE", text(payee.name), payee.id_qualifier, payee.id])
    if payee.address:
        out.extend(_address_specs(payee.address, text))
    out.extend(["REF", r.qualifier, r.value] for r in payee.references)
    for header in t.header_numbers:
        out.append(["LX", str(header.number)])
        for claim in header.claims:
            out.extend(_claim_specs(claim, text))
    out.extend(_plb_specs(t.provider_adjustments))
    return out


def _contact_order(contact: Contact) -> int:
    return {"CX": 0, "BL": 1, "IC": 2}.get(contact.function, 3)


def _address_specs(address: Address, text: Callable[[str], str]) -> list[SegmentSpec]:
    return [["N3", text(address.line1), text(address.line2)],
            ["N4", text(address.city), address.state, address.postal_code, address.country]]


def _contact_spec(contact: Contact, text: Callable[[str], str]) -> SegmentSpec:
    spec: list[str] = ["PER", contact.function, text(contact.name)]
    for qualifier, number in contact.numbers:
        spec.extend([qualifier, number])
    return spec


def _name_spec(name: EntityName, text: Callable[[str], str]) -> SegmentSpec:
    return ["NM1", name.entity, name.entity_type, text(name.last_name), text(name.first_name),
            text(name.middle_name), "", text(name.suffix), name.id_qualifier, name.id]


def cas_specs(adjustments: Sequence[Adjustment]) -> list[SegmentSpec]:
    """CAS segments for adjustments in order: consecutive ones of the same group share a
    segment, six triplets at most, so reading the result gives back the same sequence."""
    out: list[SegmentSpec] = []
    run: list[Adjustment] = []
    for adj in adjustments:
        if run and (adj.group != run[0].group or len(run) == 6):
            out.append(_cas_spec(run))
            run = []
        run.append(adj)
    if run:
        out.append(_cas_spec(run))
    return out


def _cas_spec(run: Sequence[Adjustment]) -> SegmentSpec:
    spec: list[str] = ["CAS", run[0].group.value]
    for adj in run:
        spec.extend([adj.reason, format_amount(adj.amount), format_optional(adj.quantity)])
    return spec


def _claim_specs(c: ClaimPayment, text: Callable[[str], str]) -> list[SegmentSpec]:
    out: list[SegmentSpec] = [
        ["CLP", c.patient_control_number, c.status.value, format_amount(c.charge), format_amount(c.paid),
         format_optional(c.patient_responsibility), c.filing_indicator, c.payer_claim_control_number,
         c.facility_code, c.frequency_code, "", c.drg_code, format_optional(c.drg_weight),
         format_optional(c.discharge_fraction)],
    ]
    out.extend(cas_specs(c.adjustments))
    names = (c.patient, c.insured, c.corrected_name, c.rendering_provider, c.crossover_carrier,
             c.corrected_priority_payer, c.other_subscriber)
    out.extend(_name_spec(n, text) for n in names if n is not None)
    if c.inpatient:
        out.append(_mia_spec(c.inpatient))
    if c.outpatient:
        o = c.outpatient
        remarks = [*o.remark_codes, "", "", "", "", ""][:5]
        out.append(["MOA", format_optional(o.reimbursement_rate), format_optional(o.hcpcs_payable), *remarks,
                    format_optional(o.esrd_payment), format_optional(o.nonpayable_professional)])
    out.extend(["REF", r.qualifier, r.value] for r in c.references)
    for qualifier, key in _CLAIM_DATES.items():
        value = getattr(c, key)
        if value is not None:
            out.append(["DTM", qualifier, format_date(value)])
    out.extend(["AMT", a.qualifier, format_amount(a.amount)] for a in c.amounts)
    out.extend(["QTY", q.qualifier, format_amount(q.quantity)] for q in c.quantities)
    for line in c.service_lines:
        out.extend(_line_specs(line))
    return out


def _mia_spec(m: InpatientAdjudication) -> SegmentSpec:
    elements = [""] * 24
    elements[0] = format_amount(m.covered_days)
    elements[2] = format_optional(m.lifetime_psychiatric_days)
    for i, value in m.values:
        elements[i - 1] = format_amount(value)
    for i, code in zip(_MIA_REMARKS, m.remark_codes, strict=False):
        elements[i - 1] = code
    return ["MIA", *elements]


def _procedure_spec(p: Procedure) -> list[str]:
    return [p.qualifier, p.code, *[*p.modifiers, "", "", "", ""][:4], p.description]


def _line_specs(line: ServiceLine) -> list[SegmentSpec]:
    out: list[SegmentSpec] = [
        ["SVC", _procedure_spec(line.procedure), format_amount(line.charge), format_amount(line.paid),
         line.revenue_code, format_optional(line.units_paid),
         _procedure_spec(line.original_procedure) if line.original_procedure else "",
         format_optional(line.original_units)],
    ]
    for qualifier, key in _LINE_DATES.items():
        value = getattr(line, key)
        if value is not None:
            out.append(["DTM", qualifier, format_date(value)])
    out.extend(cas_specs(line.adjustments))
    if line.line_control_number:
        out.append(["REF", "6R", line.line_control_number])
    out.extend(["REF", r.qualifier, r.value] for r in line.references)
    out.extend(["AMT", a.qualifier, format_amount(a.amount)] for a in line.amounts)
    out.extend(["QTY", q.qualifier, format_amount(q.quantity)] for q in line.quantities)
    out.extend(["LQ", r.qualifier, r.code] for r in line.remarks)
    return out


def _plb_specs(adjustments: Sequence[ProviderAdjustment]) -> list[SegmentSpec]:
    out: list[SegmentSpec] = []
    run: list[ProviderAdjustment] = []

    def flush() -> None:
        spec: list[Any] = ["PLB", run[0].provider_id, format_date(run[0].fiscal_period_date)]
        for adj in run:
            spec.extend([[adj.reason, adj.reference], format_amount(adj.amount)])
        out.append(spec)

    for adj in adjustments:
        key = (adj.provider_id, adj.fiscal_period_date)
        if run and (key != (run[0].provider_id, run[0].fiscal_period_date) or len(run) == 6):
            flush()
            run = []
        run.append(adj)
    if run:
        flush()
    return out


# --- normalized JSON ------------------------------------------------------------------------


def to_json_dict(remittance: Remittance835) -> dict[str, Any]:
    """The normalized document: {"transaction": "835", "transactions": [...]}, amounts as strings."""
    return {"transaction": "835", "transactions": [transaction_json(t) for t in remittance.transactions]}


def transaction_json(t: RemittanceTransaction) -> dict[str, Any]:
    checks = balancing.check_835(t)
    payer_id = t.payer.id or next((r.value for r in t.payer.references if r.qualifier == "2U"), "")
    return {
        "control_number": t.control_number,
        "handling_code": t.handling_code.value,
        "payer": {"name": t.payer.name, "id": payer_id or t.trace_payer_id},
        "payee": {"name": t.payee.name, "npi": t.payee.npi, "tax_id": t.payee.tax_id},
        "trace_number": t.trace_number,
        "trace_payer_id": t.trace_payer_id,
        "payment_method": t.payment_method.value,
        "credit_debit": t.credit_debit,
        "total_payment": json_amount(t.total_payment),
        "payment_date": json_date(t.payment_date),
        "production_date": json_date(t.production_date),
        "balanced": balancing.is_balanced(checks),
        "balancing_errors": [c.message for c in checks if not c.ok],
        "provider_adjustments": [
            {"provider_id": p.provider_id, "fiscal_period_date": json_date(p.fiscal_period_date),
             "reason": p.reason, "reference": p.reference, "amount": json_amount(p.amount)}
            for p in t.provider_adjustments
        ],
        "claims": [_claim_json(c) for c in t.claims],
    }


def _adjustment_json(a: Adjustment) -> dict[str, Any]:
    return {"group": a.group.value, "reason": a.reason, "amount": json_amount(a.amount),
            "quantity": json_quantity(a.quantity)}


def _claim_json(c: ClaimPayment) -> dict[str, Any]:
    carrier = c.crossover_carrier
    return {
        "patient_control_number": c.patient_control_number,
        "status_code": c.status.value,
        "status": c.status.name.lower(),
        "charge_amount": json_amount(c.charge),
        "paid_amount": json_amount(c.paid),
        "patient_responsibility": json_amount(c.patient_responsibility or Decimal(0)),
        "filing_indicator": c.filing_indicator,
        "payer_claim_control_number": c.payer_claim_control_number,
        "frequency_code": c.frequency_code,
        "adjustments": [_adjustment_json(a) for a in c.all_adjustments],
        "remarks": list(c.remark_codes),
        "crossover_payer": {"name": carrier.last_name, "id": carrier.id} if carrier else None,
        "statement_from": json_date(c.statement_from),
        "statement_to": json_date(c.statement_to),
        "service_lines": [_line_json(line) for line in c.service_lines],
    }


def _line_json(line: ServiceLine) -> dict[str, Any]:
    return {
        "procedure": line.procedure.code,
        "procedure_qualifier": line.procedure.qualifier,
        "modifiers": list(line.procedure.modifiers),
        "revenue_code": line.revenue_code,
        "charge": json_amount(line.charge),
        "paid": json_amount(line.paid),
        "allowed": json_optional_amount(line.allowed),
        "units": json_quantity(line.units_paid),
        "line_control_number": line.line_control_number or None,
        "service_date": json_date(line.date_of_service),
        "adjustments": [_adjustment_json(a) for a in line.adjustments],
        "remarks": [r.code for r in line.remarks],
    }
