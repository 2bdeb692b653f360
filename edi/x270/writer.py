"""The X12 270 writer: ``render_270`` puts a batch of inquiries in one interchange, one 270
transaction set. The writing parts the 271 shares (the HL tree, names, dates) live here too."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from itertools import groupby
from typing import Protocol, TypeVar

from edi.errors import X12Error
from edi.x12 import EnvelopeParams, SegmentSpec, sanitize_text, write_interchange
from edi.x12values import format_date, format_period
from edi.x270.model import FUNCTIONAL_ID, IMPLEMENTATION, Inquiry, Person, trace_originator

Text = Callable[[str], str]


class Patient(Protocol):
    """What the HL tree needs of an inquiry or a response."""

    @property
    def payer_name(self) -> str: ...
    @property
    def payer_id(self) -> str: ...
    @property
    def provider_name(self) -> str: ...
    @property
    def provider_npi(self) -> str: ...
    @property
    def dependent(self) -> Person | None: ...


P = TypeVar("P", bound=Patient)


def hl_tree(items: Sequence[P], source_head: Callable[[P], list[SegmentSpec]],
            source: Callable[[P], list[SegmentSpec]],
            receiver: Callable[[P], list[SegmentSpec]],
            subscriber: Callable[[P], list[SegmentSpec]],
            dependent: Callable[[P], list[SegmentSpec]], text: Text) -> list[SegmentSpec]:
    """HL 20 per run of items with one payer, HL 21 per run with one provider under it, HL 22
    per item and HL 23 under it when the item has a dependent. ``source_head`` gives the segments
    between HL 20 and its NM1 (a 271's 2000A AAA); the other callables give what follows the HL
    (the payer and provider NM1s are written here, so those two give what follows their NM1)."""
    out: list[SegmentSpec] = []
    hl = 0
    for (payer_name, payer_id), by_payer in groupby(items, key=lambda i: (i.payer_name, i.payer_id)):
        payer_items = list(by_payer)
        hl += 1
        source_hl = str(hl)
        out.append(["HL", source_hl, "", "20", "1"])
        out.extend(source_head(payer_items[0]))
        out.append(["NM1", "PR", "2", text(payer_name), "", "", "", "", "PI", payer_id])
        out.extend(source(payer_items[0]))
        for (provider_name, npi), by_provider in groupby(payer_items, key=lambda i: (i.provider_name, i.provider_npi)):
            provider_items = list(by_provider)
            hl += 1
            receiver_hl = str(hl)
            out.append(["HL", receiver_hl, source_hl, "21", "1"])
            out.append(["NM1", "1P", "2", text(provider_name), "", "", "", "", "XX", npi])
            out.extend(receiver(provider_items[0]))
            for item in provider_items:
                hl += 1
                subscriber_hl = str(hl)
                out.append(["HL", subscriber_hl, receiver_hl, "22", "1" if item.dependent else "0"])
                out.extend(subscriber(item))
                if item.dependent is not None:
                    hl += 1
                    out.append(["HL", str(hl), subscriber_hl, "23", "0"])
                    out.extend(dependent(item))
    return out


def trn_spec(qualifier: str, trace_number: str, provider_npi: str) -> SegmentSpec:
    if not trace_number:
        raise X12Error("TRN02 trace number is required")
    return ["TRN", qualifier, trace_number, trace_originator(provider_npi)]


def person_specs(entity: str, person: Person, text: Text, rejections: Sequence[SegmentSpec] = ()) -> list[SegmentSpec]:
    """A 2100C (``IL``) or 2100D (``03``) loop up to its dates: NM1 (with the MI member id when
    known), REF*6P group number, the 271's AAA, DMG birth date and gender, and a dependent's
    INS*N*<relationship>."""
    ids = ["MI", person.member_id] if person.member_id else []
    out: list[SegmentSpec] = [["NM1", entity, "1", text(person.last_name), text(person.first_name), "", "", "",
                               *ids]]
    if person.group_number:
        out.append(["REF", "6P", person.group_number])
    out.extend(rejections)
    if person.birth_date is not None:
        out.append(["DMG", "D8", format_date(person.birth_date), person.gender or ""])
    elif person.gender is not None:
        raise X12Error("DMG03 gender needs DMG02 birth date")
    if entity == "03":
        if not person.relationship:
            raise X12Error("a dependent needs its relationship code (INS02)")
        out.append(["INS", "N", person.relationship])
    return out


def period_spec(qualifier: str, start: date, end: date | None) -> SegmentSpec:
    return ["DTP", qualifier, *format_period(start, end or start)]


def render_270(inquiries: Inquiry | Sequence[Inquiry], envelope: EnvelopeParams, *, line_breaks: bool = False) -> str:
    """One 005010X279A1 interchange holding one 270 with every inquiry; BHT03 is the
    interchange control number."""
    items = [inquiries] if isinstance(inquiries, Inquiry) else list(inquiries)
    if not items:
        raise X12Error("a 270 needs at least one inquiry")

    def text(value: str) -> str:
        return sanitize_text(value, envelope.delimiters)

    created = envelope.created
    body: list[SegmentSpec] = [["BHT", "0022", "13", f"{envelope.interchange_control_number:09d}",
                                format_date(created.date()), created.strftime("%H%M")]]
    body += hl_tree(items, lambda _: [], lambda _: [], lambda _: [], lambda i: _subscriber(i, text),
                    lambda i: _dependent(i, text), text)
    return write_interchange(envelope, FUNCTIONAL_ID, IMPLEMENTATION, [body], line_breaks=line_breaks)


def _inquiry_specs(i: Inquiry) -> Iterator[SegmentSpec]:
    yield period_spec("291", i.service_date, i.service_end_date)
    if not i.service_types:
        raise X12Error("an inquiry needs at least one EQ01 service type")
    for code in i.service_types:
        yield ["EQ", code]


def _subscriber(i: Inquiry, text: Text) -> list[SegmentSpec]:
    out: list[SegmentSpec] = []
    if i.dependent is None:
        out.append(trn_spec("1", i.trace_number, i.provider_npi))
    out += person_specs("IL", i.subscriber, text)
    if i.dependent is None:
        out += _inquiry_specs(i)
    return out


def _dependent(i: Inquiry, text: Text) -> list[SegmentSpec]:
    assert i.dependent is not None
    return [trn_spec("1", i.trace_number, i.provider_npi), *person_specs("03", i.dependent, text), *_inquiry_specs(i)]
