"""Encounters: registered and updated (validated against the shipped reference data), closed,
and released to billing (EncounterReadyToBill, a new revision on every change after billing).
Order problems are parked, not rejected: an encounter change waits for nothing, a charge before
its encounter waits for it, and an institutional line dated after the statement period waits for
the update that widens it, until the close (service/charges.py)."""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Any

import asyncpg

from schemas import charges as out
from schemas import intake
from schemas.common import (
    BillingProvider,
    EncounterDetails,
    InstitutionalDetails,
    InstitutionalDiagnosis,
    InstitutionalProcedure,
    Provider,
    RejectionReason,
)
from services.charges import store
from services.charges.domain.facts import (
    CodedDiagnosis,
    DatedCode,
    EncounterFacts,
    InstitutionalFacts,
    PostedLineFacts,
    SpanCode,
)
from services.charges.domain.findings import Reason, Rejection
from services.charges.domain.institutional import check_posted_lines
from services.charges.domain.reference import ReferenceData, shipped_reference
from services.charges.domain.validation import validate_encounter
from services.charges.service import unit
from services.chassis import parking
from services.chassis.consumer import HandlerContext, IntakeProblem
from services.chassis.icd10cm import read_editions
from services.chassis.logs import ids
from services.chassis.parking import ParkKey
from services.chassis.settings import get_settings

log = logging.getLogger(__name__)


_ENCOUNTER_FIELDS: set[str] = set(EncounterDetails.model_fields)


def reference(ctx: HandlerContext) -> ReferenceData:
    """The shipped reference data and the ICD-10-CM editions of the code-set directory, looked up
    once per transaction (read again only when an edition file changed: `rcm codesets load
    icd10cm` needs no restart)."""
    state = unit.unit(ctx)
    if state.reference is None:
        state.reference = shipped_reference().with_diagnoses(read_editions(get_settings().codesets_path))
    return state.reference


def encounter_park_key(source_system: str, source_encounter_id: str) -> ParkKey:
    return ParkKey.of("encounter", source_system, source_encounter_id)


def encounter_facts(details: EncounterDetails) -> EncounterFacts:
    return EncounterFacts(
        billing_npi=details.billing_provider.npi,
        place_of_service=details.place_of_service,
        diagnoses=tuple(details.diagnoses),
        coverage_ranks=tuple(c.rank for c in details.coverages),
        rendering_npi=details.rendering_provider.npi if details.rendering_provider else None,
        referring_npi=details.referring_provider.npi if details.referring_provider else None,
        admission_date=details.admission_date,
        discharge_date=details.discharge_date,
        bills=details.bills,
        institutional=institutional_facts(details.institutional) if details.institutional else None,
    )


def _npi(provider: Provider | BillingProvider | None) -> str | None:
    return provider.npi if provider else None


def _diagnosis(diagnosis: InstitutionalDiagnosis) -> CodedDiagnosis:
    return CodedDiagnosis(diagnosis.code, diagnosis.present_on_admission)


def _procedure(procedure: InstitutionalProcedure) -> DatedCode:
    return DatedCode(procedure.code, procedure.performed_on)


def institutional_facts(data: InstitutionalDetails) -> InstitutionalFacts:
    return InstitutionalFacts(
        type_of_bill=data.type_of_bill,
        statement_from=data.statement_from,
        statement_through=data.statement_through,
        attending_npi=data.attending_provider.npi,
        principal_diagnosis=_diagnosis(data.principal_diagnosis),
        admission_type=data.admission_type,
        admission_source=data.admission_source,
        admission_hour=data.admission_hour,
        discharge_hour=data.discharge_hour,
        billing_npi=_npi(data.billing_provider),
        operating_npi=_npi(data.operating_provider),
        other_operating_npi=_npi(data.other_operating_provider),
        admitting_diagnosis=data.admitting_diagnosis,
        reason_for_visit=tuple(data.reason_for_visit),
        other_diagnoses=tuple(_diagnosis(d) for d in data.other_diagnoses),
        principal_procedure=_procedure(data.principal_procedure) if data.principal_procedure else None,
        other_procedures=tuple(_procedure(p) for p in data.other_procedures),
        condition_codes=tuple(data.condition_codes),
        occurrence_codes=tuple(DatedCode(o.code, o.occurred_on) for o in data.occurrence_codes),
        occurrence_spans=tuple(SpanCode(s.code, s.from_date, s.through_date) for s in data.occurrence_spans),
        value_codes=tuple(v.code for v in data.value_codes),
    )


def reasons_of(rejections: tuple[Rejection, ...] | list[Rejection]) -> list[RejectionReason]:
    return [RejectionReason(code=r.code.value, field=r.field, message=r.message) for r in rejections]


async def register_encounter(ctx: HandlerContext, event: intake.EncounterRegistered | intake.EncounterUpdated) -> None:
    """Registered and Updated carry the full state alike: both become the current encounter."""
    encounter_id = await unit.encounter_id(ctx, event.source_system, event.source_encounter_id)
    result = validate_encounter(encounter_facts(event), ctx.clock.today(), reference(ctx))
    if not result.ok:
        await _reject_encounter(ctx, encounter_id, event.source_system, event.source_encounter_id, result.rejections)
        return
    before = await unit.encounter(ctx, encounter_id, lock=True)
    if before is not None and before.closed_at is not None and not event.diagnoses:
        reason = Rejection(Reason.ENC_NO_DIAGNOSIS, "diagnoses", "a closed encounter needs at least one diagnosis")
        await _reject_encounter(ctx, encounter_id, event.source_system, event.source_encounter_id, (reason,))
        return
    if before is not None and _may_strand_lines(before, event):
        stranded = check_posted_lines(encounter_facts(event), await _posted_lines(ctx, encounter_id))
        if stranded:
            await _reject_encounter(ctx, encounter_id, event.source_system, event.source_encounter_id, stranded)
            return
    account = await store.patient_account_for(ctx.conn, event.source_system, event.patient.source_account_number)
    details_json = event.model_dump_json(include=_ENCOUNTER_FIELDS)
    await unit.save_encounter(ctx, before, encounter_id, account, details_json, ctx.clock.now())
    await ctx.release_parked(encounter_park_key(event.source_system, event.source_encounter_id))
    if before is not None and before.billed_revision > 0 and before.details != json.loads(details_json):
        await release_to_billing(ctx, encounter_id)


def _may_strand_lines(before: store.EncounterRow, event: EncounterDetails) -> bool:
    """Only a change that involves the institutional claim can leave a posted line off every
    claim or outside the statement period: a professional encounter staying so reads no lines."""
    return event.bills != "professional" or before.details.get("bills", "professional") != "professional"


async def _posted_lines(ctx: HandlerContext, encounter_id: str) -> list[PostedLineFacts]:
    await unit.flush(ctx)  # lines posted earlier in this transaction count too
    return [_posted_line(c.line) for c in await store.active_charges(ctx.conn, encounter_id)]


def _posted_line(line: dict[str, Any]) -> PostedLineFacts:
    """The stored ChargePosted's claim and dates; a line posted before claim types existed is
    a professional one."""
    end = line.get("service_end_date")
    return PostedLineFacts(line.get("claim_type", "professional"), date.fromisoformat(line["service_date"]),
                           date.fromisoformat(end) if end else None)


async def close_encounter(ctx: HandlerContext, event: intake.EncounterClosed) -> None:
    encounter = await locked_encounter_or_park(ctx, event.source_system, event.source_encounter_id)
    if encounter is None:
        return
    encounter_id = encounter.encounter_id
    if not encounter.details.get("diagnoses"):
        reason = Rejection(Reason.ENC_NO_DIAGNOSIS, "diagnoses", "a closed encounter needs at least one diagnosis")
        await _reject_encounter(ctx, encounter_id, event.source_system, event.source_encounter_id, (reason,))
        return
    expected = [f"{event.source_system}:{charge_id}" for charge_id in event.expected_source_charge_ids]
    await unit.close_encounter(ctx, encounter, event.closed_at, expected)
    if encounter.billed_revision == 0:
        await release_to_billing(ctx, encounter_id)
    # Lines dated after the statement period waited for an update that widens it; after the close
    # none comes, so they are judged now (refused, or billed if they fit). After the release above:
    # a refusal releases billing itself when billing waited for that line.
    await ctx.release_parked(encounter_park_key(event.source_system, event.source_encounter_id))


async def locked_encounter_or_park(
    ctx: HandlerContext, source_system: str, source_encounter_id: str
) -> store.EncounterRow | None:
    """The event's encounter, locked for this transaction; None when it is not registered yet,
    and then the event waits for it (parked)."""
    await ctx.hold(encounter_park_key(source_system, source_encounter_id))
    # Our id is assigned on first sight, as the doors do, so the status shows a visit waiting.
    encounter = await unit.locked_encounter(ctx, source_system, source_encounter_id)
    if encounter is None:
        await ctx.park(encounter_park_key(source_system, source_encounter_id), "encounter not yet known")
    return encounter


def intake_rejections(problems: tuple[IntakeProblem, ...]) -> list[Rejection]:
    return [Rejection(Reason(p.code), p.field, p.message) for p in problems]


async def refuse_encounter(
    ctx: HandlerContext,
    event: intake.EncounterRegistered | intake.EncounterUpdated | intake.EncounterClosed,
    problems: tuple[IntakeProblem, ...],
) -> None:
    """An encounter event the intake door refused (unknown fields, key or ce_subject not its
    encounter): rejected with every problem, nothing of it applied."""
    encounter_id = await unit.encounter_id(ctx, event.source_system, event.source_encounter_id)
    await _reject_encounter(
        ctx, encounter_id, event.source_system, event.source_encounter_id, intake_rejections(problems)
    )


async def _reject_encounter(
    ctx: HandlerContext, encounter_id: str, source_system: str, source_encounter_id: str, rejections: Any
) -> None:
    await ctx.emit(
        out.EncounterRejected(
            encounter_id=encounter_id,
            source_system=source_system,
            source_encounter_id=source_encounter_id,
            rejected_event_id=ctx.envelope.id,
            rejected_event_type=ctx.envelope.type,
            reasons=reasons_of(rejections),
            rejected_at=ctx.clock.now(),
        )
    )
    log.info("encounter rejected", extra=ids(encounter_id=encounter_id, event_id=str(ctx.envelope.id)))


async def release_to_billing(ctx: HandlerContext, encounter_id: str) -> None:
    """Send EncounterReadyToBill (next revision) when the encounter is closed and has charges."""
    encounter = await unit.encounter(ctx, encounter_id, lock=True)
    if encounter is None or encounter.closed_at is None:
        return
    if encounter.billed_revision == 0 and await unit.awaited_charges(ctx, encounter):
        return  # the sender listed charges still in flight: bill them together
    await unit.flush(ctx)  # the charges of this transaction, read below
    charges = await store.active_charges(ctx.conn, encounter_id)
    if not charges:
        # Nothing left to bill (every charge voided): the ChargeReversed events tell claims.
        return
    revision = encounter.billed_revision + 1
    await ctx.emit(
        out.EncounterReadyToBill.model_validate_json(
            json.dumps(
                {
                    **encounter.details,
                    "encounter_id": encounter_id,
                    "patient_account_id": encounter.patient_account_id,
                    "revision": revision,
                    "charge_ids": [c.charge_id for c in charges],
                }
            )
        )
    )
    await unit.set_billed_revision(ctx, encounter_id, revision)


async def rebill_if_billed(ctx: HandlerContext, encounter_id: str) -> None:
    """A change after billing re-sends EncounterReadyToBill with a higher revision; a charge
    on a closed encounter that had none yet sends the first one."""
    encounter = await unit.encounter(ctx, encounter_id)
    if encounter is not None and encounter.closed_at is not None:
        await release_to_billing(ctx, encounter_id)


async def encounter_status(conn: asyncpg.Connection, source_system: str, source_encounter_id: str
                           ) -> dict[str, Any] | None:
    """An encounter's state, ledger total and charges, and how many events still wait for it."""
    found = await store.encounter_status(conn, source_system, source_encounter_id)
    if found is None:
        return None
    return {**found, "waiting_for_encounter": await parking.waiting(
        conn, encounter_park_key(source_system, source_encounter_id))}


async def encounter_history(conn: asyncpg.Connection, ident: str) -> dict[str, Any] | None:
    """Everything about the encounter an id points at (ours or the sender's)."""
    found = await store.history(conn, ident)
    if found is None:
        return None
    return {**found, "waiting_for_encounter": await parking.waiting(
        conn, encounter_park_key(found["source_system"], found["source_encounter_id"]))}
