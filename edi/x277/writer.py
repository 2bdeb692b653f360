"""The X12 277 (005010X212) writer: ``render_277`` puts ``StatusResponse`` values in one interchange."""

from __future__ import annotations

from collections.abc import Sequence

from edi.claimstatus import Person, hierarchy_specs
from edi.x12 import EnvelopeParams, SegmentSpec, X12Error, sanitize_text, write_interchange
from edi.x12values import format_amount, format_date, format_optional, format_period
from edi.x277.model import FUNCTIONAL_ID, IMPLEMENTATION, Status, StatusResponse


def _stc(s: Status) -> SegmentSpec:
    extra = [[c.category, c.status, c.entity] for c in s.additional]
    return ["STC", [s.category_code, s.status_code, s.entity_code or ""], format_date(s.effective_date), "",
            format_amount(s.total_charge), format_optional(s.paid_amount),
            format_date(s.adjudication_date) if s.adjudication_date else "", "",
            format_date(s.payment_date) if s.payment_date else "", s.check_number or "", *extra]


def render_277(responses: Sequence[StatusResponse], envelope: EnvelopeParams, *, line_breaks: bool = False) -> str:
    """One interchange with one 277 transaction set (BHT*0010*08, BHT03 the interchange control
    number); consecutive responses with the same parties share their HL levels."""
    if not responses:
        raise X12Error("a 277 needs at least one claim status response")

    def text(value: str) -> str:
        return sanitize_text(value, envelope.delimiters)

    def person(p: Person, entity: str) -> list[SegmentSpec]:
        name: SegmentSpec = ["NM1", entity, "1", text(p.last_name), text(p.first_name)]
        return [[*name, "", "", "", "MI", p.member_id] if entity == "IL" else name]

    def claim(r: StatusResponse) -> list[SegmentSpec]:
        if not r.statuses:
            raise X12Error("a claim status response needs at least one STC")
        out: list[SegmentSpec] = [["TRN", "2", r.trace_number], *(_stc(s) for s in r.statuses)]
        for qualifier, value in (("1K", r.payer_claim_control_number), ("BLT", r.type_of_bill),
                                 ("EJ", r.patient_control_number)):
            if value:
                out.append(["REF", qualifier, value])
        if r.service_date is not None:
            out.append(["DTP", "472", *format_period(r.service_date, r.service_end_date or r.service_date)])
        return out

    body: list[SegmentSpec] = [["BHT", "0010", "08", f"{envelope.interchange_control_number:09d}",
                                format_date(envelope.created.date()), envelope.created.strftime("%H%M"), "DG"]]
    body += hierarchy_specs(responses, receiver_name=lambda r: r.receiver_name, receiver_id=lambda r: r.receiver_id,
                            person=person, claim=claim, text=text)
    return write_interchange(envelope, FUNCTIONAL_ID, IMPLEMENTATION, [body], line_breaks=line_breaks)
