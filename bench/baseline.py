"""Baselines (a), (b), (c) of `rcm bench`: what a hop costs with nothing of ours in the path.

On a topic of their own (the bench run's prefix) and a scratch schema, with aiokafka and asyncpg
directly. The same N records, produced once, are drained three times by a fresh consumer group:

(a) consume and commit the offsets of each fetched batch: the broker round trip alone;
(b) per event, one Postgres transaction doing what every consumer must (inbox row, a state row,
    an outbox row), then the event's offset committed: the minimum of a hop as our services do it;
(c) the batched variant: one transaction and one offset commit per fetched batch.

A drain is timed from the first fetched batch to the last commit, so the group's join is not in it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import NewTopic

from bench.stats import Throughput
from services.chassis.kafka import client_options
from services.chassis.settings import Settings
from services.chassis.topics import admin_client

TOPIC = "bench.baseline.v1"
PARTITIONS = 3  # as the intake and domain topics of deploy/topics.yaml
SCHEMA = "bench_baseline"
DDL = f"""
CREATE SCHEMA IF NOT EXISTS {SCHEMA};
CREATE TABLE IF NOT EXISTS {SCHEMA}.inbox (consumer text NOT NULL, event_id uuid NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, event_id));
CREATE TABLE IF NOT EXISTS {SCHEMA}.state (key text PRIMARY KEY, events bigint NOT NULL, payload bytea NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.outbox (id bigserial PRIMARY KEY, topic text NOT NULL, key text NOT NULL,
    payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);
"""
INBOX = f"INSERT INTO {SCHEMA}.inbox (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1"
STATE = (f"INSERT INTO {SCHEMA}.state (key, events, payload) VALUES ($1, 1, $2) "
         "ON CONFLICT (key) DO UPDATE SET events = state.events + 1, payload = EXCLUDED.payload")
OUTBOX = f"INSERT INTO {SCHEMA}.outbox (topic, key, payload) VALUES ($1, $2, $3)"
BATCH_INBOX = (f"INSERT INTO {SCHEMA}.inbox (consumer, event_id) SELECT $1, unnest($2::uuid[]) "
               "ON CONFLICT DO NOTHING RETURNING event_id")


@dataclass(frozen=True)
class Baselines:
    produce: Throughput
    a: Throughput
    b: Throughput
    c: Throughput


def sample_record(n: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """A record the size and shape of an intake charge: about 700 bytes of JSON, 7 headers."""
    body = {"source_system": "bench", "source_encounter_id": f"BENCH-{n % 500}", "idempotency_key": f"bench:{n}",
            "cdm_code": "CDM-99213", "units": 1, "service_date": "2026-11-20", "diagnosis_codes": ["J02.9", "R50.9"],
            "rendering_provider_npi": "1234567893", "note": "x" * 400}
    headers = [("ce_specversion", b"1.0"), ("ce_id", str(uuid4()).encode()), ("ce_source", b"bench"),
               ("ce_type", b"rcm.intake.ChargeSubmitted.v1"), ("ce_time", b"2026-11-20T10:00:00Z"),
               ("ce_subject", f"BENCH-{n % 500}".encode()), ("content-type", b"application/json")]
    return f"BENCH-{n % 500}".encode(), json.dumps(body).encode(), headers


async def prepare(settings: Settings, admin_url: str) -> None:
    admin = admin_client(settings)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(settings.topic(TOPIC), PARTITIONS, 1)])
    finally:
        await admin.close()
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(DDL)
    finally:
        await conn.close()


async def produce(settings: Settings, events: int) -> Throughput:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, enable_idempotence=True, linger_ms=5,
                                **client_options(settings))
    await producer.start()
    try:
        started = time.perf_counter()
        sends = []
        for n in range(events):
            key, value, headers = sample_record(n)
            sends.append(await producer.send(settings.topic(TOPIC), value, key=key, headers=headers))
        for sent in sends:
            await sent
        return Throughput("produce (idempotent, acks=all)", events, time.perf_counter() - started)
    finally:
        await producer.stop()


Handler = Callable[[AIOKafkaConsumer, asyncpg.Connection, TopicPartition, list[ConsumerRecord]], Awaitable[None]]


async def drain(settings: Settings, admin_url: str, name: str, events: int, handler: Handler) -> Throughput:
    """Read the topic from its start with a fresh group until `events` records are handled."""
    consumer = AIOKafkaConsumer(settings.topic(TOPIC), bootstrap_servers=settings.bootstrap,
                                group_id=f"{settings.topic_prefix}bench-{name}-{uuid4().hex[:6]}",
                                enable_auto_commit=False, auto_offset_reset="earliest", **client_options(settings))
    conn = await asyncpg.connect(admin_url)
    await consumer.start()
    try:
        done, started = 0, 0.0
        while done < events:
            batches = await consumer.getmany(timeout_ms=1000, max_records=500)
            if batches and not started:
                started = time.perf_counter()
            for tp, records in batches.items():
                await handler(consumer, conn, tp, records)
                done += len(records)
        return Throughput(name, done, time.perf_counter() - started)
    finally:
        await consumer.stop()
        await conn.close()


async def round_trip(consumer: AIOKafkaConsumer, conn: asyncpg.Connection, tp: TopicPartition,
                     records: list[ConsumerRecord]) -> None:
    await consumer.commit({tp: records[-1].offset + 1})


async def per_event(consumer: AIOKafkaConsumer, conn: asyncpg.Connection, tp: TopicPartition,
                    records: list[ConsumerRecord]) -> None:
    for record in records:
        event_id = dict(record.headers)["ce_id"].decode()
        async with conn.transaction():
            if await conn.fetchval(INBOX, "per-event", event_id):
                await conn.execute(STATE, record.key.decode(), record.value)
                await conn.execute(OUTBOX, "bench.out.v1", record.key.decode(), record.value)
        await consumer.commit({tp: record.offset + 1})


async def batched(consumer: AIOKafkaConsumer, conn: asyncpg.Connection, tp: TopicPartition,
                  records: list[ConsumerRecord]) -> None:
    ids = {dict(r.headers)["ce_id"].decode(): r for r in records}
    async with conn.transaction():
        fresh = [ids[str(row[0])] for row in await conn.fetch(BATCH_INBOX, "batched", list(ids))]
        await conn.executemany(STATE, [(r.key.decode(), r.value) for r in fresh])
        await conn.executemany(OUTBOX, [("bench.out.v1", r.key.decode(), r.value) for r in fresh])
    await consumer.commit({tp: records[-1].offset + 1})


async def run(settings: Settings, admin_url: str, events: int, progress: Callable[[str], Any]) -> Baselines:
    """`admin_url`: the bench run's database (the scratch schema goes there)."""
    await prepare(settings, admin_url)
    progress(f"baseline: producing {events:,} records")
    produced = await produce(settings, events)
    progress("baseline (a): consume + commit")
    a = await drain(settings, admin_url, "a: consume + offset commit per batch", events, round_trip)
    progress("baseline (b): one transaction per event")
    b = await drain(settings, admin_url, "b: + one transaction per event (inbox, state, outbox)", events, per_event)
    progress("baseline (c): one transaction per batch")
    c = await drain(settings, admin_url, "c: + one transaction per batch (inbox, state, outbox)", events, batched)
    return Baselines(produced, a, b, c)
