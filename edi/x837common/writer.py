"""Segment builder shared by the 837P and 837I writers: header, hierarchy, COB loops, formatting.

Each variant subclasses ``Builder`` with its ``claim`` (2300 and below) and makes a ``Renderer``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

from edi.envelope import EnvelopeParams, SegmentSpec, sanitize_text, write_interchange
from edi.errors import X12Error
from edi.segments import DEFAULT_DELIMITERS, Delimiters
from edi.x837common.model import (
    FUNCTIONAL_ID,
    MAX_CLAIMS_PER_SUBSCRIBER,
    Address,
    Adjustment,
    BatchBase,
    BillingProvider,
    ClaimBase,
    LineAdjudicationBase,
    OtherPayer,
    Person,
    ServiceFacility,
)

MAX_CLAIMS_PER_TRANSACTION = 5000  # X222/X223 section 1.4.1 recommend at most 5000 CLM per ST-SE
_CAS_TRIPLETS = 6

C = TypeVar("C", bound=ClaimBase)
B = TypeVar("B", bound=BatchBase)


def fmt_amount(value: Decimal) -> str:
    """X12 R type: plain notation, no exponent, no trailing zeros (150.00 -> 150)."""
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def fmt_date(value: date) -> str:
    return value.strftime("%Y%m%d")


def fmt_period(start: date, end: date | None) -> tuple[str, str]:
    """DTP02/DTP03 of a date or a range: D8 for one day, RD8 for more."""
    if end is not None and end != start:
        return "RD8", f"{fmt_date(start)}-{fmt_date(end)}"
    return "D8", fmt_date(start)


class Text:
    """Free-text sanitizer bound to the output delimiters."""

    def __init__(self, delimiters: Delimiters) -> None:
        self.delimiters = delimiters

    def __call__(self, value: str | None, max_len: int, where: str) -> str:
        if value is None:
            return ""
        cleaned = sanitize_text(value, self.delimiters)[:max_len].rstrip()
        if value.strip() and not cleaned:
            raise X12Error(f"{where} has no transmissible characters")
        return cleaned


def cas_segments(adjustments: Iterable[Adjustment]) -> list[SegmentSpec]:
    """Group adjustments by group code, at most six reason/amount/quantity triplets per CAS."""
    by_group: dict[str, list[Adjustment]] = {}
    for adj in adjustments:
        by_group.setdefault(adj.group, []).append(adj)
    segments: list[SegmentSpec] = []
    for group, items in by_group.items():
        for start in range(0, len(items), _CAS_TRIPLETS):
            seg: list[str] = ["CAS", group]
            for adj in items[start : start + _CAS_TRIPLETS]:
                seg += [adj.reason, fmt_amount(adj.amount), "" if adj.quantity is None else fmt_amount(adj.quantity)]
            segments.append(seg)
    return segments


class Builder:
    """Collects the segments of one transaction set; a variant adds ``claim``."""

    def __init__(self, delimiters: Delimiters) -> None:
        self.text = Text(delimiters)
        self.out: list[SegmentSpec] = []

    def add(self, *segments: SegmentSpec) -> None:
        self.out.extend(segments)

    def claim(self, claim: ClaimBase) -> None:
        raise NotImplementedError

    def person_nm1(self, qualifier: str, person: Person, id_qualifier: str, ident: str, where: str) -> None:
        t = self.text
        self.add(
            [
                "NM1",
                qualifier,
                "1",
                t(person.last_name, 60, where + " last name"),
                t(person.first_name, 35, where + " first name"),
                t(person.middle_name, 25, where + " middle name"),
                "",
                t(person.suffix, 10, where + " suffix"),
                id_qualifier,
                ident,
            ]
        )

    def org_nm1(self, qualifier: str, name: str, id_qualifier: str, ident: str, where: str) -> None:
        self.add(["NM1", qualifier, "2", self.text(name, 60, where), "", "", "", "", id_qualifier, ident])

    def address(self, address: Address, where: str) -> None:
        t = self.text
        self.add(
            ["N3", t(address.line1, 55, where + " address"), t(address.line2, 55, where + " address")],
            ["N4", t(address.city, 30, where + " city"), address.state, address.zip],
        )

    def demographics(self, birth_date: date | None, gender: str | None) -> None:
        if birth_date is not None:
            self.add(["DMG", "D8", fmt_date(birth_date), gender or "U"])

    def header(self, batch: BatchBase) -> None:
        """BHT, 1000A submitter and 1000B receiver."""
        created = batch.created
        self.add(["BHT", "0019", "00", batch.reference, created.strftime("%Y%m%d"), created.strftime("%H%M"), "CH"])
        self.org_nm1("41", batch.submitter.name, "46", batch.submitter.id, "submitter name")
        contact = self.text(batch.submitter.contact_name, 60, "submitter contact")
        self.add(["PER", "IC", contact, "TE", batch.submitter.phone])
        self.org_nm1("40", batch.receiver.name, "46", batch.receiver.id, "receiver name")

    def billing_provider(self, hl: int, provider: BillingProvider) -> None:
        self.add(["HL", str(hl), "", "20", "1"])
        if provider.taxonomy:  # always, except in a batch the reader took from another sender
            self.add(["PRV", "BI", "PXC", provider.taxonomy])
        self.org_nm1("85", provider.name, "XX", provider.npi, "billing provider name")
        self.address(provider.address, "billing provider")
        self.add(["REF", "EI", provider.tax_id])

    def subscriber(self, hl: int, parent: int, claim: ClaimBase) -> None:
        sub = claim.subscriber
        dependent = claim.patient is not None
        self.add(
            ["HL", str(hl), str(parent), "22", "1" if dependent else "0"],
            [
                "SBR",
                claim.payer_responsibility,
                "" if dependent else "18",
                sub.group_number or "",
                "",
                claim.insurance_type or "",
                "",
                "",
                "",
                claim.claim_filing_indicator,
            ],
        )
        self.person_nm1("IL", sub, "MI", sub.member_id, "subscriber")
        if sub.address is not None:
            self.address(sub.address, "subscriber")
        self.demographics(sub.birth_date, sub.gender)
        self.org_nm1("PR", claim.payer.name, "PI", claim.payer.id, "payer name")

    def patient(self, hl: int, parent: int, claim: ClaimBase) -> None:
        patient = claim.patient
        assert patient is not None
        self.add(["HL", str(hl), str(parent), "23", "0"], ["PAT", patient.relationship])
        self.person_nm1("QC", patient, "", "", "patient")
        self.address(patient.address, "patient")
        self.demographics(patient.birth_date, patient.gender)

    def service_facility(self, facility: ServiceFacility) -> None:
        """837P 2310C, 837I 2310E."""
        where = "service facility name"
        if facility.npi is None:
            self.add(["NM1", "77", "2", self.text(facility.name, 60, where)])
        else:
            self.org_nm1("77", facility.name, "XX", facility.npi, where)
        self.address(facility.address, "service facility")

    def claim_refs(self, claim: ClaimBase) -> None:
        """2300 REF*9F, G1, F8 in the order both maps list them."""
        if claim.referral_number:
            self.add(["REF", "9F", claim.referral_number])
        if claim.prior_authorization:
            self.add(["REF", "G1", claim.prior_authorization])
        if claim.payer_claim_control_number:
            self.add(["REF", "F8", claim.payer_claim_control_number])

    def other_payer(self, claim: ClaimBase, other: OtherPayer) -> None:
        """2320, 2330A and 2330B."""
        self.add(
            [
                "SBR",
                other.responsibility,
                other.relationship,
                other.group_number or "",
                "",
                other.insurance_type or "",
                "",
                "",
                "",
                other.claim_filing_indicator,
            ],
            *cas_segments(other.adjustments),
        )
        if other.paid_amount is not None:
            self.add(["AMT", "D", fmt_amount(other.paid_amount)])
        if other.remaining_patient_liability is not None:
            self.add(["AMT", "EAF", fmt_amount(other.remaining_patient_liability)])
        self.add(["OI", "", "", claim.benefits_assigned, "", "", claim.release_of_information])
        self.person_nm1("IL", other.subscriber, "MI", other.member_id, "other subscriber")
        self.org_nm1("PR", other.payer.name, "PI", other.payer.id, "other payer name")
        if other.adjudication_date is not None:
            self.add(["DTP", "573", "D8", fmt_date(other.adjudication_date)])

    def adjudication(self, svd: SegmentSpec, adj: LineAdjudicationBase) -> None:
        """2430: the variant's SVD, then CAS, DTP*573 and AMT*EAF."""
        self.add(svd, *cas_segments(adj.adjustments), ["DTP", "573", "D8", fmt_date(adj.adjudication_date)])
        if adj.remaining_patient_liability is not None:
            self.add(["AMT", "EAF", fmt_amount(adj.remaining_patient_liability)])


def chunks(claims: Sequence[C], size: int) -> Iterator[Sequence[C]]:
    for start in range(0, len(claims), size):
        yield claims[start : start + size]


def _hierarchy(claims: Sequence[C]) -> dict[BillingProvider, dict[tuple[object, ...], list[C]]]:
    """Billing provider -> subscriber key -> claims, in first-seen order.

    The subscriber key holds everything written in 2000B/2010BA/2010BB, plus whether the
    claim is the subscriber's own: a subscriber HL carries either its own claims (HL04 0) or
    dependents (HL04 1), never both.
    """
    tree: dict[BillingProvider, dict[tuple[object, ...], list[C]]] = {}
    for claim in claims:
        key = (
            claim.subscriber,
            claim.payer,
            claim.payer_responsibility,
            claim.claim_filing_indicator,
            claim.insurance_type,
            claim.patient is not None,
        )
        tree.setdefault(claim.billing_provider, {}).setdefault(key, []).append(claim)
    return tree


def transaction_body(batch: BatchBase, claims: Sequence[ClaimBase], b: Builder) -> list[SegmentSpec]:
    """Segments of one 837 transaction set between ST and SE, built by ``b``."""
    b.header(batch)
    hl = 0
    for provider, subscribers in _hierarchy(claims).items():
        hl += 1
        provider_hl = hl
        b.billing_provider(provider_hl, provider)
        for group in subscribers.values():
            if group[0].patient is None:
                for chunk in chunks(group, MAX_CLAIMS_PER_SUBSCRIBER):
                    hl += 1
                    b.subscriber(hl, provider_hl, chunk[0])
                    for claim in chunk:
                        b.claim(claim)
                continue
            hl += 1
            subscriber_hl = hl
            b.subscriber(subscriber_hl, provider_hl, group[0])
            by_patient: dict[object, list[ClaimBase]] = {}
            for claim in group:
                by_patient.setdefault(claim.patient, []).append(claim)
            for patient_claims in by_patient.values():
                for chunk in chunks(patient_claims, MAX_CLAIMS_PER_SUBSCRIBER):
                    hl += 1
                    b.patient(hl, subscriber_hl, chunk[0])
                    for claim in chunk:
                        b.claim(claim)
    return b.out


class Renderer(Generic[B]):
    """``render_837p``/``render_837i``: a whole interchange, one GS, one ST per
    ``max_claims_per_transaction`` claims, each built by the variant's ``Builder``."""

    def __init__(self, implementation: str, builder: type[Builder]) -> None:
        self.implementation = implementation
        self.builder = builder

    def __call__(
        self,
        batch: B,
        *,
        delimiters: Delimiters = DEFAULT_DELIMITERS,
        line_breaks: bool = False,
        max_claims_per_transaction: int = MAX_CLAIMS_PER_TRANSACTION,
    ) -> str:
        params = EnvelopeParams(
            sender_id=batch.sender_id,
            receiver_id=batch.receiver_id,
            interchange_control_number=batch.interchange_control_number,
            group_control_number=batch.group_control_number,
            created=batch.created,
            usage_indicator=batch.usage_indicator,
            delimiters=delimiters,
        )
        bodies = [
            transaction_body(batch, chunk, self.builder(delimiters))
            for chunk in chunks(batch.claims, max_claims_per_transaction)
        ]
        return write_interchange(params, FUNCTIONAL_ID, self.implementation, bodies, line_breaks=line_breaks)
