"""`rcm up --secure`'s Kafka (issue 16, item 5): SASL/SCRAM-SHA-512 over TLS, one principal per
service, ACLs from the topic catalog. A broker of its own (own state directory, free ports), never
the shared one: what the services' principals may and may not do, who cannot get in at all."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import GroupAuthorizationFailedError, KafkaConnectionError, TopicAuthorizationFailedError
from pydantic import SecretStr

from devstack import secure_kafka, stack
from services.chassis.kafka import client_options, ssl_context
from services.chassis.settings import Settings
from services.chassis.topics import ensure_topics

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
async def broker(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Settings, secure_kafka.SecureKafka]]:
    state = tmp_path_factory.mktemp("secure-kafka")
    settings = Settings(state_dir=state, local_kafka_port=_free_port(), local_kafka_controller_port=_free_port(),
                        kafka_bootstrap=None, topic_prefix="acl.")
    material = secure_kafka.prepare(settings)
    try:
        stack.start_local_kafka(settings, secure=True)
        admin = material.client_settings(settings, secure_kafka.ADMIN)
        await stack.wait_for_kafka(admin, timeout_s=120)
        await ensure_topics(admin)
        await secure_kafka.ensure_acls(admin, secure_kafka.acls(settings))
        yield settings, material
    finally:
        stack.stop_local_kafka(settings, secure=True)


def _as(broker: tuple[Settings, secure_kafka.SecureKafka], principal: str) -> Settings:
    settings, material = broker
    return material.client_settings(settings, principal)


async def _produce(settings: Settings, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, enable_idempotence=True,
                                request_timeout_ms=10000, **client_options(settings))
    await producer.start()
    try:
        await producer.send_and_wait(settings.topic(topic), b"{}", key=b"k")
    finally:
        await producer.stop()


async def _consume_one(settings: Settings, topic: str, group: str) -> None:
    consumer = AIOKafkaConsumer(settings.topic(topic), group_id=group, bootstrap_servers=settings.bootstrap,
                                enable_auto_commit=False, auto_offset_reset="earliest", **client_options(settings))
    try:
        await consumer.start()
        await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()


def test_the_secrets_are_the_owners_only(broker: tuple[Settings, secure_kafka.SecureKafka]) -> None:
    _, material = broker
    for name in ("credentials.json", "security.properties", "scram.args", "tls/broker.pem", "server.properties"):
        assert (material.dir / name).stat().st_mode & 0o077 == 0, name
    assert material.dir.stat().st_mode & 0o077 == 0


async def test_a_service_writes_its_own_topics_and_no_other(broker: tuple[Settings, secure_kafka.SecureKafka]) -> None:
    charges = _as(broker, "charges")
    await _produce(charges, "rcm.charges.v1")
    await _produce(charges, "rcm.charges.dlq.v1")
    for foreign in ("rcm.claims.v1", "rcm.intake.charges.v1", "rcm.claims.dlq.v1"):
        with pytest.raises(TopicAuthorizationFailedError):
            await _produce(charges, foreign)
    # The outside senders' principal writes intake, and only intake.
    integration = _as(broker, secure_kafka.INTEGRATION)
    await _produce(integration, "rcm.intake.charges.v1")
    with pytest.raises(TopicAuthorizationFailedError):
        await _produce(integration, "rcm.charges.v1")


async def test_a_service_reads_what_it_consumes_in_its_own_group_only(
    broker: tuple[Settings, secure_kafka.SecureKafka],
) -> None:
    settings, _ = broker
    await _produce(_as(broker, secure_kafka.INTEGRATION), "rcm.intake.encounters.v1")
    claims = _as(broker, "claims")
    await _produce(claims, "rcm.claims.v1")
    charges = _as(broker, "charges")
    await _consume_one(charges, "rcm.intake.encounters.v1", settings.group_id("charges"))
    with pytest.raises(TopicAuthorizationFailedError):  # claims' events are not charges' to read
        await _consume_one(charges, "rcm.claims.v1", settings.group_id("charges"))
    with pytest.raises(GroupAuthorizationFailedError):  # nor claims' consumer group to join
        await _consume_one(charges, "rcm.intake.encounters.v1", settings.group_id("claims"))
    await _consume_one(_as(broker, "remits"), "rcm.claims.v1", settings.group_id("remits"))


async def _refused(settings: Settings, caplog: pytest.LogCaptureFixture) -> str:
    caplog.clear()
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, request_timeout_ms=10000,
                                **client_options(settings))
    try:
        with caplog.at_level(logging.ERROR, logger="aiokafka"), pytest.raises(KafkaConnectionError):
            await producer.start()
    finally:
        await producer.stop()
    return caplog.text


async def test_nobody_gets_in_without_the_right_password_over_verified_tls(
    broker: tuple[Settings, secure_kafka.SecureKafka], caplog: pytest.LogCaptureFixture,
) -> None:
    settings, material = broker
    charges = _as(broker, "charges")
    assert "SaslAuthenticationFailed" in await _refused(
        charges.model_copy(update={"kafka_password": SecretStr("not-the-password")}), caplog)
    assert "SaslAuthenticationFailed" in await _refused(
        charges.model_copy(update={"kafka_username": "nobody"}), caplog)
    await _refused(settings, caplog)  # PLAINTEXT, no credentials: not even a handshake
    # The broker's certificate is verified: by the generated CA it passes, by the system's CAs not.
    assert "CERTIFICATE_VERIFY_FAILED" in await _refused(charges.model_copy(update={"kafka_ca_file": None}), caplog)
    with socket.create_connection(("127.0.0.1", settings.local_kafka_port), timeout=10) as raw, \
            ssl_context(charges).wrap_socket(raw, server_hostname="127.0.0.1") as tls:
        peer = tls.getpeercert()
        assert peer is not None and peer["subject"] == ((("commonName", secure_kafka.BROKER_CN),),)
    wrong_ca = ssl.create_default_context()
    with socket.create_connection(("127.0.0.1", settings.local_kafka_port), timeout=10) as raw, \
            pytest.raises(ssl.SSLCertVerificationError):
        wrong_ca.wrap_socket(raw, server_hostname="127.0.0.1")
    assert material.ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
