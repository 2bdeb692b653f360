"""Real Kafka and Postgres for the tests, in the order ARCHITECTURE.md gives:
explicit env vars, then testcontainers when a Docker daemon answers a ping, then the local
stack scripts. Never a silent skip: when nothing can be had, the tests fail saying how.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from devstack import provision, stack
from services.chassis.settings import Settings
from services.chassis.topics import delete_prefixed_topics


@dataclass
class Infra:
    kafka_bootstrap: str
    admin_database_url: str
    source: str
    containers: tuple[Any, ...] = ()


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


def obtain() -> Infra:
    kafka = os.environ.get("RCM_KAFKA_BOOTSTRAP")
    admin = os.environ.get("RCM_ADMIN_DATABASE_URL")
    if kafka and admin:
        return Infra(kafka, admin, "environment")
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.postgres import PostgresContainer

        pg = PostgresContainer("postgres:16", username="postgres", password="postgres-local").start()
        kc = KafkaContainer("apache/kafka:4.1.1").with_kraft().start()
        return Infra(
            kafka or kc.get_bootstrap_server(),
            admin or pg.get_connection_url(driver=None),
            "testcontainers",
            (pg, kc),
        )
    local = Settings()
    try:
        stack.start_local_kafka(local.model_copy(update={"kafka_bootstrap": kafka}))
        stack.start_local_postgres(local.model_copy(update={"admin_database_url": admin}))
    except stack.StackError as exc:
        raise RuntimeError(
            "integration tests need Kafka and Postgres and none could be had: set RCM_KAFKA_BOOTSTRAP and "
            "RCM_ADMIN_DATABASE_URL, or run a Docker daemon, or make `deploy/local/kafka.sh start` and "
            f"`deploy/local/postgres.sh start` work ({exc})"
        ) from exc
    return Infra(kafka or local.bootstrap, admin or local.admin_url, "local stack")


def isolated_settings(infra: Infra, **overrides: Any) -> Settings:
    """Settings with a topic prefix and a database of their own; one replica per topic unless
    RCM_TOPIC_REPLICATION_FACTOR says otherwise (the brokers found here are one node)."""
    tag = uuid.uuid4().hex[:10]
    overrides.setdefault("topic_replication_factor", int(os.environ.get("RCM_TOPIC_REPLICATION_FACTOR", "1")))
    return Settings(
        kafka_bootstrap=infra.kafka_bootstrap,
        admin_database_url=infra.admin_database_url,
        topic_prefix=f"t{tag}.",
        database_name=f"rcm_t{tag}",
        **overrides,
    )


async def wait_ready(settings: Settings) -> None:
    await stack.wait_for_kafka(settings, timeout_s=120)
    await stack.wait_for_postgres(settings)


async def provision_isolated(settings: Settings) -> None:
    await wait_ready(settings)
    await stack.provision_all(settings)


async def teardown_isolated(settings: Settings) -> None:
    with suppress(Exception):
        await provision.drop_database(settings)
    with suppress(Exception):
        await asyncio.wait_for(delete_prefixed_topics(settings), 30)
