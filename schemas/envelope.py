"""The CloudEvents 1.0 envelope in Kafka binary content mode.

The Kafka record value is the event's JSON (`data`); the CloudEvents attributes travel as
record headers: ce_specversion, ce_id, ce_source, ce_type, ce_time, ce_subject, plus
content-type and the W3C traceparent. `ce_id` is the dedupe key of every consumer;
`ce_subject` is the aggregate id, equal to the record key.

Headers are visible to every tool that touches the broker, so they carry opaque ids only.
`ce_source` and `ce_subject` (like the record key, see `is_safe_token`) are tokens of
`SAFE_TOKEN_RE`: a sender's value outside it is refused, and errors name the header at fault
and the rule, never the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "CONTENT_TYPE",
    "HEADER_NAMES",
    "REQUIRED_HEADERS",
    "SAFE_TOKEN_RE",
    "TRACEPARENT_RE",
    "Envelope",
    "EnvelopeError",
    "format_time",
    "is_safe_token",
    "utc_now",
]

CONTENT_TYPE = "application/json"
TRACEPARENT_RE = re.compile(r"^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$")
_EVENT_TYPE_RE = r"^rcm\.[a-z-]+\.[A-Z][A-Za-z]+\.v[0-9]+$"
SAFE_TOKEN_RE = r"^[A-Za-z0-9_.:/-]{1,128}$"  # noqa: S105 - a pattern, not a secret
"""What a sender-chosen identifier that travels outside the payload (record key, ce_source,
ce_subject) may be: ids (UUIDs, `source_encounter_id`s, `epic-prod`, a URI-reference like
`/ehr/epic-prod`), never free text. No spaces, commas, '@', quotes or control characters, so a
name, an email address or a log-breaking value cannot pass, and at most 128 characters."""
_SAFE_TOKEN = re.compile(SAFE_TOKEN_RE)


def is_safe_token(value: str | bytes | None) -> bool:
    """Whether a key or header value fits SAFE_TOKEN_RE (bytes: as UTF-8)."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return value is not None and _SAFE_TOKEN.fullmatch(value) is not None

# Header name -> envelope attribute.
_ATTRS: dict[str, str] = {
    "ce_specversion": "specversion",
    "ce_id": "id",
    "ce_source": "source",
    "ce_type": "type",
    "ce_time": "time",
    "ce_subject": "subject",
    "content-type": "datacontenttype",
    "traceparent": "traceparent",
}
HEADER_NAMES: tuple[str, ...] = tuple(_ATTRS)
REQUIRED_HEADERS: tuple[str, ...] = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject")


class EnvelopeError(ValueError):
    """The record's headers do not form a valid envelope. The message names headers only."""


def format_time(value: datetime) -> str:
    """RFC 3339 with "Z" for UTC, as CloudEvents writes it."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class Envelope(BaseModel):
    """CloudEvents 1.0 attributes of one event (binary mode: they travel as Kafka headers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: UUID
    """Unique per event; consumers dedupe on it. A republished event keeps its id."""
    source: str = Field(pattern=SAFE_TOKEN_RE)
    """Producing service (charges, claims, remits, notifications) or the sending system."""
    type: str = Field(pattern=_EVENT_TYPE_RE)
    """Event type, e.g. rcm.claims.ClaimSubmitted.v1."""
    time: AwareDatetime
    """When the fact happened, with a UTC offset."""
    subject: str = Field(pattern=SAFE_TOKEN_RE)
    """The aggregate id: the same value as the Kafka record key."""
    specversion: Literal["1.0"] = "1.0"
    datacontenttype: Literal["application/json"] = "application/json"
    traceparent: str | None = None
    """W3C trace context, so one trace spans charge -> claim -> remittance."""

    @field_validator("traceparent")
    @classmethod
    def _traceparent(cls, value: str | None) -> str | None:
        if value is not None and not TRACEPARENT_RE.fullmatch(value):
            raise ValueError("traceparent must be a W3C version-00 trace context")
        return value

    @classmethod
    def new(cls, *, source: str, type: str, subject: str, time: datetime, traceparent: str | None = None) -> Envelope:
        """A new envelope with a fresh random id. `time` is passed in: no hidden clock."""
        return cls(id=uuid4(), source=source, type=type, subject=subject, time=time, traceparent=traceparent)

    def to_headers(self) -> list[tuple[str, bytes]]:
        headers = [
            ("ce_specversion", self.specversion.encode()),
            ("ce_id", str(self.id).encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", format_time(self.time).encode()),
            ("ce_subject", self.subject.encode()),
            ("content-type", self.datacontenttype.encode()),
        ]
        if self.traceparent is not None:
            headers.append(("traceparent", self.traceparent.encode()))
        return headers

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes | str]) -> Envelope:
        """Read an envelope from Kafka headers. Other headers are ignored.

        Raises EnvelopeError naming the missing or malformed header.
        """
        pairs: Iterable[tuple[str, bytes | str]] = headers.items() if isinstance(headers, Mapping) else headers
        found: dict[str, str] = {}
        for raw_name, raw_value in pairs:
            name = raw_name.lower() if raw_name.lower() == "content-type" else raw_name
            if name not in _ATTRS:
                continue
            if isinstance(raw_value, bytes | bytearray):
                try:
                    value = bytes(raw_value).decode("utf-8")
                except UnicodeDecodeError:
                    raise EnvelopeError(f"bad header {name}: not UTF-8") from None
            elif isinstance(raw_value, str):
                value = raw_value
            else:
                raise EnvelopeError(f"bad header {name}: not bytes or text")
            if name in found and found[name] != value:
                raise EnvelopeError(f"bad header {name}: present more than once with different values")
            found[name] = value
        for name in REQUIRED_HEADERS:
            if name not in found:
                raise EnvelopeError(f"missing header {name}")
        if found["ce_specversion"] != "1.0":
            raise EnvelopeError("bad header ce_specversion: must be 1.0")
        content_type = found.pop("content-type", CONTENT_TYPE)
        if content_type.split(";")[0].strip().lower() != CONTENT_TYPE:
            raise EnvelopeError("bad header content-type: must be application/json")
        values: dict[str, Any] = {_ATTRS[k]: v for k, v in found.items()}
        values["datacontenttype"] = CONTENT_TYPE
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            attr = str(exc.errors()[0]["loc"][0]) if exc.errors() and exc.errors()[0]["loc"] else "?"
            header = next((h for h, a in _ATTRS.items() if a == attr), attr)
            raise EnvelopeError(f"bad header {header}: {_reason(header)}") from None


def _reason(header: str) -> str:
    return {
        "ce_id": "must be a UUID",
        "ce_time": "must be an RFC 3339 date-time with an offset",
        "ce_type": "must be an rcm event type such as rcm.claims.ClaimSubmitted.v1",
        "ce_source": "must be 1 to 128 of A-Z a-z 0-9 _ . : / - (an id, never free text)",
        "ce_subject": "must be 1 to 128 of A-Z a-z 0-9 _ . : / - (the aggregate id)",
        "traceparent": "must be a W3C version-00 trace context",
    }.get(header, "invalid")


def utc_now() -> datetime:
    """For edges (the CLI) only; services read their injected clock."""
    return datetime.now(UTC)
