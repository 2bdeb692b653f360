"""Intake events in -> the charges use cases (service/), in the consumer's transaction."""

from __future__ import annotations

from schemas import intake
from services.charges.service import charges, encounters, unit
from services.chassis.consumer import HandlerContext, HandlerTable, IntakeProblem
from services.chassis.parking import ParkKey

table = HandlerTable()
# A poll interleaves the two intake topics as the fetches return: a charge before its encounter's
# registration in the same batch would park, then be released by it.
table.applies_first(intake.EncounterRegistered, intake.EncounterUpdated)


def _encounter_key(event: intake.EncounterRegistered | intake.EncounterUpdated | intake.EncounterClosed
                   ) -> tuple[ParkKey, ...]:
    """An encounter event releases, or holds before it looks for, its encounter's key."""
    return (encounters.encounter_park_key(event.source_system, event.source_encounter_id),)


def _line_keys(event: intake.ChargeSubmitted | intake.ChargeCorrected) -> tuple[ParkKey, ...]:
    """A charge line holds its encounter's key, and releases its own (corrections waiting for it)."""
    return (encounters.encounter_park_key(event.source_system, event.source_encounter_id),
            charges.charge_park_key(event.idempotency_key))


@table.handles(intake.EncounterRegistered, intake.EncounterUpdated, park_keys=_encounter_key, unit=unit.UNIT)
async def on_encounter(ctx: HandlerContext, event: intake.EncounterRegistered | intake.EncounterUpdated) -> None:
    await encounters.register_encounter(ctx, event)


@table.handles(intake.EncounterClosed, park_keys=_encounter_key, unit=unit.UNIT)
async def on_encounter_closed(ctx: HandlerContext, event: intake.EncounterClosed) -> None:
    await encounters.close_encounter(ctx, event)


@table.handles(intake.ChargeSubmitted, park_keys=_line_keys, unit=unit.UNIT)
async def on_charge_submitted(ctx: HandlerContext, event: intake.ChargeSubmitted) -> None:
    await charges.post_charge(ctx, event)


@table.handles(intake.ChargeCorrected, park_keys=_line_keys, unit=unit.UNIT)
async def on_charge_corrected(ctx: HandlerContext, event: intake.ChargeCorrected) -> None:
    await charges.correct_charge(ctx, event)


@table.handles(intake.ChargeVoided)
async def on_charge_voided(ctx: HandlerContext, event: intake.ChargeVoided) -> None:
    await charges.void_charge(ctx, event)


@table.rejects(intake.EncounterRegistered, intake.EncounterUpdated, intake.EncounterClosed)
async def refuse_encounter(
    ctx: HandlerContext,
    event: intake.EncounterRegistered | intake.EncounterUpdated | intake.EncounterClosed,
    problems: tuple[IntakeProblem, ...],
) -> None:
    await encounters.refuse_encounter(ctx, event, problems)


@table.rejects(intake.ChargeSubmitted, intake.ChargeCorrected, intake.ChargeVoided)
async def refuse_charge(
    ctx: HandlerContext,
    event: intake.ChargeSubmitted | intake.ChargeCorrected | intake.ChargeVoided,
    problems: tuple[IntakeProblem, ...],
) -> None:
    await charges.refuse_charge(ctx, event, problems)


HANDLERS = table.by_type
REJECTERS = table.rejecters
PARK_KEYS = table.park_keys
UNITS = table.units
APPLIED_FIRST = table.applied_first
