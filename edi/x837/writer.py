"""837P (005010X222A1) writer: ClaimBatch -> X12 text."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from decimal import Decimal

from edi.envelope import EnvelopeParams, SegmentSpec, sanitize_text, write_interchange
from edi.errors import X12Error
from edi.segments import DEFAULT_DELIMITERS, Delimiters
from edi.x837.model import (
    FUNCTIONAL_ID,
    IMPLEMENTATION_837P,
    MAX_CLAIMS_PER_SUBSCRIBER,
    Address,
    Adjustment,
    BillingProvider,
    Claim,
    ClaimBatch,
    LineAdjudication,
    OtherPayer,
    Person,
    Provider,
    ServiceFacility,
    ServiceLine,
)

MAX_CLAIMS_PER_TRANSACTION = 5000  # X222 section 1.4.1 recommends at most 5000 CLM per ST-SE
_CAS_TRIPLETS = 6


def fmt_amount(value: Decimal) -> str:
    """X12 R type: plain notation, no exponent, no trailing zeros (150.00 -> 150)."""
    text = format(value.normalize(), "f")
    return "0" if text in {"-0", "0"} else text


def fmt_date(value: date) -> str:
    return value.strftime("%Y%m%d")


class _Text:
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


class _Builder:
    def __init__(self, delimiters: Delimiters) -> None:
        self.text = _Text(delimiters)
        self.out: list[SegmentSpec] = []

    def add(self, *segments: SegmentSpec) -> None:
        self.out.extend(segments)

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

    def billing_provider(self, hl: int, provider: BillingProvider) -> None:
        self.add(["HL", str(hl), "", "20", "1"], ["PRV", "BI", "PXC", provider.taxonomy])
        self.org_nm1("85", provider.name, "XX", provider.npi, "billing provider name")
        self.address(provider.address, "billing provider")
        self.add(["REF", "EI", provider.tax_id])

    def subscriber(self, hl: int, parent: int, claim: Claim) -> None:
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

    def patient(self, hl: int, parent: int, claim: Claim) -> None:
        patient = claim.patient
        assert patient is not None
        self.add(["HL", str(hl), str(parent), "23", "0"], ["PAT", patient.relationship])
        self.person_nm1("QC", patient, "", "", "patient")
        self.address(patient.address, "patient")
        self.demographics(patient.birth_date, patient.gender)

    def provider_nm1(self, qualifier: str, provider: Provider, where: str) -> None:
        self.person_nm1(qualifier, provider, "XX", provider.npi, where)
        if provider.taxonomy and qualifier == "82":
            self.add(["PRV", "PE", "PXC", provider.taxonomy])

    def claim(self, claim: Claim) -> None:
        causes = [*claim.related_causes, "", ""]
        self.add(
            [
                "CLM",
                claim.submission_id,
                fmt_amount(claim.charge),
                "",
                "",
                [claim.place_of_service, "B", claim.frequency],
                "Y" if claim.provider_signature else "N",
                claim.assignment,
                claim.benefits_assigned,
                claim.release_of_information,
                "",
                [causes[0], causes[1], "", claim.accident_state or ""],
            ]
        )
        if claim.accident_date is not None:
            self.add(["DTP", "439", "D8", fmt_date(claim.accident_date)])
        # Map order inside 2300: REF*9F, G1, F8, X4.
        if claim.referral_number:
            self.add(["REF", "9F", claim.referral_number])
        if claim.prior_authorization:
            self.add(["REF", "G1", claim.prior_authorization])
        if claim.payer_claim_control_number:
            self.add(["REF", "F8", claim.payer_claim_control_number])
        if claim.clia_number:
            self.add(["REF", "X4", claim.clia_number])
        hi: list[SegmentSpec] = [
            ["HI"] + [["ABK" if i == 0 else "ABF", code] for i, code in enumerate(claim.diagnoses)]
        ]
        self.add(*hi)
        if claim.referring_provider is not None:
            self.provider_nm1("DN", claim.referring_provider, "referring provider")
        if claim.rendering_provider is not None:
            self.provider_nm1("82", claim.rendering_provider, "rendering provider")
        if claim.service_facility is not None:
            self.service_facility(claim.service_facility)
        for other in claim.other_payers:
            self.other_payer(claim, other)
        for n, line in enumerate(claim.lines, start=1):
            self.line(n, line)

    def service_facility(self, facility: ServiceFacility) -> None:
        where = "service facility name"
        if facility.npi is None:
            self.add(["NM1", "77", "2", self.text(facility.name, 60, where)])
        else:
            self.org_nm1("77", facility.name, "XX", facility.npi, where)
        self.address(facility.address, "service facility")

    def other_payer(self, claim: Claim, other: OtherPayer) -> None:
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

    def line(self, n: int, line: ServiceLine) -> None:
        self.add(
            ["LX", str(n)],
            [
                "SV1",
                ["HC", line.procedure_code, *line.modifiers],
                fmt_amount(line.charge),
                line.unit_code,
                fmt_amount(line.units),
                line.place_of_service or "",
                "",
                [str(p) for p in line.diagnosis_pointers],
            ],
        )
        if line.service_date_end is not None and line.service_date_end != line.service_date:
            self.add(["DTP", "472", "RD8", f"{fmt_date(line.service_date)}-{fmt_date(line.service_date_end)}"])
        else:
            self.add(["DTP", "472", "D8", fmt_date(line.service_date)])
        if line.line_control_number:
            self.add(["REF", "6R", line.line_control_number])
        if line.drug is not None:
            self.add(
                ["LIN", "", "N4", line.drug.ndc],
                ["CTP", "", "", "", fmt_amount(line.drug.quantity), line.drug.unit],
            )
        if line.rendering_provider is not None:
            self.provider_nm1("82", line.rendering_provider, "line rendering provider")
        if line.ordering_provider is not None:
            self.provider_nm1("DK", line.ordering_provider, "ordering provider")
        for adj in line.adjudications:
            self.adjudication(adj)

    def adjudication(self, adj: LineAdjudication) -> None:
        self.add(
            [
                "SVD",
                adj.payer_id,
                fmt_amount(adj.paid_amount),
                ["HC", adj.procedure_code, *adj.modifiers],
                "",
                fmt_amount(adj.units),
            ],
            *cas_segments(adj.adjustments),
            ["DTP", "573", "D8", fmt_date(adj.adjudication_date)],
        )
        if adj.remaining_patient_liability is not None:
            self.add(["AMT", "EAF", fmt_amount(adj.remaining_patient_liability)])


def _chunks(claims: Sequence[Claim], size: int) -> Iterator[Sequence[Claim]]:
    for start in range(0, len(claims), size):
        yield claims[start : start + size]


def _hierarchy(claims: Sequence[Claim]) -> dict[BillingProvider, dict[tuple[object, ...], list[Claim]]]:
    """Billing provider -> subscriber key -> claims, in first-seen order.

    The subscriber key holds everything written in 2000B/2010BA/2010BB, plus whether the
    claim is the subscriber's own: a subscriber HL carries either its own claims (HL04 0) or
    dependents (HL04 1), never both.
    """
    tree: dict[BillingProvider, dict[tuple[object, ...], list[Claim]]] = {}
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


def transaction_body(batch: ClaimBatch, claims: Sequence[Claim], delimiters: Delimiters) -> list[SegmentSpec]:
    """Segments of one 837P transaction set between ST and SE."""
    b = _Builder(delimiters)
    created = batch.created
    b.add(["BHT", "0019", "00", batch.reference, created.strftime("%Y%m%d"), created.strftime("%H%M"), "CH"])
    b.org_nm1("41", batch.submitter.name, "46", batch.submitter.id, "submitter name")
    b.add(["PER", "IC", b.text(batch.submitter.contact_name, 60, "submitter contact"), "TE", batch.submitter.phone])
    b.org_nm1("40", batch.receiver.name, "46", batch.receiver.id, "receiver name")
    hl = 0
    for provider, subscribers in _hierarchy(claims).items():
        hl += 1
        provider_hl = hl
        b.billing_provider(provider_hl, provider)
        for group in subscribers.values():
            if group[0].patient is None:
                for chunk in _chunks(group, MAX_CLAIMS_PER_SUBSCRIBER):
                    hl += 1
                    b.subscriber(hl, provider_hl, chunk[0])
                    for claim in chunk:
                        b.claim(claim)
                continue
            hl += 1
            subscriber_hl = hl
            b.subscriber(subscriber_hl, provider_hl, group[0])
            by_patient: dict[object, list[Claim]] = {}
            for claim in group:
                by_patient.setdefault(claim.patient, []).append(claim)
            for patient_claims in by_patient.values():
                for chunk in _chunks(patient_claims, MAX_CLAIMS_PER_SUBSCRIBER):
                    hl += 1
                    b.patient(hl, subscriber_hl, chunk[0])
                    for claim in chunk:
                        b.claim(claim)
    return b.out


def render_837p(
    batch: ClaimBatch,
    *,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    line_breaks: bool = False,
    max_claims_per_transaction: int = MAX_CLAIMS_PER_TRANSACTION,
) -> str:
    """Render a whole 837P interchange (one GS, one ST per ``max_claims_per_transaction`` claims)."""
    params = EnvelopeParams(
        sender_id=batch.sender_id,
        receiver_id=batch.receiver_id,
        interchange_control_number=batch.interchange_control_number,
        group_control_number=batch.group_control_number,
        created=batch.created,
        usage_indicator=batch.usage_indicator,
        delimiters=delimiters,
    )
    bodies = [transaction_body(batch, chunk, delimiters) for chunk in _chunks(batch.claims, max_claims_per_transaction)]
    return write_interchange(params, FUNCTIONAL_ID, IMPLEMENTATION_837P, bodies, line_breaks=line_breaks)
