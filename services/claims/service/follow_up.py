"""Follow-up: claims with no acknowledgment, no remittance, or an open denial after the payer's
follow-up days raise ClaimFollowUpDue; with a status policy, those sent and not adjudicated also
get a claim status request (276, service/claim_status.py) within its bounds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.chassis.telemetry import continued
from services.claims.domain.claim_status import StatusPolicy
from services.claims.service import claim_status
from services.claims.service.transitions import note
from services.claims.store import ClaimsStore


async def follow_up(db: ClaimsStore, now: datetime, status: StatusPolicy | None = None) -> int:
    """Claims with no acknowledgment, no remittance, or an open denial after the payer's follow-up
    days. The ClaimFollowUpDue goes with the first 276 as it went before 276s existed: the 277
    answer may add its own (era_missing) but never holds this one back."""
    today = now.date()
    due = await db.claims_follow_up_due(today)
    for claim in due:
        payer = await db.get_payer(claim.payer_id)
        subs = [s for s in await db.submissions_of([claim.claim_id]) if s.submission_id == claim.submission_id]
        sent = subs[0].sent_at.date() if subs and subs[0].sent_at else claim.updated_at.date()
        event = claim.follow_up(today, sent, payer.follow_up_days if payer else 30)
        await db.save_claim(claim)
        detail: dict[str, Any] = {"reason": event.reason}
        with continued(claim.traceparent, "claim follow-up"):  # the claim's trace, days after
            if status is not None and (request_id := await claim_status.ask_if_allowed(db, claim, now, status)):
                detail["status_request_id"] = request_id
            await note(db, claim, "follow_up", now, detail, event)
    return len(due)
