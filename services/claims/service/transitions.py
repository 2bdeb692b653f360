"""The claim's transitions: every state change goes through `move`, which checks the one
transition table (domain/states.py), records history and emits the event in the caller's
transaction; the ids, drafts and refusals the use cases share."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel

from schemas import claims as ev
from services.chassis import outbox
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.claims import store
from services.claims.domain.model import ClaimDraft
from services.claims.domain.states import IllegalTransition, Trigger, transition
from services.claims.store import ClaimRow

log = logging.getLogger(__name__)


SYSTEM_OPERATOR = "rcm-claims"


class Refused(Exception):
    """An operator action the claim's state does not allow (message is PHI-free)."""


def new_submission_id() -> str:
    return "S" + new_id("x", 10)[2:]  # S + 19 time-ordered characters = 20 (CLM01 limit)


def ids_of(c: ClaimRow) -> dict[str, Any]:
    return {"claim_id": c.claim_id, "claim_family_id": c.claim_family_id, "encounter_id": c.encounter_id}


def draft_of(doc: dict[str, Any]) -> ClaimDraft:
    return ClaimDraft.model_validate_json(json.dumps(doc, default=str))


def doc_of(draft: ClaimDraft) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(draft.model_dump_json())
    return loaded


ADJUDICATED_ALREADY = frozenset({"adjudicated", "denied", "forwarded", "closed", "corrected", "voided"})


async def move(
    conn: asyncpg.Connection, claim: ClaimRow, trigger: Trigger, now: datetime,
    event: BaseModel | None = None, detail: dict[str, Any] | None = None,
) -> bool:
    """Apply one transition of the table; refuse (log + history) anything else."""
    try:
        t = transition(claim.state, trigger)  # type: ignore[arg-type]
    except IllegalTransition:
        log.warning("illegal claim transition refused",
                    extra=ids(claim_id=claim.claim_id, state=claim.state, transition=trigger))
        await store.add_history(conn, claim.claim_id, claim.claim_family_id, trigger, claim.state, None, None, now,
                                refused=True, detail=detail)
        return False
    claim.state = t.to_state
    claim.updated_at = now
    await store.save_claim(conn, claim)
    built = event
    if built is not None:
        await outbox.enqueue(conn, built, occurred_at=now)
    await store.add_history(conn, claim.claim_id, claim.claim_family_id, trigger, t.from_state, t.to_state,
                            type(built).__name__ if built is not None else None, now, detail=detail)
    return True


async def note(conn: asyncpg.Connection, claim: ClaimRow, what: str, now: datetime,
               detail: dict[str, Any] | None = None, event: BaseModel | None = None) -> None:
    """History without a state change (an acknowledgment that changes nothing, a follow-up)."""
    if event is not None:
        await outbox.enqueue(conn, event, occurred_at=now)
    await store.add_history(conn, claim.claim_id, claim.claim_family_id, what, claim.state, claim.state,
                            type(event).__name__ if event is not None else None, now, detail=detail)


async def close(conn: asyncpg.Connection, claim: ClaimRow, resolution: str, now: datetime) -> None:
    await move(conn, claim, "close", now, ev.ClaimClosed(
        **ids_of(claim), resolution=resolution, total_paid=claim.total_paid, closed_at=now))  # type: ignore[arg-type]
