"""835 remittances: store raw + hash, refuse duplicates (hash, payer + TRN02), read and balance
through edi/, quarantine what fails, and post the rest in one transaction (never half-posted):
each claim payment matched to its submission (or held in suspense: service/suspense.py), the
PLB adjustments, then the books of every encounter touched (service/books.py)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, TypedDict

import asyncpg
from opentelemetry import trace
from pydantic import BaseModel, ValidationError

from edi.errors import X12Error
from edi.x835 import Adjustment, ClaimPayment, RemittanceTransaction, check_835, read_835
from schemas.common import CasAdjustment, ClaimStatusCode, PatientShare, PayerRef
from schemas.remits import (
    ClaimDenied,
    ClaimPaymentPosted,
    ClaimPaymentReversed,
    Denial,
    OverpaymentDetected,
    ProviderAdjustment,
    ProviderAdjustmentPosted,
    RemitLine,
    RemittancePosition,
    RemittanceReceived,
    UnderpaymentDetected,
    UnmatchedRemittance,
    VarianceLine,
)
from services.chassis import outbox
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.chassis.telemetry import continued
from services.remits import store
from services.remits.domain import posting as dom
from services.remits.domain.posting import ZERO, Share
from services.remits.rows import (
    ClaimKeys,
    DenialRow,
    Journal,
    PostingLineRow,
    PostingOutcome,
    PostingRow,
    RecoupmentRow,
    RemittanceRow,
    SubmissionRow,
    SuspenseRow,
)
from services.remits.service import books
from services.remits.service.patient_payments import Events, UpdateReason
from services.remits.settings import remits_settings

log = logging.getLogger(__name__)


def tolerance() -> Decimal:
    """The under/overpayment tolerance on a claim's total allowed (RCM_REMITS_TOLERANCE, default 1.00)."""
    return remits_settings().tolerance.quantize(Decimal("0.01"))


class Quarantine(Exception):
    """The file cannot be posted as it is; the reason names positions, never values."""


@dataclass
class IngestResult:
    file_id: str
    status: str  # posted, quarantined, duplicate
    reason: str | None = None
    remittance_ids: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


Original = tuple[PostingRow, list[PostingLineRow]] | None
"""The posting a reversal reverses, with its lines (store.original_postings)."""


@dataclass
class Pending:
    """What claim payments post, kept in posting order and written in a few statements by `flush`
    (postings before the rows that name them; events in their order). Flushed before anything reads
    what it holds: a reversal's original posting, the PLB's references, the books."""

    postings: list[PostingRow] = field(default_factory=list)
    lines: list[PostingLineRow] = field(default_factory=list)
    journals: list[Journal] = field(default_factory=list)
    denials: list[DenialRow] = field(default_factory=list)
    held: list[SuspenseRow] = field(default_factory=list)
    events: Events = field(default_factory=list)
    originals: dict[tuple[str, str], Original] = field(default_factory=dict)
    """What a reversal (CLP02 22) of (claim id, CLP07) reverses, read for the whole transaction set
    before its claims post; good for a claim no earlier claim payment of the set posted to."""
    claims: set[str] = field(default_factory=set)
    """The claims this set posted to so far."""

    def event(self, event: BaseModel, at: datetime) -> None:
        self.events.append(outbox.traced(event, at))

    async def flush(self, conn: asyncpg.Connection, *, events: bool = True) -> None:
        """Write what is held; its events too unless `events` is False (they stay, to be enqueued
        with those that follow: the transaction's events in one statement)."""
        if self.postings:
            await store.insert_postings(conn, self.postings)
        if self.lines:
            await store.insert_posting_lines(conn, self.lines)
        if self.journals:
            await store.journals(conn, self.journals)
        if self.denials:
            await store.insert_denials(conn, self.denials)
        if self.held:
            await store.insert_unmatched(conn, self.held)
        if events:
            await outbox.enqueue_many(conn, self.events)
            self.events.clear()
        for rows in (self.postings, self.lines, self.journals, self.denials, self.held):
            rows.clear()


async def ingest(conn: asyncpg.Connection, raw: bytes, file_name: str, source: str, at: datetime) -> IngestResult:
    """Process one 835 file in the caller's connection (opens its own transaction)."""
    sha = hashlib.sha256(raw).hexdigest()
    async with conn.transaction():
        file_id = new_id("rmf")
        seen = await store.insert_file_unless_seen(conn, file_id, sha, file_name, source, raw, "quarantined",
                                                   "processing", at)
        if seen is not None:
            await store.record_duplicate(conn, "file", sha, file_name, seen, at)
            log.info("duplicate 835 file", extra=ids(file_id=seen))
            return IngestResult(seen, "duplicate", "same file already received", duplicates=[seen])
        return await _process(conn, file_id, sha, raw, file_name, at)


async def release(conn: asyncpg.Connection, file_id: str, at: datetime) -> IngestResult | None:
    """After review, try a quarantined file again (it posts if it now reads, balances and validates)."""
    async with conn.transaction():
        row = await store.file_by_id(conn, file_id)
        if row is None or row.status != "quarantined":
            return None
        result = await _process(conn, file_id, row.sha256, row.raw, row.file_name, at)
        if result.status == "posted":
            await store.set_file_status(conn, file_id, "released", None, at)
            result.status = "released"
        return result


async def _process(conn: asyncpg.Connection, file_id: str, sha: str, raw: bytes, file_name: str,
                   at: datetime) -> IngestResult:
    try:
        async with conn.transaction():  # a savepoint: a quarantine rolls every posting back
            result = await _post_file(conn, file_id, sha, raw, file_name, at)
    except Quarantine as exc:
        await store.set_file_status(conn, file_id, "quarantined", str(exc), at)
        log.warning("835 quarantined", extra=ids(file_id=file_id))
        return IngestResult(file_id, "quarantined", str(exc))
    await store.set_file_status(conn, file_id, result.status, result.reason, at)
    return result


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Quarantine("the file is not UTF-8 text") from exc


def _payer(t: RemittanceTransaction) -> PayerRef:
    ref2u = next((r.value for r in t.payer.references if r.qualifier == "2U"), "")
    payer_id = t.payer.id or ref2u or t.trace_payer_id
    return PayerRef(payer_id=payer_id, payer_name=(t.payer.name or payer_id)[:60].strip())


def postable(raw: bytes) -> list[tuple[RemittanceTransaction, PayerRef]]:
    """The transactions of an 835 file's bytes, each with its payer, when the file reads whole
    and balances: what is checked before anything is written. Raises Quarantine with the
    reason otherwise. Pure, so the fuzz tests drive it by the thousand."""
    try:
        remittance = read_835(decode(raw))
    except X12Error as exc:
        raise Quarantine(f"parse: {exc}") from exc
    # A trailer count or control number that does not match may mean lost segments: posting
    # money from such a file waits for a person. Other findings (no PER*BL) do not stop posting.
    envelope = [str(f) for f in remittance.envelope_findings]
    if envelope:
        raise Quarantine("envelope: " + "; ".join(envelope[:5]))
    problems = [f"ST {t.control_number}: {c.message}" for t in remittance.transactions for c in check_835(t)
                if not c.ok]
    if problems:
        raise Quarantine("balancing: " + "; ".join(problems[:5]))
    found = []
    for t in remittance.transactions:
        try:
            found.append((t, _payer(t)))
        except ValidationError as exc:
            raise Quarantine(f"ST {t.control_number}: payer identification is invalid") from exc
    return found


async def _post_file(conn: asyncpg.Connection, file_id: str, sha: str, raw: bytes, file_name: str,
                     at: datetime) -> IngestResult:
    result = IngestResult(file_id, "posted")
    for t, payer in postable(raw):
        remittance = RemittanceRow(
            remittance_id=new_id("rem"), file_id=file_id, payer_id=payer.payer_id, payer_name=payer.payer_name,
            trace_number=t.trace_number, total_payment=t.total_payment,
            plb_total=sum((a.amount for a in t.provider_adjustments), ZERO), payment_date=t.payment_date,
            received_at=at)
        original = await store.insert_remittance_unless_seen(conn, remittance)
        if original is not None:
            await store.record_duplicate(conn, "trace", sha, file_name, original, at)
            result.duplicates.append(original)
            continue
        try:
            result.remittance_ids.append(await _post_transaction(conn, remittance, sha, t, payer, at))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise Quarantine(f"ST {t.control_number}: {exc.title} {first.get('type')} at "
                             f"{'.'.join(str(p) for p in first.get('loc', ()))}") from exc
    if not result.remittance_ids:
        result.status = "duplicate"
        result.reason = "every remittance in it was already posted (same payer and trace number)"
    return result


def _cas(adjustments: tuple[Adjustment, ...]) -> list[CasAdjustment]:
    return [CasAdjustment(group=a.group.value, reason_code=a.reason, amount=dom.money(a.amount),
                          quantity=a.quantity if a.quantity is not None and a.quantity >= 0 else None)
            for a in adjustments]


def _remit_lines(claim: ClaimPayment, expected: list[dom.ExpectedLine]) -> list[RemitLine]:
    out = []
    for line, m in zip(claim.service_lines, dom.match_lines(claim.service_lines, expected), strict=True):
        by_revenue_code = line.procedure.qualifier == "NU"
        out.append(RemitLine(
            line_control_number=line.line_control_number or (m.line_control_number if m else None),
            procedure_code=None if by_revenue_code else line.procedure.code,
            revenue_code=line.procedure.code if by_revenue_code else (line.revenue_code or None),
            modifiers=list(line.procedure.modifiers),
            service_date=line.service_date or line.service_start, charge=dom.money(line.charge),
            allowed=dom.line_allowed(line), paid=dom.money(line.paid),
            units_paid=line.units_paid if line.units_paid is not None and line.units_paid >= 0 else None,
            adjustments=_cas(line.adjustments),
            remark_codes=[r.code for r in line.remarks if r.qualifier == "HE"]))
    return out


async def _post_transaction(conn: asyncpg.Connection, remittance: RemittanceRow, sha: str, t: RemittanceTransaction,
                            payer: PayerRef, at: datetime) -> str:
    """Post the claim payments and PLB of a remittance just recorded (`remittance`)."""
    remittance_id = remittance.remittance_id
    claims = [c for h in t.header_numbers for c in h.claims]
    pending = Pending()
    pending.event(RemittanceReceived(
        remittance_id=remittance_id, file_sha256=sha, payer=payer,
        payee_npi=t.payee.id if t.payee.id_qualifier == "XX" else None, trace_number=t.trace_number,
        handling_code=t.handling_code.value, payment_method=t.payment_method.value,
        total_payment=dom.money(t.total_payment), payment_date=t.payment_date, claim_count=len(claims),
        provider_adjustment_total=dom.money(remittance.plb_total), received_at=at), at)
    # Every submission the claim payments name, in one read. Those not found may be committing
    # right now: wait for them (the handler takes the same CLP01 locks, so a payment put in
    # suspense here is re-posted there), then look again, in one statement each.
    submissions = await store.submissions(conn, sorted({c.patient_control_number for c in claims}))
    missing = sorted({c.patient_control_number for c in claims
                      if c.status.value != "23" and c.patient_control_number not in submissions})
    if missing:
        await store.lock_submission_ids(conn, missing)
        submissions.update(await store.submissions(conn, missing))
    # What the reversals reverse, in one read (two statements) for all of them.
    reversed_ = sorted({(submissions[c.patient_control_number].claim_id, c.payer_claim_control_number)
                        for c in claims if c.status.value == "22" and c.patient_control_number in submissions})
    if reversed_:
        pending.originals = await store.original_postings(conn, payer.payer_id, reversed_)
    encounters: dict[str, UpdateReason] = {}
    # Each claim payment posted in the trace its ClaimSubmitted came in (the encounter's), linked
    # to the file's span; one remits cannot match, or with no trace kept, stays in the file's.
    file = trace.get_current_span()
    traces: dict[str, str | None] = {}
    for index, claim in enumerate(claims, start=1):
        sub = submissions.get(claim.patient_control_number)
        kept = sub.traceparent if sub is not None and claim.status.value != "23" else None
        with continued(kept, "835 claim", links=[file], or_current=True):
            encounter, reason = await _post_claim(conn, pending, submissions, remittance_id, sha, t, payer, index,
                                                  claim, at)
        if encounter:
            encounters[encounter] = reason
            traces.setdefault(encounter, kept)
    await pending.flush(conn, events=False)
    for encounter_id in await _post_plb(conn, pending, remittance_id, t, payer, at):
        encounters.setdefault(encounter_id, "payment_reversal")
    await restate_encounters(conn, encounters, at, remittance_id=remittance_id, events=pending.events,
                             traces=traces)
    await outbox.enqueue_many(conn, pending.events)  # those the balances' refresh did not take
    log.info("remittance posted", extra=ids(remittance_id=remittance_id, file_id=remittance.file_id))
    return remittance_id


async def restate_encounters(conn: asyncpg.Connection, encounters: dict[str, UpdateReason], at: datetime, *,
                             remittance_id: str | None = None, events: Events | None = None,
                             traces: Mapping[str, str | None] | None = None) -> None:
    """Restate the books of every encounter the postings touched (books.restate_many; `events`, the
    caller's not yet enqueued, go to the outbox with the balances'; `traces`: each encounter's
    balance in that trace)."""
    try:
        await books.restate_many(conn, encounters, at, remittance_id=remittance_id, events=events, traces=traces)
    except books.BooksOutOfSync as exc:
        raise Quarantine(f"{exc}; run `rcm audit`") from exc


@dataclass(frozen=True)
class Posted:
    """A matched claim posting: its id, and the encounter whose books it changes (and why)."""

    posting_id: str
    encounter_id: str
    reason: UpdateReason


class _ClaimEventFields(TypedDict):
    """What ClaimPaymentPosted, ClaimDenied and ClaimPaymentReversed of one posting share."""

    claim_id: str
    claim_family_id: str
    encounter_id: str
    remittance_id: str
    submission_id: str
    payer: PayerRef
    claim_status: ClaimStatusCode
    payer_claim_control_number: str
    adjudication_date: date
    total_charge: Decimal
    total_paid: Decimal
    patient_responsibility: Decimal
    patient_share: PatientShare
    claim_adjustments: list[CasAdjustment]
    remark_codes: list[str]
    lines: list[RemitLine]
    drg_code: str | None
    drg_weight: Decimal | None
    covered_days: Decimal | None
    drg_amount: Decimal | None
    outlier_amount: Decimal | None
    reimbursement_rate: Decimal | None
    hcpcs_payable: Decimal | None
    crossover_payer_name: str | None
    posted_at: datetime


def _base(remittance_id: str, index: int, claim: ClaimPayment, payer: PayerRef, share: Share,
          at: datetime) -> PostingRow:
    """The claim payment's posting as an unmatched one (rank 0, no claim): a match adds its claim."""
    return PostingRow(posting_id=new_id("pst"), remittance_id=remittance_id, claim_index=index,
                      reported_submission=claim.patient_control_number, payer_id=payer.payer_id,
                      status=claim.status.value, rank=0, payer_claim_control=claim.payer_claim_control_number,
                      charge=dom.money(claim.charge), paid=dom.money(claim.paid), patient_resp=share.total(),
                      outcome="unmatched", posted_at=at)


def claim_share(claim: ClaimPayment) -> Share:
    return dom.share_of([*claim.adjustments, *(a for ln in claim.service_lines for a in ln.adjustments)])


async def _post_claim(conn: asyncpg.Connection, pending: Pending, submissions: dict[str, SubmissionRow],
                      remittance_id: str, sha: str, t: RemittanceTransaction, payer: PayerRef, index: int,
                      claim: ClaimPayment, at: datetime) -> tuple[str | None, UpdateReason]:
    status = claim.status.value
    share = claim_share(claim)
    if claim.patient_responsibility is not None and dom.money(claim.patient_responsibility) != share.total():
        raise Quarantine(f"ST {t.control_number} claim {index}: CLP05 does not equal the sum of PR adjustments")
    sub = submissions.get(claim.patient_control_number)
    if sub is None or status == "23":
        _post_unmatched(pending, remittance_id, sha, t, payer, index, claim, share, at)
        return None, "remittance"
    posted = await post_matched(conn, pending, remittance_id, t, payer, index, claim, sub, share, at)
    return posted.encounter_id, posted.reason


def _post_unmatched(pending: Pending, remittance_id: str, sha: str, t: RemittanceTransaction, payer: PayerRef,
                    index: int, claim: ClaimPayment, share: Share, at: datetime) -> None:
    """Payer cash against suspense, the claim payment kept (file + position) for a late match."""
    status: ClaimStatusCode = claim.status.value
    reason: Literal["not_our_claim", "unknown_submission_id"] = (
        "not_our_claim" if status == "23" else "unknown_submission_id")
    base = _base(remittance_id, index, claim, payer, share, at)
    posting_id = base.posting_id
    pending.postings.append(base)
    pending.journals.append(Journal(new_id("jnl"), "unmatched", tuple(dom.unmatched_rows(claim)), at, {
        "remittance_id": remittance_id, "posting_id": posting_id, "payer_id": payer.payer_id}))
    pending.held.append(SuspenseRow(
        remittance_id=remittance_id, reported_submission=claim.patient_control_number, reason=reason,
        st_control=t.control_number, claim_index=index, segment_number=claim.position or 1,
        total_paid=dom.money(claim.paid), total_charge=dom.money(claim.charge), posting_id=posting_id,
        detected_at=at))
    pending.event(UnmatchedRemittance(
        remittance_id=remittance_id, file_sha256=sha, payer=payer,
        position=RemittancePosition(transaction_set_control_number=t.control_number, claim_index=index,
                                    segment_number=claim.position or 1),
        reported_submission_id=claim.patient_control_number[:38], claim_status=status,
        payer_claim_control_number=claim.payer_claim_control_number or None,
        total_charge=dom.money(claim.charge), total_paid=dom.money(claim.paid), reason=reason,
        detected_at=at), at)


async def post_matched(conn: asyncpg.Connection, pending: Pending, remittance_id: str, t: RemittanceTransaction,
                       payer: PayerRef, index: int, claim: ClaimPayment, sub: SubmissionRow, share: Share,
                       at: datetime) -> Posted:
    """The one posting path of a claim payment matched to its submission (on arrival, or late):
    its writes go to `pending` (the caller flushes)."""
    status: ClaimStatusCode = claim.status.value
    base = _base(remittance_id, index, claim, payer, share, at)
    posting_id = base.posting_id
    expected = sub.expected_lines()
    rank = dom.rank_for(status, sub.coverage_rank, payer_id=payer.payer_id, submitted_payer_id=sub.payer_id,
                        next_payer_id=sub.next_payer_id, next_payer_rank=sub.next_payer_rank)
    # A predetermination (CLP02 25) is no answer: only its cash, if any, is posted.
    amounts = dom.amounts_of(claim) if status != "25" else dom.PostedAmounts(ZERO, dom.money(claim.paid))
    effects = [(e.charge_id, e.line_control_number, e.charge, e.paid, e.share)
               for e in dom.line_effects(claim, expected)]
    reverses = original = None
    if status == "22":
        found = await _original(conn, pending, sub.claim_id, payer.payer_id, claim.payer_claim_control_number)
        if found is not None:
            original, original_lines = found
            reverses = original.posting_id
            rank = original.rank
            if original.paid == -dom.money(claim.paid):  # the payer took back exactly what was posted
                amounts = original.amounts.negated()
                effects = [(r.charge_id, r.line_control, -r.charge, -r.paid, r.share.negated())
                           for r in original_lines]
    pending.claims.add(sub.claim_id)
    scope, denial_items = dom.denials(claim, expected)
    found_facility = dom.facility_of(claim)
    facility = found_facility or dom.Facility()
    outcome: PostingOutcome = "reversed" if status == "22" else ("denied" if scope == "claim" else "posted")
    pending.postings.append(replace(
        base, claim_id=sub.claim_id, claim_family_id=sub.claim_family_id, encounter_id=sub.encounter_id,
        patient_account_id=sub.patient_account_id, rank=rank, reverses=reverses, outcome=outcome, amounts=amounts,
        facility=found_facility))
    pending.journals.append(Journal(new_id("jnl"), "reversal" if status == "22" else "claim", tuple(
        dom.cash_rows(claim.paid, rank)), at, {
        "remittance_id": remittance_id, "posting_id": posting_id, "claim_id": sub.claim_id,
        "encounter_id": sub.encounter_id, "payer_id": payer.payer_id, "patient_account_id": sub.patient_account_id}))
    pending.lines.extend(PostingLineRow(
        posting_id=posting_id, claim_id=sub.claim_id, encounter_id=sub.encounter_id, rank=rank, charge_id=charge_id,
        line_control=lcn, charge=charge, paid=paid, share=sh) for charge_id, lcn, charge, paid, sh in effects)
    common: _ClaimEventFields = {
        "claim_id": sub.claim_id, "claim_family_id": sub.claim_family_id, "encounter_id": sub.encounter_id,
        "remittance_id": remittance_id, "submission_id": sub.submission_id, "payer": payer, "claim_status": status,
        "payer_claim_control_number": claim.payer_claim_control_number,
        "adjudication_date": t.payment_date, "total_charge": dom.money(claim.charge),
        "total_paid": dom.money(claim.paid), "patient_responsibility": share.total(),
        "patient_share": PatientShare(deductible=share.deductible, coinsurance=share.coinsurance, copay=share.copay,
                                      other=share.other),
        "claim_adjustments": _cas(claim.adjustments),
        "remark_codes": [r for m in (claim.outpatient, claim.inpatient) if m is not None for r in m.remark_codes],
        "lines": _remit_lines(claim, expected),
        "drg_code": facility.drg_code, "drg_weight": facility.drg_weight, "covered_days": facility.covered_days,
        "drg_amount": facility.drg_amount, "outlier_amount": facility.outlier_amount,
        "reimbursement_rate": facility.reimbursement_rate, "hcpcs_payable": facility.hcpcs_payable,
        "crossover_payer_name": (claim.crossover_carrier.last_name or None) if claim.crossover_carrier else None,
        "posted_at": at,
    }
    if status == "22":
        pending.event(ClaimPaymentReversed(**common, reversed_remittance_id=(
            original.remittance_id if original is not None else None)), at)
        return Posted(posting_id, sub.encounter_id, "payment_reversal")
    if scope != "claim" and status != "25":
        pending.event(ClaimPaymentPosted(**common), at)
    if scope is not None:
        pending.denials.extend(DenialRow(posting_id=posting_id, claim_id=sub.claim_id, payer_id=payer.payer_id,
                                         scope=scope, item=d, opened_at=at) for d in denial_items)
        pending.event(ClaimDenied(**common, denial_scope=scope, denials=[
            Denial(line_control_number=d.line_control_number, group=d.group, reason_code=d.reason_code,
                   remark_codes=list(d.remark_codes), amount=d.amount, category=d.category,
                   recommended_action=d.recommended_action) for d in denial_items]), at)
    variance = dom.allowed_variance(claim, expected, sub.coverage_rank, scope=scope)
    limit = tolerance()
    direction = variance.kind(limit)
    if direction is not None:
        model = UnderpaymentDetected if direction == "under" else OverpaymentDetected
        pending.event(model(
            claim_id=sub.claim_id, claim_family_id=sub.claim_family_id, encounter_id=sub.encounter_id,
            remittance_id=remittance_id, submission_id=sub.submission_id, payer=payer,
            lines=[VarianceLine(line_control_number=v.line_control_number, procedure_code=v.procedure_code,
                                expected_allowed=v.expected_allowed, allowed=v.allowed, variance=v.variance)
                   for v in variance.lines],
            total_expected_allowed=variance.total_expected, total_allowed=variance.total_allowed,
            total_variance=variance.total_variance, tolerance=limit, detected_at=at), at)
    return Posted(posting_id, sub.encounter_id, "next_payer_remittance" if rank > 1 else "remittance")


async def _original(conn: asyncpg.Connection, pending: Pending, claim_id: str, payer_id: str, pccn: str) -> Original:
    """What a reversal of the claim reverses: as read before the set's claims posted, unless a claim
    payment of the set posted to that claim since (its original may be that posting, or that
    posting a reversal of it): then read again after the set's postings so far are written."""
    if claim_id not in pending.claims and (claim_id, pccn) in pending.originals:
        return pending.originals[(claim_id, pccn)]
    await pending.flush(conn)
    return (await store.original_postings(conn, payer_id, [(claim_id, pccn)]))[(claim_id, pccn)]


async def _post_plb(conn: asyncpg.Connection, pending: Pending, remittance_id: str, t: RemittanceTransaction,
                    payer: PayerRef, at: datetime) -> set[str]:
    """Post the PLB adjustments (their events to `pending`); returns the encounters whose books a
    recoupment reopened."""
    if not t.provider_adjustments:
        return set()
    reopened: dict[int, ClaimKeys] = {}  # adjustment index -> the claim it reopened
    for n, adj in enumerate(t.provider_adjustments):
        found = await store.claim_for_reference(conn, adj.reference) if adj.reason in ("WO", "72", "FB") else None
        rank, taken = None, ZERO
        if found is not None and adj.reason in dom.RECOUPMENTS and adj.amount > 0:
            rank = await store.payer_rank_in_family(conn, found.claim_family_id, payer.payer_id)
            if rank is not None:
                taken = dom.recoverable(adj.amount, await store.paid_on_family(
                    conn, found.claim_family_id, rank, payer.payer_id))
        if found is None or rank is None or taken == 0:
            await store.journal(conn, new_id("jnl"), "plb", dom.plb_rows(adj), at, remittance_id=remittance_id,
                                claim_id=found.claim_id if found else None, payer_id=payer.payer_id)
            continue
        # A recoupment naming a claim the payer paid takes back part of that payment: the claim's
        # books reopen for it (the payer owes it again, or someone must work it). What exceeds the
        # payment is not about that claim: a PLB of the remittance only.
        await store.journal(conn, new_id("jnl"), "plb", dom.plb_rows(adj, rank, taken), at,
                            remittance_id=remittance_id, claim_id=found.claim_id,
                            encounter_id=found.encounter_id, payer_id=payer.payer_id)
        if taken < dom.money(adj.amount):
            await store.journal(conn, new_id("jnl"), "plb", dom.plb_rows(adj, amount=dom.money(adj.amount) - taken),
                                at, remittance_id=remittance_id, claim_id=found.claim_id, payer_id=payer.payer_id)
        await store.insert_recoupment(conn, RecoupmentRow(
            remittance_id=remittance_id, reference=adj.reference, claim_id=found.claim_id,
            claim_family_id=found.claim_family_id, encounter_id=found.encounter_id, payer_id=payer.payer_id,
            payer_rank=rank, amount=taken, recouped_at=at))
        reopened[n] = found
        log.warning("PLB recoupment reopened a claim's books", extra=ids(remittance_id=remittance_id,
                                                                          claim_id=found.claim_id))
    by_period: dict[tuple[str, date], list[ProviderAdjustment]] = {}
    for n, adj in enumerate(t.provider_adjustments):
        claim = reopened.get(n)
        by_period.setdefault((adj.provider_id, adj.fiscal_period_date), []).append(ProviderAdjustment(
            reason_code=adj.reason, reference=adj.reference or None, amount=dom.money(adj.amount),
            claim_id=claim.claim_id if claim else None, encounter_id=claim.encounter_id if claim else None))
    for (provider, period), items in by_period.items():
        pending.event(ProviderAdjustmentPosted(
            remittance_id=remittance_id, payer=payer, provider_identifier=provider, fiscal_period_date=period,
            adjustments=items, total_amount=sum((i.amount for i in items), ZERO), posted_at=at), at)
    return {c.encounter_id for c in reopened.values()}
