"""Fuzzing the HL7 door without infrastructure (issue 16): mutated DFT^P03 and ADT messages, and
byte streams of broken MLLP frames, through the door's own `handle` and `connection`.

Every message gets one well-formed original-mode ACK: AE or AR with at least one ERR naming
what is wrong (or, for a message that maps and validates, the storage AR of a database that is
down here: nothing was written). Never the "internal error" AR that stands for a bug, never a
hang, never a control character that would break the sender's MLLP framing."""

from __future__ import annotations

import asyncio
import itertools
import random
import string
import time
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from services.charges.hl7.mllp import Hl7Door
from services.chassis.clock import FixedClock
from tests.unit.charges.test_hl7_mapping import DEFAULTS, FULL, msh
from tests.unit.charges.test_hl7_mllp import DatabaseDown
from tests.unit.fuzz.x12_mutations import SEGMENT_MOVES, move_segment

CASES = 2000


_FUZZ = settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
VT, END = b"\x0b", b"\x1c\x0d"
ADT = "\r".join([msh(message_type="ADT^A08^ADT_A01", control_id="ADT1"), "EVN|A08|20260302184500",
                 *FULL.split("\r")[2:4]]) + "\r"
INTERNAL = "internal error"
STORED_NOT = "could not be stored"


def door(idle_timeout: float = 60.0) -> Hl7Door:
    """The door with its database down: a message that maps and validates reaches storage and
    gets AR 207 "send it again", which tells it apart from one refused for its content."""
    runtime = SimpleNamespace(clock=FixedClock(datetime(2026, 3, 2, 12, tzinfo=UTC)), db=DatabaseDown())
    return Hl7Door(cast(Any, runtime), DEFAULTS, idle_timeout=idle_timeout)


# Every HL7 delimiter, escape sequences, control characters and letters.
_GARBLE = st.text(alphabet=string.ascii_letters + string.digits + "|^~\\&#\r\n\t .-+\x00\x1c\x0b", max_size=24)
_ESCAPES = st.sampled_from(["\\F\\", "\\S\\", "\\R\\", "\\E\\", "\\T\\", "\\X0D\\", "\\X\\", "\\H\\", "\\.br\\",
                            "\\Zxx\\", "\\", "\\X1C0D\\", "\\XZZ\\"])


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A DFT^P03 (or an ADT) with one to four mutations, as bytes (UTF-8, Latin-1 or broken)."""
    text = draw(st.sampled_from([FULL, FULL, FULL, ADT]))
    segments = [s for s in text.split("\r") if s]
    rnd = random.Random(draw(st.integers(0, 2**32)))  # uniform positions (integers() favours 0)
    for _ in range(draw(st.integers(1, 4))):
        if not segments:
            break
        i = rnd.randrange(len(segments))
        fields = segments[i].split("|")
        kind = draw(st.sampled_from([*SEGMENT_MOVES, "garble", "escape", "empty", "huge", "msh",
                                     "truncate", "unicode", "field_count"]))
        if kind in SEGMENT_MOVES:
            move_segment(kind, segments, i, rnd)
        elif kind in ("garble", "escape", "unicode") and len(fields) > 1:
            n = rnd.randrange(1, len(fields))
            noise = draw(_GARBLE if kind == "garble" else _ESCAPES if kind == "escape" else st.text(max_size=10))
            at = rnd.randrange(len(fields[n]) + 1)
            fields[n] = fields[n][:at] + noise + fields[n][at:]
            segments[i] = "|".join(fields)
        elif kind == "empty" and len(fields) > 1:
            fields[rnd.randrange(1, len(fields))] = ""
            segments[i] = "|".join(fields)
        elif kind == "huge" and len(fields) > 1:
            fields[rnd.randrange(1, len(fields))] = draw(st.sampled_from(["9", "x^", "~", "1."])) * rnd.choice(
                [300, 5000, 100_000])
            segments[i] = "|".join(fields)
        elif kind == "msh":
            head = segments[0]
            segments[0] = draw(st.sampled_from([
                head.replace("^~\\&", draw(st.sampled_from(["^~\\", "^^\\&", "", "abcd", "^~\\&#%", "||||"])), 1),
                head[: rnd.randrange(len(head) + 1)],
                "MSH" + draw(_GARBLE) + head[3:],
                head.replace("DFT^P03^DFT_P03", draw(st.sampled_from(["", "DFT", "DFT^P11", "^P03", "ADT^A04"]))),
                head.replace("MSG00001", ""),
            ]))
        elif kind == "truncate":
            joined = "\r".join(segments)
            segments = [s for s in joined[: rnd.randrange(len(joined) + 1)].split("\r") if s]
        elif kind == "field_count":
            segments[i] = segments[i] + "|" * rnd.choice([1, 50, 3000])
    terminator = draw(st.sampled_from(["\r", "\r", "\n", "\r\n"]))
    body = terminator.join(segments) + terminator
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "latin-1", "broken"]))
    if encoding == "broken":
        raw = body.encode("utf-8", errors="surrogatepass")
        at = rnd.randrange(len(raw) + 1)
        return raw[:at] + b"\xff\xfe\xc3" + raw[at:]
    return body.encode(encoding, errors="replace")


MESSAGES = st.one_of(mutated(), mutated(), mutated(), st.binary(max_size=200))


def segments_of(ack: bytes) -> list[list[str]]:
    assert VT not in ack and b"\x1c" not in ack, "the ACK would break the sender's MLLP framing"
    text = ack.decode("utf-8")
    assert text.endswith("\r")
    return [line.split("|") for line in text.split("\r")[:-1]]


def check_ack(ack: bytes) -> str:
    """The ACK's code, after checking its shape: MSH, MSA, then ERR segments only, AE and AR
    with an ERR each naming an HL7 table 0357 code."""
    segs = segments_of(ack)
    assert [s[0] for s in segs[:2]] == ["MSH", "MSA"] and all(s[0] == "ERR" for s in segs[2:]), segs
    assert len(segs[0]) == 12 and segs[0][8].startswith("ACK^") and len(segs[1]) == 3
    code = segs[1][1]
    assert code in ("AA", "AE", "AR")
    errors = segs[2:]
    if code != "AA":
        assert errors, "a refusal names what is wrong"
    for err in errors:
        assert err[3].split("^")[0] in ("100", "101", "102", "103", "200", "207")
        assert INTERNAL not in err[8], "a bug: the door answered with its catch-all"
    return code


# The frame limit is 1 MB; this much CPU for one message is far above what a real one costs
# (about 5 ms) and far below the 8-12 s a field of a million "~" took before MAX_FIELD_PARTS.
CPU_BUDGET_S = 2.0
# Found by this fuzzer: one field of repetition separators kept the event loop busy for seconds.
MILLION_REPETITIONS = FULL.replace("|R07.0^Pain in throat^I10|", "|" + "~" * 1_000_000 + "|").encode()


@_FUZZ
@example(raw=FULL.encode())
@example(raw=MILLION_REPETITIONS)
@given(raw=MESSAGES)
def test_fuzz_hl7_message(raw: bytes) -> None:
    started = time.process_time()  # CPU time of this process: other helpers' load does not count
    ack = asyncio.run(asyncio.wait_for(door().handle(raw), 10))
    assert time.process_time() - started < CPU_BUDGET_S
    check_ack(ack)


def test_a_field_of_a_million_repetitions_gets_ae_at_once() -> None:
    started = time.process_time()
    ack = segments_of(asyncio.run(door().handle(MILLION_REPETITIONS)))
    assert time.process_time() - started < CPU_BUDGET_S  # 8-12 s before the fix
    assert ack[1][1] == "AE" and [(e[2], e[3].split("^")[0]) for e in ack[2:]] == [("DG1^3^3", "102")]


# --------------------------------------------------------------------------- MLLP byte streams


class _Writer:
    def __init__(self) -> None:
        self.acks: list[bytes] = []
        self.closed = False

    def writeblock(self, data: bytes) -> None:
        self.acks.append(data)

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True


_PAYLOAD = st.one_of(mutated(), st.binary(max_size=60)).map(lambda b: b.replace(VT, b"").replace(b"\x1c", b""))


@st.composite
def streams(draw: st.DrawFn) -> tuple[list[bytes], bool]:
    """Chunks of a byte stream of frames, broken frames and garbage; whether it ends inside a
    frame (half-open)."""
    parts: list[bytes] = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["frame", "frame", "garbage", "no_start", "no_end", "fs_only"]))
        payload = draw(_PAYLOAD)
        if kind == "frame":
            parts.append(VT + payload + END)
        elif kind == "garbage":  # between frames: skipped
            parts.append(draw(st.binary(max_size=40)).replace(VT, b""))
        elif kind == "no_start":  # the payload and its end without a VT: skipped
            parts.append(payload + END)
        elif kind == "no_end":  # a VT, then the next VT restarts the frame
            parts.append(VT + payload)
        else:  # FS without CR: stays inside the frame, which the next VT restarts
            parts.append(VT + payload + b"\x1c")
    half_open = draw(st.booleans())
    if half_open:
        parts.append(VT + draw(_PAYLOAD))
    stream = b"".join(parts)
    cuts = sorted(set(draw(st.lists(st.integers(0, len(stream)), max_size=6))) | {0, len(stream)})
    return [stream[a:b] for a, b in itertools.pairwise(cuts) if b > a], half_open


def _complete_frames(chunks: list[bytes]) -> int:
    """Frames that the MLLP rules close in this stream: VT .. FS CR with no VT inside."""
    stream, count, inside = b"".join(chunks), 0, False
    i = 0
    while i < len(stream):
        if stream[i] == VT[0]:
            inside = True
        elif inside and stream[i : i + 2] == END:
            count, inside = count + 1, False
            i += 1
        i += 1
    return count


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(case=streams())
def test_fuzz_mllp_stream(case: tuple[list[bytes], bool]) -> None:
    """One ACK per complete frame, in order; a half-open frame closes the connection after the
    idle timeout; a stream that ends is a closed connection. Never a hang."""
    chunks, half_open = case

    async def run() -> _Writer:
        reader = asyncio.StreamReader()
        for chunk in chunks:
            reader.feed_data(chunk)
        if not half_open:
            reader.feed_eof()
        writer = _Writer()
        await asyncio.wait_for(door(idle_timeout=0.01).connection(reader, writer), 10)
        return writer

    writer = asyncio.run(run())
    assert writer.closed
    assert len(writer.acks) == _complete_frames(chunks)
    for ack in writer.acks:
        check_ack(ack)
