"""The remits' unit of work for one consumer transaction (UNIT, the consumer's UnitOfWork), for
ClaimSubmitted, the event it takes at volume (one per claim sent).

A ClaimSubmitted records its submission under its CLP01 lock, re-posts what waited for it in
suspense, then restates its encounter's books. Per event that was a lock + insert, a read of the
suspense and a restatement (its locks, reads, journal, balances): about ten statements each.
Here `prefetch` takes the CLP01 locks of the whole batch in one statement (CLP01 order, as the
835 posting does) and, in a statement of its own after them (a statement's snapshot predates its
locks), which of those CLP01s have claim payments in suspense. The handler then only buffers the
submission and notes its encounter; `flush` writes the submissions in one pipelined statement and
restates every noted encounter at once (books.restate_many: encounter order, a few statements for
all of them). A CLP01 with something in suspense (rare) takes the one-event path at once, after the
submissions buffered before it are written: its re-post reads them.

The balance events of a batch therefore follow its handlers' events, in encounter order rather
than in the order of the records (each encounter's own events keep their order).

It lives in the transaction's memo, so nothing outlives a commit or a rollback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.claims import ClaimSubmitted
from services.chassis.consumer import HandlerContext
from services.remits import store
from services.remits.rows import SubmissionRow
from services.remits.service import suspense
from services.remits.service.patient_payments import UpdateReason
from services.remits.service.remittances import restate_encounters

_MEMO = "remits.unit"


@dataclass
class Unit:
    # The CLP01s this transaction holds locked, and those of them with claim payments in suspense.
    locked: set[str] = field(default_factory=set)
    waiting: set[str] = field(default_factory=set)
    # Submissions recorded and not yet written, and the encounters whose books `flush` restates.
    submissions: list[SubmissionRow] = field(default_factory=list)
    restate: dict[str, UpdateReason] = field(default_factory=dict)
    # The stored 835 files the re-posts of this transaction read (a file read once for all its claims).
    files: suspense.StoredFiles = field(default_factory=dict)


def unit(ctx: HandlerContext) -> Unit:
    state: Unit = ctx.memo.get(_MEMO) or ctx.memo.setdefault(_MEMO, Unit())
    return state


async def record_submission(ctx: HandlerContext, event: ClaimSubmitted) -> None:
    """suspense.record_submission, its writes buffered when nothing waits in suspense for it."""
    state = unit(ctx)
    if event.submission_id not in state.locked or event.submission_id in state.waiting:
        await _write_submissions(ctx, state)
        await suspense.record_submission(ctx.conn, event, ctx.clock.now(), files=state.files)
        return
    state.submissions.append(suspense.submission_row(event))
    state.restate[event.encounter_id] = "charge_correction"


async def _write_submissions(ctx: HandlerContext, state: Unit) -> None:
    if state.submissions:
        await store.save_submissions(ctx.conn, state.submissions)
        state.submissions = []


class _Unit:
    """The remits' UnitOfWork for the consumer (see the module doc)."""

    async def prefetch(self, ctx: HandlerContext, events: list[ClaimSubmitted]) -> None:
        """The CLP01 locks of the events (one statement), then which of them wait in suspense (one)."""
        state = unit(ctx)
        ids = sorted({e.submission_id for e in events} - state.locked)
        if not ids:
            return
        await store.lock_submission_ids(ctx.conn, ids)
        state.locked.update(ids)
        state.waiting.update(await store.waiting_submission_ids(ctx.conn, ids))

    async def flush(self, ctx: HandlerContext) -> None:
        """Write the buffered submissions, then restate the books of their encounters: before the
        commit, and before a handler of another event type reads what they change."""
        state = unit(ctx)
        await _write_submissions(ctx, state)
        if state.restate:
            encounters, state.restate = state.restate, {}
            await restate_encounters(ctx.conn, encounters, ctx.clock.now())


UNIT = _Unit()
