"""Bringing the platform up and down on one machine: infrastructure, provisioning, services.

Used by `rcm up|down|status` and by the test harness, so both exercise the same path.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import asyncpg
import httpx

from devstack import provision
from services.chassis import ports
from services.chassis.clearinghouse import FolderClearinghouse
from services.chassis.icd10cm import fiscal_year, read_editions
from services.chassis.settings import SERVICES, Settings
from services.chassis.topics import consumer_lag, ensure_topics, kafka_roundtrip

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "deploy" / "local"


class StackError(RuntimeError):
    pass


def _script(name: str, action: str, settings: Settings, *, secure: bool = False) -> None:
    env = {**os.environ, "RCM_STATE_DIR": str(settings.state_dir), "RCM_CACHE_DIR": str(settings.cache_dir),
           "RCM_LOCAL_KAFKA_PORT": str(settings.local_kafka_port),
           "RCM_LOCAL_KAFKA_CONTROLLER_PORT": str(settings.local_kafka_controller_port),
           "RCM_LOCAL_POSTGRES_PORT": str(settings.local_postgres_port),
           "RCM_LOCAL_KAFKA_SECURE": "1" if secure else "0"}
    result = subprocess.run(
        ["bash", str(LOCAL / f"{name}.sh"), action], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise StackError(f"{name} {action} failed: {result.stderr.strip().splitlines()[-1:] or result.returncode}")


def start_local_kafka(settings: Settings, *, secure: bool = False) -> bool:
    """Start the local broker unless the user pointed us at one; True when it is local.

    `secure`: the SASL_SSL broker of `rcm up --secure` (devstack/secure_kafka.prepare first)."""
    if settings.kafka_bootstrap:
        if secure:
            raise StackError("--secure runs the local Kafka; for your own cluster set RCM_KAFKA_SECURITY_PROTOCOL,"
                             " RCM_KAFKA_USERNAME, RCM_KAFKA_PASSWORD and RCM_KAFKA_CA_FILE instead")
        return False
    _script("kafka", "start", settings, secure=secure)
    return True


def stop_local_kafka(settings: Settings, *, secure: bool = False) -> None:
    _script("kafka", "stop", settings, secure=secure)


def start_local_postgres(settings: Settings) -> bool:
    if settings.admin_database_url:
        return False
    _script("postgres", "start", settings)
    return True


def stop_local_infrastructure(settings: Settings) -> None:
    if not settings.kafka_bootstrap:
        # Whichever runs: the plain broker or the secure one (each stop is a no-op when stopped).
        _script("kafka", "stop", settings, secure=True)
        _script("kafka", "stop", settings)
    if not settings.admin_database_url:
        _script("postgres", "stop", settings)


async def wait_for_kafka(settings: Settings, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await asyncio.wait_for(kafka_roundtrip(settings), 30)
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise StackError(f"kafka at {settings.bootstrap} is not ready: {type(exc).__name__}") from exc
            await asyncio.sleep(1)


async def wait_for_postgres(settings: Settings, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            conn = await asyncpg.connect(settings.admin_maintenance_url, timeout=5)
            await conn.close()
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise StackError(f"postgres is not ready: {type(exc).__name__}") from exc
            await asyncio.sleep(0.5)


async def provision_all(settings: Settings) -> None:
    await provision.ensure_database(settings)
    await provision.ensure_roles_and_schemas(settings)
    await ensure_topics(settings)
    FolderClearinghouse(settings.clearinghouse).ensure_layout()


# --- service processes -------------------------------------------------------------------


@dataclass(frozen=True)
class Process:
    """A process `rcm up` runs: `python -m <module>`, ready when GET <http port>/readyz is 200."""

    name: str
    module: str
    consumes: bool  # has a consumer group whose lag `rcm status` shows


PROCESSES: tuple[Process, ...] = (
    *(Process(s, f"services.{s}", consumes=True) for s in SERVICES),
    Process("mailcatcher", "devstack.mailcatcher", consumes=False),
    Process("sandbox", "sandbox", consumes=False),
)


def _pidfile(settings: Settings, service: str) -> Path:
    return settings.state_dir / "run" / f"{service}.pid"


def service_pid(settings: Settings, service: str) -> int | None:
    path = _pidfile(settings, service)
    try:
        pid = int(path.read_text())
        os.kill(pid, 0)
        # A child that exited but was not reaped yet still answers kill(0): check its state.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return None if state in ("Z", "X") else pid
    except (OSError, ValueError, IndexError):
        return None


def _module(name: str) -> str:
    return next(p.module for p in PROCESSES if p.name == name)


def start_service(settings: Settings, service: str, env: dict[str, str] | None = None) -> int:
    """Start `service` as its own process; `env` adds variables (its Kafka principal under --secure)."""
    existing = service_pid(settings, service)
    if existing:
        return existing
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    _pidfile(settings, service).parent.mkdir(parents=True, exist_ok=True)
    log = (settings.logs_dir / f"{service}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", _module(service)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        env={**os.environ, "RCM_STATE_DIR": str(settings.state_dir), **(env or {})},
        start_new_session=True,
    )
    _pidfile(settings, service).write_text(str(proc.pid))
    return proc.pid


def stop_service(settings: Settings, service: str, timeout_s: float = 20) -> bool:
    pid = service_pid(settings, service)
    if pid is None:
        _pidfile(settings, service).unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    _pidfile(settings, service).unlink(missing_ok=True)
    return True


def service_url(service: str) -> str:
    port = int(os.environ.get(f"RCM_{service.upper()}_HTTP_PORT", ports.HTTP[service]))
    return f"http://127.0.0.1:{port}"


async def readiness(service: str) -> dict[str, object] | None:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            response = await client.get(f"{service_url(service)}/readyz")
            body: dict[str, object] = response.json()
            body["http_status"] = response.status_code
            return body
    except (httpx.HTTPError, ValueError):
        return None


async def wait_ready(settings: Settings, service: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = await readiness(service)
        if state and state.get("http_status") == 200:
            return
        if service_pid(settings, service) is None:
            raise StackError(f"{service} exited during start-up: see `rcm logs {service}`")
        await asyncio.sleep(0.5)
    raise StackError(f"{service} did not become ready in {timeout_s:.0f} s: see `rcm logs {service}`")


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    healthy: bool
    detail: str
    warning: str | None = None
    """Something the operator must act on that does not make the component unhealthy."""


def code_set_status(settings: Settings, today: date) -> ComponentStatus:
    """The newest ICD-10-CM edition the services judge diagnoses with; a warning once today is past
    it (dates of service after it are judged with it, and the charges say ICD10_EDITION_STALE)."""
    newest = read_editions(settings.codesets_path).newest
    detail = f"newest {newest.name} ({newest.source}), valid through {newest.valid_through.isoformat()}"
    if today > newest.valid_through:
        return ComponentStatus("icd10cm", True, detail, f"today is past {newest.name}: load the "
                               f"FY{fiscal_year(today)} code file with `rcm codesets load icd10cm FILE`")
    return ComponentStatus("icd10cm", True, detail)


async def status(settings: Settings) -> list[ComponentStatus]:
    out: list[ComponentStatus] = []
    try:
        await asyncio.wait_for(kafka_roundtrip(settings), 20)
        out.append(ComponentStatus("kafka", True, settings.bootstrap))
    except Exception as exc:
        out.append(ComponentStatus("kafka", False, f"{settings.bootstrap}: {type(exc).__name__}"))
    try:
        conn = await asyncpg.connect(settings.admin_url, timeout=5)
        await conn.close()
        out.append(ComponentStatus("postgres", True, "database " + settings.database_name))
    except Exception as exc:
        out.append(ComponentStatus("postgres", False, type(exc).__name__))
    kafka_ok = out[0].healthy
    for process in PROCESSES:
        service = process.name
        state = await readiness(service)
        healthy = bool(state and state.get("http_status") == 200)
        detail = "not running" if state is None else ("ready" if healthy else "not ready")
        if state and state.get("outbox_held"):
            # Its other events flow, but an aggregate waits for an operator: not healthy.
            healthy = False
            detail += f", {state['outbox_held']} outbox rows held (`rcm outbox list`)"
        if kafka_ok and state is not None and process.consumes:
            try:
                lag = await asyncio.wait_for(consumer_lag(settings, service), 15)
                detail += f", lag {sum(lag.values())}"
            except Exception as exc:
                detail += f", lag unknown ({type(exc).__name__})"
        out.append(ComponentStatus(service, healthy, detail))
    out.append(code_set_status(settings, date.today()))
    return out


