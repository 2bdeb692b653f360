"""Charges: posted to the append-only charge ledger after the code checks, corrected and voided
with reversing entries, or rejected with reasons the sender can act on. A charge before its
encounter waits for the encounter; a correction or void before the charge it names waits for
that charge."""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from schemas import charges as out
from schemas import intake
from schemas.common import EncounterDetails
from schemas.types import CENT
from services.charges import store
from services.charges.domain.chargemaster import Chargemaster
from services.charges.domain.facts import ChargeFacts
from services.charges.domain.findings import Reason, Rejection, Warning
from services.charges.domain.money import extended_amount
from services.charges.domain.reference import ReferenceData
from services.charges.domain.validation import Park, PricedLine, Refuse, assess_charge, decide_charge
from services.charges.service import unit
from services.charges.service.encounters import (
    encounter_facts,
    encounter_park_key,
    intake_rejections,
    locked_encounter_or_park,
    reasons_of,
    rebill_if_billed,
    reference,
    release_to_billing,
)
from services.chassis.consumer import HandlerContext, IntakeProblem
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.chassis.parking import ParkKey

log = logging.getLogger(__name__)


def charge_park_key(idempotency_key: str) -> ParkKey:
    return ParkKey.of("charge", idempotency_key)


def charge_facts(line: intake.ChargeSubmitted | intake.ChargeCorrected) -> ChargeFacts:
    return ChargeFacts(
        service_date=line.service_date,
        units=line.units,
        diagnosis_pointers=tuple(line.diagnosis_pointers),
        procedure_code=line.procedure_code,
        chargemaster_code=line.chargemaster_code,
        modifiers=tuple(line.modifiers),
        unit_price=line.unit_price,
        amount=line.amount,
        service_end_date=line.service_end_date,
        place_of_service=line.place_of_service,
        rendering_npi=line.rendering_provider_npi,
        revenue_code=line.revenue_code,
        claim_type=line.claim_type,
    )


async def post_charge(ctx: HandlerContext, event: intake.ChargeSubmitted) -> None:
    await _post_line(ctx, event, replaces=None)


async def correct_charge(ctx: HandlerContext, event: intake.ChargeCorrected) -> None:
    original = await _original(ctx, event, event.corrects_idempotency_key)
    if original is not None:
        await _post_line(ctx, event, replaces=original)


async def void_charge(ctx: HandlerContext, event: intake.ChargeVoided) -> None:
    original = await _original(ctx, event, event.voids_idempotency_key)
    if original is None:
        return
    encounter_id = original.encounter_id
    reversal_id, amount = await store.reverse_charge(
        ctx.conn, charge_id=original.charge_id, idempotency_key=event.idempotency_key, reason="voided",
        at=ctx.clock.now(),
    )
    await _record(ctx, event, encounter_id, "voided", "reversed", original.charge_id, [])
    await ctx.emit(
        out.ChargeReversed(
            encounter_id=encounter_id, charge_id=original.charge_id, reversal_id=reversal_id, reason="voided",
            idempotency_key=event.idempotency_key, amount=amount, reversed_at=ctx.clock.now(),
        )
    )
    await rebill_if_billed(ctx, encounter_id)


async def refuse_charge(
    ctx: HandlerContext,
    event: intake.ChargeSubmitted | intake.ChargeCorrected | intake.ChargeVoided,
    problems: tuple[IntakeProblem, ...],
) -> None:
    """A charge event the intake door refused (unknown fields, key or ce_subject not its
    encounter): rejected with every problem, nothing posted. Its key counts as processed, as
    for any rejection, unless the key already has an outcome (then only the rejection goes out)."""
    encounter_id = await unit.encounter_id(ctx, event.source_system, event.source_encounter_id)
    record = await unit.key_outcome(ctx, event.idempotency_key) is None
    await _reject_charge(ctx, event, encounter_id, intake_rejections(problems), record=record)


async def _original(
    ctx: HandlerContext, event: intake.ChargeCorrected | intake.ChargeVoided, original_key: str
) -> store.ChargeRow | None:
    """The charge a correction or void names; None when it parked or rejected the event."""
    if await _already_processed(ctx, event.idempotency_key):
        return None
    await unit.flush(ctx)  # the charge it names may be posted in this transaction
    original = await store.charge_by_key(ctx.conn, original_key)
    if original is None:
        seen = await unit.key_outcome(ctx, original_key)
        if seen is None:
            await ctx.park(charge_park_key(original_key), "the charge it changes has not arrived yet")
            return None
        reason = Rejection(Reason.CHG_ORIGINAL_NOT_POSTED, _original_field(event), "the charge it changes was rejected")
        await _reject_charge(ctx, event, seen.encounter_id, [reason])
        return None
    if original.reversed:
        reason = Rejection(
            Reason.CHG_ALREADY_REVERSED, _original_field(event), "the charge it changes was already reversed"
        )
        await _reject_charge(ctx, event, original.encounter_id, [reason])
        return None
    return original


def _original_field(event: intake.ChargeCorrected | intake.ChargeVoided) -> str:
    return "corrects_idempotency_key" if isinstance(event, intake.ChargeCorrected) else "voids_idempotency_key"


async def _already_processed(ctx: HandlerContext, idempotency_key: str) -> bool:
    if await unit.key_outcome(ctx, idempotency_key) is None:
        return False
    log.info("intake key already processed", extra=ids(event_id=str(ctx.envelope.id)))
    return True


async def _post_line(
    ctx: HandlerContext, event: intake.ChargeSubmitted | intake.ChargeCorrected, replaces: store.ChargeRow | None
) -> None:
    if replaces is None and await _already_processed(ctx, event.idempotency_key):
        return
    encounter = await locked_encounter_or_park(ctx, event.source_system, event.source_encounter_id)
    if encounter is None:
        return
    encounter_id = encounter.encounter_id
    details = unit.details(ctx, encounter)
    ref = await _reference_for(ctx, event)
    charge, facts = charge_facts(event), encounter_facts(details)
    assessment = assess_charge(charge, facts, ctx.clock.today(), ref)
    decision = decide_charge(assessment, charge, facts, encounter_open=encounter.closed_at is None)
    if isinstance(decision, Park):
        # Under the encounter's key: its next update or its close judges the line again.
        await ctx.park(encounter_park_key(event.source_system, event.source_encounter_id), decision.reason)
        return
    if isinstance(decision, Refuse):
        await _reject_charge(ctx, event, encounter_id, list(decision.rejections))
        return
    line = decision.line
    unit_price = _unit_price(event, line)
    if unit_price is None:
        reason = Rejection(
            Reason.CHG_AMOUNT, "amount", "amount does not divide into whole cents per unit: send unit_price too"
        )
        await _reject_charge(ctx, event, encounter_id, [reason])
        return
    charge_id = new_id("chg")
    posted = _posted_event(event, details, encounter, charge_id, line, unit_price, replaces, ctx,
                           assessment.result.warnings)
    unit.post(ctx, store.Posting(
        charge_id=charge_id, encounter_id=encounter_id, idempotency_key=event.idempotency_key,
        line_json=posted.model_dump_json(), amount=posted.amount,
        replaces_charge_id=replaces.charge_id if replaces else None, kind="corrected" if replaces else "submitted",
        source_charge_id=event.source_charge_id, event_id=ctx.envelope.id, at=ctx.clock.now(),
    ))
    if replaces is not None:
        reversal_id, amount = await store.reverse_charge(
            ctx.conn, charge_id=replaces.charge_id, idempotency_key=event.idempotency_key, reason="corrected",
            at=ctx.clock.now(),
        )
        await ctx.emit(
            out.ChargeReversed(
                encounter_id=encounter_id, charge_id=replaces.charge_id, reversal_id=reversal_id, reason="corrected",
                idempotency_key=event.idempotency_key, replacement_charge_id=charge_id, amount=amount,
                reversed_at=ctx.clock.now(),
            )
        )
    await ctx.emit(posted)
    # Corrections and voids that arrived before this charge were waiting for it.
    await ctx.release_parked(charge_park_key(event.idempotency_key))
    # The encounter row is ours (locked above) and no charge event closes it: it is still as read.
    if encounter.closed_at is not None:
        await release_to_billing(ctx, encounter_id)


async def _reference_for(ctx: HandlerContext, event: intake.ChargeSubmitted | intake.ChargeCorrected) -> ReferenceData:
    if event.chargemaster_code is None:
        return reference(ctx)
    item = await unit.chargemaster_item(ctx, event.chargemaster_code)
    return reference(ctx).with_chargemaster(Chargemaster(items={item.cdm_code: item} if item else {}))


def _unit_price(event: intake.ChargeSubmitted | intake.ChargeCorrected, line: PricedLine) -> Decimal | None:
    """The posted line states a unit price; an amount-only charge must divide into cents."""
    if line.unit_price is not None:
        return line.unit_price
    unit_price = (line.amount / event.units).quantize(CENT, rounding=ROUND_HALF_UP)
    return unit_price if extended_amount(event.units, unit_price) == line.amount else None


def _posted_event(
    event: intake.ChargeSubmitted | intake.ChargeCorrected,
    details: EncounterDetails,
    encounter: store.EncounterRow,
    charge_id: str,
    line: PricedLine,
    unit_price: Decimal,
    replaces: store.ChargeRow | None,
    ctx: HandlerContext,
    warnings: tuple[Warning, ...],
) -> out.ChargePosted:
    return out.ChargePosted(
        encounter_id=encounter.encounter_id,
        charge_id=charge_id,
        patient_account_id=encounter.patient_account_id,
        source_system=event.source_system,
        source_encounter_id=event.source_encounter_id,
        source_charge_id=event.source_charge_id,
        idempotency_key=event.idempotency_key,
        service_date=event.service_date,
        service_end_date=event.service_end_date,
        procedure_code=line.procedure_code,
        modifiers=list(line.modifiers),
        chargemaster_code=event.chargemaster_code,
        revenue_code=line.revenue_code or None,
        claim_type=line.claim_type,
        description=line.description or event.description,
        units=event.units,
        unit_price=unit_price,
        amount=line.amount,
        diagnosis_pointers=list(event.diagnosis_pointers),
        diagnosis_codes=[details.diagnoses[p - 1] for p in event.diagnosis_pointers],
        place_of_service=event.place_of_service or details.place_of_service,
        rendering_provider_npi=event.rendering_provider_npi
        or (event.rendering_provider.npi if event.rendering_provider else None)
        or (details.rendering_provider.npi if details.rendering_provider else None),
        rendering_provider=event.rendering_provider,
        ordering_provider=event.ordering_provider,
        ndc=event.ndc,
        ndc_quantity=event.ndc_quantity,
        ndc_unit=event.ndc_unit,
        replaces_charge_id=replaces.charge_id if replaces else None,
        posted_at=ctx.clock.now(),
        findings=[out.ChargeFinding(code=w.code.value, field=w.field, message=w.message[:500]) for w in warnings],
    )


async def _reject_charge(
    ctx: HandlerContext,
    event: intake.ChargeSubmitted | intake.ChargeCorrected | intake.ChargeVoided,
    encounter_id: str,
    rejections: list[Rejection],
    *,
    record: bool = True,
) -> None:
    kind = {intake.ChargeSubmitted: "submitted", intake.ChargeCorrected: "corrected"}.get(type(event), "voided")
    if record:
        await _record(ctx, event, encounter_id, kind, "rejected", None, [r.__dict__ for r in reasons_of(rejections)])
    await ctx.emit(
        out.ChargeRejected(
            encounter_id=encounter_id,
            source_system=event.source_system,
            source_encounter_id=event.source_encounter_id,
            source_charge_id=event.source_charge_id,
            idempotency_key=event.idempotency_key,
            rejected_event_id=ctx.envelope.id,
            rejected_event_type=ctx.envelope.type,
            reasons=reasons_of(rejections),
            rejected_at=ctx.clock.now(),
        )
    )
    log.info("charge rejected", extra=ids(encounter_id=encounter_id, event_id=str(ctx.envelope.id)))
    encounter = await unit.encounter(ctx, encounter_id)
    if encounter is not None and encounter.billed_revision == 0:
        await rebill_if_billed(ctx, encounter_id)  # it may have been the last charge billing waited for


async def _record(
    ctx: HandlerContext,
    event: intake.ChargeSubmitted | intake.ChargeCorrected | intake.ChargeVoided,
    encounter_id: str,
    kind: str,
    outcome: str,
    charge_id: str | None,
    reasons: list[dict[str, Any]],
) -> None:
    unit.keyed(ctx, event.idempotency_key, store.KeyOutcome(outcome, charge_id, encounter_id))
    await store.record_key(
        ctx.conn,
        idempotency_key=event.idempotency_key,
        encounter_id=encounter_id,
        kind=kind,
        source_charge_id=event.source_charge_id,
        outcome=outcome,
        charge_id=charge_id,
        reasons=reasons,
        event_id=ctx.envelope.id,
        at=ctx.clock.now(),
    )
