"""Follow-up: claims with no acknowledgment, no remittance, or an open denial after the payer's
follow-up days raise ClaimFollowUpDue."""

from __future__ import annotations

from datetime import datetime

from services.claims.service.transitions import note
from services.claims.store import ClaimsStore


async def follow_up(db: ClaimsStore, now: datetime) -> int:
    """Claims with no acknowledgment, no remittance, or an open denial after the payer's follow-up days."""
    today = now.date()
    due = await db.claims_follow_up_due(today)
    for claim in due:
        payer = await db.get_payer(claim.payer_id)
        subs = [s for s in await db.submissions_of([claim.claim_id]) if s.submission_id == claim.submission_id]
        sent = subs[0].sent_at.date() if subs and subs[0].sent_at else claim.updated_at.date()
        event = claim.follow_up(today, sent, payer.follow_up_days if payer else 30)
        await db.save_claim(claim)
        await note(db, claim, "follow_up", now, {"reason": event.reason}, event)
    return len(due)
