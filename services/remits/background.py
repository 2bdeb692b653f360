"""The remits service's background tasks: the 835 poller of the clearinghouse (folder or SFTP)
and, at start, the books restatement of encounters queued by migration 0006."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import asyncpg
from opentelemetry import trace
from prometheus_client import Gauge

from services.chassis.clearinghouse import Clearinghouse
from services.chassis.logs import ids
from services.chassis.periodic import every
from services.chassis.sampling import Sample
from services.chassis.sftp import open_clearinghouse
from services.remits import store
from services.remits.service import receivables
from services.remits.service.books import RESTATE_BATCH, restate_pending
from services.remits.service.remittances import ingest
from services.remits.settings import remits_settings

if TYPE_CHECKING:
    from services.chassis.runtime import Runtime

log = logging.getLogger(__name__)
FOLDER = "inbound/remits"


async def poll_once(house: Clearinghouse, pool: asyncpg.Pool, now: Callable[[], datetime],
                    tracer: trace.Tracer | None = None) -> int:
    """Post every 835 waiting in inbound/remits/, archiving each once its outcome is committed.

    Each file in a span of its own (given a tracer): an 835 comes from a file, with no trace to
    continue, and without one each event its posting emits (the claims' payments and denials, the
    patient balances) would start a trace of its own; in it they are one trace per file."""
    done = 0
    for f in await house.list(FOLDER):
        # No file name on the span: a sender may name a file after the patient.
        with (tracer.start_as_current_span("835 ingest", attributes={"rcm.source": "clearinghouse"})
              if tracer is not None else contextlib.nullcontext()):
            raw = await house.read(f)
            async with pool.acquire() as conn:
                await ingest(conn, raw, f.name, "clearinghouse", now())
        await house.archive(f)
        done += 1
    return done


async def poll_inbound(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Background task: the clearinghouse poller (folder or SFTP). A bug must not stop it: the
    file stays in the folder for the next pass."""
    s = remits_settings()
    house: Clearinghouse | None = None

    async def step() -> None:
        nonlocal house
        house = house or await open_clearinghouse(runtime.settings.clearinghouse, s)
        await poll_once(house, runtime.db, runtime.clock.now, runtime.tracer)

    await every(lambda: s.poll_interval_s, stopping, step, "remits-poller", survive_bugs=True)


async def restate_queued(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Background task: restate what is queued until nothing is left, then stop."""
    while not stopping.is_set():
        try:
            if await restate_pending(runtime.db, runtime.clock.now()) < RESTATE_BATCH:
                return
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("books restatement failed; retrying", extra=ids(error_class=type(exc).__name__))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=5)


def quarantine_gauges(runtime: Runtime) -> Sample:
    """835 files in quarantine now (each waits for someone to read it: docs/operations.md)."""
    quarantined = Gauge("rcm_remits_quarantined_835", "835 files in quarantine now, waiting for review",
                        ["service"], registry=runtime.metrics.registry).labels(runtime.service)

    async def read() -> None:
        async with runtime.db.acquire() as conn:
            quarantined.set(await store.quarantined_count(conn))

    return read


# The aging report's last bucket, "120+", is over 120 days: the gauge's label says so.
BUCKET_LABELS = {"120+": "121+"}


def receivables_gauges(runtime: Runtime) -> Sample:
    """A/R outstanding by party and aging bucket, as the aging report computes it for today."""
    outstanding = Gauge(
        "rcm_ar_outstanding_amount",
        "A/R outstanding in dollars by party (insurance, patient) and aging bucket in days, as"
        " `rcm remits report aging` computes it for today; a float for display only (the books keep"
        " exact decimals)",
        ["service", "party", "bucket"], registry=runtime.metrics.registry)

    async def read() -> None:
        async with runtime.db.acquire() as conn:
            ar = await receivables.aging(conn, runtime.clock.today())
        for party, amounts in (("insurance", ar.insurance()), ("patient", ar.patients)):
            for bucket, amount in amounts.items():
                outstanding.labels(runtime.service, party, BUCKET_LABELS.get(bucket, bucket)).set(float(amount))

    return read
