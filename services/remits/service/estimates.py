"""Patient estimates: kept per encounter as PatientEstimated brings them, and reported against
the patient responsibility the estimate's payer posted (`rcm report estimates`)."""

from __future__ import annotations

import logging

import asyncpg

from schemas.eligibility import PatientEstimated
from services.chassis.logs import ids
from services.remits import store
from services.remits.domain import books
from services.remits.domain.estimates import Estimate, Report, report

log = logging.getLogger(__name__)


async def record(conn: asyncpg.Connection, event: PatientEstimated) -> None:
    """The encounter's latest estimate; an older one arriving late changes nothing."""
    kept = await store.save_estimate(conn, Estimate(
        event.encounter_id, event.estimate_id, event.patient_account_id, event.coverage_rank, event.payer.payer_id,
        event.service_date, event.patient_estimate, event.deductible, event.coinsurance, event.copay,
        event.complete, event.estimated_at), check_id=event.check_id, total_charge=event.total_charge,
        expected_allowed=event.expected_allowed, out_of_pocket_remaining=event.out_of_pocket_remaining)
    if not kept:
        log.info("older patient estimate ignored", extra=ids(encounter_id=event.encounter_id))


async def estimates_report(conn: asyncpg.Connection) -> Report:
    """Every encounter's estimate beside what its payer posted (waiting until that payer answered)."""
    kept = await store.estimates(conn)
    records = await store.book_records(conn, [e.encounter_id for e in kept])
    return report(kept, {enc: books.encounter_book(enc, families) for enc, (_, families) in records.items()})
