"""A batch of events handed to a service's `EventConsumer.process_batch` directly, on a pool that
counts the statements sent (tests/support/counting.py): each test decides which records share a
transaction, and pins what a batch costs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

import asyncpg
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.registry import encode, event_type_of, key_of, spec_for_model
from services.chassis.consumer import EventConsumer, Outcome
from services.chassis.dlq import SourceRecord
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.support.counting import CountingPool


def record(platform: Settings, event: BaseModel, source: str) -> SourceRecord:
    """The event as the broker would hand it (its key, and its ce_subject)."""
    envelope = Envelope.new(source=source, type=event_type_of(event), subject=key_of(event), time=datetime.now(UTC))
    return SourceRecord(topic=platform.topic(spec_for_model(type(event)).topic), partition=0, offset=0,
                        key=key_of(event).encode(), value=encode(event), headers=envelope.to_headers())


async def applied(platform: Settings, runtime: Runtime, events: list[BaseModel], source: str) -> tuple[
        list[Outcome], int]:
    """The outcomes of one batch of the events, and the statements it sent."""
    consumer = runtime.consumer
    assert isinstance(consumer, EventConsumer)
    real, counting = consumer.pool, CountingPool(consumer.pool)
    consumer.pool = cast(asyncpg.Pool, counting)
    try:
        outcomes = await consumer.process_batch([record(platform, e, source) for e in events])
    finally:
        consumer.pool = real
    return outcomes, counting.sent
