"""The topic catalog (deploy/topics.yaml) and what the platform does with it on a broker."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from services.chassis.kafka import client_options
from services.chassis.settings import Settings

CATALOG = Path(__file__).resolve().parents[2] / "deploy" / "topics.yaml"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    kind: str
    owner: str
    partitions: int
    retention_ms: int
    cleanup_policy: str
    consumers: tuple[str, ...]


def load_catalog(path: Path = CATALOG) -> list[TopicSpec]:
    raw: dict[str, Any] = yaml.safe_load(path.read_text())
    return [
        TopicSpec(
            name=t["name"],
            kind=t["kind"],
            owner=t["owner"],
            partitions=int(t["partitions"]),
            retention_ms=int(t["retention_ms"]),
            cleanup_policy=t["cleanup_policy"],
            consumers=tuple(t.get("consumers") or ()),
        )
        for t in raw["topics"]
    ]


def topics_consumed_by(service: str, catalog: list[TopicSpec] | None = None) -> list[str]:
    return [t.name for t in (catalog or load_catalog()) if service in t.consumers]


def admin_client(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=15000,
                               **client_options(settings))


async def ensure_topics(settings: Settings, catalog: list[TopicSpec] | None = None) -> list[str]:
    """Create every catalog topic (prefixed) that is missing; return the names created."""
    catalog = catalog or load_catalog()
    admin = admin_client(settings)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=settings.topic(t.name),
                num_partitions=t.partitions,
                replication_factor=1 if _single_node(settings) else 3,
                topic_configs={"retention.ms": str(t.retention_ms), "cleanup.policy": t.cleanup_policy},
            )
            for t in catalog
            if settings.topic(t.name) not in existing
        ]
        if wanted:
            # A concurrent `rcm up` or test run may get there first.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
        return [t.name for t in wanted]
    finally:
        await admin.close()


def _single_node(settings: Settings) -> bool:
    # The local stack is one node; a user-provided cluster is assumed to have three.
    return settings.kafka_bootstrap is None or settings.bootstrap.startswith(("127.0.0.1", "localhost"))


async def delete_prefixed_topics(settings: Settings) -> None:
    if not settings.topic_prefix:
        raise ValueError("refusing to delete topics without a topic prefix")
    admin = admin_client(settings)
    await admin.start()
    try:
        doomed = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
        if doomed:
            await admin.delete_topics(doomed)
    finally:
        await admin.close()


async def consumer_lag(settings: Settings, service: str) -> dict[str, int]:
    """Messages not yet committed by the service's consumer group, per topic."""
    admin = admin_client(settings)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(settings.group_id(service))
        topics = [settings.topic(name) for name in topics_consumed_by(service)]
        meta = await admin.describe_topics(topics)
        partitions = [
            TopicPartition(t["topic"], p["partition"]) for t in meta for p in t.get("partitions", [])
        ]
        ends = await _end_offsets(settings, partitions)
        lag: dict[str, int] = {}
        for tp in partitions:
            done = committed.get(tp)
            position = done.offset if done is not None and done.offset >= 0 else 0
            lag[tp.topic] = lag.get(tp.topic, 0) + max(ends.get(tp, 0) - position, 0)
        return lag
    finally:
        await admin.close()


async def _end_offsets(settings: Settings, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                **client_options(settings))
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions)) if partitions else {}
    finally:
        await consumer.stop()


PROBE_TOPIC = "rcm.probe.v1"


async def kafka_roundtrip(settings: Settings) -> None:
    """Readiness: an admin call, then a produce/consume round trip through a consumer group."""
    import uuid

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    topic = settings.topic(PROBE_TOPIC)
    admin = admin_client(settings)
    await admin.start()
    try:
        if topic not in set(await admin.list_topics()):
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(topic, 1, 1 if _single_node(settings) else 3)])
    finally:
        await admin.close()
    marker = uuid.uuid4().hex.encode()
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, enable_idempotence=True,
                                **client_options(settings))
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, marker)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap,
        **client_options(settings),
        group_id=settings.group_id("probe"),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, sent.partition)
        consumer.assign([tp])
        consumer.seek(tp, sent.offset)
        record = await consumer.getone()
        if record.value != marker:
            raise RuntimeError("kafka round trip returned another record")
        await consumer.commit()
    finally:
        await consumer.stop()
