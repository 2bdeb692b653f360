"""Two tiny services built on the chassis, for the delivery tests.

`relay` (runs as the remits role) consumes payment intake events, records an effect and emits
a PatientPaymentPosted through its outbox; `sink` (the notifications role) consumes those and
records an effect. Counting effects proves exactly-once in effect across crashes.
Run one as a process: `python -m tests.support.testsvc relay|sink`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel

from schemas.registry import spec_for
from services.chassis.consumer import HandlerContext
from services.chassis.parking import ParkKey
from services.chassis.runtime import ServiceDefinition
from services.chassis.settings import Settings
from tests.support.runtimes import running

PAYMENT_RECEIVED = "rcm.intake.PatientPaymentReceived.v1"
PAYMENT_POSTED = "rcm.patient-balances.PatientPaymentPosted.v1"
REFUND_ISSUED = "rcm.intake.PatientRefundIssued.v1"
WAITING_PREFIX = "PA-WAIT-"
MIGRATIONS = Path(__file__).with_name("migrations")


class Broken(Exception):
    """A handler bug the test can switch on and off."""


def example(event_type: str, **overrides: Any) -> BaseModel:
    model = spec_for(event_type).model
    extra = model.model_config.get("json_schema_extra")
    examples = cast(list[dict[str, Any]], extra.get("examples") if isinstance(extra, dict) else None)
    assert examples, f"{event_type} has no example"
    # Strict models take JSON types only in JSON mode (dates as strings, money as strings).
    event: BaseModel = model.model_validate_json(json.dumps({**examples[0], **overrides}))
    return event


async def _record(ctx: HandlerContext) -> None:
    await ctx.conn.execute(
        "INSERT INTO test_effects (event_id, event_type, subject, traceparent) VALUES ($1, $2, $3, $4)",
        ctx.envelope.id,
        ctx.envelope.type,
        ctx.envelope.subject,
        ctx.envelope.traceparent,
    )


def account_key(event: Any) -> tuple[ParkKey, ...]:
    """What a payment waits for and a refund releases (declared: the consumer settles it per batch)."""
    return (ParkKey.of("account", event.patient_account_id),)


async def on_payment_received(ctx: HandlerContext, event: Any) -> None:
    if await ctx.conn.fetchval("SELECT on_ FROM test_switches WHERE name = 'broken'"):
        raise Broken
    account = event.patient_account_id
    await ctx.hold(ParkKey.of("account", account))  # the release may come from another instance
    if account.startswith(WAITING_PREFIX) and not await ctx.conn.fetchval(
        "SELECT 1 FROM test_switches WHERE name = $1", account
    ):
        await ctx.park(ParkKey.of("account", account), "account not opened yet")
        return
    await _record(ctx)
    await ctx.emit(example(PAYMENT_POSTED, patient_account_id=account))


async def on_refund_issued(ctx: HandlerContext, event: Any) -> None:
    """Stands in for "the prerequisite arrived": opens the account and releases what waited."""
    await _record(ctx)
    account = event.patient_account_id
    await ctx.conn.execute("INSERT INTO test_switches VALUES ($1, true) ON CONFLICT DO NOTHING", account)
    await ctx.release_parked(ParkKey.of("account", account))


async def on_payment_posted(ctx: HandlerContext, event: Any) -> None:
    await _record(ctx)


RELAY = ServiceDefinition(
    name="remits",
    migrations=MIGRATIONS,
    handlers={PAYMENT_RECEIVED: on_payment_received, REFUND_ISSUED: on_refund_issued},
    park_keys={PAYMENT_RECEIVED: account_key, REFUND_ISSUED: account_key},
    topics=["rcm.intake.payments.v1"],
)
SINK = ServiceDefinition(
    name="notifications", migrations=MIGRATIONS, handlers={PAYMENT_POSTED: on_payment_posted},
    topics=["rcm.patient-balances.v1"],
)


async def _main(which: str) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with running({"relay": RELAY, "sink": SINK}[which], Settings()):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1]))
