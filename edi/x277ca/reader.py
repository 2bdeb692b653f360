"""The X12 277CA reader: ``read_277ca`` turns a file into ``Ack277CA`` (005010X214 only)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from edi.composites import Procedure, read_status_code
from edi.envelope import read_interchanges, transaction_sets
from edi.issues import X12Issue
from edi.segments import is_digits
from edi.x12 import Segment, TransactionSet
from edi.x12values import (
    Cursor,
    element_error,
    expect_code,
    expect_hl,
    optional_date,
    optional_decimal,
    parse_period,
    required,
    required_date,
    required_decimal,
    segment_error,
)
from edi.x277ca.model import (
    FUNCTIONAL_ID,
    IMPLEMENTATION,
    Ack277CA,
    ClaimAck,
    ClaimAckTransaction,
    LineStatus,
    PatientLevel,
    ProviderLevel,
    ReceiverLevel,
    SourceLevel,
    StatusInfo,
    Totals,
)


def read_277ca(text: str) -> Ack277CA:
    """Every 277CA transaction set of a file (of every interchange in it; the envelope identifiers
    are the first interchange's). Trailer counts that do not match are not errors here."""
    interchanges = read_interchanges(text)
    interchange = interchanges[0]
    sets = transaction_sets(interchanges, FUNCTIONAL_ID, "277", "a 277CA (GS01 HN, ST01 277, 005010X214)",
                            IMPLEMENTATION)
    transactions = [read_transaction_set(ts) for ts in sets]
    return Ack277CA(sender_id=interchange.sender_id, receiver_id=interchange.receiver_id,
                    interchange_control_number=interchange.control_number, transactions=tuple(transactions))


def read_transaction_set(ts: TransactionSet) -> ClaimAckTransaction:
    cur = Cursor(ts.segments[1:-1], ts.segments[-1])
    bht = cur.expect("BHT", what="beginning of hierarchical transaction")
    expect_code(bht, 1, ("0085",))
    created = required_date(bht, 4)
    clock = required(bht, 5)
    if not is_digits(clock) or len(clock) not in (4, 6, 7, 8):
        raise element_error(bht, 5, "is not an HHMM[SS] time")
    try:
        stamp = datetime(created.year, created.month, created.day, int(clock[:2]), int(clock[2:4]),
                         int(clock[4:6] or 0))
    except ValueError:
        raise element_error(bht, 5, "is not a valid time") from None
    sources: list[SourceLevel] = []
    findings: list[X12Issue] = []
    while cur.at("HL"):
        sources.append(_read_source(cur, findings))
    if not sources:
        cur.expect("HL", what="information source level 20")
    if cur.peek() is not None:
        raise cur.unexpected("the 277CA")
    return ClaimAckTransaction(reference=required(bht, 3), created=stamp, sources=tuple(sources),
                               control_number=ts.control_number, findings=tuple(findings))


def _next_hl_level(cur: Cursor) -> str | None:
    seg = cur.peek()
    return seg.el(3) if seg is not None and seg.tag == "HL" else None


def _read_source(cur: Cursor, findings: list[X12Issue]) -> SourceLevel:
    hl = expect_hl(cur, "20", None, "information source level")
    nm1 = cur.expect("NM1", what="information source name")
    expect_code(nm1, 1, ("PR", "AY"))
    trn = cur.expect("TRN", "1", "transmission receipt control identifier")
    receipt = cur.expect("DTP", "050", "information source receipt date")
    expect_code(receipt, 2, ("D8",))
    process = cur.expect("DTP", "009", "information source process date")
    expect_code(process, 2, ("D8",))
    if cur.at("TRN"):
        raise segment_error(cur.next(), "a second 2200A trace loop is not supported")
    receiver = _read_receiver(cur, hl.el(1), findings)
    return SourceLevel(entity=nm1.el(1), name=required(nm1, 3), id_qualifier=required(nm1, 8),
                       id=required(nm1, 9), trace_number=required(trn, 2),
                       receipt_date=required_date(receipt, 3), process_date=required_date(process, 3),
                       receiver=receiver)


def _read_statuses(cur: Cursor, what: str) -> tuple[StatusInfo, ...]:
    statuses = [_read_stc(cur.expect("STC", what=what))]
    while cur.at("STC"):
        statuses.append(_read_stc(cur.next()))
    return tuple(statuses)


def _read_stc(seg: Segment) -> StatusInfo:
    additional = tuple(read_status_code(seg, i) for i in (10, 11) if seg.el(i))
    return StatusInfo(code=read_status_code(seg, 1), effective_date=optional_date(seg, 2), action_code=seg.el(3),
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


def _read_receiver(cur: Cursor, parent: str, findings: list[X12Issue]) -> ReceiverLevel:
    hl = expect_hl(cur, "21", parent, "information receiver level")
    nm1 = cur.expect("NM1", "41", "information receiver name")
    trn = cur.expect("TRN", "2", "information receiver trace identifier")
    statuses = _read_statuses(cur, "information receiver status")
    totals = _read_totals(cur)
    providers: list[ProviderLevel] = []
    while _next_hl_level(cur) == "19":
        providers.append(_read_provider(cur, hl.el(1), findings))
    if cur.peek() is not None and _next_hl_level(cur) != "20":
        raise cur.unexpected("the information receiver level (expected HL 19, or HL 20 for the next source)")
    return ReceiverLevel(name=required(nm1, 3), first_name=nm1.el(4), entity_type=required(nm1, 2),
                         id=required(nm1, 9), batch_trace=required(trn, 2), statuses=statuses, totals=totals,
                         providers=tuple(providers))


def _read_provider(cur: Cursor, parent: str, findings: list[X12Issue]) -> ProviderLevel:
    hl = expect_hl(cur, "19", parent, "billing provider of service level")
    nm1 = cur.expect("NM1", "85", "billing provider name")
    trn = cur.expect("TRN", "1", "provider of service information trace identifier")
    statuses: tuple[StatusInfo, ...] = ()
    if cur.at("STC"):
        statuses = _read_statuses(cur, "billing provider status")
    else:  # required by X214, left out by some payers: the claims' own STC still say what happened
        findings.append(X12Issue(code="stc_missing", message="billing provider loop 2200C has no STC",
                                 position=trn.position, segment_id="TRN"))
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
    expect_hl(cur, "PT", parent, "patient level")
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
