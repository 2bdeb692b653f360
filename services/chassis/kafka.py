"""The service's Kafka producer: idempotent (acks=all), shared by the outbox relay and the DLQ;
and the client security every Kafka client of the platform is built with (`client_options`)."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from aiokafka import AIOKafkaProducer
from faststream.security import BaseSecurity, SASLScram256, SASLScram512

from services.chassis.settings import KafkaSecurityError, Settings


def _credentials(settings: Settings) -> tuple[str, str]:
    if not settings.kafka_username or settings.kafka_password is None:
        raise KafkaSecurityError(
            f"RCM_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} needs RCM_KAFKA_USERNAME and"
            " RCM_KAFKA_PASSWORD")
    return settings.kafka_username, settings.kafka_password.get_secret_value()


def ssl_context(settings: Settings) -> ssl.SSLContext:
    """TLS with the broker's certificate verified (chain and host name) against RCM_KAFKA_CA_FILE,
    or the system's CAs when it is unset."""
    if settings.kafka_ca_file is not None and not settings.kafka_ca_file.is_file():
        raise KafkaSecurityError(f"RCM_KAFKA_CA_FILE {settings.kafka_ca_file} is not a readable file")
    context = ssl.create_default_context(cafile=str(settings.kafka_ca_file) if settings.kafka_ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def client_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of every aiokafka client (producer, consumer, admin): nothing for
    PLAINTEXT, SASL/SCRAM over verified TLS for SASL_SSL."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    username, password = _credentials(settings)
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": username,
        "sasl_plain_password": password,
        "ssl_context": ssl_context(settings),
    }


def broker_security(settings: Settings) -> BaseSecurity | None:
    """The same, as FastStream's KafkaBroker takes it."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    username, password = _credentials(settings)
    scram = SASLScram512 if settings.kafka_sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
    return scram(username, password, ssl_context=ssl_context(settings))

Headers = list[tuple[str, bytes]]


class Publisher:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        # Created here, not in __init__: aiokafka binds to the running event loop.
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._settings.bootstrap,
            enable_idempotence=True,  # implies acks=all
            acks="all",
            request_timeout_ms=30000,
            # The relay pipelines a whole outbox batch: larger producer batches carry it in fewer
            # requests (aiokafka's 16 KiB default held ~15 events). Well under the broker's 1 MB.
            max_batch_size=262144,
            **client_options(self._settings),
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def enqueue(
        self, topic: str, *, key: str | bytes | None, value: bytes, headers: Headers
    ) -> asyncio.Future[Any]:
        """Hand a record to the producer without waiting for the broker; the future resolves with
        its ack. Records of one partition reach the broker in the order handed: aiokafka keeps one
        request in flight per broker and mutes a partition while its batch is in flight, so
        pipelined sends keep the per-key order."""
        if self._producer is None:
            raise RuntimeError("the publisher is not started")
        raw_key = key.encode() if isinstance(key, str) else key
        ack: asyncio.Future[Any] = await self._producer.send(topic, value=value, key=raw_key, headers=headers)
        return ack

    async def send(self, topic: str, *, key: str | bytes | None, value: bytes, headers: Headers) -> None:
        await (await self.enqueue(topic, key=key, value=value, headers=headers))
