"""Reading dead letters back: list, show, and fetch one for its own service to replay."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services.chassis.dlq import SourceRecord, dlq_metadata, original_headers
from services.chassis.kafka import client_options
from services.chassis.settings import Settings


@dataclass(frozen=True)
class DeadLetterView:
    service: str
    partition: int
    offset: int
    key: str | None
    metadata: dict[str, str]
    event_type: str | None
    value: bytes


async def read_records(settings: Settings, topic: str, limit: int = 10_000) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of a (prefixed) topic from the beginning, without joining a consumer group."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                **client_options(settings))
    await consumer.start()
    try:
        # Fresh metadata: a just-created topic may not have shown all its partitions yet.
        partitions = await _partitions(consumer, topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while await _behind(consumer, tps, ends) and len(records) < limit:
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records.extend(batch)
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, tps: list[TopicPartition], ends: dict[TopicPartition, int]) -> bool:
    for tp in tps:
        if await consumer.position(tp) < ends[tp]:
            return True
    return False


async def read_all(settings: Settings, service: str, limit: int = 1000) -> list[DeadLetterView]:
    views: list[DeadLetterView] = []
    for r in await read_records(settings, settings.dlq_topic(service), limit):
        headers = list(r.headers or ())
        views.append(
            DeadLetterView(
                service=service,
                partition=r.partition,
                offset=r.offset,
                key=r.key.decode(errors="replace") if r.key else None,
                metadata=dlq_metadata(headers),
                event_type=dict(headers).get("ce_type", b"").decode(errors="replace") or None,
                value=r.value or b"",
            )
        )
    return views


async def _partitions(consumer: AIOKafkaConsumer, topic: str, attempts: int = 5) -> set[int]:
    # A metadata refresh already in flight may predate the topic: ask again before concluding
    # that it has no partitions (an empty answer would read as "no records").
    for attempt in range(attempts):
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return set(partitions)
        await asyncio.sleep(0.2 * (attempt + 1))
    return set()


async def fetch(settings: Settings, service: str, partition: int, offset: int) -> SourceRecord:
    """The original record behind one dead letter, as its service first received it.

    LookupError (the HTTP door answers 404) when the DLQ topic has no such partition or the offset
    is outside what the partition holds: both are checked against metadata and the partition's
    offset range before anything waits on the position (asking the offsets of a partition the
    topic does not have waits the whole request timeout, 40 s, then fails).
    """
    topic = settings.dlq_topic(service)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                **client_options(settings))
    await consumer.start()
    try:
        partitions = await _partitions(consumer, topic)
        if partition not in partitions:
            have = ", ".join(str(p) for p in sorted(partitions)) or "none: nothing was dead-lettered yet"
            raise LookupError(f"{topic} has no partition {partition} (its partitions: {have})")
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        first = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        if not first <= offset < end:
            held = f"offsets {first} to {end - 1}" if end > first else "no records"
            raise LookupError(f"no dead letter at {topic} partition {partition} offset {offset}: "
                              f"the partition holds {held}")
        consumer.seek(tp, offset)
        record = await consumer.getone()
        headers = list(record.headers or ())
        meta = dlq_metadata(headers)
        return SourceRecord(
            topic=meta.get("original_topic", topic),
            partition=int(meta.get("original_partition", "-1")),
            offset=int(meta.get("original_offset", "-1")),
            key=record.key,
            value=record.value or b"",
            headers=original_headers(headers),
        )
    finally:
        await consumer.stop()
