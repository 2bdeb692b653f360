"""Claim status (X12 276/277, 005010X212): what a payer's answer means for a claim and what claims
does with it, and when claims asks. Pure: the service layer (service/claim_status.py) reads and
writes, domain/x276.py maps to and from the codec.

STC01-1 (health care claim status category) -> outcome is the codec's one table
(``edi.x277.outcome_of_category``, with ``OUTCOME_RANK`` when several STCs disagree): finalized
raises "ERA missing", pending is asked again later, rejected goes to a person, not found goes
again after a wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from edi.x277 import OUTCOME_RANK
from edi.x277 import outcome_of_category as outcome_of
from schemas.claims import ClaimStatusOutcome

Action = Literal["none", "era_missing", "resubmit_scheduled", "follow_up_scheduled"]
WorkItem = Literal["era_missing", "status_rejected"]
"""A ClaimFollowUpDue raised with the answer: era_missing (paid or denied, no 835), or, for a
rejection, the claim's usual follow-up reason (no_acknowledgment / no_remittance) so a person looks."""

@dataclass(frozen=True)
class StatusLine:
    """One claim-level STC of a 277, as the domain reads it."""

    category_code: str
    status_code: str
    entity_code: str | None = None
    effective_date: date | None = None
    total_charge: Decimal | None = None
    paid_amount: Decimal | None = None
    adjudication_date: date | None = None
    payment_date: date | None = None
    check_number: str | None = None


@dataclass(frozen=True)
class StatusAnswer:
    """A 277's answer about one claim: matched by trace number (TRN02 echoed) and by the patient
    control number (REF*EJ = the 837's CLM01, our submission id)."""

    trace_number: str
    patient_control_number: str | None
    payer_claim_control_number: str | None
    statuses: tuple[StatusLine, ...]


@dataclass(frozen=True)
class StatusPolicy:
    """How often claims asks (RCM_CLAIMS_STATUS_* settings)."""

    recheck_days: int
    """A pending answer: asked again this many days later."""
    resubmit_wait_days: int
    """A "not found" answer: the claim goes again this many days later unless an acknowledgment or
    an 835 comes first."""
    max_asks: int
    """Automatic 276s per submission (on-demand asks are not counted against it)."""
    min_interval_days: int
    """Days between two automatic 276s about one claim."""


@dataclass(frozen=True)
class Decision:
    outcome: ClaimStatusOutcome
    action: Action
    status: StatusLine
    """The STC that decided."""
    next_check_on: date | None = None
    work_item: WorkItem | None = None


def deciding_status(statuses: Sequence[StatusLine]) -> StatusLine:
    """The STC whose outcome is strongest (the first of those); ValueError on none."""
    if not statuses:
        raise ValueError("a 277 claim status answer carries at least one STC")
    return min(statuses, key=lambda s: OUTCOME_RANK[outcome_of(s.category_code)])


def decide(answer: StatusAnswer, *, awaiting_835: bool, asks_left: bool, today: date,
           policy: StatusPolicy) -> Decision:
    """What claims does with a 277 answer about a claim. `awaiting_835`: the claim is still
    submitted or accepted with the submission asked about (no 835 adjudicated it, it was not
    rejected or sent again meanwhile): otherwise the answer is history only; `asks_left`: another
    automatic 276 is allowed for this submission."""
    status = deciding_status(answer.statuses)
    outcome = outcome_of(status.category_code)
    if not awaiting_835:
        return Decision(outcome, "none", status)
    if outcome.startswith("finalized"):
        return Decision(outcome, "era_missing", status, work_item="era_missing")
    if outcome == "rejected":
        return Decision(outcome, "none", status, work_item="status_rejected")
    if outcome == "not_found":
        return Decision(outcome, "resubmit_scheduled", status,
                        next_check_on=today + timedelta(days=policy.resubmit_wait_days))
    if not asks_left:
        return Decision(outcome, "none", status)  # the payer's follow-up days keep raising ClaimFollowUpDue
    return Decision(outcome, "follow_up_scheduled", status, next_check_on=today + timedelta(days=policy.recheck_days))


def may_ask(asks_of_submission: int, last_asked_on: date | None, today: date, policy: StatusPolicy) -> bool:
    """Whether an automatic 276 may go now: fewer than `max_asks` for this submission, and none
    about the claim in the last `min_interval_days`."""
    if asks_of_submission >= policy.max_asks:
        return False
    return last_asked_on is None or (today - last_asked_on).days >= policy.min_interval_days
