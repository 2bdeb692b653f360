"""837 batches: every ready claim into one interchange of its kind (an 837P for the professional
claims, an 837I for the institutional ones), each X12-checked, ClaimSubmitted per claim, the
files written to the clearinghouse after the batch commits."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import asyncpg
from opentelemetry import trace

from edi.errors import X12Error
from edi.validate import validate as x12_check
from edi.x837common.model import ClaimBase
from schemas import claims as ev
from schemas.common import ClaimType
from services.chassis.clearinghouse import Clearinghouse
from services.chassis.logs import ids
from services.chassis.telemetry import continued
from services.claims.domain import x837, x837i
from services.claims.domain.claim import Claim
from services.claims.domain.findings import Finding
from services.claims.domain.model import ClaimDraft
from services.claims.domain.x837parts import TRANSACTION_SET_CONTROL_NUMBER, Submission, file_name
from services.claims.service import eligibility
from services.claims.service.scrubbing import reference_number
from services.claims.service.transitions import Writes, move
from services.claims.store import ClaimsStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Kind:
    """How one claim type is written: its transaction's name, claim mapping and batch renderer."""

    name: str
    build: Callable[[ClaimDraft, Submission], ClaimBase]
    render: Callable[[list[Any], int, datetime, str], str]


KINDS: dict[ClaimType, _Kind] = {
    "professional": _Kind("837P", x837.build_claim, x837.render_batch),
    "institutional": _Kind("837I", x837i.build_claim, x837i.render_batch),
}


async def submit_pending(db: ClaimsStore, now: datetime, usage: str = "T") -> list[str]:
    """Batch every queued submission into one interchange per claim type (837P, then 837I), each
    recorded for the clearinghouse with its own control number; returns their file names. The
    files go out after the commit (`write_interchanges`)."""
    built: dict[ClaimType, list[tuple[Claim, ClaimBase, str | None]]] = {kind: [] for kind in KINDS}
    pending = await db.pending_submissions()
    claims = await db.claims_for_update([claim_id for _, claim_id in pending])
    waiting = await eligibility.waiting_claims(db, claims.values())
    for submission_id, claim_id in pending:
        claim = claims.get(claim_id)
        if claim is None or claim.state != "ready" or claim.submission_id != submission_id:
            await db.drop_submission(submission_id)
            continue
        if claim_id in waiting:  # its coverage is being checked: it stays queued for a later batch
            continue
        kind = KINDS[claim.draft.claim_type]
        pccn = await reference_number(db, claim)
        try:
            x = kind.build(claim.draft, Submission(submission_id, claim.frequency, claim.payer_id, claim.payer_name,
                                                   pccn))
        except (ValueError, X12Error) as exc:
            await _hold_for_x12(db, claim, f"the claim cannot be written as an {kind.name} ({type(exc).__name__}); "
                                "check the encounter's names, addresses and ids", now)
            continue
        built[claim.draft.claim_type].append((claim, x, pccn))
    names = []
    for claim_type, batch in built.items():
        if batch:
            # A span per interchange (none for a pass with nothing to send): each claim's own
            # span links to it.
            with trace.get_tracer(__name__).start_as_current_span(f"{KINDS[claim_type].name} batch",
                                                                 attributes={"rcm.count": len(batch)}):
                names.append(await _interchange(db, KINDS[claim_type], batch, now, usage))
    return [name for name in names if name is not None]


async def _interchange(db: ClaimsStore, kind: _Kind, built: Sequence[tuple[Claim, ClaimBase, str | None]],
                       now: datetime, usage: str) -> str | None:
    """One interchange of these claims, recorded with the claims submitted; None when it fails
    the X12 checks (the claims are held)."""
    number = await db.next_control_number()
    text = kind.render([b[1] for b in built], number, now, usage)
    issues = [i for i in x12_check(text) if i.severity == "error"]
    if issues:
        for claim, *_ in built:
            await _hold_for_x12(db, claim, f"the {kind.name} failed the X12 checks: " + ", ".join(
                sorted({i.code for i in issues}))[:300], now)
        return None
    content = text.encode()
    name = file_name(number)
    icn, gcn = f"{number:09d}", str(number)
    await db.save_interchange(icn, gcn, name, hashlib.sha256(content).hexdigest(), len(built), content, now)
    interchange = ev.InterchangeControl(interchange_control_number=icn, group_control_number=gcn,
                                        transaction_set_control_number=TRANSACTION_SET_CONTROL_NUMBER, file_name=name)
    await db.mark_sent([x.submission_id for _, x, _ in built], icn, gcn, TRANSACTION_SET_CONTROL_NUMBER, name, now)
    writes = Writes()  # the whole batch's claims, history and events in three statements
    batch = trace.get_current_span()
    for claim, x, pccn in built:
        payer = await db.get_payer(claim.payer_id)
        follow_up_days = payer.follow_up_days if payer else 30
        # ClaimSubmitted in the claim's own trace (its encounter's), linked to the batch.
        with continued(claim.traceparent, "claim submit", links=[batch]):
            writes.move(claim, now, partial(claim.submit, interchange, pccn, follow_up_days, now),
                        detail={"submission_id": x.submission_id, "file": name})
    await writes.flush(db)
    log.info("837 batch written", extra=ids(component=kind.name, count=len(built), file_id=name))
    return name


async def _hold_for_x12(db: ClaimsStore, claim: Claim, message: str, now: datetime) -> None:
    finding = Finding("X12-BUILD", "error", message, "required-fields")
    await db.drop_pending(claim.claim_id)
    await move(db, claim, now, partial(claim.hold, [finding], now))


async def write_interchanges(pool: asyncpg.Pool, clearinghouse: Clearinghouse, now: datetime) -> int:
    """Write every committed interchange not yet in outbound/ (again after a crash: same name and
    content, at least once). Called after the batch commits, so an acknowledgment can never
    arrive before the submission it acknowledges is recorded."""
    async with pool.acquire() as conn:
        db = ClaimsStore(conn)
        pending = await db.unwritten_interchanges()
        for file in pending:
            await clearinghouse.write("outbound", file.file_name, file.content)
            await db.mark_written(file.interchange_control_number, now)
    return len(pending)
