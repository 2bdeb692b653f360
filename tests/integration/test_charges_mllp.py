"""The HL7 v2 door against real Kafka and Postgres: DFT^P03 over MLLP -> intake topics.

The charges runtime runs in-process with `serve_mllp` as a background task on a free port.
"""

from __future__ import annotations

import asyncio
import json
import socket
import string
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import asyncpg
import hl7.mllp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.registry import validate
from services.charges.app import DEFINITION
from services.charges.background import serve_mllp
from services.charges.hl7.mapping import map_dft_p03
from services.charges.hl7.mllp import MAX_FRAME_BYTES, load_defaults
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.support.kafka_io import eventually, read_topic
from tests.support.runtimes import running

pytestmark = pytest.mark.integration

ENCOUNTERS = "rcm.intake.encounters.v1"
CHARGES = "rcm.intake.charges.v1"
Records = list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
IDLE_TIMEOUT_S = 3.0  # short for the test, yet above any pause inside a 1 MB frame on a loaded machine


def seg(name: str, fields: dict[int, str]) -> str:
    last = max(fields, default=0)
    return "|".join([name, *(fields.get(i, "") for i in range(1, last + 1))])


def dft(
    visit: str,
    *,
    control_id: str | None = None,
    ft1_19: str = "J02.0",
    procedure: str = "87880",
    message_type: str = "DFT^P03^DFT_P03",
    ft1_type: str = "CG",
    account: str = "HAR100234567",
) -> str:
    """A realistic DFT^P03 for `visit`: office visit + strep test, Aetna, discharged."""
    tag = visit.rsplit("-", 1)[-1]
    header = "|".join(
        [
            "MSH",
            "^~\\&",
            "EPIC",
            "MISSIONFMG",
            "REVCYCLE",
            "CHARGES",
            "20260302184500",
            "",
            message_type,
            control_id or f"C{tag}",
            "P",
            "2.5",
        ]
    )
    segments = [
        header,
        "EVN|P03|20260302184500",
        seg(
            "PID",
            {
                1: "1",
                3: "MRN77001^^^MFMG^MR",
                5: "Rivera^Ana^L",
                7: "19840612",
                8: "F",
                11: "1450 Valencia St^Apt 3^San Francisco^CA^94110^USA^H",
                13: "(415)555-0142^PRN^PH~^NET^Internet^ana.rivera@example.org",
                18: account,
            },
        ),
        seg(
            "PV1",
            {1: "1", 2: "O", 7: "1999999984^Okafor^Samuel", 19: visit, 44: "20260302090000", 45: "20260302184000"},
        ),
        seg(
            "FT1",
            {
                1: "1",
                2: f"{tag}-1",
                4: "20260302",
                6: "CG",
                10: "1",
                11: "150.00",
                12: "150.00",
                19: "J02.0~R50.9",
                25: "99213",
                26: "25",
            },
        ),
        seg(
            "FT1", {1: "2", 2: f"{tag}-2", 4: "20260302", 6: ft1_type, 10: "1", 11: "35.00", 19: ft1_19, 25: procedure}
        ),
        seg("DG1", {1: "1", 3: "J02.0", 15: "1"}),
        seg("DG1", {1: "2", 3: "R50.9", 15: "2"}),
        seg("IN1", {1: "1", 3: "60054", 4: "Aetna", 15: "CI", 17: "SEL", 36: "W123456789"}),
    ]
    return "\r".join(segments) + "\r"


def new_visit() -> str:
    return f"V-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def mllp_port() -> Iterator[int]:
    port = free_port()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RCM_CHARGES_MLLP_PORT", str(port))
        # Short, so the half-open frame test waits seconds, not the 60 s default.
        mp.setenv("RCM_CHARGES_MLLP_IDLE_TIMEOUT_S", str(IDLE_TIMEOUT_S))
        yield port


@asynccontextmanager
async def serving_mllp(platform: Settings, port: int) -> AsyncIterator[Runtime]:
    """The charges runtime with its MLLP listener up on `port`."""
    background = DEFINITION.background if serve_mllp in DEFINITION.background else [*DEFINITION.background, serve_mllp]

    async def listening() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    async with running(replace(DEFINITION, background=background), platform) as runtime:
        await eventually(listening, timeout_s=30, what="the MLLP listener")
        yield runtime


@pytest.fixture(scope="module")
async def charges(platform: Settings, mllp_port: int) -> AsyncIterator[Runtime]:
    async with serving_mllp(platform, mllp_port) as runtime:
        yield runtime


@pytest.fixture(scope="module")
async def conn(charges: Runtime, mllp_port: int) -> AsyncIterator[tuple[Any, Any]]:
    """One MLLP connection shared by the tests: the server must keep answering on it."""
    reader, writer = await hl7.mllp.open_hl7_connection("127.0.0.1", mllp_port)
    yield reader, writer
    writer.close()


async def send(conn: tuple[Any, Any], text: str | bytes) -> list[list[str]]:
    """Send one frame, return the ACK as segments of fields."""
    reader, writer = conn
    writer.writeblock(text.encode() if isinstance(text, str) else text)
    await writer.drain()
    ack: bytes = await asyncio.wait_for(reader.readblock(), 30)
    return [line.split("|") for line in ack.decode().split("\r") if line]


def msa(ack: list[list[str]]) -> tuple[str, str]:
    assert ack[0][0] == "MSH" and ack[0][8].startswith("ACK^") and ack[0][8].endswith("^ACK")
    assert ack[1][0] == "MSA"
    return ack[1][1], ack[1][2]


def errs(ack: list[list[str]]) -> list[tuple[str, str]]:
    """(ERR-2 location, ERR-3 code) per ERR segment."""
    return [(f[2], f[3].split("^")[0]) for f in ack if f[0] == "ERR"]


def ce_type(headers: list[tuple[str, bytes]]) -> str:
    return dict(headers)["ce_type"].decode()


async def records_for(platform: Settings, topic: str, visit: str) -> Records:
    return [r for r in await read_topic(platform, topic) if r[0] == visit.encode()]


async def landed(platform: Settings, visit: str, encounters: int, charges: int) -> tuple[Records, Records]:
    found: dict[str, Records] = {}

    async def arrived() -> bool:
        found["e"] = await records_for(platform, ENCOUNTERS, visit)
        found["c"] = await records_for(platform, CHARGES, visit)
        return len(found["e"]) >= encounters and len(found["c"]) >= charges

    await eventually(arrived, timeout_s=60, what="the intake records")
    return found["e"], found["c"]


async def test_dft_is_acknowledged_and_lands_on_the_intake_topics(platform: Settings, conn: tuple[Any, Any]) -> None:
    visit = new_visit()
    ack = await send(conn, dft(visit, control_id="CTRL-0001"))
    assert msa(ack) == ("AA", "CTRL-0001")
    assert errs(ack) == []

    encounters, charge_records = await landed(platform, visit, encounters=2, charges=2)
    assert [ce_type(h) for _, _, h in encounters] == [
        "rcm.intake.EncounterRegistered.v1",
        "rcm.intake.EncounterClosed.v1",
    ]
    assert [ce_type(h) for _, _, h in charge_records] == ["rcm.intake.ChargeSubmitted.v1"] * 2
    tag = visit.rsplit("-", 1)[-1]
    values = [json.loads(v) for _, v, _ in charge_records]
    assert [v["idempotency_key"] for v in values] == [f"epic:{tag}-1", f"epic:{tag}-2"]
    assert [v["amount"] for v in values] == ["150.00", "35.00"]
    assert [v["diagnosis_pointers"] for v in values] == [[1, 2], [1]]
    registered = json.loads(encounters[0][1])
    assert registered["diagnoses"] == ["J020", "R509"]
    assert registered["coverages"][0]["member_id"] == "W123456789"
    assert all(dict(h)["ce_subject"] == visit.encode() for _, _, h in encounters + charge_records)


async def test_bad_messages_get_ae_and_queue_nothing(platform: Settings, conn: tuple[Any, Any]) -> None:
    unknown_dx, bad_cpt = new_visit(), new_visit()

    ack = await send(conn, dft(unknown_dx, ft1_19="Z99.89"))
    assert msa(ack)[0] == "AE"
    assert errs(ack) == [("FT1^2^19", "103")]

    # The first FT1 and the encounter are fine; the second charge's CPT is not: nothing at all.
    ack = await send(conn, dft(bad_cpt, procedure="8788"))
    assert msa(ack)[0] == "AE"
    assert errs(ack) == [("FT1^2^25", "102")]
    err = next(f for f in ack if f[0] == "ERR")
    assert err[5] == "procedure_code_format" and err[8].startswith("procedure code must be")
    assert "8788" not in "|".join(err)

    # Records are relayed in order: once a later message has landed, earlier ones would have too.
    sentinel = new_visit()
    assert msa(await send(conn, dft(sentinel)))[0] == "AA"
    await landed(platform, sentinel, encounters=2, charges=2)
    for visit in (unknown_dx, bad_cpt):
        assert await records_for(platform, ENCOUNTERS, visit) == []
        assert await records_for(platform, CHARGES, visit) == []
    db = await asyncpg.connect(platform.database_url("charges"))
    try:
        ids = await db.fetchval(
            "SELECT count(*) FROM encounter_ids WHERE source_encounter_id = ANY($1::text[])", [unknown_dx, bad_cpt]
        )
    finally:
        await db.close()
    assert ids == 0


async def charges_events(platform: Settings, visit: str, name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def arrived() -> bool:
        found[:] = [json.loads(v) for _, v, h in await read_topic(platform, "rcm.charges.v1")
                    if ce_type(h) == f"rcm.charges.{name}.v1" and json.loads(v).get("source_encounter_id") == visit]
        return bool(found)

    await eventually(arrived, timeout_s=60, what=f"{name} for the visit")
    return found


async def test_december_diagnoses_are_judged_with_the_newest_edition_behind_the_door(
    platform: Settings, conn: tuple[Any, Any]
) -> None:
    """Visits on 2026-12-01, past FY2026 (the newest edition here): an invalid code is rejected,
    naming the edition (not the code or the date); a valid one posts with ICD10_EDITION_STALE."""
    invalid, valid = new_visit(), new_visit()
    december = dft(invalid).replace("20260302", "20261201").replace("J02.0", "J02.X")
    assert msa(await send(conn, december))[0] == "AA"  # the door checks the message; the rules run behind it
    (rejected,) = await charges_events(platform, invalid, "EncounterRejected")
    reasons = [(r["code"], r["field"]) for r in rejected["reasons"]]
    assert reasons == [("ENC_DX_INVALID", "diagnoses[0]")]
    message = rejected["reasons"][0]["message"]
    assert "J02X" not in message and "ICD-10-CM FY2026" in message and "2026-12-01" not in message

    assert msa(await send(conn, dft(valid).replace("20260302", "20261201")))[0] == "AA"
    posted = await charges_events(platform, valid, "ChargePosted")
    findings = [f["code"] for p in posted for f in p["findings"]]
    assert findings and set(findings) == {"ICD10_EDITION_STALE"}
    assert "past every loaded ICD-10-CM edition" in posted[0]["findings"][0]["message"]


async def test_unsupported_type_and_unreadable_frames_get_ar(conn: tuple[Any, Any]) -> None:
    ack = await send(conn, dft(new_visit(), control_id="ADT-1", message_type="ADT^A02"))
    assert msa(ack) == ("AR", "ADT-1")
    assert errs(ack) == [("MSH^1^9", "200")]

    ack = await send(conn, b"\x00\xff garbage \x01")
    assert msa(ack) == ("AR", "")

    huge = dft(new_visit(), control_id="BIG-1") + "NTE|1||" + "x" * (MAX_FRAME_BYTES + 10) + "\r"
    ack = await send(conn, huge)
    assert msa(ack) == ("AR", "BIG-1")
    assert errs(ack)[0][1] == "207"

    visit = new_visit()
    assert msa(await send(conn, dft(visit, control_id="AFTER-1"))) == ("AA", "AFTER-1")


async def test_known_encounter_is_sent_as_updated(platform: Settings, conn: tuple[Any, Any]) -> None:
    visit = new_visit()
    text = dft(visit)
    # The encounter as the consumer would have stored it after an earlier message.
    model = validate("rcm.intake.EncounterRegistered.v1", map_dft_p03(text, load_defaults()).events[0].data)
    db = await asyncpg.connect(platform.database_url("charges"))
    try:
        async with db.transaction():
            encounter_id = f"enc_t{uuid.uuid4().hex[:10]}"
            account_id = f"PA-t{uuid.uuid4().hex[:8]}"
            await db.execute(
                "INSERT INTO encounter_ids (encounter_id, source_system, source_encounter_id) VALUES ($1, 'epic', $2)",
                encounter_id,
                visit,
            )
            await db.execute(
                "INSERT INTO patient_accounts (patient_account_id, source_system, source_account_number)"
                " VALUES ($1, 'epic', $2)",
                account_id,
                f"HAR-{visit}",
            )
            await db.execute(
                "INSERT INTO encounters (encounter_id, patient_account_id, details, updated_at)"
                " VALUES ($1, $2, $3::jsonb, now())",
                encounter_id,
                account_id,
                model.model_dump_json(),
            )
    finally:
        await db.close()

    assert msa(await send(conn, text))[0] == "AA"
    encounters, _ = await landed(platform, visit, encounters=2, charges=2)
    assert [ce_type(h) for _, _, h in encounters] == [
        "rcm.intake.EncounterUpdated.v1",
        "rcm.intake.EncounterClosed.v1",
    ]


async def test_dft_without_pid18_posts_with_the_pid3_account(platform: Settings, conn: tuple[Any, Any]) -> None:
    """Issue 16: PID-18 is optional in HL7 v2.5.1; a valid DFT^P03 without it got AE."""
    visit = new_visit()
    ack = await send(conn, dft(visit, control_id="NOACCT-1", account=""))
    assert msa(ack) == ("AA", "NOACCT-1")
    assert errs(ack) == []
    encounters, _ = await landed(platform, visit, encounters=2, charges=2)
    registered = json.loads(encounters[0][1])
    assert registered["patient"]["source_account_number"] == "MRN77001"
    # It is billed like any other encounter: the charges post behind the door.
    posted = await charges_events(platform, visit, "ChargePosted")
    assert posted


async def test_every_error_of_a_message_comes_in_one_ack(platform: Settings, conn: tuple[Any, Any]) -> None:
    """Issue 16: mapping stopped at the first error, one round trip per mistake."""
    visit = new_visit()
    text = dft(visit, ft1_19="Z99.89", procedure="8788").replace("19840612", "198406")
    ack = await send(conn, text)
    assert msa(ack)[0] == "AE"
    # PID-7 and FT1-19 fail mapping, FT1-25 fails the contract: three ERR segments, in message order.
    assert errs(ack) == [("PID^1^7", "102"), ("FT1^2^19", "103"), ("FT1^2^25", "102")]
    assert all("198406" not in f and "Z99.89" not in f and "8788" not in f for seg in ack for f in seg)
    assert await records_for(platform, ENCOUNTERS, visit) == []


async def test_a_half_open_frame_times_out_and_the_door_keeps_answering(
    mllp_port: int, conn: tuple[Any, Any]
) -> None:
    """Issue 16: a frame begun and never finished held the connection open forever."""
    reader, writer = await asyncio.open_connection("127.0.0.1", mllp_port)
    try:
        writer.write(b"\x0b" + dft(new_visit()).encode()[:200])  # no FS CR: the frame never ends
        await writer.drain()
        started = asyncio.get_running_loop().time()
        # The server closes the connection: EOF, without an ACK for the unfinished frame.
        assert await asyncio.wait_for(reader.read(), IDLE_TIMEOUT_S + 10) == b""
        waited = asyncio.get_running_loop().time() - started
        assert IDLE_TIMEOUT_S - 0.5 <= waited < IDLE_TIMEOUT_S + 10
    finally:
        writer.close()
    # An idle connection between frames is normal MLLP and stays open.
    await asyncio.sleep(IDLE_TIMEOUT_S + 0.5)
    assert msa(await send(conn, dft(new_visit(), control_id="IDLE-1"))) == ("AA", "IDLE-1")


_NOT_DFT = st.text(alphabet=string.ascii_uppercase + string.digits + "^_", max_size=15).filter(
    lambda t: not t.upper().startswith("DFT^P03")
)
_GARBAGE = (
    st.binary(max_size=300)
    .map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b""))
    .filter(lambda b: not b.startswith(b"MSH"))
)


@st.composite
def broken_dft(draw: st.DrawFn) -> bytes:
    """A message that is certainly wrong, each a different way."""
    visit = new_visit()
    kind = draw(st.sampled_from(["type", "ft1", "truncated", "field", "garbage"]))
    if kind == "type":
        return dft(visit, message_type=draw(_NOT_DFT)).encode()
    if kind == "ft1":
        return dft(visit, ft1_type=draw(st.sampled_from(["CD", "PY", "AJ", "XX"]))).encode()
    if kind == "truncated":
        text = dft(visit)
        return text[: draw(st.integers(0, text.index("\rPV1")))].encode()
    if kind == "field":
        bad = draw(st.text(alphabet=string.ascii_letters + "^~&\\", min_size=1, max_size=12))
        return dft(visit, ft1_19=bad if bad.upper() not in ("J02.0", "J020", "R50.9", "R509") else "Q").encode()
    return draw(_GARBAGE)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(frame=broken_dft())
async def test_malformed_messages_get_ar_or_ae_and_the_server_keeps_answering(
    conn: tuple[Any, Any], frame: bytes
) -> None:
    ack = await send(conn, frame)
    assert msa(ack)[0] in ("AR", "AE")
    assert errs(ack), "a refusal names what is wrong"


async def test_still_answering_after_the_fuzzing(conn: tuple[Any, Any]) -> None:
    assert msa(await send(conn, dft(new_visit(), control_id="LAST-1"))) == ("AA", "LAST-1")
