"""The X12 277CA writer: ``write_277ca`` renders ``ClaimAckTransaction`` values in one interchange."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from edi.x12 import EnvelopeParams, SegmentSpec, sanitize_text, write_interchange
from edi.x12values import format_amount, format_date, format_optional, format_period
from edi.x277ca.model import FUNCTIONAL_ID, IMPLEMENTATION, ClaimAck, ClaimAckTransaction, StatusInfo, Totals


def write_277ca(
    transactions: ClaimAckTransaction | Sequence[ClaimAckTransaction], params: EnvelopeParams, *,
    line_breaks: bool = False,
) -> str:
    """Render one or more 277CA transaction sets in one 005010X214 interchange. HL numbers are
    assigned here, depth first, so the model carries no HL ids."""
    items = [transactions] if isinstance(transactions, ClaimAckTransaction) else list(transactions)

    def text(value: str) -> str:
        return sanitize_text(value, params.delimiters)

    return write_interchange(params, FUNCTIONAL_ID, IMPLEMENTATION, [_specs(t, text) for t in items],
                             line_breaks=line_breaks)


def _stc_spec(s: StatusInfo, text: Callable[[str], str]) -> SegmentSpec:
    extra: list[Any] = [[c.category, c.status, c.entity] for c in s.additional]
    while len(extra) < 2:
        extra.append("")
    return ["STC", [s.code.category, s.code.status, s.code.entity],
            format_date(s.effective_date) if s.effective_date else "", s.action_code, format_optional(s.amount),
            "", "", "", "", "", *extra, text(s.message)]


def _totals_specs(t: Totals, quantity_codes: tuple[str, str]) -> list[SegmentSpec]:
    out: list[SegmentSpec] = []
    for code, value in zip(quantity_codes, (t.accepted_quantity, t.rejected_quantity), strict=True):
        if value is not None:
            out.append(["QTY", code, format_amount(value)])
    for code, value in (("YU", t.accepted_amount), ("YY", t.rejected_amount)):
        if value is not None:
            out.append(["AMT", code, format_amount(value)])
    return out


def _specs(t: ClaimAckTransaction, text: Callable[[str], str]) -> list[SegmentSpec]:
    out: list[SegmentSpec] = [["BHT", "0085", "08", t.reference, format_date(t.created.date()),
                               t.created.strftime("%H%M%S" if t.created.second else "%H%M"), "TH"]]
    hl = 0
    for source in t.sources:
        hl += 1
        source_id = str(hl)
        out.append(["HL", source_id, "", "20", "1"])
        out.append(["NM1", source.entity, "2", text(source.name), "", "", "", "", source.id_qualifier, source.id])
        out.append(["TRN", "1", source.trace_number])
        out.append(["DTP", "050", "D8", format_date(source.receipt_date)])
        out.append(["DTP", "009", "D8", format_date(source.process_date)])
        receiver = source.receiver
        hl += 1
        receiver_id = str(hl)
        out.append(["HL", receiver_id, source_id, "21", "1" if receiver.providers else "0"])
        out.append(["NM1", "41", receiver.entity_type, text(receiver.name), text(receiver.first_name), "", "", "",
                    "46", receiver.id])
        out.append(["TRN", "2", receiver.batch_trace])
        out.extend(_stc_spec(s, text) for s in receiver.statuses)
        out.extend(_totals_specs(receiver.totals, ("90", "AA")))
        for provider in receiver.providers:
            hl += 1
            provider_id = str(hl)
            out.append(["HL", provider_id, receiver_id, "19", "1"])
            out.append(["NM1", "85", provider.entity_type, text(provider.name), text(provider.first_name), "", "",
                        "", provider.id_qualifier, provider.id])
            out.append(["TRN", "1", provider.trace_number])
            out.extend(_stc_spec(s, text) for s in provider.statuses)
            if provider.secondary_id:
                out.append(["REF", *provider.secondary_id])
            out.extend(_totals_specs(provider.totals, ("QA", "QC")))
            for patient in provider.patients:
                hl += 1
                out.append(["HL", str(hl), provider_id, "PT"])
                out.append(["NM1", "QC", "1", text(patient.last_name), text(patient.first_name),
                            text(patient.middle_name), "", text(patient.suffix), patient.id_qualifier, patient.id])
                for claim in patient.claims:
                    out.extend(_claim_specs(claim, text))
    return out


def _claim_specs(c: ClaimAck, text: Callable[[str], str]) -> list[SegmentSpec]:
    out: list[SegmentSpec] = [["TRN", "2", c.patient_control_number]]
    out.extend(_stc_spec(s, text) for s in c.statuses)
    for qualifier, value in (("1K", c.payer_claim_control_number), ("D9", c.clearinghouse_trace),
                             ("BLT", c.bill_type)):
        if value:
            out.append(["REF", qualifier, value])
    out.append(["DTP", "472", *format_period(c.service_from, c.service_to)])
    for line in c.lines:
        p = line.procedure
        out.append(["SVC", [p.qualifier, p.code, *p.modifiers], format_amount(line.charge), "", line.revenue_code,
                    "", "", format_optional(line.units)])
        out.append(_stc_spec(line.status, text))
        if line.line_control_number:
            out.append(["REF", "FJ", line.line_control_number])
        if line.prescription_number:
            out.append(["REF", "XZ", line.prescription_number])
        if line.service_from:
            out.append(["DTP", "472", *format_period(line.service_from, line.service_to or line.service_from)])
    return out
