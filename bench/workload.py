"""What the bench sends: the demo's synthetic encounters (sandbox/demo_data.py) as an integration
team publishes them, or records a measurement captured earlier, sent again to a fresh platform."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.stats import Pacer
from sandbox.demo_data import generate
from schemas.envelope import Envelope
from schemas.registry import encode, event_type_of, key_of, spec_for_model
from services.chassis.kafka import client_options
from services.chassis.settings import Settings


@dataclass(frozen=True)
class Record:
    """One record to send: `topic` without the platform's prefix; `group` is what a pace counts
    (an encounter: its encounter-opened, charges and close go out together)."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]
    group: str

    @property
    def event_id(self) -> str:
        return dict(self.headers)["ce_id"].decode()


def encounters(n: int, seed: int, today: date) -> list[Record]:
    out: list[Record] = []
    at = datetime.combine(today, datetime.min.time(), UTC)
    for enc in generate(n, seed, today=today):
        for d in enc.events:
            envelope = Envelope.new(source="bench", type=event_type_of(d.event), subject=key_of(d.event), time=at)
            out.append(Record(spec_for_model(type(d.event)).topic, key_of(d.event).encode(), encode(d.event),
                              envelope.to_headers(), enc.source_encounter_id))
    return out


def groups(records: Sequence[Record]) -> list[list[Record]]:
    """Consecutive records of the same group, in order."""
    out: list[list[Record]] = []
    for record in records:
        if out and out[-1][0].group == record.group:
            out[-1].append(record)
        else:
            out.append([record])
    return out


async def send(settings: Settings, records: Sequence[Record], per_s: float | None = None,
               advance: Callable[[int], Any] | None = None) -> dict[str, float]:
    """Send the records in order (idempotent producer, acks=all), `per_s` groups a second when
    given, else as fast as the producer takes them. Returns event id -> the record's timestamp
    (CreateTime, seconds since the epoch), the start of every latency the bench measures."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, enable_idempotence=True, linger_ms=5,
                                **client_options(settings))
    await producer.start()
    pacer = Pacer(per_s) if per_s else None
    try:
        pending = []
        for i, group in enumerate(groups(records)):
            if pacer is not None:
                await pacer.wait(i)
            for record in group:
                future = await producer.send(settings.topic(record.topic), record.value, key=record.key,
                                             headers=record.headers)
                pending.append((record.event_id, future))
            if advance is not None:
                advance(len(group))
        return {event_id: (await future).timestamp / 1000 for event_id, future in pending}
    finally:
        await producer.stop()


async def capture(settings: Settings, topics: Sequence[str]) -> list[Record]:
    """Every record on `topics` (unprefixed names) from the start to their current end, in the
    order they were written (by timestamp across partitions)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                **client_options(settings))
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(settings.topic(t), p) for t in topics
               for p in sorted(consumer.partitions_for_topic(settings.topic(t)) or ())]
        ends = {tp: end for tp, end in (await consumer.end_offsets(tps)).items() if end > 0}
        if not ends:
            return []
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        found: list[tuple[int, Record]] = []
        remaining = dict(ends)
        while remaining:
            for tp, batch in (await consumer.getmany(timeout_ms=1000)).items():
                for r in batch:
                    topic = tp.topic.removeprefix(settings.topic_prefix)
                    found.append((r.timestamp, Record(topic, r.key or b"", r.value or b"", list(r.headers or ()),
                                                      (r.key or b"").decode())))
                    if r.offset + 1 >= remaining.get(tp, 0):
                        remaining.pop(tp, None)
        return [record for _, record in sorted(found, key=lambda pair: pair[0])]
    finally:
        await consumer.stop()
