"""The claims service's background tasks: the 837 (and 276) batcher, the acknowledgment and claim
status pollers, the eligibility exchange (270 out, 271 in) and the timers (bill hold, follow-up,
claim status). Each pass runs in one transaction (state + outbox rows)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from prometheus_client import Gauge

from services.chassis.clearinghouse import Clearinghouse, ExchangeFile
from services.chassis.logs import ids
from services.chassis.periodic import every
from services.chassis.runtime import Runtime
from services.chassis.sampling import Sample, age_s
from services.chassis.sftp import open_clearinghouse
from services.claims.domain.claim_status import StatusPolicy
from services.claims.domain.payers import PayerFileError
from services.claims.service import (
    acknowledgments,
    assembly,
    claim_status,
    eligibility,
    follow_up,
    operator,
    submission,
)
from services.claims.settings import claims_settings
from services.claims.store import ClaimsStore

log = logging.getLogger(__name__)


@dataclass
class Timing:
    """Seconds between passes (RCM_CLAIMS_*_INTERVAL_S; tests shorten them)."""

    submit_s: float
    acks_s: float
    timers_s: float
    status_s: float
    eligibility_s: float


SETTINGS = claims_settings()
TIMING = Timing(SETTINGS.submit_interval_s, SETTINGS.acks_interval_s, SETTINGS.timers_interval_s,
                SETTINGS.status_interval_s, SETTINGS.eligibility_interval_s)
STATUS = StatusPolicy(recheck_days=SETTINGS.status_recheck_days, resubmit_wait_days=SETTINGS.status_resubmit_wait_days,
                      max_asks=SETTINGS.status_max_asks, min_interval_days=SETTINGS.status_min_interval_days)
"""When claims asks payers for a claim's status (RCM_CLAIMS_STATUS_*; tests replace it)."""


async def batch_submissions(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Every few seconds: queued submissions -> an 837P and/or an 837I interchange in outbound/,
    queued claim status requests -> a 276 interchange there (its own transaction: a 276 that
    cannot be built never holds the claims back)."""
    clearinghouse = await open_clearinghouse(runtime.settings.clearinghouse, SETTINGS)

    async def work() -> None:
        async with runtime.db.acquire() as conn, conn.transaction():
            await submission.submit_pending(ClaimsStore(conn), runtime.clock.now(), SETTINGS.usage_indicator)
        async with runtime.db.acquire() as conn, conn.transaction():
            await claim_status.send_pending(ClaimsStore(conn), runtime.clock.now(), SETTINGS.usage_indicator)
        await submission.write_interchanges(runtime.db, clearinghouse, runtime.clock.now())

    await every(lambda: TIMING.submit_s, stopping, work, "claims-batcher")


FileStep = Callable[[ClaimsStore, ExchangeFile, bytes, datetime], Awaitable[object]]
"""Applies one inbound file in the caller's transaction (it keeps what it cannot apply, flagged)."""


async def apply_inbound(runtime: Runtime, clearinghouse: Clearinghouse, folder: str, apply: FileStep) -> None:
    """Each file of an inbound folder applied in its own transaction, archived once committed (a
    failed pass leaves it where it is, for the next one)."""
    for file in await clearinghouse.list(folder):
        content = await clearinghouse.read(file)
        # A span per file (no file name on it: a sender may name a file after the patient); what
        # it does to each claim or check goes in that one's own trace, linked to this span.
        with runtime.tracer.start_as_current_span(f"{folder.removeprefix('inbound/')} ingest"):
            async with runtime.db.acquire() as conn, conn.transaction():
                await apply(ClaimsStore(conn), file, content, runtime.clock.now())
        await clearinghouse.archive(file)


async def _poll(runtime: Runtime, stopping: asyncio.Event, folder: str, apply: FileStep,
                interval_s: Callable[[], float], name: str) -> None:
    """Every few seconds, every file of an inbound folder applied, then archived."""
    clearinghouse = await open_clearinghouse(runtime.settings.clearinghouse, SETTINGS)

    async def work() -> None:
        await apply_inbound(runtime, clearinghouse, folder, apply)

    await every(interval_s, stopping, work, name)


async def poll_acknowledgments(runtime: Runtime, stopping: asyncio.Event) -> None:
    """999 and 277CA files in inbound/acks/ -> accepted / rejected claims; archived after."""
    await _poll(runtime, stopping, "inbound/acks", acknowledgments.process_ack_file, lambda: TIMING.acks_s,
                "claims-acks")


async def poll_status(runtime: Runtime, stopping: asyncio.Event) -> None:
    """277 claim status answers in inbound/status/ -> applied to the claims they answer; archived after."""
    await _poll(runtime, stopping, "inbound/status", partial(claim_status.process_status_file, policy=STATUS),
                lambda: TIMING.status_s, "claims-status")


async def exchange_eligibility(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Every few seconds: checks past their wait time out, pending checks -> one 270 interchange for
    outbound/ (written after the commit by the 837 batcher's pass), and 271 files in
    inbound/eligibility/ applied, archived after."""
    clearinghouse = await open_clearinghouse(runtime.settings.clearinghouse, SETTINGS)

    async def work() -> None:
        policy = eligibility.Policy.current()
        async with runtime.db.acquire() as conn, conn.transaction():
            db = ClaimsStore(conn)
            await eligibility.time_out(db, policy, runtime.clock.now())
            await eligibility.send_pending(db, runtime.clock.now(), SETTINGS.usage_indicator)
        # The 270 file goes out with the batcher's next write_interchanges: one writer of outbound/.
        await apply_inbound(runtime, clearinghouse, "inbound/eligibility", eligibility.process_271_file)

    await every(lambda: TIMING.eligibility_s, stopping, work, "claims-eligibility")


async def bootstrap_payers(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Local runs: load the payer master (and its fee schedules) once when none is loaded yet."""
    path = Path(SETTINGS.payers_file) if SETTINGS.payers_file else None
    if path is None or not path.is_file():
        return
    try:
        payers, fees = operator.read_payer_master(path)
    except (PayerFileError, OSError, UnicodeDecodeError) as exc:
        log.error("payer master not loaded", extra=ids(component="claims-payers", error_class=type(exc).__name__))
        return
    async with runtime.db.acquire() as conn, conn.transaction():
        db = ClaimsStore(conn)
        if await db.payer_master_empty():
            await operator.load_payers(db, payers, fees, path.name, "rcm-claims", "initial load at start-up",
                                      runtime.clock.now())
            log.info("payer master loaded at start-up", extra=ids(count=len(payers)))


async def run_timers(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Encounters past their bill hold are assembled; overdue claims get ClaimFollowUpDue and a 276;
    claim status answers whose next step is due are acted on."""

    async def work() -> None:
        await timers_once(runtime)

    await every(lambda: TIMING.timers_s, stopping, work, "claims-timers")


async def timers_once(runtime: Runtime) -> None:
    now = runtime.clock.now()
    async with runtime.db.acquire() as conn, conn.transaction():
        db = ClaimsStore(conn)
        for encounter_id in await db.encounters_due(now):
            await assembly.assemble_encounter(db, encounter_id, now)
        # Before the follow-ups: an ask again that is due counts against their minimum interval.
        await claim_status.act_on_due(db, now, STATUS)
        await follow_up.follow_up(db, now, STATUS)


def holds_gauges(runtime: Runtime) -> Sample:
    """The claims on hold now and how long the longest-held has waited (an alert past a day)."""
    held = Gauge("rcm_claims_held", "Claims in the held state now (waiting for a fix or an operator)",
                 ["service"], registry=runtime.metrics.registry).labels(runtime.service)
    oldest = Gauge("rcm_claims_held_oldest_age_seconds",
                   "How long the claim on hold longest has been on hold (0 when none is)",
                   ["service"], registry=runtime.metrics.registry).labels(runtime.service)

    async def read() -> None:
        async with runtime.db.acquire() as conn:
            count, since = await ClaimsStore(conn).holds()
        held.set(count)
        oldest.set(age_s(runtime.clock.now(), since))

    return read
