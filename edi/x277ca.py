"""X12 277CA (005010X214) claim acknowledgment: model, reader, writer, builder, JSON.

The hierarchy is HL 20 information source (payer or clearinghouse) -> 21 information
receiver (the submitter) -> 19 billing provider -> PT patient, and under each patient one
2200D loop per claim: ``TRN*2*<CLM01>``, one or more ``STC*category:status:entity``, optional
``REF*1K`` payer claim control number and ``REF*D9`` clearinghouse trace, ``DTP*472``.

A claim is accepted when its status categories are A1 (received) or A2 (accepted into
adjudication); A3, A6, A7 and A8 reject it (fix and resubmit as a new original); A4 means the
payer cannot find it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

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
    format_period,
    json_amount,
    json_date,
    json_optional_amount,
    optional_date,
    optional_decimal,
    parse_period,
    required,
    required_date,
    required_decimal,
    segment_error,
)
from edi.x835 import Procedure

IMPLEMENTATION = "005010X214"
FUNCTIONAL_ID = "HN"

ACCEPTED_CATEGORIES = frozenset({"A1", "A2"})
REJECTED_CATEGORIES = frozenset({"A3", "A6", "A7", "A8"})
NOT_FOUND_CATEGORIES = frozenset({"A4"})

Outcome = Literal["accepted", "rejected", "not_found", "other"]


@dataclass(frozen=True)
class StatusCode:
    """One ``category:status:entity`` composite (STC01, STC10, STC11)."""

    category: str  # 507: A1 received, A2 accepted, A3/A6/A7/A8 rejected, A4 not found, ...
    status: str  # 508: claim status code
    entity: str = ""  # 98: who the status is about (85 billing provider, PR payer, QC patient, ...)


@dataclass(frozen=True, kw_only=True)
class StatusInfo:
    """One STC segment."""

    code: StatusCode  # STC01
    effective_date: date | None = None  # STC02 (not used at the billing provider level)
    action_code: str = ""  # STC03: WQ accepted, U rejected
    amount: Decimal | None = None  # STC04: total submitted charges of the unit
    additional: tuple[StatusCode, ...] = ()  # STC10, STC11
    message: str = ""  # STC12 free-form text (claim and line levels)

    @property
    def codes(self) -> tuple[StatusCode, ...]:
        return (self.code, *self.additional)


def outcome_of(statuses: Sequence[StatusInfo]) -> Outcome:
    """Any rejecting category wins over acceptance: one STC saying A7 rejects the claim."""
    categories = {c.category for s in statuses for c in s.codes}
    if categories & REJECTED_CATEGORIES:
        return "rejected"
    if categories & NOT_FOUND_CATEGORIES:
        return "not_found"
    if categories & ACCEPTED_CATEGORIES:
        return "accepted"
    return "other"


@dataclass(frozen=True, kw_only=True)
class LineStatus:
    """Loop 2220D: the status of one service line."""

    procedure: Procedure
    charge: Decimal  # SVC02
    revenue_code: str = ""  # SVC04
    units: Decimal | None = None  # SVC07
    status: StatusInfo
    line_control_number: str = ""  # REF*FJ
    prescription_number: str = ""  # REF*XZ
    service_from: date | None = None  # DTP*472
    service_to: date | None = None


@dataclass(frozen=True, kw_only=True)
class ClaimAck:
    """Loop 2200D: the acknowledgment of one claim."""

    patient_control_number: str  # TRN02 = 837 CLM01
    statuses: tuple[StatusInfo, ...]
    payer_claim_control_number: str = ""  # REF*1K
    clearinghouse_trace: str = ""  # REF*D9
    bill_type: str = ""  # REF*BLT
    service_from: date  # DTP*472
    service_to: date
    lines: tuple[LineStatus, ...] = ()
    position: int | None = field(default=None, compare=False)  # TRN segment

    @property
    def outcome(self) -> Outcome:
        return outcome_of(self.statuses)

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"

    @property
    def rejected(self) -> bool:
        return self.outcome == "rejected"

    @property
    def primary_status(self) -> StatusCode:
        return self.statuses[0].code

    @property
    def charge(self) -> Decimal | None:
        return self.statuses[0].amount


@dataclass(frozen=True, kw_only=True)
class PatientLevel:
    """Loop 2000D/2100D."""

    last_name: str
    first_name: str = ""
    middle_name: str = ""
    suffix: str = ""
    id_qualifier: str = "MI"  # MI member id, II standard unique health id
    id: str
    claims: tuple[ClaimAck, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Totals:
    """QTY/AMT of accepted and rejected claims at the receiver and provider levels."""

    accepted_quantity: Decimal | None = None
    rejected_quantity: Decimal | None = None
    accepted_amount: Decimal | None = None
    rejected_amount: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class ProviderLevel:
    """Loop 2000C: billing provider, with provider-level statuses (e.g. not enrolled)."""

    name: str  # NM103
    first_name: str = ""
    entity_type: str = "2"
    id_qualifier: str = "XX"  # XX NPI, FI tax id, SV service provider number
    id: str
    trace_number: str  # 2200C TRN02
    statuses: tuple[StatusInfo, ...]
    secondary_id: tuple[str, str] | None = None  # REF qualifier, value
    totals: Totals = Totals()
    patients: tuple[PatientLevel, ...] = ()

    @property
    def accepted(self) -> bool:
        return outcome_of(self.statuses) == "accepted"


@dataclass(frozen=True, kw_only=True)
class ReceiverLevel:
    """Loop 2000B: the information receiver (our submitter id) and batch-level statuses."""

    name: str
    first_name: str = ""
    entity_type: str = "2"
    id: str  # NM109 (qualifier 46, electronic transmitter id)
    batch_trace: str  # TRN*2 TRN02: the batch the 277CA answers
    statuses: tuple[StatusInfo, ...]
    totals: Totals = Totals()
    providers: tuple[ProviderLevel, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SourceLevel:
    """Loop 2000A: the information source (payer or clearinghouse)."""

    entity: str = "PR"  # PR payer, AY clearinghouse
    name: str
    id_qualifier: str = "PI"  # 46, FI, PI, XV
    id: str
    trace_number: str  # 2200A TRN02
    receipt_date: date  # DTP*050
    process_date: date  # DTP*009
    receiver: ReceiverLevel


@dataclass(frozen=True, kw_only=True)
class ClaimAckTransaction:
    """One ST 277 (005010X214)."""

    reference: str  # BHT03
    created: datetime  # BHT04 + BHT05
    sources: tuple[SourceLevel, ...]
    control_number: str = field(default="", compare=False)

    @property
    def claims(self) -> tuple[ClaimAck, ...]:
        return tuple(
            c for s in self.sources for p in s.receiver.providers for pt in p.patients for c in pt.claims
        )

    @property
    def providers(self) -> tuple[ProviderLevel, ...]:
        return tuple(p for s in self.sources for p in s.receiver.providers)


@dataclass(frozen=True, kw_only=True)
class Ack277CA:
    """A whole 277CA file."""

    sender_id: str
    receiver_id: str
    interchange_control_number: str
    transactions: tuple[ClaimAckTransaction, ...]

    @property
    def claims(self) -> tuple[ClaimAck, ...]:
        return tuple(c for t in self.transactions for c in t.claims)


# --- reading --------------------------------------------------------------------------------


def read_277ca(text: str) -> Ack277CA:
    interchange = read_interchange(text)
    transactions: list[ClaimAckTransaction] = []
    for group in interchange.groups:
        for ts in group.transactions:
            if group.functional_id != FUNCTIONAL_ID or ts.id != "277" or ts.implementation != IMPLEMENTATION:
                st = ts.segments[0]
                raise X12EnvelopeError("transaction set is not a 277CA (GS01 HN, ST01 277, 005010X214)",
                                       position=st.position, segment_id=st.tag)
            transactions.append(read_transaction_set(ts))
    if not transactions:
        raise X12EnvelopeError("file holds no 277CA transaction set", position=1, segment_id="ISA")
    return Ack277CA(sender_id=interchange.sender_id, receiver_id=interchange.receiver_id,
                    interchange_control_number=interchange.control_number, transactions=tuple(transactions))


def read_transaction_set(ts: TransactionSet) -> ClaimAckTransaction:
    cur = Cursor(ts.segments[1:-1], ts.segments[-1])
    bht = cur.expect("BHT", what="beginning of hierarchical transaction")
    expect_code(bht, 1, ("0085",))
    created = required_date(bht, 4)
    clock = required(bht, 5)
    if not clock.isdigit() or len(clock) not in (4, 6, 7, 8):
        raise element_error(bht, 5, "is not an HHMM[SS] time")
    try:
        stamp = datetime(created.year, created.month, created.day, int(clock[:2]), int(clock[2:4]),
                         int(clock[4:6] or 0))
    except ValueError:
        raise element_error(bht, 5, "is not a valid time") from None
    sources: list[SourceLevel] = []
    while cur.at("HL"):
        sources.append(_read_source(cur))
    if not sources:
        cur.expect("HL", what="information source level 20")
    if cur.peek() is not None:
        raise cur.unexpected("the 277CA")
    return ClaimAckTransaction(reference=required(bht, 3), created=stamp, sources=tuple(sources),
                               control_number=ts.control_number)


def _expect_hl(cur: Cursor, level: str, parent: str | None, what: str) -> Segment:
    hl = cur.expect("HL", what=what)
    if hl.el(3) != level:
        raise element_error(hl, 3, f"must be {level} ({what})")
    required(hl, 1)
    if parent is not None and hl.el(2) != parent:
        raise element_error(hl, 2, "does not point to the enclosing level's HL01")
    return hl


def _next_hl_level(cur: Cursor) -> str | None:
    seg = cur.peek()
    return seg.el(3) if seg is not None and seg.tag == "HL" else None


def _read_source(cur: Cursor) -> SourceLevel:
    hl = _expect_hl(cur, "20", None, "information source level")
    nm1 = cur.expect("NM1", what="information source name")
    expect_code(nm1, 1, ("PR", "AY"))
    trn = cur.expect("TRN", "1", "transmission receipt control identifier")
    receipt = cur.expect("DTP", "050", "information source receipt date")
    expect_code(receipt, 2, ("D8",))
    process = cur.expect("DTP", "009", "information source process date")
    expect_code(process, 2, ("D8",))
    if cur.at("TRN"):
        raise segment_error(cur.next(), "a second 2200A trace loop is not supported")
    receiver = _read_receiver(cur, hl.el(1))
    return SourceLevel(entity=nm1.el(1), name=required(nm1, 3), id_qualifier=required(nm1, 8),
                       id=required(nm1, 9), trace_number=required(trn, 2),
                       receipt_date=required_date(receipt, 3), process_date=required_date(process, 3),
                       receiver=receiver)


def _read_statuses(cur: Cursor, what: str) -> tuple[StatusInfo, ...]:
    statuses = [_read_stc(cur.expect("STC", what=what))]
    while cur.at("STC"):
        statuses.append(_read_stc(cur.next()))
    return tuple(statuses)


def _status_code(seg: Segment, i: int) -> StatusCode:
    category, status = seg.comp(i, 1), seg.comp(i, 2)
    if not category or not status:
        raise element_error(seg, i, "needs a status category code and a status code")
    return StatusCode(category, status, seg.comp(i, 3))


def _read_stc(seg: Segment) -> StatusInfo:
    additional = tuple(_status_code(seg, i) for i in (10, 11) if seg.el(i))
    return StatusInfo(code=_status_code(seg, 1), effective_date=optional_date(seg, 2), action_code=seg.el(3),
                      amount=optional_decimal(seg, 4), additional=additional, message=seg.el(12))


_QTY = {"90": "accepted_quantity", "AA": "rejected_quantity", "QA": "accepted_quantity",
        "QC": "rejected_quantity"}
_AMT = {"YU": "accepted_amount", "YY": "rejected_amount"}


def _read_totals(cur: Cursor) -> Totals:
    values: dict[str, Decimal] = {}
    while (seg := cur.peek()) is not None and seg.tag in {"QTY", "AMT"}:
        seg = cur.next()
        key = (_QTY if seg.tag == "QTY" else _AMT).get(seg.el(1))
        if key is None:
            raise element_error(seg, 1, "is not a qualifier allowed here")
        if key in values:
            raise segment_error(seg, "repeats a total allowed once in its loop")
        values[key] = required_decimal(seg, 2)
    return Totals(**values)


def _read_receiver(cur: Cursor, parent: str) -> ReceiverLevel:
    hl = _expect_hl(cur, "21", parent, "information receiver level")
    nm1 = cur.expect("NM1", "41", "information receiver name")
    trn = cur.expect("TRN", "2", "information receiver trace identifier")
    statuses = _read_statuses(cur, "information receiver status")
    totals = _read_totals(cur)
    providers: list[ProviderLevel] = []
    while _next_hl_level(cur) == "19":
        providers.append(_read_provider(cur, hl.el(1)))
    if cur.peek() is not None and _next_hl_level(cur) != "20":
        raise cur.unexpected("the information receiver level (expected HL 19, or HL 20 for the next source)")
    return ReceiverLevel(name=required(nm1, 3), first_name=nm1.el(4), entity_type=required(nm1, 2),
                         id=required(nm1, 9), batch_trace=required(trn, 2), statuses=statuses, totals=totals,
                         providers=tuple(providers))


def _read_provider(cur: Cursor, parent: str) -> ProviderLevel:
    hl = _expect_hl(cur, "19", parent, "billing provider of service level")
    nm1 = cur.expect("NM1", "85", "billing provider name")
    trn = cur.expect("TRN", "1", "provider of service information trace identifier")
    statuses = _read_statuses(cur, "billing provider status")
    ref = cur.take("REF")
    totals = _read_totals(cur)
    patients: list[PatientLevel] = []
    while _next_hl_level(cur) == "PT":
        patients.append(_read_patient(cur, hl.el(1)))
    if cur.peek() is not None and not cur.at("HL"):
        raise cur.unexpected("the billing provider level")
    return ProviderLevel(name=required(nm1, 3), first_name=nm1.el(4), entity_type=required(nm1, 2),
                         id_qualifier=required(nm1, 8), id=required(nm1, 9), trace_number=required(trn, 2),
                         statuses=statuses, secondary_id=(required(ref, 1), required(ref, 2)) if ref else None,
                         totals=totals, patients=tuple(patients))


def _read_patient(cur: Cursor, parent: str) -> PatientLevel:
    _expect_hl(cur, "PT", parent, "patient level")
    nm1 = cur.expect("NM1", "QC", "patient name")
    claims: list[ClaimAck] = []
    while cur.at("TRN"):
        claims.append(_read_claim(cur))
    if cur.peek() is not None and not cur.at("HL"):
        raise cur.unexpected("the patient level" if not claims else "the claim status tracking loop 2200D")
    return PatientLevel(last_name=required(nm1, 3), first_name=nm1.el(4), middle_name=nm1.el(5),
                        suffix=nm1.el(7), id_qualifier=required(nm1, 8), id=required(nm1, 9), claims=tuple(claims))


_CLAIM_REFS = {"1K": "payer_claim_control_number", "D9": "clearinghouse_trace", "BLT": "bill_type"}


def _read_claim(cur: Cursor) -> ClaimAck:
    trn = cur.next()
    expect_code(trn, 1, ("2",))
    statuses = _read_statuses(cur, "claim level status information")
    refs: dict[str, str] = {}
    while (ref := cur.take("REF")) is not None:
        key = _CLAIM_REFS.get(ref.el(1))
        if key is None:
            raise element_error(ref, 1, "is not a reference qualifier of the claim loop 2200D")
        if key in refs:
            raise segment_error(ref, "repeats a reference allowed once in its loop")
        refs[key] = required(ref, 2)
    dtp = cur.expect("DTP", "472", "claim level service date")
    start, end = parse_period(dtp, 2, 3)
    lines: list[LineStatus] = []
    while cur.at("SVC"):
        lines.append(_read_line(cur))
    return ClaimAck(patient_control_number=required(trn, 2), statuses=statuses, service_from=start, service_to=end,
                    lines=tuple(lines), position=trn.position, **refs)


def _read_line(cur: Cursor) -> LineStatus:
    svc = cur.next()
    parts = svc.comps(1)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise element_error(svc, 1, "needs a product/service id qualifier and a procedure code")
    stc = _read_stc(cur.expect("STC", what="service line level status information"))
    refs: dict[str, str] = {}
    while (ref := cur.take("REF")) is not None:
        key = {"FJ": "line_control_number", "XZ": "prescription_number"}.get(ref.el(1))
        if key is None:
            raise element_error(ref, 1, "is not a reference qualifier of the service line loop 2220D")
        refs[key] = required(ref, 2)
    start = end = None
    if (dtp := cur.take("DTP", "472")) is not None:
        start, end = parse_period(dtp, 2, 3)
    return LineStatus(
        procedure=Procedure(qualifier=parts[0], code=parts[1], modifiers=tuple(m for m in parts[2:6] if m)),
        charge=required_decimal(svc, 2), revenue_code=svc.el(4), units=optional_decimal(svc, 7, "decimal quantity"),
        status=stc, service_from=start, service_to=end, **refs,
    )


# --- writing --------------------------------------------------------------------------------


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


# --- building (the sandbox's clearinghouse answers an 837 batch) ---------------------------


@dataclass(frozen=True, kw_only=True)
class ClaimDecision:
    """What the acknowledging side decided about one submitted claim."""

    patient_control_number: str
    charge: Decimal
    service_from: date
    service_to: date | None = None
    patient_last_name: str
    patient_first_name: str = ""
    member_id: str
    provider_name: str
    provider_npi: str
    accepted: bool
    # Defaults: A2:20 accepted for processing; A7:21 rejected for missing or invalid information.
    status: StatusCode | None = None
    additional: tuple[StatusCode, ...] = ()
    payer_claim_control_number: str = ""
    clearinghouse_trace: str = ""
    message: str = ""


ACCEPTED_STATUS = StatusCode("A2", "20", "PR")
REJECTED_STATUS = StatusCode("A7", "21", "85")
RECEIVED_STATUS = StatusCode("A1", "19", "PR")


def build_277ca(
    decisions: Sequence[ClaimDecision],
    *,
    source_name: str,
    source_id: str,
    receiver_name: str,
    receiver_id: str,
    batch_trace: str,
    reference: str,
    created: datetime,
    received: date | None = None,
    source_entity: str = "PR",
    source_id_qualifier: str = "PI",
) -> ClaimAckTransaction:
    """One 277CA transaction acknowledging ``decisions`` (claims grouped by billing provider,
    then patient, in first-seen order), with receiver and provider totals filled in."""
    if not decisions:
        raise ValueError("a 277CA needs at least one claim")
    when = created.date()
    by_provider: dict[tuple[str, str], dict[tuple[str, str, str], list[ClaimDecision]]] = {}
    for d in decisions:
        patients = by_provider.setdefault((d.provider_name, d.provider_npi), {})
        patients.setdefault((d.patient_last_name, d.patient_first_name, d.member_id), []).append(d)
    providers: list[ProviderLevel] = []
    for (name, npi), patients in by_provider.items():
        members = [d for claims in patients.values() for d in claims]
        providers.append(ProviderLevel(
            name=name, id=npi, trace_number=f"{reference}-{len(providers) + 1}",
            statuses=(StatusInfo(code=StatusCode(RECEIVED_STATUS.category, RECEIVED_STATUS.status, "85"),
                                 action_code="WQ", amount=_total(members)),),
            totals=_totals(members),
            patients=tuple(
                PatientLevel(last_name=last, first_name=first, id=member,
                             claims=tuple(_claim_ack(d, when) for d in claims))
                for (last, first, member), claims in patients.items()
            ),
        ))
    receiver = ReceiverLevel(
        name=receiver_name, id=receiver_id, batch_trace=batch_trace,
        statuses=(StatusInfo(code=RECEIVED_STATUS, effective_date=when, action_code="WQ",
                             amount=_total(decisions)),),
        totals=_totals(decisions), providers=tuple(providers),
    )
    source = SourceLevel(entity=source_entity, name=source_name, id_qualifier=source_id_qualifier, id=source_id,
                         trace_number=reference, receipt_date=received or when, process_date=when, receiver=receiver)
    return ClaimAckTransaction(reference=reference, created=created, sources=(source,))


def _total(decisions: Sequence[ClaimDecision]) -> Decimal:
    return sum((d.charge for d in decisions), Decimal(0))


def _totals(decisions: Sequence[ClaimDecision]) -> Totals:
    accepted = [d for d in decisions if d.accepted]
    rejected = [d for d in decisions if not d.accepted]
    return Totals(accepted_quantity=Decimal(len(accepted)), rejected_quantity=Decimal(len(rejected)),
                  accepted_amount=_total(accepted), rejected_amount=_total(rejected))


def _claim_ack(d: ClaimDecision, when: date) -> ClaimAck:
    code = d.status or (ACCEPTED_STATUS if d.accepted else REJECTED_STATUS)
    status = StatusInfo(code=code, effective_date=when, action_code="WQ" if d.accepted else "U", amount=d.charge,
                        additional=d.additional, message=d.message)
    return ClaimAck(patient_control_number=d.patient_control_number, statuses=(status,),
                    payer_claim_control_number=d.payer_claim_control_number,
                    clearinghouse_trace=d.clearinghouse_trace, service_from=d.service_from,
                    service_to=d.service_to or d.service_from)


# --- normalized JSON ------------------------------------------------------------------------


def _status_json(s: StatusInfo) -> dict[str, Any]:
    return {"category_code": s.code.category, "status_code": s.code.status, "entity_code": s.code.entity,
            "additional": [{"category_code": c.category, "status_code": c.status, "entity_code": c.entity}
                           for c in s.additional],
            "action_code": s.action_code, "effective_date": json_date(s.effective_date),
            "amount": json_optional_amount(s.amount), "message": s.message}


def _claim_json(c: ClaimAck) -> dict[str, Any]:
    first = c.primary_status
    return {
        "patient_control_number": c.patient_control_number,
        "accepted": c.accepted,
        "outcome": c.outcome,
        "category_code": first.category,
        "status_code": first.status,
        "entity_code": first.entity,
        "payer_claim_control_number": c.payer_claim_control_number or None,
        "clearinghouse_trace": c.clearinghouse_trace or None,
        "charge_amount": json_optional_amount(c.charge),
        "service_from": json_date(c.service_from),
        "service_to": json_date(c.service_to),
        "statuses": [_status_json(s) for s in c.statuses],
        "service_lines": [
            {"procedure": line.procedure.code, "modifiers": list(line.procedure.modifiers),
             "charge": json_amount(line.charge), "line_control_number": line.line_control_number or None,
             "category_code": line.status.code.category, "status_code": line.status.code.status}
            for line in c.lines
        ],
    }


def to_json_dict(ack: Ack277CA) -> dict[str, Any]:
    """{"transaction": "277CA", "claims": [...]} plus the provider-level statuses, which can
    reject every claim of a provider at once."""
    return {
        "transaction": "277CA",
        "claims": [_claim_json(c) for c in ack.claims],
        "provider_statuses": [
            {"provider_id": p.id, "id_qualifier": p.id_qualifier, "accepted": p.accepted,
             "statuses": [_status_json(s) for s in p.statuses]}
            for t in ack.transactions for p in t.providers
        ],
        "batch_statuses": [
            {"batch_trace": s.receiver.batch_trace, "statuses": [_status_json(x) for x in s.receiver.statuses]}
            for t in ack.transactions for s in t.sources
        ],
    }
