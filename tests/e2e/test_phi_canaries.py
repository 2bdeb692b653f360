"""PHI canaries through the whole cycle (issue 16 item 4).

Unmistakable made-up PHI (a patient's name, birth date, address, phone, email, member id, account
number, an SSN, diagnosis free text) goes through the real stack the ways it can come in: a
visit that is billed, paid and leads to a statement (charges -> claims -> sandbox 837, 999,
277CA, 835 -> remits -> notifications); a record refused for an unknown field (`patient.ssn`);
a record whose record key is not its encounter; a contract-breaking charge (dead-lettered); a
broken envelope with a name for ce_source and record key (dead-lettered); sender headers
(`correlation_id`, `x-patient`) on a valid record; HL7 over MLLP (a DFT^P03 with the canary
patient, and one with a name in MSH-4); an 835 uploaded under a file name made of the canary.

Then every place PHI must never reach is searched, case-insensitively, for every canary: each
process's log file (the four services, the sandbox, the mail catcher), every record key and
header value on every topic of the platform (payloads carry PHI by design and are not searched;
the records this test sent itself are set apart), the spans every service exported
(`RCM_TRACES_DIR`), each service's /metrics, `rcm dlq list --json`, `rcm dlq show` of every
dead letter, `rcm outbox list --json`, `rcm status --json`, and what the shared Postgres wrote to
its server log during the module. Positive controls prove the search sees what it looks for:
the canaries are found in the payloads on the topics, in the records this test sent (key and
headers), and in the databases.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import BaseModel

from schemas.envelope import Envelope
from schemas.registry import encode, event_type_of, key_of, spec_for_model
from services.chassis.settings import SERVICES, Settings
from tests.e2e.conftest import free_port
from tests.e2e.support import Line, Rcm, Timeline, Visit, coverage
from tests.support import intake
from tests.unit.charges.test_hl7_mapping import FULL

pytestmark = pytest.mark.integration

GIVEN, FAMILY = "Zebquixa", "Canarywhistle"
DOB = "1931-02-03"
STREET = "77 Quokkaberry Lane"
PHONE = "+14155550199"
EMAIL = "zebquixa.canarywhistle@example.org"
MEMBER_ID = "W918273645"
ACCOUNT_NUMBER = "HARQUOKKA9137"
SSN = "078-05-1120"
DX_TEXT = "Zebquixa reports Glimmerfang pain"
NEEDLES = ("zebquixa", "canarywhistle", "quokkaberry", "glimmerfang", "4155550199", "w918273645",
           "harquokka9137", "078-05-1120", "1931-02-03", "19310203")
"""What is searched for (lowercased text): every canary, or a unique part of it."""


def found(text: str) -> list[str]:
    lowered = text.lower()
    return [n for n in NEEDLES if n in lowered]


PATIENT: dict[str, Any] = {
    "name": {"family": FAMILY, "given": GIVEN, "middle": None, "suffix": None}, "birth_date": DOB, "sex": "F",
    "address": {"line1": STREET, "line2": None, "city": "San Francisco", "state": "CA", "postal_code": "94110"},
    "email": EMAIL, "phone": PHONE, "contact_preference": "email", "source_account_number": ACCOUNT_NUMBER,
}
GUARANTOR: dict[str, Any] = {"relationship_to_patient": "self", "name": PATIENT["name"], "address": PATIENT["address"],
                             "email": EMAIL, "phone": PHONE, "contact_preference": "email"}
# Aetna: the $500 deductible leaves the whole visit to the patient, so a statement goes out.
VISIT = Visit("phicanary", (coverage(1, "60054", MEMBER_ID),), (Line("99213", "150.00"),))


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {"remits": free_port(), "mllp": free_port(), **{s: free_port() for s in ("charges", "claims",
                                                                                     "notifications")}}


@pytest.fixture(scope="module")
def stack_env(ports: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    traces = tmp_path_factory.mktemp("traces")
    return {"RCM_TRACES_DIR": str(traces), "RCM_CHARGES_MLLP_PORT": str(ports["mllp"]),
            **{f"RCM_{s.upper()}_HTTP_PORT": str(ports[s]) for s in SERVICES}}


def postgres_log() -> Path:
    """The shared local Postgres's server log (deploy/local/postgres.sh)."""
    path = Settings().state_dir / "postgres" / "postgres.log"
    assert path.exists(), (f"the Postgres server log is searched, but {path} does not exist: run the tests "
                           "on the local stack (deploy/local/postgres.sh), where the log is a file")
    return path


@dataclass
class Sent:
    """Where this test's own records went, so the key/header search sets them apart."""

    positions: set[tuple[str, int, int]] = field(default_factory=set)


@dataclass
class World:
    rcm: Rcm
    settings: Settings
    state: Path
    ports: dict[str, int]
    sent: Sent
    pg_log: Path
    pg_log_start: int
    acks: list[str]
    upload: dict[str, Any]
    traces: Path


async def send(settings: Settings, sent: Sent, event: BaseModel | None = None, *, topic: str | None = None,
               value: bytes | None = None, key: str | None = None, headers: list[tuple[str, bytes]] | None = None,
               extra_headers: tuple[tuple[str, bytes], ...] = ()) -> None:
    """Publish as a sender would, with any key, headers and value it likes."""
    if event is not None:
        envelope = Envelope.new(source="epic-prod", type=event_type_of(event), subject=key_of(event),
                                time=datetime.now(UTC))
        topic = topic or spec_for_model(type(event)).topic
        value = value if value is not None else encode(event)
        key = key if key is not None else key_of(event)
        headers = headers if headers is not None else envelope.to_headers()
    assert topic is not None and value is not None and headers is not None
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        meta = await producer.send_and_wait(settings.topic(topic), value=value,
                                            key=key.encode() if key is not None else None,
                                            headers=[*headers, *extra_headers])
        sent.positions.add((meta.topic, meta.partition, meta.offset))
    finally:
        await producer.stop()


def hl7(text: str) -> bytes:
    return b"\x0b" + text.replace("\n", "\r").encode() + b"\x1c\x0d"


async def mllp_send(port: int, message: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(hl7(message))
        await writer.drain()
        ack = await asyncio.wait_for(reader.readuntil(b"\x1c\x0d"), 30)
        return ack.decode(errors="replace")
    finally:
        writer.close()


@pytest.fixture(scope="module")
async def world(rcm: Rcm, platform: Settings, stack_state: Path, ports: dict[str, int],
                stack_env: dict[str, str]) -> AsyncIterator[World]:
    pg_log = postgres_log()
    start = pg_log.stat().st_size
    sent = Sent()
    timeline = Timeline(platform)
    service_date = datetime.now(UTC).date() - timedelta(days=6)
    await timeline.start()
    try:
        # 1. The visit that goes the whole way.
        encounter = VISIT.encounter(patient=PATIENT, guarantor=GUARANTOR)
        *_, close = VISIT.events(service_date)
        charges = [intake.charge(VISIT.source_encounter_id, VISIT.charge_id(1),
                                 **VISIT.charge_fields(service_date, VISIT.lines[0], description=DX_TEXT))]
        await send(platform, sent, encounter)
        # Sender headers outside the envelope on a valid record: FastStream reads correlation_id.
        await send(platform, sent, charges[0], extra_headers=(("correlation_id", b"zebquixa-canarywhistle"),
                                                             ("x-patient", f"{GIVEN} {FAMILY}".encode())))
        await send(platform, sent, close)

        # 2. Refused: an unknown field carrying an SSN (rejection event naming the field).
        ssn_visit = Visit("phissn", (coverage(1, "60054", "W000000077"),), (Line("99213", "150.00"),))
        ssn_encounter = json.loads(encode(ssn_visit.encounter(patient=PATIENT, guarantor=GUARANTOR)))
        ssn_encounter["patient"]["ssn"] = SSN
        await send(platform, sent, ssn_visit.encounter(), value=json.dumps(ssn_encounter).encode())
        # 3. Refused: the record key is a name, not the encounter (an id-shaped one: it passes the
        # envelope, and the rejection must still not repeat it).
        other = Visit("phikey", (coverage(1, "60054", "W000000078"),), (Line("99213", "150.00"),))
        await send(platform, sent, other.encounter(patient=PATIENT, guarantor=GUARANTOR),
                   key=f"{FAMILY.upper()}-{GIVEN.upper()}-19310203")
        # 4. Dead-lettered: a contract-breaking value (units 0) in a charge that carries free text.
        bad = json.loads(encode(charges[0]))
        bad |= {"source_charge_id": "phicanary-bad", "idempotency_key": f"{intake.SYSTEM}:phicanary-bad",
                "units": "0", "description": f"{DX_TEXT} {SSN}"}
        await send(platform, sent, charges[0], value=json.dumps(bad).encode())
        # 5. Dead-lettered: a broken envelope, a name and birth date as ce_source and record key.
        broken = [(k, f"{GIVEN} {FAMILY}".encode() if k == "ce_source" else v)
                  for k, v in Envelope.new(source="x", type=event_type_of(encounter), subject=key_of(encounter),
                                           time=datetime.now(UTC)).to_headers()]
        await send(platform, sent, topic="rcm.intake.encounters.v1", value=encode(encounter),
                   key=f"{FAMILY}, {GIVEN} {DOB}", headers=broken)

        # 6. HL7 over MLLP: the canary patient, and a name in MSH-4 (refused, never echoed).
        acks = [await mllp_send(ports["mllp"], FULL.replace("Rivera^Ana^L", f"{FAMILY}^{GIVEN}^Q")
                                .replace("19840612", DOB.replace("-", ""))),
                await mllp_send(ports["mllp"], FULL.replace("|MISSIONFMG|", f"|{GIVEN} {FAMILY}|", 1))]

        # The visit through the cycle: billed, paid by Aetna (all to the deductible), a statement.
        encounter_id = await timeline.until(lambda: timeline.encounter_id(VISIT), "canary visit: charges posted")
        await timeline.until(lambda: timeline.of("ClaimPaymentPosted", encounter_id=encounter_id)
                             or timeline.of("ClaimDenied", encounter_id=encounter_id), "canary visit: adjudicated")
        balance = (await timeline.until(lambda: timeline.of("PatientBalanceCreated", encounter_id=encounter_id),
                                        "canary visit: patient balance"))[0]
        await timeline.until(lambda: timeline.of("NotificationSent", related__balance_id=balance["balance_id"]),
                             "canary visit: statement sent")
        await timeline.until(lambda: timeline.of("EncounterRejected"), "the refused encounters: rejected")

        # 7. An 835 with the canary inside, uploaded under a file name made of the canary.
        era = next(p for p in (stack_state / "clearinghouse").rglob("*.835")
                   if FAMILY.upper() in p.read_text(errors="replace").upper())
        token = (stack_state / "operator.token").read_text().strip()  # the admin token `rcm up` wrote
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as client:
            response = await client.post(f"http://127.0.0.1:{ports['remits']}/v1/remittances",
                                         params={"file_name": f"{FAMILY} {GIVEN} {DOB}.835"},
                                         content=era.read_bytes(), timeout=60)
        assert response.status_code == 202, response.text
    finally:
        # Stopped now, not at teardown: a consumer left idle while the tests run may be caught
        # mid-fetch by a timed-out request when it stops.
        await timeline.stop()
    # Spans leave each process in batches every 5 s.
    await asyncio.sleep(6)
    yield World(rcm, platform, stack_state, ports, sent, pg_log, start, acks, response.json(),
                Path(stack_env["RCM_TRACES_DIR"]))


async def every_record(settings: Settings) -> list[Any]:
    # As tests/support/kafka_io.read_topic reads: a consumer without a group starts at the earliest
    # offset by itself. An explicit seek_to_beginning here sometimes left every partition at its
    # end (an empty read, in CI), and each partition is read to its end on its own.
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=20)
    await consumer.start()
    try:
        cluster = await consumer._client.fetch_all_metadata()
        topics = sorted(t for t in cluster.topics() if t.startswith(settings.topic_prefix))
        tps = [TopicPartition(t, p) for t in topics for p in sorted(cluster.partitions_for_topic(t) or ())]
        assert tps, f"no topics of {settings.topic_prefix}"
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        for tp in tps:
            while await consumer.position(tp) < ends[tp]:
                for batch in (await consumer.getmany(tp, timeout_ms=1000)).values():
                    records.extend(batch)
        return records
    finally:
        await consumer.stop()


def key_and_headers(record: Any) -> str:
    return " ".join([repr(record.key), *(f"{k}={v!r}" for k, v in record.headers or ())])


async def test_kafka_keys_and_headers_hold_no_canary_and_the_search_would_see_one(world: World) -> None:
    records = await every_record(world.settings)
    ours = [r for r in records if (r.topic, r.partition, r.offset) in world.sent.positions]
    theirs = [r for r in records if (r.topic, r.partition, r.offset) not in world.sent.positions]
    assert len(ours) == len(world.sent.positions) == 7
    # Positive controls: the canaries are in payloads, and in the keys and headers this test sent.
    assert set(found(" ".join(r.value.decode(errors="replace") for r in theirs))) >= {"zebquixa", "canarywhistle"}
    assert {"zebquixa", "canarywhistle"} <= set(found(" ".join(key_and_headers(r) for r in ours)))
    topics = {r.topic.removeprefix(world.settings.topic_prefix) for r in theirs}
    assert {"rcm.charges.v1", "rcm.claims.v1", "rcm.remittances.v1", "rcm.patient-balances.v1",
            "rcm.notifications.v1", "rcm.charges.dlq.v1"} <= topics, topics
    leaks = {f"{r.topic}:{r.partition}:{r.offset}": found(key_and_headers(r)) for r in theirs}
    assert {where: canaries for where, canaries in leaks.items() if canaries} == {}


def test_logs_of_every_process_hold_no_canary(world: World) -> None:
    logs = sorted((world.state / "logs").glob("*.log"))
    assert {p.stem for p in logs} >= {*SERVICES, "sandbox", "mailcatcher"}, logs
    leaks = {p.name: found(p.read_text(errors="replace")) for p in logs if found(p.read_text(errors="replace"))}
    assert leaks == {}
    # The refusals were logged, as types and ids (the search read real lines).
    assert "record dead-lettered" in (world.state / "logs" / "charges.log").read_text()


def test_spans_hold_no_canary(world: World) -> None:
    files = {p.stem: p.read_text() for p in world.traces.glob("*.jsonl")}
    assert set(files) == set(SERVICES), files.keys()
    spans = [json.loads(line) for text in files.values() for line in text.splitlines()]
    # Consumer spans of the intake records the canaries came in.
    assert any("rcm.intake.encounters.v1" in s["name"] for s in spans)
    leaks = {n: found(text) for n, text in files.items() if found(text)}
    assert leaks == {}


async def test_metrics_of_every_service_hold_no_canary(world: World) -> None:
    async with httpx.AsyncClient() as client:
        texts = {s: (await client.get(f"http://127.0.0.1:{world.ports[s]}/metrics", timeout=30)).text
                 for s in SERVICES}
    assert all("rcm_events_consumed_total" in t for t in texts.values())
    assert {s: found(t) for s, t in texts.items() if found(t)} == {}


def test_operator_listings_hold_no_canary(world: World) -> None:
    listing = world.rcm("dlq", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    letters = json.loads(listing.stdout)
    # The two dead letters sent here: the contract-breaking charge and the broken envelope.
    assert {(d["service"], d["error_class"]) for d in letters} >= {("charges", "contract_violation"),
                                                                   ("charges", "envelope_invalid")}
    outputs = {"dlq list": listing.stdout + listing.stderr}
    for d in letters:
        shown = world.rcm("dlq", "show", d["service"], d["position"])
        assert shown.returncode == 0, shown.stderr
        outputs[f"dlq show {d['service']} {d['position']}"] = shown.stdout + shown.stderr
    withheld = [d for d in letters if d["error_class"] == "envelope_invalid"]
    assert withheld and withheld[0]["key"] is None and "withheld as unsafe to show: record key" in withheld[0]["reason"]
    # Positive control: the payload is there, for whoever asks for it.
    payload = world.rcm("dlq", "show", "charges", withheld[0]["position"], "--payload")
    assert {"zebquixa", "canarywhistle"} <= set(found(payload.stdout))
    for args in (("outbox", "list", "--json"), ("status", "--json")):
        result = world.rcm(*args)
        outputs[" ".join(args)] = result.stdout + result.stderr
    assert {name: found(text) for name, text in outputs.items() if found(text)} == {}


def test_mllp_acks_and_the_upload_answer_hold_no_canary(world: World) -> None:
    assert [a.split("\r")[1].split("|")[1] for a in world.acks][1] == "AE"
    assert [found(a) for a in world.acks] == [[], []]
    assert world.upload["status"] in ("posted", "duplicate") and found(json.dumps(world.upload)) == []


def test_the_postgres_server_log_holds_no_canary(world: World) -> None:
    with world.pg_log.open("rb") as log:
        log.seek(world.pg_log_start)
        written = log.read().decode(errors="replace")
    assert found(written) == []


async def test_the_databases_hold_the_canaries(world: World) -> None:
    """Positive control: the canaries did reach the services' data, so they were there to leak."""
    conn = await asyncpg.connect(world.settings.database_url("notifications"))  # type: ignore[arg-type]
    try:
        rows = await conn.fetch("SELECT * FROM notifications.contacts")
    finally:
        await conn.close()
    assert "zebquixa" in found(" ".join(str(dict(r)) for r in rows))

