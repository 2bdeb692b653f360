"""Staff alerts: the work queue (held, rejected and denied claims, underpayments, unmatched
remittances, follow-ups due, recoupments that reopened a claim), ids and codes only, gathered
into digests; an unmatched remittance's alert resolved when it is re-posted."""

from __future__ import annotations

import logging
from typing import Any
from uuid import uuid5

from pydantic import BaseModel

from schemas import claims, eligibility, remits
from services.chassis.consumer import HandlerContext
from services.chassis.logs import ids
from services.notifications import store
from services.notifications.service.webhooks import fan_out

log = logging.getLogger(__name__)


DIGEST_TEMPLATE = "staff-digest"


UNMATCHED = "rcm.remittances.UnmatchedRemittance.v1"


UNMATCHED_RESOLVED = "rcm.remittances.UnmatchedRemittanceResolved.v1"


STAFF_ALERTS = frozenset({
    "rcm.claims.ClaimHeld.v1",
    "rcm.claims.ClaimRejected.v1",
    "rcm.remittances.ClaimDenied.v1",
    "rcm.remittances.UnderpaymentDetected.v1",
    UNMATCHED,
    "rcm.claims.ClaimFollowUpDue.v1",
})


ERA_MISSING = "ERA missing: the payer reports the claim paid or denied but no 835 arrived"


def eligibility_alert_key(encounter_id: str) -> str:
    """The problem "this encounter's coverage failed its eligibility check": raised once, by the
    EligibilityChecked or by the ClaimHeld (ELIG-INACTIVE / ELIG-REJECTED) it causes, whichever
    comes first."""
    return f"eligibility:{encounter_id}"


def unmatched_alert_key(remittance_id: str, position: remits.RemittancePosition) -> str:
    """The claim payment an UnmatchedRemittance alert is about, as its resolution names it too."""
    return f"{remittance_id}/{position.transaction_set_control_number}/{position.claim_index}"


def alert_summary(event: BaseModel) -> dict[str, Any]:
    """Ids and codes a biller needs to open the item; no patient data."""
    data = event.model_dump(mode="json")
    keep = ("claim_id", "encounter_id", "remittance_id", "submission_id", "reason", "state", "days_outstanding",
            "due_on", "total_variance", "total_paid", "denial_scope", "source")
    out = {k: data[k] for k in keep if k in data and data[k] is not None}
    if isinstance(event, claims.ClaimHeld):
        out["edits"] = ",".join(e.edit_id for e in event.edits)
    if isinstance(event, claims.ClaimRejected):
        out.pop("reason", None)  # free text: the codes say enough, `rcm claims show` says the rest
        out["codes"] = ",".join(c.code for c in event.codes)
    if isinstance(event, remits.ClaimDenied):
        out["carcs"] = ",".join(f"{d.group}-{d.reason_code}" for d in event.denials)
        out["actions"] = ",".join(sorted({d.recommended_action for d in event.denials}))
    if isinstance(event, remits.UnmatchedRemittance | claims.ClaimFollowUpDue):
        out["payer_id"] = data["payer"]["payer_id"]
    if isinstance(event, claims.ClaimFollowUpDue) and event.reason == "era_missing":
        out["problem"] = ERA_MISSING
    if isinstance(event, remits.UnmatchedRemittanceResolved):
        out = {"state": "resolved", "remittance_id": event.remittance_id,
               "position": f"ST {event.position.transaction_set_control_number} claim {event.position.claim_index}",
               "claim_id": event.claim_id, "encounter_id": event.encounter_id,
               "amount_released": data["amount_released"], "resolution": event.resolution}
    return out


async def raise_alert(ctx: HandlerContext, event: BaseModel) -> None:
    key = None
    if isinstance(event, remits.UnmatchedRemittance):
        key = unmatched_alert_key(event.remittance_id, event.position)
    if isinstance(event, claims.ClaimHeld) and any(e.source == "eligibility" for e in event.edits):
        key = eligibility_alert_key(event.encounter_id)
        raised = await store.alert_raised(ctx.conn, key)
        if raised and all(e.source == "eligibility" for e in event.edits if e.severity == "error"):
            log.info("claim held for eligibility: its work item was raised already", extra=ids(
                claim_id=event.claim_id, encounter_id=event.encounter_id))
            await fan_out(ctx, event)
            return
    await store.add_alert(ctx.conn, ctx.envelope.id, ctx.envelope.type, alert_summary(event), ctx.clock.now(),
                          alert_key=key)
    await fan_out(ctx, event)


async def resolve_unmatched_alert(ctx: HandlerContext, event: remits.UnmatchedRemittanceResolved) -> None:
    """The staff alert of that unmatched claim payment is resolved: skipped with reason "resolved" if
    still pending; if it was already delivered (or is unknown here, e.g. stored before alert keys),
    a "resolved" line goes into the next digest. A repeated resolution adds nothing."""
    key = unmatched_alert_key(event.remittance_id, event.position)
    now = ctx.clock.now()
    counts = await store.resolve_alerts(ctx.conn, UNMATCHED, key, now)
    if counts["delivered"] or not any(counts.values()):
        await store.add_alert(ctx.conn, ctx.envelope.id, ctx.envelope.type, alert_summary(event), now, alert_key=key)
    log.info("unmatched remittance alert resolved", extra=ids(remittance_id=event.remittance_id,
                                                              claim_id=event.claim_id))
    await fan_out(ctx, event)


async def raise_recoupment_alert(ctx: HandlerContext, event: remits.ProviderAdjustmentPosted) -> None:
    """A PLB recoupment that named one of our claims took back part of its payment and reopened
    its books: a work item (review it, appeal it, or write it off with `rcm remits writeoff`)."""
    recouped = [a for a in event.adjustments if a.claim_id is not None]
    if recouped:
        summary = {"remittance_id": event.remittance_id, "payer_id": event.payer.payer_id,
                   "claims": ",".join(f"{a.claim_id}:{a.reason_code}:{a.amount}" for a in recouped)}
        await store.add_alert(ctx.conn, ctx.envelope.id, ctx.envelope.type, summary, ctx.clock.now())
        log.info("recoupment work item raised", extra=ids(remittance_id=event.remittance_id, count=len(recouped)))
    await fan_out(ctx, event)


async def raise_eligibility_work_items(ctx: HandlerContext, event: eligibility.EligibilityChecked) -> None:
    """An inactive or rejected coverage (unless the ClaimHeld it causes raised it first), and payers
    the 271 names that are not among the patient's coverages: one work item per problem, however
    many checks (a cached answer, a re-bill) report it again."""
    rank = event.coverage_rank
    base = {"encounter_id": event.encounter_id, "check_id": event.check_id, "coverage_rank": rank,
            "payer_id": event.payer.payer_id, "service_date": event.service_date.isoformat()}
    items: list[tuple[str, str, dict[str, Any]]] = []
    if event.outcome in ("inactive", "rejected"):
        codes = ",".join(f"{r.reason_code}/{r.follow_up}" for r in event.rejections)
        problem = (f"coverage rank {rank} inactive on the date of service" if event.outcome == "inactive"
                   else f"the payer could not check coverage rank {rank} (AAA {codes})")
        items.append(("coverage", eligibility_alert_key(event.encounter_id),
                      {**base, "outcome": event.outcome, "problem": problem}))
    missing = [p for p in event.other_payers if not p.on_file]
    if missing:
        named = ",".join(f"{p.role}:{p.payer_id or p.payer_name or '?'}"
                         + (f":{p.insurance_type}" if p.insurance_type else "") for p in missing)
        items.append(("other-payer", f"other-payer:{event.encounter_id}:{rank}:{named}",
                      {**base, "problem": f"payer named by the 271 not on file for coverage rank {rank}",
                       "other_payers": named}))
    for kind, key, summary in items:
        if await store.alert_raised(ctx.conn, key):
            continue
        await store.add_alert(ctx.conn, uuid5(ctx.envelope.id, kind), ctx.envelope.type, summary, ctx.clock.now(),
                              alert_key=key)
        log.info("eligibility work item raised", extra=ids(encounter_id=event.encounter_id, reason=kind))
    await fan_out(ctx, event)
