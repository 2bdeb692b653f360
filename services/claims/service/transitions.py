"""Recording a claim's transitions: the aggregate (domain/claim.py) decides, `move` records what it
decided in the caller's transaction (the claim saved, its events in the outbox, one history row
per transition) or, when the transition table refuses, logs the refusal and records it in the
claim's history. Also what the use cases share: refusals of operator actions, submission ids."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from schemas.base import Event
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.claims.domain.claim import Claim
from services.claims.domain.states import IllegalTransition
from services.claims.store import ClaimsStore

log = logging.getLogger(__name__)


SYSTEM_OPERATOR = "rcm-claims"


class Refused(Exception):
    """An operator action the claim's state does not allow (message is PHI-free)."""


def new_submission_id() -> str:
    return "S" + new_id("x", 10)[2:]  # S + 19 time-ordered characters = 20 (CLM01 limit)


async def record(db: ClaimsStore, claim: Claim, now: datetime, detail: dict[str, Any] | None = None, *,
                 new: bool = False) -> None:
    """Save the claim (insert it when `new`) and record the transitions it has taken since."""
    if new:
        await db.insert_claim(claim)
    else:
        await db.save_claim(claim)
    for change in claim.changes:
        if change.event is not None:
            await db.emit(change.event, now)
        t = change.transition
        await db.add_history(claim.claim_id, claim.claim_family_id, t.trigger, t.from_state, t.to_state,
                             type(change.event).__name__ if change.event is not None else None, now, detail=detail)
    claim.changes.clear()


async def move(db: ClaimsStore, claim: Claim, now: datetime, transition: Callable[[], object],
               detail: dict[str, Any] | None = None) -> bool:
    """Take one transition (a method of the claim) and record it; refuse (log + history) what the
    transition table does not allow. True when the claim moved."""
    try:
        transition()
    except IllegalTransition as refused:
        log.warning("illegal claim transition refused",
                    extra=ids(claim_id=claim.claim_id, state=claim.state, transition=refused.trigger))
        await db.add_history(claim.claim_id, claim.claim_family_id, refused.trigger, claim.state, None, None, now,
                             refused=True, detail=detail)
        return False
    await record(db, claim, now, detail)
    return True


async def note(db: ClaimsStore, claim: Claim, what: str, now: datetime, detail: dict[str, Any] | None = None,
               event: Event | None = None) -> None:
    """History without a state change (an acknowledgment that changes nothing, a follow-up)."""
    if event is not None:
        await db.emit(event, now)
    await db.add_history(claim.claim_id, claim.claim_family_id, what, claim.state, claim.state,
                         type(event).__name__ if event is not None else None, now, detail=detail)
