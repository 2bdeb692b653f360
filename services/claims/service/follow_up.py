"""Follow-up: claims with no acknowledgment, no remittance, or an open denial after the payer's
follow-up days raise ClaimFollowUpDue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from schemas import claims as ev
from schemas.common import PayerRef
from services.claims import store
from services.claims.service.transitions import ids_of, note

_FOLLOW_UP_REASON: dict[str, Any] = {"submitted": "no_acknowledgment", "accepted": "no_remittance",
                                     "denied": "denial_open"}


async def follow_up(conn: asyncpg.Connection, now: datetime) -> int:
    """Claims with no acknowledgment, no remittance, or an open denial after the payer's follow-up days."""
    today = now.date()
    due = await store.claims_follow_up_due(conn, today)
    for claim in due:
        payer = await store.get_payer(conn, claim.payer_id)
        days = payer.follow_up_days if payer else 30
        subs = [s for s in await store.submissions_of(conn, [claim.claim_id])
                if s["submission_id"] == claim.submission_id]
        sent = subs[0]["sent_at"].date() if subs and subs[0]["sent_at"] else claim.updated_at.date()
        assert claim.follow_up_on is not None
        event = ev.ClaimFollowUpDue(
            **ids_of(claim), submission_id=claim.submission_id,
            payer=PayerRef(payer_id=claim.payer_id, payer_name=claim.payer_name), state=claim.state,  # type: ignore[arg-type]
            reason=_FOLLOW_UP_REASON[claim.state],
            days_outstanding=max(0, (today - sent).days), due_on=claim.follow_up_on,
            timely_filing_deadline=claim.timely_filing_deadline,
        )
        claim.follow_up_on = today + timedelta(days=max(days, 1))
        await store.save_claim(conn, claim)
        await note(conn, claim, "follow_up", now, {"reason": event.reason}, event)
    return len(due)
