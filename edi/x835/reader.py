"""The X12 835 reader: ``read_835`` turns a file (one or more ST 835 transaction sets) into the
model, raising ``X12Error`` subclasses that name segment position and element, never a value.

Balancing is not checked here (see ``edi.x835.balancing``), so an unbalanced 835 can still be
read and quarantined.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from edi.composites import Procedure
from edi.envelope import read_interchanges, transaction_sets
from edi.issues import X12Issue
from edi.x12 import Segment, TransactionSet
from edi.x12values import (
    Cursor,
    element_error,
    expect_code,
    optional_decimal,
    optional_quantity,
    parse_enum,
    required,
    required_date,
    required_decimal,
    required_int,
    segment_error,
)
from edi.x835.model import (
    CLAIM_DATES,
    FUNCTIONAL_ID,
    LINE_DATES,
    MIA_NUMBERS,
    MIA_REMARKS,
    Address,
    Adjustment,
    AdjustmentGroup,
    Amount,
    BankDetails,
    ClaimPayment,
    ClaimStatus,
    Contact,
    EntityName,
    HandlingCode,
    HeaderNumber,
    InpatientAdjudication,
    OutpatientAdjudication,
    Payee,
    Payer,
    PaymentMethod,
    ProviderAdjustment,
    Quantity,
    Reference,
    Remark,
    Remittance835,
    RemittanceTransaction,
    ServiceLine,
)


def read_835(text: str) -> Remittance835:
    """Read an 835 file (every interchange in it). Raises ``X12Error`` subclasses naming segment
    position and element when the structure cannot be read; what breaks a rule but still reads
    (a trailer count, a missing PER*BL) comes back in ``Remittance835.findings``."""
    interchanges = read_interchanges(text)
    sets = transaction_sets(interchanges, FUNCTIONAL_ID, "835", "an 835 (GS01 HP, ST01 835)")
    first = interchanges[0]
    return Remittance835(
        sender_id=first.sender_id,
        receiver_id=first.receiver_id,
        interchange_control_number=first.control_number,
        group_control_number=next(g.control_number for i in interchanges for g in i.groups if g.transactions),
        transactions=tuple(read_transaction_set(ts) for ts in sets),
        envelope_findings=tuple(f for i in interchanges for f in i.findings),
    )


def read_transaction_set(ts: TransactionSet) -> RemittanceTransaction:
    """One ST 835 transaction set already split out by ``read_interchange``."""
    cur = Cursor(ts.segments[1:-1], ts.segments[-1])
    findings: list[X12Issue] = []
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
    payer = _read_payer(cur, findings)
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
        findings=tuple(findings),
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
    """N3 then N4; the payee's are each optional (X221 1000B), so an N4 alone is a city without a
    street."""
    n3 = cur.expect("N3", what=f"{what} address") if required_segments else cur.take("N3")
    n4 = cur.expect("N4", what=f"{what} city, state, ZIP code") if n3 is not None else cur.take("N4")
    if n4 is None:
        return None
    return Address(line1=required(n3, 1) if n3 else "", line2=n3.el(2) if n3 else "", city=required(n4, 1),
                   state=n4.el(2), postal_code=n4.el(3), country=n4.el(4))


def _read_contact(seg: Segment) -> Contact:
    numbers = tuple((seg.el(i), seg.el(i + 1)) for i in (3, 5, 7) if seg.el(i) or seg.el(i + 1))
    for qualifier, number in numbers:
        if not qualifier or not number:
            raise segment_error(seg, "PER communication number and its qualifier must come together")
    return Contact(function=required(seg, 1), name=seg.el(2), numbers=numbers)


def _read_payer(cur: Cursor, findings: list[X12Issue]) -> Payer:
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
        findings.append(X12Issue(code="per_bl_missing", message="payer loop 1000A has no PER*BL technical contact",
                                 position=n1.position, segment_id="N1"))
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
            key = CLAIM_DATES.get(seg.el(1))
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
    values = tuple((i, v) for i in MIA_NUMBERS if (v := optional_decimal(seg, i)) is not None)
    return InpatientAdjudication(
        covered_days=required_decimal(seg, 1, "decimal quantity"),
        lifetime_psychiatric_days=optional_quantity(seg, 3),
        remark_codes=tuple(seg.el(i) for i in MIA_REMARKS if seg.el(i)),
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
            key = LINE_DATES.get(seg.el(1))
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
