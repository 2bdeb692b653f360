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
from services.chassis import outbox
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.claims.domain.claim import Claim
from services.claims.domain.states import IllegalTransition
from services.claims.store import ClaimsStore, HistoryRow

log = logging.getLogger(__name__)


SYSTEM_OPERATOR = "rcm-claims"


class Refused(Exception):
    """An operator action the claim's state does not allow (message is PHI-free)."""


def new_submission_id() -> str:
    return "S" + new_id("x", 10)[2:]  # S + 19 time-ordered characters = 20 (CLM01 limit)


class Writes:
    """What transitions and notes leave to write, written together by `flush` (a round trip costs
    more CPU than the rest of a claim's work): each claim saved with its history rows (one
    statement per claim, pipelined), the history of claims not saved (one statement), the events
    in the order taken (one statement). Flush before anything else reads or writes these claims."""

    def __init__(self) -> None:
        self._saves: dict[str, tuple[Claim, bool, list[HistoryRow]]] = {}
        self._history: list[tuple[str, str, HistoryRow]] = []
        # Each with the trace current when it was taken: a batch flushed once continues each claim's.
        self._events: list[outbox.Traced] = []

    def save(self, claim: Claim, *, new: bool = False) -> None:
        """Save the claim as it is at flush time (insert it when `new`)."""
        self._saves.setdefault(claim.claim_id, (claim, new, []))

    def record(self, claim: Claim, now: datetime, detail: dict[str, Any] | None = None, *,
               new: bool = False) -> None:
        """Save the claim and record the transitions it has taken since it was last recorded."""
        self.save(claim, new=new)
        for change in claim.changes:
            if change.event is not None:
                self._events.append(outbox.traced(change.event, now))
            t = change.transition
            self._add(claim, HistoryRow(t.trigger, t.from_state, t.to_state,
                                        type(change.event).__name__ if change.event is not None else None,
                                        detail or {}, now))
        claim.changes.clear()

    def move(self, claim: Claim, now: datetime, transition: Callable[[], object],
             detail: dict[str, Any] | None = None) -> bool:
        """Take one transition (a method of the claim) and record it; refuse (log + history) what the
        transition table does not allow. True when the claim moved."""
        try:
            transition()
        except IllegalTransition as refused:
            log.warning("illegal claim transition refused",
                        extra=ids(claim_id=claim.claim_id, state=claim.state, transition=refused.trigger))
            self._add(claim, HistoryRow(refused.trigger, claim.state, None, None, detail or {}, now, refused=True))
            return False
        self.record(claim, now, detail)
        return True

    def note(self, claim: Claim, what: str, now: datetime, detail: dict[str, Any] | None = None,
             event: Event | None = None) -> None:
        """History without a state change (an acknowledgment that changes nothing, a follow-up)."""
        if event is not None:
            self._events.append(outbox.traced(event, now))
        self._add(claim, HistoryRow(what, claim.state, claim.state, type(event).__name__ if event is not None else None,
                                    detail or {}, now))

    def _add(self, claim: Claim, row: HistoryRow) -> None:
        saved = self._saves.get(claim.claim_id)
        if saved is None:
            self._history.append((claim.claim_id, claim.claim_family_id, row))
        else:
            saved[2].append(row)

    async def flush(self, db: ClaimsStore) -> None:
        # Rows of claims not saved first: a claim's rows after its first save go with the save, so
        # each claim's history keeps the order it was taken in.
        await db.add_history_rows(self._history)
        for new in (True, False):
            await db.save_claims([(c, rows) for c, is_new, rows in self._saves.values() if is_new is new], new=new)
        await db.emit_all(self._events)
        self._saves, self._history, self._events = {}, [], []


async def record(db: ClaimsStore, claim: Claim, now: datetime, detail: dict[str, Any] | None = None, *,
                 new: bool = False) -> None:
    """Save the claim (insert it when `new`) and record the transitions it has taken since."""
    writes = Writes()
    writes.record(claim, now, detail, new=new)
    await writes.flush(db)


async def move(db: ClaimsStore, claim: Claim, now: datetime, transition: Callable[[], object],
               detail: dict[str, Any] | None = None) -> bool:
    """Writes.move, written at once."""
    writes = Writes()
    moved = writes.move(claim, now, transition, detail)
    await writes.flush(db)
    return moved


async def note(db: ClaimsStore, claim: Claim, what: str, now: datetime, detail: dict[str, Any] | None = None,
               event: Event | None = None) -> None:
    """Writes.note, written at once."""
    writes = Writes()
    writes.note(claim, what, now, detail, event)
    await writes.flush(db)
