"""The Claim aggregate: a claim's state and draft, one method per trigger of the transition table.

Each method checks the table (domain/states.py) before it changes anything, raises
IllegalTransition when the claim's state does not allow the trigger, and returns the event the
transition emits. The transitions taken are kept in `changes` until the service layer records
them (the claim saved, the events in the outbox, one history row each) in its transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal, TypedDict, TypeVar

from schemas import claims as ev
from schemas import remits as rm
from schemas.base import Event
from schemas.claims import CoverageRank
from schemas.common import Frequency, PayerRef
from services.claims.domain.findings import Finding
from services.claims.domain.model import ClaimDraft, StoredDraft, billed_payer
from services.claims.domain.states import State, Transition, Trigger, payer_adjudicated, transition
from services.claims.domain.x837parts import line_control_number

Origin = Literal["original", "secondary", "replacement", "void"]
Resolution = Literal["paid_in_full", "paid_with_patient_balance", "written_off", "replaced", "voided"]
FollowUpReason = Literal["no_acknowledgment", "no_remittance", "denial_open", "era_missing"]
Outcome = Literal["paid", "partially_denied", "denied", "patient_responsibility_only", "reversed"]
Adjudication = rm.ClaimPaymentPosted | rm.ClaimDenied
"""The remittance event that adjudicated the claim last (kept as received)."""

FREQUENCY: dict[Origin, Frequency] = {"original": "1", "secondary": "1", "replacement": "7", "void": "8"}
E = TypeVar("E", bound=Event | None)
_RANKS: dict[int, CoverageRank] = {1: 1, 2: 2, 3: 3}
_NEXT_RANKS: dict[int, Literal[2, 3]] = {2: 2, 3: 3}
ADJUDICATED_ALREADY = frozenset({"adjudicated", "denied", "forwarded", "closed", "corrected", "voided"})
"""States in which the payer has answered: a late 277CA acceptance is history, not a transition."""


def coverage_rank(rank: int) -> CoverageRank:
    """A coverage's rank as the contracts type it (1 to 3; the encounter contract caps it)."""
    if rank not in _RANKS:
        raise ValueError("a coverage rank is 1, 2 or 3")
    return _RANKS[rank]


class ClaimIds(TypedDict):
    claim_id: str
    claim_family_id: str
    encounter_id: str


@dataclass(frozen=True)
class Change:
    """One transition taken and the event it emits (None for internal bookkeeping)."""

    transition: Transition
    event: Event | None


def failed_edits(findings: Sequence[Finding]) -> list[ev.FailedEdit]:
    return [ev.FailedEdit(edit_id=f.edit_id, severity=f.severity, message=f.message[:500], source=f.source,
                          line_number=f.line_number) for f in findings]


@dataclass
class Claim:
    claim_id: str
    claim_family_id: str
    encounter_id: str
    patient_account_id: str
    payer_id: str
    payer_name: str
    coverage_rank: CoverageRank
    origin: Origin
    origin_claim_id: str | None
    state: State
    encounter_revision: int
    content: ClaimDraft | StoredDraft
    """What the 837P is built from (`draft`): as built, or as stored (validated on first use)."""
    edits: list[Finding]
    submission_id: str | None
    payer_claim_control_number: str | None
    total_paid: Decimal
    adjudication: Adjudication | None
    follow_up_on: date | None
    timely_filing_deadline: date | None
    pending_draft: ClaimDraft | None
    """A newer encounter revision that waits until the payer has answered this claim."""
    created_at: datetime
    updated_at: datetime
    changes: list[Change] = field(default_factory=list, repr=False, compare=False)
    traceparent: str | None = field(default=None, compare=False)
    """The trace the claim was created in (W3C traceparent; set when first saved): the background
    passes that move it later (837 batch, acknowledgments) continue it."""

    @classmethod
    def create(cls, draft: ClaimDraft, *, claim_id: str, family_id: str, origin: Origin,
               origin_claim_id: str | None, revision: int, payer: PayerRef, timely_filing_days: int | None,
               now: datetime) -> Claim:
        claim = cls(
            claim_id=claim_id, claim_family_id=family_id, encounter_id=draft.encounter_id,
            patient_account_id=draft.patient_account_id, payer_id=payer.payer_id, payer_name=payer.payer_name,
            coverage_rank=coverage_rank(draft.coverage_rank), origin=origin, origin_claim_id=origin_claim_id,
            state="created", encounter_revision=revision, content=draft, edits=[], submission_id=None,
            payer_claim_control_number=None, total_paid=Decimal("0.00"), adjudication=None, follow_up_on=None,
            timely_filing_deadline=(draft.first_service_date + timedelta(days=timely_filing_days)
                                    if timely_filing_days is not None else None),
            pending_draft=None, created_at=now, updated_at=now,
        )
        claim._enter(transition(None, "create"), now, ev.ClaimCreated(
            **claim.ids, patient_account_id=claim.patient_account_id, payer=payer,
            coverage_rank=claim.coverage_rank, origin=origin, origin_claim_id=origin_claim_id,
            frequency=claim.frequency, charge_ids=claim.charge_ids, total_charge=claim.total_charge,
            claim_type=draft.claim_type, encounter_revision=revision, created_at=now))
        return claim

    # --- what the claim is --------------------------------------------------------------------

    @property
    def ids(self) -> ClaimIds:
        return ClaimIds(claim_id=self.claim_id, claim_family_id=self.claim_family_id, encounter_id=self.encounter_id)

    @property
    def frequency(self) -> Frequency:
        return FREQUENCY[self.origin]

    @property
    def draft(self) -> ClaimDraft:
        return self.content.draft() if isinstance(self.content, StoredDraft) else self.content

    @draft.setter
    def draft(self, draft: ClaimDraft) -> None:
        self.content = draft

    @property
    def charge_ids(self) -> list[str]:
        if isinstance(self.content, StoredDraft):
            return self.content.charge_ids
        return self.content.charge_ids

    @property
    def total_charge(self) -> Decimal:
        return self.content.total_charge

    @property
    def payer(self) -> PayerRef:
        return PayerRef(payer_id=self.payer_id, payer_name=self.payer_name)

    @property
    def payer_adjudicated(self) -> bool:
        """Whether a frequency 7/8 claim may follow (the payer adjudicated this claim)."""
        return payer_adjudicated(self.state)

    # --- changes without a transition ---------------------------------------------------------

    def rebuild(self, draft: ClaimDraft, revision: int) -> None:
        """A new encounter revision, before the claim went to the payer."""
        self.draft = draft
        self.encounter_revision = revision

    def take_pending_revision(self) -> bool:
        """The revision that waited becomes the claim's content; False when none waited."""
        if self.pending_draft is None:
            return False
        self.draft, self.pending_draft = self.pending_draft, None
        return True

    def follow_up(self, today: date, sent_on: date, every_days: int) -> ev.ClaimFollowUpDue:
        """The follow-up that is due now; the next one comes `every_days` later."""
        assert self.follow_up_on is not None
        due = self.work_item(self.follow_up_reason, today, sent_on, self.follow_up_on)
        self.follow_up_on = today + timedelta(days=max(every_days, 1))
        return due

    def work_item(self, reason: FollowUpReason, today: date, sent_on: date, due_on: date) -> ev.ClaimFollowUpDue:
        """A follow-up for a person, the schedule unchanged (a claim status answer raises one)."""
        return ev.ClaimFollowUpDue(
            **self.ids, submission_id=self.submission_id, payer=self.payer, state=self.state, reason=reason,
            days_outstanding=max(0, (today - sent_on).days), due_on=due_on,
            timely_filing_deadline=self.timely_filing_deadline)

    @property
    def follow_up_reason(self) -> FollowUpReason:
        """Why a follow-up of the claim in its state is due (no acknowledgment, no remittance, an open denial)."""
        return _FOLLOW_UP_REASON[self.state]

    def record_reversal(self, event: rm.ClaimPaymentReversed) -> None:
        """A reversal of a claim that was already replaced or voided: only the money moves."""
        self.total_paid += event.total_paid

    # --- the scrubber and submission ----------------------------------------------------------

    def hold(self, findings: Sequence[Finding], now: datetime) -> ev.ClaimHeld:
        t = self._allow("rehold" if self.state == "rejected" else "hold")
        self.edits = list(findings)
        return self._enter(t, now, ev.ClaimHeld(**self.ids, edits=failed_edits(findings), held_at=now))

    def pass_scrub(self, submission_id: str, now: datetime) -> None:
        self._enter(self._queue("scrub_pass", submission_id), now, None)

    def release(self, submission_id: str, now: datetime, *, released_by: Literal["scrubber", "operator"],
                operator_id: str | None, reason: str | None) -> ev.ClaimReleased:
        t = self._queue("release", submission_id)
        return self._enter(t, now, ev.ClaimReleased(
            **self.ids, released_by=released_by, operator_id=operator_id,
            reason=(reason or None) and reason[:200], released_at=now))

    def resubmit(self, submission_id: str, now: datetime, *, operator_id: str | None,
                 reason: str | None) -> ev.ClaimResubmitted:
        previous = self.submission_id
        assert previous is not None
        t = self._queue("resubmit", submission_id)
        return self._enter(t, now, ev.ClaimResubmitted(
            **self.ids, previous_submission_id=previous, submission_id=submission_id,
            reason=(reason or "fixed after rejection")[:200], operator_id=operator_id, resubmitted_at=now))

    def submit(self, interchange: ev.InterchangeControl, payer_claim_control_number: str | None,
               follow_up_days: int, now: datetime) -> ev.ClaimSubmitted:
        t = self._allow("submit")
        sid = self.submission_id
        assert sid is not None
        self.follow_up_on = now.date() + timedelta(days=follow_up_days)
        draft, enc = self.draft, self.draft.encounter
        return self._enter(t, now, ev.ClaimSubmitted(
            **self.ids, submission_id=sid, patient_account_id=self.patient_account_id, payer=self.payer,
            coverage_rank=self.coverage_rank, frequency=self.frequency,
            payer_claim_control_number=payer_claim_control_number, billing_provider_npi=enc.billing_provider.npi,
            place_of_service=enc.place_of_service, diagnoses=draft.diagnoses, total_charge=draft.total_charge,
            claim_type=draft.claim_type,
            type_of_bill=_type_of_bill(draft),
            lines=[ev.SubmittedLine(
                line_number=n, line_control_number=line_control_number(sid, n), charge_id=line.charge_id,
                summed_charge_ids=line.summed_charge_ids, procedure_code=line.procedure_code,
                modifiers=line.modifiers, description=line.description,
                revenue_code=line.revenue_code, service_date=line.service_date,
                service_end_date=line.service_end_date, units=line.units, charge=line.charge,
                diagnosis_pointers=line.diagnosis_pointers, expected_allowed=line.expected_allowed,
            ) for n, line in enumerate(draft.lines, start=1)],
            next_payer=_next_payer(draft), patient_protection=_protection(draft), interchange=interchange,
            submitted_at=now))

    # --- acknowledgments ----------------------------------------------------------------------

    def accept(self, source: Literal["999", "277CA"], codes: list[ev.AcknowledgmentCode],
               payer_claim_control_number: str | None, now: datetime) -> ev.ClaimAccepted:
        t = self._allow("accept")
        sid = self.submission_id
        assert sid is not None
        if payer_claim_control_number:
            self.payer_claim_control_number = payer_claim_control_number
        return self._enter(t, now, ev.ClaimAccepted(
            **self.ids, submission_id=sid, source=source, codes=codes,
            payer_claim_control_number=payer_claim_control_number, accepted_at=now))

    def reject(self, source: Literal["999", "277CA", "TA1"], codes: list[ev.AcknowledgmentCode], reason: str,
               now: datetime) -> ev.ClaimRejected:
        t = self._allow("reject")
        sid = self.submission_id
        assert sid is not None
        return self._enter(t, now, ev.ClaimRejected(
            **self.ids, submission_id=sid, source=source, codes=codes, reason=reason, rejected_at=now))

    # --- adjudication -------------------------------------------------------------------------

    def cross_over(self, event: rm.ClaimPaymentPosted, now: datetime) -> ev.ClaimForwarded:
        """The payer paid its part and forwarded the claim to the next payer itself."""
        t = self._allow("cross_over")
        self._adjudicated_by(event)
        self.total_paid += event.total_paid
        nxt = self.draft.next_coverage()
        return self._enter(t, now, ev.ClaimForwarded(
            **self.ids, submission_id=event.submission_id, remittance_id=event.remittance_id,
            from_payer=event.payer, to_payer_name=event.crossover_payer_name or (
                billed_payer(nxt, self.draft.claim_type)[1] if nxt else None),
            to_coverage_rank=_NEXT_RANKS[nxt.rank] if nxt else None, forwarded_on=event.adjudication_date))

    def pay(self, event: rm.ClaimPaymentPosted, outcome: Outcome, now: datetime) -> ev.ClaimAdjudicated:
        t = self._allow("pay")
        self._adjudicated_by(event)
        self.total_paid += event.total_paid
        return self._enter(t, now, self._adjudication_event(event, outcome))

    def deny(self, event: rm.ClaimDenied, follow_up_days: int, now: datetime) -> ev.ClaimAdjudicated:
        t = self._allow("deny")
        self._adjudicated_by(event)
        self.follow_up_on = now.date() + timedelta(days=follow_up_days)
        return self._enter(t, now, self._adjudication_event(event, "denied"))

    def reverse(self, event: rm.ClaimPaymentReversed, now: datetime) -> ev.ClaimAdjudicated:
        t = self._allow("reverse")
        self.record_reversal(event)
        return self._enter(t, now, self._adjudication_event(event, "reversed"))

    # --- corrections and the end --------------------------------------------------------------

    def correct(self, replacement_claim_id: str, reason: str, operator_id: str | None,
                now: datetime) -> ev.ClaimCorrected:
        t = self._allow("correct")
        assert self.payer_claim_control_number is not None
        self.pending_draft = None  # the replacement carries the latest revision
        return self._enter(t, now, ev.ClaimCorrected(
            **self.ids, replacement_claim_id=replacement_claim_id,
            payer_claim_control_number=self.payer_claim_control_number, reason=reason[:200],
            operator_id=operator_id, corrected_at=now))

    def void(self, void_claim_id: str, reason: str, operator_id: str | None, now: datetime) -> ev.ClaimVoided:
        t = self._allow("void")
        assert self.payer_claim_control_number is not None
        return self._enter(t, now, ev.ClaimVoided(
            **self.ids, void_claim_id=void_claim_id, payer_claim_control_number=self.payer_claim_control_number,
            reason=reason[:200], operator_id=operator_id, voided_at=now))

    def close(self, resolution: Resolution, now: datetime) -> ev.ClaimClosed:
        t = self._allow("close")
        if resolution == "written_off":
            self.follow_up_on = None  # settled: the follow-ups stop
        return self._enter(t, now, ev.ClaimClosed(
            **self.ids, resolution=resolution, total_paid=self.total_paid, closed_at=now))

    # --- the table ----------------------------------------------------------------------------

    def _allow(self, trigger: Trigger) -> Transition:
        """The transition the table allows from the current state, or IllegalTransition."""
        return transition(self.state, trigger)

    def _queue(self, trigger: Trigger, submission_id: str) -> Transition:
        t = self._allow(trigger)
        self.submission_id = submission_id
        self.pending_draft = None  # what goes now is built from the latest data
        return t

    def _enter(self, t: Transition, now: datetime, event: E) -> E:
        self.state = t.to_state
        self.updated_at = now
        self.changes.append(Change(t, event))
        return event

    def _adjudicated_by(self, event: Adjudication) -> None:
        self.payer_claim_control_number = event.payer_claim_control_number
        self.adjudication = event

    def _adjudication_event(self, event: rm.ClaimPaymentPosted | rm.ClaimDenied | rm.ClaimPaymentReversed,
                            outcome: Outcome) -> ev.ClaimAdjudicated:
        return ev.ClaimAdjudicated(
            **self.ids, submission_id=event.submission_id, remittance_id=event.remittance_id, payer=event.payer,
            claim_status=event.claim_status, payer_claim_control_number=event.payer_claim_control_number,
            outcome=outcome, total_charge=event.total_charge, total_paid=event.total_paid,
            patient_responsibility=event.patient_responsibility, adjudicated_on=event.adjudication_date)


_FOLLOW_UP_REASON: dict[str, FollowUpReason] = {
    "submitted": "no_acknowledgment", "accepted": "no_remittance", "denied": "denial_open"}


def _protection(draft: ClaimDraft) -> ev.PatientProtection | None:
    found = draft.patient_protection()
    return None if found is None else ev.PatientProtection(reason=found[0], share_of_cost=found[1])


def _type_of_bill(draft: ClaimDraft) -> str | None:
    """CLM05-1 of an institutional claim (its frequency digit is the claim's)."""
    inst = draft.encounter.institutional
    return inst.type_of_bill if draft.claim_type == "institutional" and inst is not None else None


def _next_payer(draft: ClaimDraft) -> ev.NextPayer | None:
    nxt = draft.next_coverage()
    if nxt is None:
        return None
    payer_id, payer_name = billed_payer(nxt, draft.claim_type)
    return ev.NextPayer(payer_id=payer_id, payer_name=payer_name, coverage_rank=_NEXT_RANKS[nxt.rank])
