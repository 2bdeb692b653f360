"""A platform of the bench's own on the running stack's Kafka and Postgres: a fresh topic prefix,
database and state folder per measurement, and the processes `rcm up` runs (devstack/stack.py's
start_service), on free ports, started and stopped one by one as a measurement needs.

The running stack's own services are not touched: they read the unprefixed topics and database.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import asyncpg
import httpx

from devstack import provision, stack
from services.chassis.settings import SERVICES, Settings
from services.chassis.topics import consumer_lag, delete_prefixed_topics, kafka_roundtrip

REPO = Path(__file__).resolve().parents[1]
RCM = str(Path(sys.executable).with_name("rcm"))
REFERENCE_DATA = (
    ("chargemaster", "load", "deploy/local/chargemaster.csv", "--reason", "bench reference data"),
    ("payers", "load", "deploy/local/payers.yaml"),
)
# Every poll as short as the e2e tests have it, so a figure measures the work, not a timer.
FAST_POLLS = {
    "RCM_LOG_LEVEL": "WARNING",
    "RCM_CHARGES_MLLP_PORT": "0",
    "RCM_CLAIMS_SUBMIT_INTERVAL_S": "0.5",
    "RCM_CLAIMS_ACKS_INTERVAL_S": "0.5",
    "RCM_REMITS_POLL_INTERVAL_S": "0.25",
    "RCM_NOTIFICATIONS_SEND_POLL_INTERVAL_S": "0.25",
    "RCM_OUTBOX_POLL_INTERVAL_S": "0.3",
}
# The sandbox answers at once: acknowledgments and 835s as soon as it sees a submission.
SANDBOX_AT_ONCE = {"RCM_SANDBOX_ACK_DELAY_S": "0", "RCM_SANDBOX_REMIT_DELAY_S": "0", "RCM_SANDBOX_POLL_S": "0.2"}


class NotUp(RuntimeError):
    """The stack `rcm bench` measures against is not running."""


async def check_up(settings: Settings) -> str:
    """Kafka and Postgres of the running stack answer; returns Postgres' server version."""
    try:
        await asyncio.wait_for(kafka_roundtrip(settings), 20)
    except Exception as exc:
        raise NotUp(f"Kafka at {settings.bootstrap} does not answer ({type(exc).__name__}): start the stack "
                    "with `rcm up` (same RCM_ settings)") from exc
    try:
        conn = await asyncpg.connect(settings.admin_maintenance_url, timeout=5)
    except Exception as exc:
        raise NotUp(f"Postgres does not answer ({type(exc).__name__}): start the stack with `rcm up` "
                    "(same RCM_ settings)") from exc
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class BenchPlatform:
    base: Settings
    label: str
    tuning: dict[str, str] = field(default_factory=dict)
    settings: Settings = field(init=False)
    env: dict[str, str] = field(init=False)
    ports: dict[str, int] = field(init=False)
    started: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        tag = f"{self.label}{uuid4().hex[:8]}"
        folder = Path(tempfile.mkdtemp(prefix=f"rcm-bench-{tag}-"))
        self.settings = self.base.model_copy(update={
            "topic_prefix": f"bench{tag}.", "database_name": f"rcm_bench{tag}", "state_dir": folder,
            "clearinghouse_root": folder / "clearinghouse"})
        self.ports = {p.name: free_port() for p in stack.PROCESSES}
        smtp = str(free_port())
        self.env = {
            "RCM_TOPIC_PREFIX": self.settings.topic_prefix, "RCM_DATABASE_NAME": self.settings.database_name,
            "RCM_STATE_DIR": str(folder), "RCM_CLEARINGHOUSE_ROOT": str(self.settings.clearinghouse),
            "RCM_MAILCATCHER_SMTP_PORT": smtp, "RCM_NOTIFICATIONS_SMTP_PORT": smtp,
            **{f"RCM_{name.upper()}_HTTP_PORT": str(port) for name, port in self.ports.items()},
            **FAST_POLLS, **self.tuning,
        }

    async def provision(self) -> None:
        await stack.provision_all(self.settings)
        for args in (("migrate",), *REFERENCE_DATA):
            await asyncio.to_thread(self._rcm, *args)

    def _rcm(self, *args: str) -> None:
        result = subprocess.run([RCM, *args], env={**os.environ, **self.env}, cwd=REPO, capture_output=True,
                                text=True, timeout=300, check=False)
        if result.returncode != 0:
            raise stack.StackError(f"`rcm {' '.join(args[:2])}` failed: {result.stderr.strip()[-300:]}")

    async def start(self, *names: str) -> None:
        for name in names:
            stack.start_service(self.settings, name, self.env)
            self.started.append(name)
        for name in names:
            await self.wait_ready(name)

    async def wait_ready(self, name: str, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=3) as client:
            while time.monotonic() < deadline:
                with suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{self.ports[name]}/readyz")).status_code == 200:
                        return
                if stack.service_pid(self.settings, name) is None:
                    raise stack.StackError(f"{name} exited during start-up: see {self.settings.logs_dir}/{name}.log")
                await asyncio.sleep(0.3)
        raise stack.StackError(f"{name} was not ready in {timeout_s:.0f} s: see {self.settings.logs_dir}/{name}.log")

    async def lag(self, service: str) -> int:
        return sum((await consumer_lag(self.settings, service)).values())

    async def fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.settings.admin_url, timeout=10)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def inbox(self, service: str) -> list[asyncpg.Record]:
        """(event_id, received_at) of every event the service applied: the inbox row is written in
        the transaction of the event's effects, so received_at is when that transaction began."""
        return await self.fetch(f"SELECT event_id, received_at FROM {service}.inbox")

    async def unpublished(self, service: str) -> tuple[int, int]:
        """(outbox rows not yet published, all outbox rows) of a service."""
        sql = f"SELECT count(*) FILTER (WHERE published_at IS NULL), count(*) FROM {service}.outbox"
        row = (await self.fetch(sql))[0]
        return int(row[0]), int(row[1])

    async def signature(self, services: tuple[str, ...]) -> tuple[int, ...]:
        """What moves while the services work: each one's lag, unpublished and total outbox rows
        and inbox rows, and the files in the clearinghouse folders."""
        lags = [await self.lag(s) for s in services]
        outboxes = [await self.unpublished(s) for s in services]
        inboxes = [len(await self.fetch(f"SELECT 1 FROM {s}.inbox")) for s in services]
        files = sum(1 for p in self.settings.clearinghouse.rglob("*") if p.is_file())
        return (*lags, *(o[0] for o in outboxes), *(o[1] for o in outboxes), *inboxes, files)

    async def settle(self, services: tuple[str, ...], quiet_s: float = 3.0, timeout_s: float = 900) -> None:
        """Until every listed service has read everything (lag 0), published its outbox and nothing
        moved for `quiet_s` (its timers, such as claims' submissions, included)."""
        deadline = time.monotonic() + timeout_s
        last: tuple[int, ...] | None = None
        since = time.monotonic()
        while time.monotonic() < deadline:
            now = await self.signature(services)
            busy = any(now[:2 * len(services)])  # a lag or an unpublished outbox row
            if busy or now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return
            await asyncio.sleep(0.5)
        raise stack.StackError(f"{', '.join(services)} did not settle in {timeout_s:.0f} s")

    async def close(self) -> None:
        for name in reversed(self.started):
            await asyncio.to_thread(stack.stop_service, self.settings, name)
        with suppress(Exception):
            await provision.drop_database(self.settings)
        with suppress(Exception):
            await asyncio.wait_for(delete_prefixed_topics(self.settings), 60)
        shutil.rmtree(self.settings.state_dir, ignore_errors=True)


ALL_SERVICES: tuple[str, ...] = SERVICES
