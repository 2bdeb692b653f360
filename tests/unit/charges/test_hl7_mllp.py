"""The MLLP door without infrastructure: framing, and the ACK for every way a message fails."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.charges.hl7 import mllp
from services.charges.hl7.mllp import Hl7Door, MllpFramer
from services.chassis.clock import FixedClock
from tests.unit.charges.test_hl7_mapping import DEFAULTS, FULL, message, msh

VT, END = b"\x0b", b"\x1c\x0d"


def frame(payload: bytes) -> bytes:
    return VT + payload + END


# --------------------------------------------------------------------------- framing


def test_frames_in_one_chunk_with_stray_bytes_between() -> None:
    framer = MllpFramer()
    assert framer.feed(frame(b"one") + b"\n" + frame(b"two")) == [(b"one", False), (b"two", False)]
    assert framer.skipped == 1


def test_a_frame_split_at_every_byte() -> None:
    framer = MllpFramer()
    out: list[tuple[bytes, bool]] = []
    for byte in frame(b"MSH|^~\\&|X"):
        out += framer.feed(bytes([byte]))
    assert out == [(b"MSH|^~\\&|X", False)]


def test_a_start_byte_inside_a_frame_restarts_it() -> None:
    framer = MllpFramer()
    assert framer.feed(VT + b"abandoned" + frame(b"real")) == [(b"real", False)]
    assert framer.skipped == len(b"abandoned")


def test_an_oversized_frame_is_reported_by_its_head_and_the_stream_goes_on() -> None:
    framer = MllpFramer(limit=50)
    out = framer.feed(VT + b"MSH|" + b"x" * 40)
    out += framer.feed(b"y" * 100 + b"\x1c")  # FS here, CR in the next chunk
    out += framer.feed(b"\x0d" + frame(b"next"))
    assert out == [(b"MSH|" + b"x" * 40 + b"y" * 100, True), (b"next", False)]


def test_an_oversized_frame_that_arrives_whole() -> None:
    framer = MllpFramer(limit=10)
    assert framer.feed(frame(b"z" * 20)) == [(b"z" * 20, True)]


@settings(max_examples=50, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"")), max_size=5),
    cuts=st.lists(st.integers(0, 400), max_size=10),
)
def test_chunking_never_changes_the_frames(payloads: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(frame(p) for p in payloads)
    framer = MllpFramer()
    out: list[tuple[bytes, bool]] = []
    start = 0
    for cut in sorted({c for c in cuts if c < len(stream)} | {len(stream)}):
        out += framer.feed(stream[start:cut])
        start = cut
    assert out == [(p, False) for p in payloads]


# --------------------------------------------------------------------------- the ACK for each failure


class DatabaseDown:
    def acquire(self) -> Any:
        return self

    async def __aenter__(self) -> Any:
        raise OSError("connection refused")

    async def __aexit__(self, *exc: object) -> None:
        return None


def door() -> Hl7Door:
    runtime = SimpleNamespace(clock=FixedClock(datetime(2026, 3, 2, 12, tzinfo=UTC)), db=DatabaseDown())
    return Hl7Door(cast(Any, runtime), DEFAULTS)


def segments(ack: bytes) -> list[list[str]]:
    return [line.split("|") for line in ack.decode().split("\r") if line]


async def test_garbage_gets_ar_without_a_control_id() -> None:
    ack = segments(await door().handle(b"\x00\xff\xfe not hl7"))
    assert ack[1] == ["MSA", "AR", ""]
    assert ack[2][2:4] == ["MSH^1", "100^Segment sequence error^HL70357"]


async def test_a_mapping_error_gets_ae_naming_the_field() -> None:
    text = FULL.replace("|CG|300-2002", "|PY|300-2002")
    ack = segments(await door().handle(text.encode()))
    assert ack[1] == ["MSA", "AE", "MSG00001"]
    assert ack[2][2:5] == ["FT1^3^6", "103^Table value not found^HL70357", "E"]


async def test_contract_errors_are_all_reported_before_any_storage() -> None:
    # PID-3 emptied too: otherwise the account falls back to the first PID-3 identifier.
    text = FULL.replace("|96372|", "|9637|").replace("|HAR100234567", "|").replace("MRN12345^^^MFMG^MR", "")
    ack = segments(await door().handle(text.encode()))
    assert ack[1][1] == "AE"
    assert sorted(f[2] for f in ack if f[0] == "ERR") == ["FT1^3^25", "PID^1^18"]


async def test_storage_failure_gets_ar_so_the_sender_resends() -> None:
    ack = segments(await door().handle(FULL.encode()))
    assert ack[1] == ["MSA", "AR", "MSG00001"]
    assert ack[2][3].startswith("207^")
    assert "send it again" in ack[2][8]


async def test_a_bug_costs_one_message_an_ar_not_the_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise KeyError("Rivera")  # an exception text may hold PHI: it must go nowhere

    monkeypatch.setattr(mllp, "read_message", broken)
    ack = await door().handle(message(header=msh(control_id="X1")).encode())
    assert segments(ack)[1] == ["MSA", "AR", "X1"]
    assert b"Rivera" not in ack


async def test_mapping_and_contract_errors_come_in_one_ack() -> None:
    """Issue 16: every error of a message in one ACK, one ERR each, without the contract
    repeating a field that already failed mapping."""
    text = (
        FULL.replace("19840612", "198406")  # PID-7: mapping error (the contract would call it missing)
        .replace("|CG|300-2002", "|PY|300-2002")  # FT1-6 of the 3rd FT1: mapping error
        .replace("|96372|", "|9637|")  # FT1-25 of the 3rd FT1: contract error
        .replace("|91234567A", "|")  # IN1-36 of the secondary coverage: contract error
    )
    ack = segments(await door().handle(text.encode()))
    assert ack[1] == ["MSA", "AE", "MSG00001"]
    found = [(f[2], f[3].split("^")[0]) for f in ack if f[0] == "ERR"]
    assert sorted(found) == sorted([("PID^1^7", "102"), ("FT1^3^6", "103"), ("FT1^3^25", "102"), ("IN1^1^36", "101")])
    assert all("198406" not in field for f in ack for field in f)


async def test_an_idle_half_open_frame_closes_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 16: a frame begun and never finished held the connection forever."""
    import asyncio

    reader = asyncio.StreamReader()
    reader.feed_data(VT + b"MSH|^~\\&|EPIC|MISSIONFMG|||||DFT^P03|SECRET-CONTROL")
    closed: list[bool] = []
    writer = SimpleNamespace(writeblock=lambda _: None, drain=None, close=lambda: closed.append(True))
    hl7_door = Hl7Door(cast(Any, SimpleNamespace()), DEFAULTS, idle_timeout=0.05)
    await asyncio.wait_for(hl7_door.connection(reader, writer), 5)
    assert closed == [True]
    assert "half-open frame timed out" in caplog.text
    assert "SECRET" not in caplog.text and "EPIC" not in caplog.text


async def test_an_idle_connection_between_frames_stays_open() -> None:
    import asyncio

    reader = asyncio.StreamReader()
    writer = SimpleNamespace(writeblock=lambda _: None, drain=None, close=lambda: None)
    hl7_door = Hl7Door(cast(Any, SimpleNamespace()), DEFAULTS, idle_timeout=0.05)
    task = asyncio.ensure_future(hl7_door.connection(reader, writer))
    await asyncio.sleep(0.3)
    assert not task.done()
    reader.feed_eof()
    await asyncio.wait_for(task, 5)


def test_the_idle_timeout_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RCM_CHARGES_MLLP_IDLE_TIMEOUT_S", raising=False)
    assert mllp.mllp_idle_timeout() == 60.0
    monkeypatch.setenv("RCM_CHARGES_MLLP_IDLE_TIMEOUT_S", "2.5")
    assert mllp.mllp_idle_timeout() == 2.5
    for bad in ("soon", "0", "-1", "86400"):
        monkeypatch.setenv("RCM_CHARGES_MLLP_IDLE_TIMEOUT_S", bad)
        with pytest.raises(ValueError, match="RCM_CHARGES_MLLP_IDLE_TIMEOUT_S"):
            mllp.mllp_idle_timeout()


async def test_an_oversized_frame_gets_ar_with_its_control_id() -> None:
    ack = segments(await door().handle(msh(control_id="BIG").encode(), oversized=True))
    assert ack[1] == ["MSA", "AR", "BIG"]
    assert ack[2][3].startswith("207^")


def test_the_shipped_defaults_load() -> None:
    assert mllp.load_defaults().billing_provider["npi"] == "1234567893"


async def test_an_error_shared_by_every_event_is_reported_once() -> None:
    ack = segments(await door().handle(FULL.replace("|EPIC|", "|EPIC SYSTEM|", 1).encode()))
    locations = [f[2] for f in ack if f[0] == "ERR"]
    assert locations.count("MSH^1^3") == 1
    # The idempotency key is built from MSH-3, so each charge's key is wrong too.
    assert sorted(set(locations) - {"MSH^1^3"}) == ["FT1^1^2", "FT1^2^2", "FT1^3^2"]
