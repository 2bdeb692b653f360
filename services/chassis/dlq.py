"""Dead-letter queue: records that cannot be decoded or break their contract, with the reason.

The DLQ record keeps the original value, and the original key and envelope headers where they
are safe to show, and adds the `dlq_*` headers of the contract in schemas/dlq.py (where it came
from, which consumer, why, when). Reasons name fields and rules, never values.

Keys and headers are read by every tool that lists a topic (`rcm dlq list` prints the key), while
the payload is shown only when asked for. A record is often dead-lettered *because* its sender
put something else than an id there, so what goes to the DLQ is checked again: a key that is not
a safe token (schemas.envelope.SAFE_TOKEN_RE) is dropped, an envelope header keeps its value only
when it is one (or, for ce_time and content-type, has their fixed shape), and headers of other
names are dropped (their names are the sender's choice too). The reason says what was withheld,
by our names only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.dlq import DLQ_HEADERS, DeadLetterInfo
from schemas.envelope import HEADER_NAMES, is_safe_token
from services.chassis.kafka import Headers, Publisher

_TIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{8,18}(Z|[+-][0-9]{2}:[0-9]{2})$")
_CONTENT_TYPE_RE = re.compile(r"^[a-z]+/[a-z.+-]+(; ?charset=[A-Za-z0-9-]{1,20})?$")


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


def _shown(name: str, value: bytes) -> bool:
    if name == "ce_time":
        return _TIME_RE.fullmatch(value.decode("utf-8", errors="replace")) is not None
    if name.lower() == "content-type":
        return _CONTENT_TYPE_RE.fullmatch(value.decode("utf-8", errors="replace")) is not None
    return is_safe_token(value)


def safe_copy(record: SourceRecord) -> tuple[bytes | None, Headers, list[str]]:
    """The key and headers a dead letter may carry, and what was withheld (by our names only)."""
    withheld: list[str] = []
    key = record.key
    if key is not None and not is_safe_token(key):
        key = None
        withheld.append("record key")
    headers: Headers = []
    others = 0
    for name, value in original_headers(record.headers):
        canonical = name.lower() if name.lower() == "content-type" else name
        if canonical not in HEADER_NAMES:
            others += 1
        elif _shown(canonical, value):
            headers.append((name, value))
        else:
            withheld.append(f"header {canonical}")
    if others:
        withheld.append(f"{others} header(s) outside the envelope")
    return key, headers, withheld


async def send(publisher: Publisher, topic: str, record: SourceRecord, info: DeadLetterInfo) -> None:
    key, headers, withheld = safe_copy(record)
    if withheld:
        note = "; withheld as unsafe to show: " + ", ".join(withheld)
        info = info.model_copy(update={"reason": (info.reason[: 1000 - len(note)] + note)})
    await publisher.send(topic, key=key, value=record.value, headers=headers + info.to_headers())
