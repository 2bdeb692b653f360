"""The chaos suite's harness: its own Kafka and Postgres, the platform's processes under a small
supervisor, a seeded workload published as an integration team would, and the end-state reading.

Everything here runs on infrastructure the suite starts itself (deploy/local/kafka.sh and
postgres.sh on free ports, a state folder under /tmp), because the suite kills the broker and
restarts Postgres: the shared test Kafka and Postgres are never touched.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from devstack import stack
from devstack.stack import PROCESSES
from sandbox.demo_data import generate
from schemas.envelope import Envelope
from schemas.registry import encode, event_type_of, key_of, spec_for_model
from services.chassis.dlq import dlq_metadata
from services.chassis.settings import SERVICES, Settings
from services.chassis.topics import consumer_lag

REPO = Path(__file__).resolve().parents[2]
RCM = str(Path(sys.executable).with_name("rcm"))
LOCAL = REPO / "deploy" / "local"
ADMIN_PASSWORD = "postgres-local"  # deploy/local/postgres.sh's local-only admin password


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the suite's own infrastructure ------------------------------------------------------------


@dataclass
class OwnInfra:
    """A Kafka and a Postgres of the suite's own, which it may kill and restart."""

    state: Path
    kafka_port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    pg_port: int = field(default_factory=free_port)

    @classmethod
    def create(cls) -> OwnInfra:
        state = Path(tempfile.mkdtemp(prefix="rcm-chaos-"))
        state.chmod(0o755)  # postgres runs as the postgres user when we are root
        return cls(state)

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RCM_STATE_DIR": str(self.state),
            "RCM_LOCAL_KAFKA_PORT": str(self.kafka_port),
            "RCM_LOCAL_KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "RCM_LOCAL_POSTGRES_PORT": str(self.pg_port),
        }

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres:{ADMIN_PASSWORD}@127.0.0.1:{self.pg_port}/postgres"

    def script(self, name: str, action: str) -> None:
        result = subprocess.run(["bash", str(LOCAL / f"{name}.sh"), action], env=self.env, capture_output=True,
                                text=True, check=False, timeout=180)
        if result.returncode != 0:
            raise RuntimeError(f"{name}.sh {action} failed: {result.stderr.strip()[-500:]}")

    def start(self) -> None:
        self.script("kafka", "start")
        self.script("postgres", "start")

    async def tune_postgres(self) -> None:
        """fsync off, for speed (commits were 17 ms, then 6 ms, on the 2-core machine). The suite
        kills processes, never the machine: Postgres has written a committed transaction's WAL
        to the kernel before it answers, and an immediate stop loses nothing the kernel holds,
        so a commit stays a commit (synchronous_commit stays on: that one *would* lose
        acknowledged commits at an immediate stop)."""
        conn = await asyncpg.connect(self.admin_url, timeout=30)
        try:
            await conn.execute("ALTER SYSTEM SET fsync = off")
            await conn.execute("SELECT pg_reload_conf()")
        finally:
            await conn.close()

    def kill_kafka(self) -> None:
        """kill -9 the broker: no clean shutdown, its data folder stays as the crash left it."""
        pid = int((self.state / "kafka" / "kafka.pid").read_text())
        os.kill(pid, signal.SIGKILL)
        for _ in range(200):
            try:  # gone, or a zombie its parent has not reaped yet: dead either way
                if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return
            except (OSError, IndexError):
                return
            time.sleep(0.05)

    def start_kafka(self) -> None:
        self.script("kafka", "start")  # same data folder: the broker recovers its logs

    def restart_postgres_immediate(self) -> None:
        """`pg_ctl -m immediate stop` (no checkpoint: crash recovery at the next start), then start."""
        bin_dir = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))[-1]
        stop = [str(bin_dir / "pg_ctl"), "-D", str(self.state / "postgres" / "data"), "-m", "immediate", "-w", "stop"]
        if os.getuid() == 0:
            stop = ["runuser", "-u", "postgres", "--", *stop]
        subprocess.run(stop, capture_output=True, check=True, timeout=60)
        self.script("postgres", "start")

    def destroy(self) -> None:
        for name in ("kafka", "postgres"):
            with suppress(Exception):
                self.script(name, "stop")
        shutil.rmtree(self.state, ignore_errors=True)


@dataclass
class GivenInfra:
    """A Kafka and a Postgres someone else runs (the tests' `infra` fixture, a benchmark's stack):
    platforms on it get their own prefix and database, and never stop it."""

    state: Path
    bootstrap: str
    admin_url: str

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "RCM_STATE_DIR": str(self.state)}


Infra = OwnInfra | GivenInfra


# --- a platform: prefix, database, folders and the processes `rcm up` runs --------------------

STACK_SETTINGS = {
    "RCM_LOG_LEVEL": "WARNING",
    "RCM_CHARGES_MLLP_PORT": "0",
    "RCM_SANDBOX_SEED": "7",
    # The e2e tests' tuning: every hop polls, so poll often; acknowledgments well before remits.
    "RCM_SANDBOX_ACK_DELAY_S": "0.2",
    "RCM_SANDBOX_REMIT_DELAY_S": "3",
    "RCM_SANDBOX_POLL_S": "0.25",
    "RCM_CLAIMS_ACKS_INTERVAL_S": "0.5",
    "RCM_CLAIMS_SUBMIT_INTERVAL_S": "0.5",
    "RCM_REMITS_POLL_INTERVAL_S": "0.25",
    "RCM_NOTIFICATIONS_SEND_POLL_INTERVAL_S": "0.25",
    "RCM_OUTBOX_POLL_INTERVAL_S": "0.3",
    # A Postgres restart or a broker restart lasts seconds: transient failures are retried
    # for longer than that instead of dead-lettering what a fault-free run posts.
    "RCM_RETRY_ATTEMPTS": "12",
    "RCM_RETRY_MAX_DELAY_S": "5",
}


def payers_without_recoupment(folder: Path) -> Path:
    """The sandbox's payers with recoupments off: a recoupment takes back part of an *earlier*
    claim of the same payer, which one depends on which claims were paid first, i.e. on timing.
    Everything else the sandbox draws comes from a hash of the seed and the claim."""
    text = (LOCAL / "payers.yaml").read_text()
    path = folder / "payers.yaml"
    path.write_text(re.sub(r'recoupment_probability: "[0-9.]+"', 'recoupment_probability: "0"', text))
    (folder / "fee_schedules").symlink_to(LOCAL / "fee_schedules")  # the file names them relatively
    return path


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    fault: str | None
    port: int
    supervised: bool = True
    instance: int = 0

    @property
    def key(self) -> str:
        """charges, charges-1, ...: how the platform names the process (its log, its fault)."""
        return stack.instance_name(self.name, self.instance)


@dataclass
class Platform:
    """One platform on the suite's infrastructure (a topic prefix, a database, folders) and its
    processes, `instances` of each service in one consumer group (docs/scaling.md). The
    supervisor restarts whatever died unless the harness stopped it on purpose."""

    infra: Infra
    label: str
    instances: int = 1
    settings: Settings = field(init=False)
    folder: Path = field(init=False)
    procs: dict[str, Proc] = field(default_factory=dict)
    extras: list[Proc] = field(default_factory=list)
    restarts: Counter[str] = field(default_factory=Counter)
    faults: dict[str, str] = field(default_factory=dict)  # process -> RCM_FAULT of its next start
    exits: Counter[str] = field(default_factory=Counter)  # how supervised processes ended
    env: dict[str, str] = field(init=False)
    _supervisor: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        tag = uuid4().hex[:8]
        self.folder = self.infra.state / f"{self.label}-{tag}"
        self.folder.mkdir()
        self.settings = Settings(
            kafka_bootstrap=self.infra.bootstrap, admin_database_url=self.infra.admin_url,
            topic_prefix=f"{self.label}{tag}.", database_name=f"rcm_{self.label}{tag}",
            clearinghouse_root=self.folder / "clearinghouse", state_dir=self.folder,
        )
        smtp = str(free_port())
        self.env = {
            **self.infra.env,
            "RCM_KAFKA_BOOTSTRAP": self.settings.bootstrap,
            "RCM_ADMIN_DATABASE_URL": self.infra.admin_url,
            "RCM_DATABASE_NAME": self.settings.database_name,
            "RCM_TOPIC_PREFIX": self.settings.topic_prefix,
            "RCM_STATE_DIR": str(self.folder),
            "RCM_CLEARINGHOUSE_ROOT": str(self.settings.clearinghouse),
            "RCM_MAILCATCHER_SMTP_PORT": smtp,
            "RCM_NOTIFICATIONS_SMTP_PORT": smtp,
            "RCM_SANDBOX_PAYERS_FILE": str(payers_without_recoupment(self.folder)),
            **STACK_SETTINGS,
        }
        self.env.pop("RCM_FAULT", None)

    async def provision(self) -> None:
        await stack.wait_for_kafka(self.settings, timeout_s=120)
        await stack.wait_for_postgres(self.settings)
        await stack.provision_all(self.settings)

    def _spawn(self, name: str, fault: str | None, port: int, log_name: str) -> subprocess.Popen[bytes]:
        env = {**self.env, f"RCM_{name.upper()}_HTTP_PORT": str(port)}
        if fault:
            env["RCM_FAULT"] = fault
        (self.folder / "logs").mkdir(exist_ok=True)
        module = next(p.module for p in PROCESSES if p.name == name)
        with (self.folder / "logs" / f"{log_name}.log").open("ab") as log:  # the child keeps its own copy
            return subprocess.Popen([sys.executable, "-m", module], cwd=REPO, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def start(self, name: str, fault: str | None = None, instance: int = 0) -> None:
        key = stack.instance_name(name, instance)
        port = self.procs[key].port if key in self.procs else free_port()
        self.procs[key] = Proc(name, self._spawn(name, fault, port, key), fault, port, instance=instance)

    async def start_all(self, names: tuple[str, ...] | None = None) -> None:
        for p in PROCESSES:
            if names is None or p.name in names:
                for instance in range(self.instances if p.consumes else 1):
                    key = stack.instance_name(p.name, instance)
                    self.start(p.name, self.faults.pop(key, None), instance)
        for key in list(self.procs):
            await self.wait_ready(self.procs[key])
        self._supervisor = asyncio.create_task(self._supervise())

    async def wait_ready(self, proc: Proc, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=3) as client:
            while time.monotonic() < deadline:
                with suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{proc.port}/readyz")).status_code == 200:
                        return
                if proc.popen.poll() is not None and not proc.fault:
                    raise RuntimeError(f"{proc.key} exited during start-up: see {self.folder}/logs/{proc.key}.log")
                await asyncio.sleep(0.3)
        raise RuntimeError(f"{proc.key} was not ready in {timeout_s:.0f} s: see {self.folder}/logs/{proc.key}.log")

    async def _supervise(self) -> None:
        """Restart every supervised process that exited (killed, crashed at a fault point, or
        stopped by SIGTERM), with the fault its next start is given (none by default)."""
        while True:
            for key, proc in list(self.procs.items()):
                code = proc.popen.poll()
                if proc.supervised and code is not None:
                    fault = (proc.fault or "").partition("@")[0]
                    self.exits["crash point " + fault if fault and code == 137 else f"exit {code}"] += 1
                    if proc.fault and code != 137:
                        # Stopped before its crash point fired (killed again, or the start-up
                        # failed while the broker was down): the next start keeps it armed.
                        self.faults.setdefault(key, proc.fault)
                    self.restarts[key] += 1
                    self.start(proc.name, self.faults.pop(key, None), proc.instance)
            await asyncio.sleep(0.2)

    def signal(self, name: str, sig: signal.Signals) -> None:
        with suppress(ProcessLookupError):
            self.procs[name].popen.send_signal(sig)

    def join_extra(self, name: str) -> Proc:
        """An extra instance in the same consumer group: the group rebalances when it joins."""
        proc = Proc(name, self._spawn(name, None, free_port(), name), None, 0, supervised=False)
        self.extras.append(proc)
        return proc

    def leave_extra(self, proc: Proc) -> None:
        with suppress(ProcessLookupError):
            proc.popen.terminate()

    async def stop_all(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            with suppress(asyncio.CancelledError):
                await self._supervisor
        everything = [p.popen for p in self.procs.values()] + [p.popen for p in self.extras]
        for popen in everything:
            with suppress(ProcessLookupError):
                popen.terminate()
        for popen in everything:
            try:
                await asyncio.to_thread(popen.wait, 20)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()

    def rcm(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([RCM, *args], env=self.env, capture_output=True, text=True, timeout=600, check=False)

    def load_reference_data(self, payers: bool = True) -> None:
        loads = [["chargemaster", "load", "deploy/local/chargemaster.csv", "--reason", "chaos reference data"]]
        for args in loads + ([["payers", "load", "deploy/local/payers.yaml"]] if payers else []):
            result = subprocess.run([RCM, *args], env=self.env, cwd=REPO, capture_output=True, text=True,
                                    timeout=120, check=False)
            assert result.returncode == 0, result.stdout + result.stderr


# --- the workload -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    """One record an integration team sends: `kind` says what must become of it."""

    ref: str  # what identifies it in the end state: the envelope id, or the key of a broken one
    kind: str  # "intake" (posted or rejected by the service) or "broken" (dead-lettered)
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def workload(encounters: int, seed: int, today: date, broken: int) -> list[Input]:
    """The seeded clinic month of `rcm demo` (encounters, charges, closes; ~5% with a deliberate
    error that a rule rejects), a few charges with a misspelt field (rejected at the strict
    intake door) and a few records with no valid envelope (dead-lettered). Same seed, same list."""
    out: list[Input] = []
    for n, enc in enumerate(generate(encounters, seed, today=today)):
        for d in enc.events:
            event = d.event
            envelope = Envelope.new(source="chaos-ehr", type=event_type_of(event), subject=key_of(event),
                                    time=datetime.combine(today, datetime.min.time(), UTC))
            # Ids from the seed and the position: the fault-free run sends the very same records.
            envelope = envelope.model_copy(update={"id": UUID(int=seed * 10**9 + len(out))})
            value = encode(event)
            if n % 97 == 13 and d.event_type.endswith("ChargeSubmitted.v1"):
                body = json.loads(value)
                body["modifers"] = ["25"]  # an unknown field: the intake door rejects it, naming it
                value = json.dumps(body).encode()
            out.append(Input(str(envelope.id), "intake", spec_for_model(type(event)).topic, key_of(event).encode(),
                             value, envelope.to_headers()))
    for n in range(broken):
        key = f"CHAOS-BROKEN-{seed}-{n}"
        out.append(Input(key, "broken", "rcm.intake.charges.v1", key.encode(), b'{"not": "an envelope"',
                         [("content-type", b"application/json")]))
    return out


async def publish(settings: Settings, inputs: list[Input], pace_s: float = 0.0) -> int:
    """Send every input, in order, as an integration team would (idempotent producer, acks=all),
    in chunks spread over `pace_s` seconds so faults land while the workload flows. A chunk whose
    send failed (the broker was down) is sent again whole: a resend carries the same envelope ids,
    which the consumers' inboxes recognize. Returns the chunks resent."""
    chunk, resent = 100, 0
    started = time.monotonic()
    producer: AIOKafkaProducer | None = None
    i = 0
    while i < len(inputs):
        try:
            if producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, enable_idempotence=True,
                                            request_timeout_ms=15000)
                await producer.start()
            sends = [await producer.send(settings.topic(item.topic), item.value, key=item.key, headers=item.headers)
                     for item in inputs[i:i + chunk]]
            await asyncio.gather(*sends)
            i += chunk
        except (KafkaError, OSError, TimeoutError):
            resent += 1
            if producer is not None:
                with suppress(Exception):
                    await producer.stop()
                producer = None
            await asyncio.sleep(1)
            continue
        ahead = started + pace_s * min(i, len(inputs)) / len(inputs) - time.monotonic()
        if ahead > 0:
            await asyncio.sleep(ahead)
    if producer is not None:
        await producer.stop()
    return resent


# --- a run: the workload through a platform, to rest


async def run(platform: Platform, inputs: list[Input], pace_s: float,
              chaos: Callable[[float], Awaitable[Counter[str]]] | None) -> dict[str, Any]:
    await platform.provision()
    await platform.start_all()
    await asyncio.to_thread(platform.load_reference_data)
    started = time.monotonic()
    published: list[float] = []

    async def send() -> int:
        resent = await publish(platform.settings, inputs, pace_s)
        published.append(time.monotonic() - started)
        return resent

    jobs: list[Awaitable[Any]] = [send()]
    if chaos is not None:
        jobs.append(chaos(started))
    results = await asyncio.gather(*jobs)
    flowed = time.monotonic() - started
    settled = await settle(platform.settings, quiet_s=12, timeout_s=1800)
    return {"resent_chunks": results[0], "injected": results[1] if chaos else Counter(),
            "publish_s": round(published[0], 1), "flow_s": round(flowed, 1), "settle_s": round(settled, 1)}



# --- settling and reading the end state -----------------------------------------------------------


async def _fetch(settings: Settings, service: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(settings.admin_url, server_settings={"search_path": service}, timeout=10)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


async def _fingerprint(settings: Settings, services: tuple[str, ...]) -> tuple[Any, ...]:
    parts: list[Any] = []
    for service in services:
        rows = await _fetch(settings, service, "SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM outbox), "
                                               "(SELECT count(*) FROM outbox WHERE published_at IS NULL)")
        parts.append(tuple(rows[0]))
    if "claims" in services:
        parts.append(tuple(sorted((r[0], r[1]) for r in await _fetch(
            settings, "claims", "SELECT state, count(*) FROM claims GROUP BY state"))))
    parts.append(sorted(p.name for p in settings.clearinghouse.rglob("*") if p.is_file()))
    return tuple(parts)


async def settle(settings: Settings, quiet_s: float, timeout_s: float, services: tuple[str, ...] = SERVICES) -> float:
    """Wait for zero lag on every group, empty outboxes and nothing changing for `quiet_s`
    (timers and the sandbox's folders included). Returns the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout_s
    last: tuple[Any, ...] | None = None
    since = time.monotonic()
    while time.monotonic() < deadline:
        try:
            lags = [sum((await consumer_lag(settings, s)).values()) for s in services]
            fingerprint = await _fingerprint(settings, services)
        except (KafkaError, OSError, asyncpg.PostgresError, TimeoutError):
            last = None
            await asyncio.sleep(1)
            continue
        pending = sum(p[2] for p in fingerprint[:len(services)])
        if any(lags) or pending or fingerprint != last:
            last, since = fingerprint, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return time.monotonic() - started
        await asyncio.sleep(1)
    raise AssertionError(f"the platform did not settle in {timeout_s:.0f} s (lag or outbox rows left)")


async def dead_lettered(settings: Settings) -> dict[str, list[tuple[str, str, str]]]:
    """Every DLQ record of every service: what identifies its input (the envelope id, or the
    key of a record without one) -> the original (topic, partition, offset) of each copy."""
    seen: dict[str, list[tuple[str, str, str]]] = {}
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer._client.force_metadata_update()
        tps = [TopicPartition(settings.dlq_topic(s), p) for s in SERVICES
               for p in sorted(consumer.partitions_for_topic(settings.dlq_topic(s)) or ())]
        ends = await consumer.end_offsets(tps)
        remaining = {tp: end for tp, end in ends.items() if end > 0}
        consumer.assign(list(remaining))
        if remaining:
            await consumer.seek_to_beginning(*remaining)
        while remaining:
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    headers = list(record.headers or ())
                    ce_id = dict(headers).get("ce_id")
                    meta = dlq_metadata(headers)
                    origin = (meta.get("original_topic", ""), meta.get("original_partition", ""),
                              meta.get("original_offset", ""))
                    seen.setdefault(ce_id.decode() if ce_id else (record.key or b"").decode(), []).append(origin)
                    if record.offset + 1 >= remaining.get(tp, 0):
                        remaining.pop(tp, None)
    finally:
        await consumer.stop()
    return seen


@dataclass
class Accounting:
    inputs: int
    posted: int
    rejected: int
    dead_lettered: int
    dlq_redeliveries: int  # the same source record dead-lettered again after a crash (at-least-once DLQ)
    lost: list[str]
    duplicated: list[str]  # an input both applied and dead-lettered, or dead-lettered from two records

    def as_json(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "posted": self.posted, "rejected": self.rejected,
                "dead_lettered": self.dead_lettered, "dlq_redeliveries": self.dlq_redeliveries,
                "lost": len(self.lost), "duplicated": len(self.duplicated)}


async def account(settings: Settings, inputs: list[Input]) -> Accounting:
    """Every input exactly once: applied by charges (its inbox row, written in the transaction of
    its effects) or dead-lettered (a DLQ record); a rejection is an applied input whose outcome is
    a rejection (intake_keys). Lost: neither; duplicated: both, or two source records in the DLQ."""
    inbox = {str(r[0]) for r in await _fetch(settings, "charges", "SELECT event_id FROM inbox")}
    rejected_ids = {str(r[0]) for r in await _fetch(
        settings, "charges", "SELECT event_id FROM intake_keys WHERE outcome = 'rejected'")}
    dlq = await dead_lettered(settings)
    lost, duplicated = [], []
    posted = rejected = dead = redeliveries = 0
    for item in inputs:
        copies = dlq.get(item.ref, [])
        applied, origins = item.ref in inbox, len(set(copies))
        redeliveries += len(copies) - origins
        if not applied and not origins:
            lost.append(item.ref)
        elif applied + origins > 1:
            duplicated.append(item.ref)
        if origins:
            dead += 1
        elif applied:
            rejected += item.ref in rejected_ids
            posted += item.ref not in rejected_ids
    return Accounting(len(inputs), posted, rejected, dead, redeliveries, lost, duplicated)


async def source_ids(settings: Settings) -> dict[str, str]:
    """Our encounter id -> the sender's (ours are drawn at random, the sender's are the workload's)."""
    rows = await _fetch(settings, "charges", "SELECT encounter_id, source_encounter_id FROM encounter_ids")
    return {r[0]: r[1] for r in rows}


async def end_state(settings: Settings) -> dict[str, Any]:
    """What a fault-free run must equal, keyed by the sender's ids: charges and their ledger,
    claims, patient balances, the remits ledger."""
    source = await source_ids(settings)
    claim_enc = {r[0]: source.get(r[1], r[1]) for r in await _fetch(settings, "claims",
                                                                    "SELECT claim_id, encounter_id FROM claims")}

    def enc(e: str | None) -> str:
        return source.get(e or "", e or "")

    charges = sorted((enc(r[0]), r[1], str(r[2])) for r in await _fetch(
        settings, "charges", "SELECT c.encounter_id, c.idempotency_key, l.amount FROM ledger_entries l "
                             "JOIN charges c USING (charge_id)"))
    outcomes = sorted((r[0], r[1]) for r in await _fetch(
        settings, "charges", "SELECT idempotency_key, outcome FROM intake_keys"))
    claims = sorted((enc(r[0]), r[1], r[2], r[3], r[4], str(r[5]), str(r[6])) for r in await _fetch(
        settings, "claims", "SELECT encounter_id, payer_id, coverage_rank, frequency, state, total_charge, "
                            "total_paid FROM claims"))
    balances = sorted((enc(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in await _fetch(
        settings, "remits", "SELECT encounter_id, total, patient_paid, written_off FROM balances"))
    # The remits ledger, as sums: books journals restate an encounter's books toward their target
    # (how many steps depends on the order things arrived) and an 835 that came before its
    # ClaimSubmitted is booked to suspense, then matched: the rows differ with timing, their sums
    # per account do not. Per encounter without payer cash and suspense: an 835 booked to suspense
    # keeps its cash on the suspense journal (no encounter), and the match clears the suspense
    # on the encounter's side; across the books both net as in the fault-free run.
    by_account: defaultdict[tuple[str, str], Decimal] = defaultdict(Decimal)
    by_encounter: defaultdict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    sql = "SELECT encounter_id, claim_id, account, code, amount FROM ledger_entries"
    for r in await _fetch(settings, "remits", sql):
        by_account[(r[2], r[3])] += r[4]
        if r[2] not in ("payer_cash", "unmatched_suspense"):
            by_encounter[(enc(r[0]) if r[0] else claim_enc.get(r[1] or "", ""), r[2], r[3])] += r[4]
    return {"charge_ledger": charges, "charge_outcomes": outcomes, "claims": claims, "balances": balances,
            "remits_ledger_by_account": sorted((*k, str(v)) for k, v in by_account.items() if v),
            "remits_ledger_by_encounter": sorted((*k, str(v)) for k, v in by_encounter.items() if v)}


def account_cards(platform: Platform) -> list[dict[str, Any]]:
    result = platform.rcm("report", "accounts", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    return list(json.loads(result.stdout))


def normalized_cards(cards: list[dict[str, Any]], sources: dict[str, str]) -> list[dict[str, Any]]:
    """Account cards keyed by the sender's encounter id, without the ids we draw at random."""
    out = []
    for raw in cards:
        card = {**raw, "encounter_id": sources.get(raw["encounter_id"], raw["encounter_id"]),
                "claims": sorted((c["payer_id"], c["rank"]) for c in raw["claims"])}
        card.pop("patient_account_id")
        out.append(card)
    return sorted(out, key=lambda c: str(c["encounter_id"]))


def differences(expected: dict[str, Any], got: dict[str, Any]) -> dict[str, Any]:
    """Per section, what only one run has (first few), for a readable failure."""
    out: dict[str, Any] = {}
    for section, rows in expected.items():
        want = Counter(json.dumps(x, sort_keys=True, default=str) for x in rows)
        have = Counter(json.dumps(x, sort_keys=True, default=str) for x in got[section])
        if want != have:
            out[section] = {"missing": list((want - have).elements())[:5], "extra": list((have - want).elements())[:5],
                            "expected_rows": sum(want.values()), "rows": sum(have.values())}
    return out


async def notification_counts(settings: Settings) -> list[tuple[str, str, str, int]]:
    """Notifications by (kind, template, state), and the staff alerts: how many digests gathered
    them depends on when each digest pass ran, so digests count as the alerts they hold."""
    rows = await _fetch(settings, "notifications", "SELECT kind, template, state, count(*) FROM notifications"
                                                   " WHERE kind <> 'digest' GROUP BY 1, 2, 3")
    alerts = await _fetch(settings, "notifications", "SELECT event_type, count(*) FROM staff_alerts GROUP BY 1")
    return sorted([(r[0], r[1], r[2], int(r[3])) for r in rows] + [("alert", r[0], "", int(r[1])) for r in alerts])


async def received(proc: Proc) -> float:
    """Records this process's consumer took from Kafka (its /metrics): 0 for one that got no partition."""
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"http://127.0.0.1:{proc.port}/metrics")).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("faststream_received_messages_total{"))


async def books(platform: Platform) -> dict[str, Any]:
    """The end state (end_state) and the account cards, keyed by the sender's ids: what two runs
    of the same workload must agree on."""
    state = await end_state(platform.settings)
    state["account_cards"] = normalized_cards(await asyncio.to_thread(account_cards, platform),
                                              await source_ids(platform.settings))
    return state
