"""Webhooks: every consumed event may fan out to the subscriptions of its type (one pending
delivery each; the sender signs and posts them)."""

from __future__ import annotations

import logging

from pydantic import BaseModel

from schemas.notifications import RelatedIds
from services.chassis.consumer import HandlerContext
from services.chassis.ids import new_id
from services.notifications import store
from services.notifications.domain.policy import webhook_body

log = logging.getLogger(__name__)


async def fan_out(ctx: HandlerContext, event: BaseModel) -> int:
    """One pending webhook delivery per enabled subscription to this event type."""
    event_type = ctx.envelope.type
    # Read once per consumer transaction (a batch), not per event: most events have no subscriber
    # and this lookup was their whole cost. No handler changes subscriptions; one added, disabled
    # or removed meanwhile (the CLI, the sender) takes effect from the next batch, as if it had
    # committed after this one. A delivery queued for one disabled or removed meanwhile is
    # skipped by the sender, which reads the subscription again before it posts.
    live = await ctx.once("notifications.webhook_subscriptions", store.live_subscriptions)
    subs = [sub for sub, types in live if event_type in types or "*" in types]
    if not subs:
        return 0
    data = event.model_dump()
    body = webhook_body(str(ctx.envelope.id), event_type, ctx.envelope.time, data)
    related = RelatedIds(
        patient_account_id=data.get("patient_account_id"), encounter_id=data.get("encounter_id"),
        claim_id=data.get("claim_id"), balance_id=data.get("balance_id"), remittance_id=data.get("remittance_id"),
    )
    for sub in subs:
        await store.insert_notification(
            ctx.conn, notification_id=new_id("ntf"),
            idempotency_key=f"webhook:{sub}:{ctx.envelope.id}", kind="webhook",
            channel="webhook", template=_template(event_type), recipient_kind="webhook_subscriber",
            related=related.model_dump(mode="json"), trigger_event_id=ctx.envelope.id,
            trigger_event_type=event_type, now=ctx.clock.now(), body=body,
            subscription_id=sub,
        )
    return len(subs)


def _template(event_type: str) -> str:
    """rcm.remittances.ClaimDenied.v1 -> claim-denied."""
    name = event_type.split(".")[2]
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")
