"""Dead-letter queue: records that cannot be decoded or break their contract, with the reason.

The DLQ record keeps the original key, value and headers, and adds `rcm_dlq_*` headers naming
where it came from and why it failed. Reasons name fields and rules, never values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.chassis.kafka import Headers, Publisher

PREFIX = "rcm_dlq_"


@dataclass(frozen=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Headers


@dataclass(frozen=True)
class DeadLetter:
    record: SourceRecord
    consumer: str
    error_class: str
    reason: str
    attempts: int
    failed_at: datetime

    def headers(self) -> Headers:
        original = [(k, v) for k, v in self.record.headers if not k.startswith(PREFIX)]
        extra = {
            "original_topic": self.record.topic,
            "original_partition": str(self.record.partition),
            "original_offset": str(self.record.offset),
            "consumer": self.consumer,
            "error_class": self.error_class,
            "reason": self.reason,
            "attempts": str(self.attempts),
            "failed_at": self.failed_at.isoformat(),
        }
        return original + [(PREFIX + k, v.encode()) for k, v in extra.items()]


def dlq_metadata(headers: Headers) -> dict[str, str]:
    return {k[len(PREFIX) :]: v.decode(errors="replace") for k, v in headers if k.startswith(PREFIX)}


def original_headers(headers: Headers) -> Headers:
    return [(k, v) for k, v in headers if not k.startswith(PREFIX)]


async def send(publisher: Publisher, topic: str, letter: DeadLetter) -> None:
    await publisher.send(topic, key=letter.record.key, value=letter.record.value, headers=letter.headers())
