"""The service's Kafka producer: idempotent (acks=all), shared by the outbox relay and the DLQ."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from services.chassis.settings import Settings

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
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()

    async def send(self, topic: str, *, key: str | bytes | None, value: bytes, headers: Headers) -> None:
        if self._producer is None:
            raise RuntimeError("the publisher is not started")
        raw_key = key.encode() if isinstance(key, str) else key
        await self._producer.send_and_wait(topic, value=value, key=raw_key, headers=headers)
