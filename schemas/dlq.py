"""The dead-letter record contract (`rcm.<service>.dlq.v1`).

A record that cannot be decoded or breaks its contract is copied to the consuming
service's DLQ: same key, same value bytes, the original headers (ce_* included) kept, plus
the headers below. They carry no PHI: the reason is built from safe error summaries.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from schemas.envelope import format_time

__all__ = ["DLQ_HEADERS", "DeadLetterError", "DeadLetterInfo", "ErrorClass"]

ErrorClass = Literal[
    "undecodable",  # value is not UTF-8 JSON
    "envelope_invalid",  # ce_* headers missing or malformed
    "unknown_event_type",  # ce_type not in the registry, or not expected on this topic
    "contract_violation",  # JSON does not match the event's schema
    "poison",  # valid, but the handler failed on it every attempt
]

DLQ_HEADERS: dict[str, str] = {
    "original_topic": "dlq_original_topic",
    "original_partition": "dlq_original_partition",
    "original_offset": "dlq_original_offset",
    "consumer": "dlq_consumer",
    "error_class": "dlq_error_class",
    "reason": "dlq_reason",
    "attempts": "dlq_attempts",
    "failed_at": "dlq_failed_at",
}
"""Field -> Kafka header name."""


class DeadLetterError(ValueError):
    """DLQ headers missing or malformed (the message names the header)."""


class DeadLetterInfo(BaseModel):
    """The dlq_* headers of a dead-letter record."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    original_topic: str = Field(min_length=1, max_length=249)
    """Topic the record was consumed from (with the run's prefix)."""
    original_partition: int = Field(ge=0)
    original_offset: int = Field(ge=0)
    consumer: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")
    """The service (consumer group base name) that dead-lettered it: replay goes back to it only."""
    error_class: ErrorClass
    reason: str = Field(min_length=1, max_length=1000)
    """What was wrong, as field paths and rules; never a payload value."""
    attempts: int = Field(ge=1)
    failed_at: AwareDatetime

    def to_headers(self) -> list[tuple[str, bytes]]:
        values = {
            "original_topic": self.original_topic,
            "original_partition": str(self.original_partition),
            "original_offset": str(self.original_offset),
            "consumer": self.consumer,
            "error_class": self.error_class,
            "reason": self.reason,
            "attempts": str(self.attempts),
            "failed_at": format_time(self.failed_at),
        }
        return [(DLQ_HEADERS[k], v.encode("utf-8")) for k, v in values.items()]

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes | str]) -> DeadLetterInfo:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        by_header = {v: k for k, v in DLQ_HEADERS.items()}
        values: dict[str, str] = {}
        for name, raw in pairs:
            if name in by_header:
                try:
                    values[by_header[name]] = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
                except UnicodeDecodeError:
                    raise DeadLetterError(f"bad header {name}: not UTF-8") from None
        for field_name, header in DLQ_HEADERS.items():
            if field_name not in values:
                raise DeadLetterError(f"missing header {header}")
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            loc = exc.errors()[0]["loc"]
            header = DLQ_HEADERS.get(str(loc[0]), "?") if loc else "?"
            raise DeadLetterError(f"bad header {header}") from None
