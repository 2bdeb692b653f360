"""The X12 276 writer: ``render_276`` puts ``StatusInquiry`` values in one interchange."""

from __future__ import annotations

from collections.abc import Sequence

from edi.claimstatus import Person, hierarchy_specs
from edi.x12 import EnvelopeParams, SegmentSpec, X12Error, sanitize_text, write_interchange
from edi.x12values import format_amount, format_date, format_period
from edi.x276.model import FUNCTIONAL_ID, IMPLEMENTATION, StatusInquiry


def render_276(inquiries: Sequence[StatusInquiry], envelope: EnvelopeParams, *, line_breaks: bool = False) -> str:
    """One interchange with one 276 transaction set; inquiries that follow each other with the
    same payer, provider and patient share their HL levels (so the reader gives them back in
    the same order). BHT03 is the interchange control number."""
    if not inquiries:
        raise X12Error("a 276 needs at least one claim status inquiry")

    def text(value: str) -> str:
        return sanitize_text(value, envelope.delimiters)

    def person(p: Person, entity: str) -> list[SegmentSpec]:
        out: list[SegmentSpec] = []
        if p.birth_date is not None:
            out.append(["DMG", "D8", format_date(p.birth_date), p.gender or ""])
        name: SegmentSpec = ["NM1", entity, "1", text(p.last_name), text(p.first_name)]
        out.append([*name, "", "", "", "MI", p.member_id] if entity == "IL" else name)
        return out

    def claim(item: StatusInquiry) -> list[SegmentSpec]:
        out: list[SegmentSpec] = [["TRN", "1", item.trace_number]]
        for qualifier, value in (("1K", item.payer_claim_control_number), ("BLT", item.type_of_bill),
                                 ("EJ", item.patient_control_number)):
            if value:
                out.append(["REF", qualifier, value])
        out.append(["AMT", "T3", format_amount(item.total_charge)])
        out.append(["DTP", "472", *format_period(item.service_date, item.service_end_date or item.service_date)])
        return out

    body: list[SegmentSpec] = [["BHT", "0010", "13", f"{envelope.interchange_control_number:09d}",
                                format_date(envelope.created.date()), envelope.created.strftime("%H%M")]]
    body += hierarchy_specs(inquiries, receiver_name=lambda i: i.receiver_name or i.provider_name,
                            receiver_id=lambda i: i.receiver_id or envelope.sender_id, person=person, claim=claim,
                            text=text)
    return write_interchange(envelope, FUNCTIONAL_ID, IMPLEMENTATION, [body], line_breaks=line_breaks)
