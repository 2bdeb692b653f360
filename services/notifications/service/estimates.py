"""Patient estimates: PatientEstimated -> an email telling the guarantor the patient's expected
share of the visit, before any statement (one per distinct estimate of an encounter), through the
same recipient and consent rules as statements. Waits (parked) for the encounter's contact."""

from __future__ import annotations

from schemas.eligibility import PatientEstimated
from schemas.notifications import RelatedIds
from services.chassis.consumer import HandlerContext
from services.notifications import store
from services.notifications.domain.estimates import estimate_body
from services.notifications.service.statements import contact_park_key, create_patient_email
from services.notifications.service.webhooks import fan_out

ESTIMATE_TEMPLATE = "patient-estimate"


async def tell_patient(ctx: HandlerContext, event: PatientEstimated) -> None:
    await ctx.hold(contact_park_key(event.encounter_id))  # the contact comes on another topic
    contact = await store.load_contact(ctx.conn, event.encounter_id)
    if contact is None:
        await ctx.park(contact_park_key(event.encounter_id), "contact details not yet known")
        return
    # A later check that gives the same figures (a cached 271) tells the patient nothing new.
    figures = f"{event.patient_estimate}:{'complete' if event.complete else 'floor'}"
    await create_patient_email(
        ctx.conn, ctx.clock, ctx.envelope.id, ctx.envelope.type,
        related=RelatedIds(patient_account_id=event.patient_account_id, encounter_id=event.encounter_id),
        idempotency_key=f"estimate:{event.encounter_id}:{figures}", template=ESTIMATE_TEMPLATE, kind="estimate",
        body=estimate_body(event), contact=contact)
    await fan_out(ctx, event)
