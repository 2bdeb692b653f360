"""Fuzzing the HL7 door over a real socket (issue 16): mutated DFT^P03 and ADT messages and broken
MLLP streams against the in-process charges runtime, with real Postgres and Kafka.

Every complete frame gets one well-formed ACK; a message refused (AE, AR) queues nothing and
one accepted (AA) lands on the intake topics; a half-open frame costs its connection after the
idle timeout; garbage between frames is skipped; the server keeps answering throughout."""

from __future__ import annotations

import asyncio
import random
import uuid
from typing import Any

import pytest

from services.chassis.settings import Settings
from tests.integration.test_charges_mllp import IDLE_TIMEOUT_S, charges, dft, mllp_port, new_visit
from tests.support.fuzzing import drawn
from tests.support.kafka_io import eventually, read_topic
from tests.unit.charges.test_hl7_mapping import VISIT
from tests.unit.fuzz.test_fuzz_hl7 import MESSAGES, check_ack

pytestmark = pytest.mark.integration
__all__ = ["charges", "mllp_port"]  # the fixtures, shared with the door's own integration tests

MESSAGE_CASES = 150
VT, END = b"\x0b", b"\x1c\x0d"


def _collect(count: int) -> list[tuple[bytes, bytes]]:
    """`count` fuzzed messages (the pure fuzzer's strategy), each with a visit number of its own
    so what it queued, or did not, can be told apart on the topics."""
    found = drawn(MESSAGES, count)
    visits = [f"V-{uuid.uuid4().hex[:12]}".encode() for _ in found]
    return [(raw.replace(VISIT.encode(), visit), visit) for raw, visit in zip(found, visits, strict=True)]


async def _ack(reader: asyncio.StreamReader) -> bytes:
    data = await asyncio.wait_for(reader.readuntil(END), 30)
    assert data.startswith(VT)
    return data[1:-2]


async def test_fuzzed_messages_each_get_an_ack_and_only_accepted_ones_are_queued(
    platform: Settings, charges: Any, mllp_port: int
) -> None:
    messages = _collect(MESSAGE_CASES)
    reader, writer = await asyncio.open_connection("127.0.0.1", mllp_port, limit=2**20)
    accepted: set[bytes] = set()  # visit numbers (PV1-19, the record key) of messages acknowledged AA
    refused: set[bytes] = set()
    try:
        for raw, visit in messages:
            payload = raw.replace(VT, b"").replace(b"\x1c", b"")
            writer.write(VT + payload + END)
            await writer.drain()
            code = check_ack(await _ack(reader))
            if code != "AA" and visit in payload:
                refused.add(visit)
            elif code == "AA" and b"|" + visit + b"|" in payload:  # PV1-19 intact: it is the key
                accepted.add(visit)
    finally:
        writer.close()
    assert accepted and refused, "the fuzzer reaches both outcomes"

    def keys_on(records: list[tuple[bytes | None, bytes, Any]]) -> set[bytes]:
        return {key for key, _, _ in records if key is not None}

    queued: set[bytes] = set()

    async def all_accepted_landed() -> bool:
        nonlocal queued
        queued = keys_on(await read_topic(platform, "rcm.intake.encounters.v1"))
        return accepted <= queued

    await eventually(all_accepted_landed, timeout_s=120, what="every accepted message on the intake topics")
    charges_keys = keys_on(await read_topic(platform, "rcm.intake.charges.v1"))
    everything = queued | charges_keys
    assert not [v for v in refused if any(v in key for key in everything)], "a refused message queued nothing"


async def test_broken_streams_are_skipped_or_time_out_and_the_door_keeps_answering(mllp_port: int) -> None:
    rnd = random.Random(16)
    good = dft(new_visit(), control_id="STREAM-1").encode()
    # Garbage before, between and after frames, a frame without its start, an abandoned one.
    stream = (bytes(rnd.randrange(256) for _ in range(300)).replace(VT, b"") + VT + good + END
              + b"\n\r\x00garbage" + good[:80] + END + VT + b"abandoned" + VT + good + END)
    reader, writer = await asyncio.open_connection("127.0.0.1", mllp_port)
    try:
        for at in range(0, len(stream), 97):  # in odd chunks
            writer.write(stream[at:at + 97])
            await writer.drain()
        assert [check_ack(await _ack(reader)) for _ in range(2)] == ["AA", "AA"]
        writer.write(VT + good[:50])  # half-open: never ended
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), IDLE_TIMEOUT_S + 15) == b"", "closed after the idle timeout"
    finally:
        writer.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", mllp_port)
    try:
        writer.write(VT + dft(new_visit(), control_id="AFTER-1").encode() + END)
        await writer.drain()
        assert check_ack(await _ack(reader)) == "AA"
    finally:
        writer.close()
