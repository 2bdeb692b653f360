"""The X12 271 writer: ``render_271`` puts responses in one interchange, one 271 transaction set,
in the 270's HL tree (``edi.x270.writer.hl_tree``)."""

from __future__ import annotations

from collections.abc import Sequence

from edi.errors import X12Error
from edi.x12 import EnvelopeParams, Repeats, SegmentSpec, sanitize_text, write_interchange
from edi.x12values import format_date, format_optional, format_period
from edi.x270.model import IMPLEMENTATION
from edi.x270.writer import Text, hl_tree, person_specs, trn_spec
from edi.x271.model import FUNCTIONAL_ID, BenefitInfo, EligibilityResponse, Rejection

_WRITTEN_LOOPS = frozenset({"2000A", "2100A", "2100B", "2100C", "2100D"})


def render_271(responses: EligibilityResponse | Sequence[EligibilityResponse], envelope: EnvelopeParams, *,
               line_breaks: bool = False) -> str:
    """One 005010X279A1 interchange holding one 271 with every response; BHT03 is the first
    response's ``reference`` (the 270's BHT03) or else the interchange control number. The
    payer- and provider-level AAA of a run of responses under one payer/provider are the
    first response's."""
    items = [responses] if isinstance(responses, EligibilityResponse) else list(responses)
    if not items:
        raise X12Error("a 271 needs at least one response")
    for r in items:
        for rejection in r.rejections:
            if rejection.loop not in _WRITTEN_LOOPS:
                raise X12Error(f"AAA of loop {rejection.loop} is read, not written (use 2100C or 2100D)")

    def text(value: str) -> str:
        return sanitize_text(value, envelope.delimiters)

    created = envelope.created
    body: list[SegmentSpec] = [["BHT", "0022", "11", items[0].reference or f"{envelope.interchange_control_number:09d}",
                                format_date(created.date()), created.strftime("%H%M")]]
    body += hl_tree(items, lambda r: _aaa(r, "2000A"), lambda r: _aaa(r, "2100A"), lambda r: _aaa(r, "2100B"),
                    lambda r: _subscriber(r, text), lambda r: _dependent(r, text), text)
    return write_interchange(envelope, FUNCTIONAL_ID, IMPLEMENTATION, [body], line_breaks=line_breaks)


def _aaa(r: EligibilityResponse, loop: str) -> list[SegmentSpec]:
    return [_aaa_spec(x) for x in r.rejections if x.loop == loop]


def _aaa_spec(x: Rejection) -> SegmentSpec:
    return ["AAA", "Y" if x.valid else "N", "", x.reason_code, x.follow_up]


def _patient_specs(r: EligibilityResponse, text: Text) -> list[SegmentSpec]:
    out: list[SegmentSpec] = []
    if r.plan_begin is not None:
        out.append(["DTP", "346", "D8", format_date(r.plan_begin)])
    if r.plan_end is not None:
        out.append(["DTP", "347", "D8", format_date(r.plan_end)])
    for b in r.benefits:
        out += _benefit_specs(b, text)
    return out


def _yes_no(value: bool | None) -> str:
    return "" if value is None else "Y" if value else "N"


def _benefit_specs(b: BenefitInfo, text: Text) -> list[SegmentSpec]:
    out: list[SegmentSpec] = [[
        "EB", b.code, b.coverage_level, Repeats(b.service_types), b.insurance_type, text(b.plan_description),
        b.time_period, format_optional(b.amount), format_optional(b.percent), b.quantity_qualifier,
        format_optional(b.quantity), _yes_no(b.authorization_required), _yes_no(b.in_network),
        ["HC", b.procedure_code] if b.procedure_code else "",
    ]]
    if (b.quantity is None) != (not b.quantity_qualifier):
        raise X12Error("EB09 quantity qualifier and EB10 quantity go together")
    out.extend(["DTP", d.qualifier, *format_period(d.start, d.end)] for d in b.dates)
    out.extend(["MSG", text(m)] for m in b.messages)
    if (e := b.benefit_entity) is not None:
        ids = [e.id_qualifier, e.id] if e.id else []
        out += [["LS", "2120"], ["NM1", e.role, e.entity_type, text(e.name), "", "", "", "", *ids], ["LE", "2120"]]
    return out


def _subscriber(r: EligibilityResponse, text: Text) -> list[SegmentSpec]:
    if r.dependent is not None:
        return person_specs("IL", r.subscriber, text, _aaa(r, "2100C"))
    return [trn_spec("2", r.trace_number, r.provider_npi),
            *person_specs("IL", r.subscriber, text, _aaa(r, "2100C")), *_patient_specs(r, text)]


def _dependent(r: EligibilityResponse, text: Text) -> list[SegmentSpec]:
    assert r.dependent is not None
    return [trn_spec("2", r.trace_number, r.provider_npi),
            *person_specs("03", r.dependent, text, _aaa(r, "2100D")), *_patient_specs(r, text)]
