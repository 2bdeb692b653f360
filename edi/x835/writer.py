"""The X12 835 writer: ``write_835`` renders the model as one 005010X221A1 interchange."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from edi.composites import Procedure
from edi.x12 import EnvelopeParams, SegmentSpec, sanitize_text, write_interchange
from edi.x12values import format_amount, format_date, format_optional
from edi.x835.model import (
    CLAIM_DATES,
    FUNCTIONAL_ID,
    IMPLEMENTATION,
    LINE_DATES,
    MIA_REMARKS,
    Address,
    Adjustment,
    BankDetails,
    ClaimPayment,
    Contact,
    EntityName,
    InpatientAdjudication,
    ProviderAdjustment,
    RemittanceTransaction,
    ServiceLine,
)


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
    for qualifier, key in CLAIM_DATES.items():
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
    for i, code in zip(MIA_REMARKS, m.remark_codes, strict=False):
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
    for qualifier, key in LINE_DATES.items():
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
