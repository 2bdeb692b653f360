"""The topic catalog (deploy/topics.yaml) and what the platform does with it on a broker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidPartitionsError, KafkaError, TopicAlreadyExistsError, for_code

from schemas.topics import DEFAULT_TOPICS_FILE, CatalogError, TopicSpec, load_topics
from services.chassis.kafka import client_options
from services.chassis.settings import Settings
from services.chassis.topic_plan import PROBE_TOPIC, Cluster, Observed, Step, has_drift, plan, wanted_topics

__all__ = [
    "CATALOG", "PROBE_TOPIC", "CatalogError", "TopicSpec", "TopicsError", "admin_client", "apply", "connected",
    "consumer_lag",
    "delete_prefixed_topics", "ensure_topics", "kafka_roundtrip", "load_catalog", "observe", "reconcile",
    "topics_consumed_by",
]

CATALOG = DEFAULT_TOPICS_FILE


def load_catalog(path: Path = CATALOG) -> list[TopicSpec]:
    return load_topics(path)


def topics_consumed_by(service: str, catalog: list[TopicSpec] | None = None) -> list[str]:
    return [t.name for t in (catalog or load_catalog()) if service in t.consumers]


def admin_client(settings: Settings) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=15000,
                               **client_options(settings))


class TopicsError(RuntimeError):
    """The cluster refused or could not answer what bringing its topics to the catalog asked; or,
    from ensure_topics, drift it must not fix (the message says what to do)."""


_TOPIC_CONFIG_SOURCE = 1  # DescribeConfigs v1+: set on the topic itself (DYNAMIC_TOPIC_CONFIG)


async def observe(admin: AIOKafkaAdminClient, names: list[str]) -> Cluster:
    """The brokers, and each of `names` that exists with its partitions, replicas and configs.

    Every topic comes from one metadata request for all of them: asking for a missing topic by name
    may make a broker with auto.create.topics.enable create it with its defaults."""
    brokers = len((await admin.describe_cluster())["brokers"])
    metadata = {t["topic"]: t for t in await admin.describe_topics() if not t.get("is_internal")}
    existing = [n for n in names if n in metadata]
    configs: dict[str, tuple[dict[str, str | None], dict[str, str | None]]] = {}
    if existing:
        for response in await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in existing]):
            for resource in response.to_object()["resources"]:
                _raise_for(resource["error_code"], f"describing the configs of {resource['resource_name']}",
                           resource.get("error_message"))
                configs[resource["resource_name"]] = _configs(resource["config_entries"])
    topics: dict[str, Observed] = {}
    for name, meta in metadata.items():
        partitions = meta.get("partitions") or []
        every, overrides = configs.get(name, ({}, {}))
        topics[name] = Observed(name, len(partitions), max((len(p["replicas"]) for p in partitions), default=0),
                                every, overrides, sum(len(p["isr"]) < len(p["replicas"]) for p in partitions))
    return Cluster(brokers, topics)


def _configs(entries: list[dict[str, Any]]) -> tuple[dict[str, str | None], dict[str, str | None]]:
    every: dict[str, str | None] = {}
    overrides: dict[str, str | None] = {}
    for e in entries:
        name, value = e["config_names"], (None if e["is_sensitive"] else e["config_value"])
        every[name] = value
        # v0 of the response says is_default instead of where the value comes from.
        if e.get("config_source", 5 if e.get("is_default") else _TOPIC_CONFIG_SOURCE) == _TOPIC_CONFIG_SOURCE:
            overrides[name] = value
    return every, overrides


async def apply(admin: AIOKafkaAdminClient, steps: list[Step]) -> set[str]:
    """Carry out the steps that fix something (create, add_partitions, alter_config), in that order;
    return the topics another run created first (their partitions and configs are not ours yet)."""
    creates = [NewTopic(s.topic, s.partitions, s.replication_factor, topic_configs=s.configs)
               for s in steps if s.action == "create"]
    raced: set[str] = set()
    if creates:
        response = await admin.create_topics(creates)
        for topic, code, *message in response.topic_errors:
            if code == TopicAlreadyExistsError.errno:
                raced.add(topic)
            else:
                _raise_for(code, f"creating {topic}", message[0] if message else None)
    grow = {s.topic: NewPartitions(s.partitions) for s in steps if s.action == "add_partitions"}
    if grow:
        try:
            await admin.create_partitions(grow)
        except InvalidPartitionsError as exc:
            # Another run may have raised them since we looked (the broker refuses a count equal to
            # the current one): what counts is whether every topic has them once metadata caught up.
            await _partitions_reached(admin, {n: p.total_count for n, p in grow.items()}, exc)
    alters = [ConfigResource(ConfigResourceType.TOPIC, s.topic, s.configs) for s in steps if s.action == "alter_config"]
    if alters:
        # aiokafka has no IncrementalAlterConfigs: AlterConfigs replaces the topic's whole set of
        # overrides, so each step carries the overrides found on the topic plus the catalog's changes.
        for response in await admin.alter_configs(alters):
            for code, message, _type, name in response.resources:
                _raise_for(code, f"altering the configs of {name}", message)
    return raced


async def _partitions_reached(admin: AIOKafkaAdminClient, wanted: dict[str, int], refused: Exception) -> None:
    for _ in range(20):
        now = {t["topic"]: len(t.get("partitions") or []) for t in await admin.describe_topics(list(wanted))}
        short = [n for n, count in wanted.items() if now.get(n, 0) < count]
        if not short:
            return
        await asyncio.sleep(0.25)
    raise TopicsError(f"adding partitions to {', '.join(short)}: {refused}") from refused


def _raise_for(code: int, doing: str, message: str | None) -> None:
    if code:
        error = for_code(code)
        raise TopicsError(f"{doing}: {error.__name__}" + (f" ({message})" if message else ""))


@contextlib.asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    """An admin client whose broker failures (refused, timed out, an error code) are TopicsError: one line."""
    admin = admin_client(settings)
    try:
        await admin.start()
        yield admin
    except (KafkaError, OSError, TimeoutError) as exc:
        said, name = str(exc), type(exc).__name__
        raise TopicsError(f"kafka at {settings.bootstrap}: "
                          + (said if said.startswith(name) else f"{name} ({said})" if said else name)) from exc
    finally:
        await admin.close()


async def reconcile(settings: Settings, catalog: list[TopicSpec] | None = None, *,
                    dry_run: bool = False) -> list[Step]:
    """Plan the catalog (prefixed) against the cluster and, unless `dry_run`, apply what can be
    applied; drift is only reported. Broker failures raise TopicsError."""
    wanted = wanted_topics(catalog if catalog is not None else load_catalog(), settings)
    names = [w.name for w in wanted]
    async with connected(settings) as admin:
        steps = plan(wanted, await observe(admin, names), settings.topic_prefix)
        if dry_run:
            return steps
        raced = await apply(admin, steps)
        for _ in range(40):
            if not raced:
                return steps
            # Another run (a concurrent topic job, `rcm up`, a test) created these first, perhaps
            # from another catalog, or the broker's metadata had not shown them to us yet: look
            # again and converge them like any existing topic.
            await asyncio.sleep(0.25)
            again = [s for s in plan(wanted, await observe(admin, names), settings.topic_prefix) if s.topic in raced]
            raced = await apply(admin, again)
            steps = [s for s in steps if s.topic not in {a.topic for a in again}] + again
            steps.sort(key=lambda s: names.index(s.topic) if s.topic in names else len(names))
        raise TopicsError(f"{', '.join(sorted(raced))}: created by another run but not visible yet; run again")


async def ensure_topics(settings: Settings, catalog: list[TopicSpec] | None = None) -> list[str]:
    """Bring the cluster's topics to the catalog (as `rcm topics apply`); return the names created.
    Drift raises TopicsError: `rcm topics describe` shows it."""
    steps = await reconcile(settings, catalog)
    if has_drift(steps):
        by_detail: dict[str, list[str]] = {}
        for s in steps:
            if s.action == "drift":
                by_detail.setdefault(s.detail, []).append(s.topic)
        # Often one cause for every topic (a replication factor the cluster cannot have): said once.
        raise TopicsError("topics differ from the catalog in ways not fixed automatically: " + "; ".join(
            f"{names[0] if len(names) == 1 else f'{len(names)} topics ({names[0]}, ...)'}: {detail}"
            for detail, names in by_detail.items()))
    return [s.topic for s in steps if s.action == "create"]


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


async def consumer_lag(settings: Settings, service: str, consumed: list[str] | None = None) -> dict[str, int]:
    """Messages not yet committed by the service's consumer group, per (prefixed) topic; `consumed`:
    the unprefixed topics it reads, by default the catalog's."""
    admin = admin_client(settings)
    try:
        # Started inside: a start that fails or is cancelled (the broker away, a sampler's timeout)
        # still closes what it opened; the metrics sampler calls this every pass.
        await admin.start()
        committed = await admin.list_consumer_group_offsets(settings.group_id(service))
        topics = [settings.topic(name) for name in (topics_consumed_by(service) if consumed is None else consumed)]
        meta = await admin.describe_topics(topics)
        partitions = [
            TopicPartition(t["topic"], p["partition"]) for t in meta for p in t.get("partitions", [])
        ]
        _, ends = await _offsets(settings, partitions, beginning=False)
        lag: dict[str, int] = {}
        for tp in partitions:
            done = committed.get(tp)
            position = done.offset if done is not None and done.offset >= 0 else 0
            lag[tp.topic] = lag.get(tp.topic, 0) + max(ends.get(tp, 0) - position, 0)
        return lag
    finally:
        await admin.close()


async def _offsets(settings: Settings, partitions: list[TopicPartition], *, beginning: bool
                   ) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(first, end) offset per partition; the first ones only when `beginning` (else empty)."""
    from aiokafka import AIOKafkaConsumer

    if not partitions:
        return {}, {}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                **client_options(settings))
    try:
        await consumer.start()
        first = dict(await consumer.beginning_offsets(partitions)) if beginning else {}
        return first, dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def topic_depth(settings: Settings, topic: str) -> int:
    """Records a (prefixed) topic holds now: end minus first offset over its partitions (what
    retention has not removed yet); 0 for a topic the cluster does not have."""
    admin = admin_client(settings)
    try:
        await admin.start()
        meta = await admin.describe_topics([topic])
        partitions = [TopicPartition(t["topic"], p["partition"]) for t in meta for p in t.get("partitions", [])]
    finally:
        await admin.close()
    first, end = await _offsets(settings, partitions, beginning=True)
    return sum(max(end.get(tp, 0) - first.get(tp, 0), 0) for tp in partitions)


def _probe_replication(settings: Settings) -> int:
    override = settings.replication_factor_override
    return override if override is not None else min(t.replication_factor for t in load_catalog())


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
                await admin.create_topics([NewTopic(topic, 1, _probe_replication(settings))])
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
