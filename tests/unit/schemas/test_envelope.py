"""The CloudEvents envelope in Kafka binary mode."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest

from schemas.envelope import REQUIRED_HEADERS, Envelope, EnvelopeError

TIME = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def make(**kw: object) -> Envelope:
    args: dict[str, object] = {
        "source": "claims",
        "type": "rcm.claims.ClaimSubmitted.v1",
        "subject": "clm_01JNQ9A4XK",
        "time": TIME,
        "traceparent": TRACE,
    }
    args.update(kw)
    return Envelope.new(**args)  # type: ignore[arg-type]


def test_headers_round_trip() -> None:
    env = make()
    headers = env.to_headers()
    assert [name for name, _ in headers] == [
        "ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject", "content-type", "traceparent",
    ]  # fmt: skip
    assert dict(headers)["ce_time"] == b"2026-03-02T14:05:00Z"
    assert dict(headers)["content-type"] == b"application/json"
    assert Envelope.from_headers(headers) == env
    assert Envelope.from_headers({k: v.decode() for k, v in headers}) == env
    assert Envelope.from_headers(dict(headers)) == env


def test_new_ids_are_random_uuid4() -> None:
    a, b = make(), make()
    assert a.id != b.id and isinstance(a.id, UUID) and a.id.version == 4


def test_traceparent_is_optional() -> None:
    env = make(traceparent=None)
    assert "traceparent" not in dict(env.to_headers())
    assert Envelope.from_headers(env.to_headers()).traceparent is None


def test_time_with_other_offset_is_kept() -> None:
    env = make(time=datetime(2026, 3, 2, 9, 5, tzinfo=timezone(timedelta(hours=-5))))
    assert dict(env.to_headers())["ce_time"] == b"2026-03-02T09:05:00-05:00"
    assert Envelope.from_headers(env.to_headers()).time == env.time


def test_naive_time_refused() -> None:
    with pytest.raises(ValueError):
        make(time=datetime(2026, 3, 2, 14, 5))


def test_other_headers_are_ignored() -> None:
    headers = [*make().to_headers(), ("x-custom", b"anything"), ("correlation_id", b"c")]
    assert Envelope.from_headers(headers).type == "rcm.claims.ClaimSubmitted.v1"


@pytest.mark.parametrize("missing", REQUIRED_HEADERS)
def test_missing_header_named(missing: str) -> None:
    headers = [(k, v) for k, v in make().to_headers() if k != missing]
    with pytest.raises(EnvelopeError, match=f"missing header {missing}$"):
        Envelope.from_headers(headers)


SECRET = "Rivera-Ana-1984"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("ce_id", f"{SECRET}"),
        ("ce_time", f"yesterday {SECRET}"),
        ("ce_type", f"rcm.{SECRET}"),
        ("ce_subject", f"{SECRET} with spaces"),
        ("ce_specversion", "0.3"),
        ("content-type", "text/plain"),
        ("traceparent", f"00-{SECRET}"),
    ],
)
def test_bad_header_named_without_value(header: str, value: str) -> None:
    headers = [(k, value.encode() if k == header else v) for k, v in make().to_headers()]
    with pytest.raises(EnvelopeError) as info:
        Envelope.from_headers(headers)
    assert str(info.value).startswith(f"bad header {header}")
    assert SECRET not in str(info.value)
    assert (info.value.__cause__ is None and info.value.__context__ is None) or SECRET not in repr(info.value)


def test_non_utf8_header() -> None:
    headers = [(k, b"\xff\xfe" if k == "ce_source" else v) for k, v in make().to_headers()]
    with pytest.raises(EnvelopeError, match="bad header ce_source: not UTF-8"):
        Envelope.from_headers(headers)


def test_conflicting_duplicate_header() -> None:
    headers = [*make().to_headers(), ("ce_id", b"7d3f9a5e-0000-4000-8000-000000000000")]
    with pytest.raises(EnvelopeError, match="ce_id: present more than once"):
        Envelope.from_headers(headers)
    same = make().to_headers()
    assert Envelope.from_headers([*same, same[1]]).id == Envelope.from_headers(same).id


def test_content_type_with_charset_accepted() -> None:
    headers = [(k, b"application/json; charset=utf-8" if k == "content-type" else v) for k, v in make().to_headers()]
    assert Envelope.from_headers(headers).datacontenttype == "application/json"
