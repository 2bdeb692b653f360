"""Dead-letter queue: records that cannot be decoded or break their contract, with the reason.

The DLQ record keeps the original key, value and headers, and adds the `dlq_*` headers of the
contract in schemas/dlq.py (where it came from, which consumer, why, when). Reasons name
fields and rules, never values.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.dlq import DLQ_HEADERS, DeadLetterInfo
from services.chassis.kafka import Headers, Publisher


@dataclass(frozen=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Headers


def original_headers(headers: Headers) -> Headers:
    ours = set(DLQ_HEADERS.values())
    return [(k, v) for k, v in headers if k not in ours]


def dlq_metadata(headers: Headers) -> dict[str, str]:
    by_header = {v: k for k, v in DLQ_HEADERS.items()}
    return {by_header[k]: v.decode(errors="replace") for k, v in headers if k in by_header}


async def send(publisher: Publisher, topic: str, record: SourceRecord, info: DeadLetterInfo) -> None:
    headers = original_headers(record.headers) + info.to_headers()
    await publisher.send(topic, key=record.key, value=record.value, headers=headers)
