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
from services.chassis.topics import TopicsError, consumer_lag, ensure_topics, kafka_roundtrip

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
    try:
        # The same planner as `rcm topics apply`: created, raised, altered; drift stops here.
        await ensure_topics(settings)
    except TopicsError as exc:
        raise StackError(f"topics: {exc} (`rcm topics describe` shows them)") from exc
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


INSTANCE_PORT_STEP = 10
"""Instance k of a service listens on its base port + 10*k, HTTP and MLLP alike (docs/scaling.md)."""


def instance_name(service: str, instance: int = 0) -> str:
    """How files and `rcm status` name an instance: `claims`, `claims-1`, `claims-2`."""
    return service if instance == 0 else f"{service}-{instance}"


def _pidfile(settings: Settings, service: str, instance: int = 0) -> Path:
    return settings.state_dir / "run" / f"{instance_name(service, instance)}.pid"


def running_instances(settings: Settings, service: str) -> list[int]:
    """Instance 0 and every further instance with a pid file (whether it still runs or not)."""
    found = {int(n) for p in (settings.state_dir / "run").glob(f"{service}-*.pid")
             if (n := p.stem.removeprefix(f"{service}-")).isdigit()}
    return [0, *sorted(found - {0})]


def service_pid(settings: Settings, service: str, instance: int = 0) -> int | None:
    path = _pidfile(settings, service, instance)
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


def http_port(service: str, instance: int = 0) -> int:
    return int(os.environ.get(f"RCM_{service.upper()}_HTTP_PORT", ports.HTTP[service])) + INSTANCE_PORT_STEP * instance


def instance_env(service: str, instance: int) -> dict[str, str]:
    """The listening ports of instance `instance` of `service`: its base ports + 10*instance. A
    port of 0 (any free port) stays 0."""
    if instance == 0:
        return {}
    env = {f"RCM_{service.upper()}_HTTP_PORT": str(http_port(service, instance))}
    if service == "charges":
        mllp = int(os.environ.get("RCM_CHARGES_MLLP_PORT", ports.CHARGES_MLLP))
        env["RCM_CHARGES_MLLP_PORT"] = str(mllp and mllp + INSTANCE_PORT_STEP * instance)
    return env


def start_service(settings: Settings, service: str, env: dict[str, str] | None = None, instance: int = 0) -> int:
    """Start instance `instance` of `service` as its own process (instance 0 is the one `rcm up`
    always starts; a further one joins the same consumer group on its own ports, pid file and
    log); `env` adds variables (its Kafka principal under --secure)."""
    if instance and not any(p.name == service and p.consumes for p in PROCESSES):
        raise StackError(f"{service} runs as one instance only")
    existing = service_pid(settings, service, instance)
    if existing:
        return existing
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    _pidfile(settings, service, instance).parent.mkdir(parents=True, exist_ok=True)
    log = (settings.logs_dir / f"{instance_name(service, instance)}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", _module(service)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
        env={**os.environ, "RCM_STATE_DIR": str(settings.state_dir), **instance_env(service, instance), **(env or {})},
        start_new_session=True,
    )
    _pidfile(settings, service, instance).write_text(str(proc.pid))
    return proc.pid


def stop_service(settings: Settings, service: str, timeout_s: float = 20, instance: int = 0) -> bool:
    pid = service_pid(settings, service, instance)
    if pid is None:
        _pidfile(settings, service, instance).unlink(missing_ok=True)
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
    _pidfile(settings, service, instance).unlink(missing_ok=True)
    return True


def service_url(service: str, instance: int = 0) -> str:
    return f"http://127.0.0.1:{http_port(service, instance)}"


async def readiness(service: str, instance: int = 0) -> dict[str, object] | None:
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            response = await client.get(f"{service_url(service, instance)}/readyz")
            body: dict[str, object] = response.json()
            body["http_status"] = response.status_code
            return body
    except (httpx.HTTPError, ValueError):
        return None


async def wait_ready(settings: Settings, service: str, timeout_s: float = 90, instance: int = 0) -> None:
    name = instance_name(service, instance)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = await readiness(service, instance)
        if state and state.get("http_status") == 200:
            return
        if service_pid(settings, service, instance) is None:
            raise StackError(f"{name} exited during start-up: see `rcm logs {name}`")
        await asyncio.sleep(0.5)
    raise StackError(f"{name} did not become ready in {timeout_s:.0f} s: see `rcm logs {name}`")


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
        instances = running_instances(settings, service) if process.consumes else [0]
        for instance in instances:
            state = await readiness(service, instance)
            healthy = bool(state and state.get("http_status") == 200)
            detail = "not running" if state is None else ("ready" if healthy else "not ready")
            if len(instances) > 1 and state and state.get("relay_leader"):
                detail += ", outbox relay leader"
            if state and state.get("outbox_held"):
                # Its other events flow, but an aggregate waits for an operator: not healthy.
                healthy = False
                detail += f", {state['outbox_held']} outbox rows held (`rcm outbox list`)"
            # The group's lag is one figure for all its instances: shown once, on instance 0.
            if kafka_ok and state is not None and process.consumes and instance == 0:
                try:
                    lag = await asyncio.wait_for(consumer_lag(settings, service), 15)
                    detail += f", lag {sum(lag.values())}"
                except Exception as exc:
                    detail += f", lag unknown ({type(exc).__name__})"
            out.append(ComponentStatus(instance_name(service, instance), healthy, detail))
    out.append(code_set_status(settings, date.today()))
    return out


