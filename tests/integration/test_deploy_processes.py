"""What the container image runs, as separate processes against real Kafka and Postgres:
`rcm serve` (ready, then a graceful stop on SIGTERM) and `rcm migrate` as the migration Job runs
it (from an empty cluster, two pods at once, then again)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from devstack import provision
from services.chassis.settings import SERVICES, Settings
from tests.integration.test_notifications_helpers import free_port
from tests.support import infra as infra_support

pytestmark = pytest.mark.integration

RCM = str(Path(sys.executable).with_name("rcm"))


def _platform_env(settings: Settings, state_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCM_")}
    env.update(
        RCM_KAFKA_BOOTSTRAP=settings.bootstrap,
        RCM_ADMIN_DATABASE_URL=settings.admin_url,
        RCM_DATABASE_NAME=settings.database_name,
        RCM_TOPIC_PREFIX=settings.topic_prefix,
        RCM_CLEARINGHOUSE_ROOT=str(settings.clearinghouse),
        RCM_STATE_DIR=str(state_dir),
        RCM_CODESETS_DIR=str(state_dir / "codesets"),
        RCM_CHARGES_MLLP_PORT="0",
    )
    return env


@pytest.mark.parametrize("process", ["notifications", "sandbox", "mailcatcher"])
def test_rcm_serve_is_ready_then_stops_on_sigterm_with_exit_0(
    platform: Settings, tmp_path: Path, process: str
) -> None:
    port = free_port()
    env = _platform_env(platform, tmp_path / "state")
    env[f"RCM_{process.upper()}_HTTP_PORT"] = str(port)
    env["RCM_MAILCATCHER_SMTP_PORT"] = str(free_port())
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([RCM, "serve", process], env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"rcm serve {process} ended early:\n{(tmp_path / 'serve.log').read_text()}"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.2)
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        took = time.monotonic() - stopped_at
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert code == 0, f"exit {code} after SIGTERM:\n{output[-3000:]}"
    assert took < 15, f"{took:.1f}s to stop"
    assert "Traceback" not in output, output[-3000:]


# --- the migration Job ------------------------------------------------------------------------


@pytest.fixture
async def empty_cluster(infra: infra_support.Infra) -> AsyncIterator[tuple[Settings, dict[str, str]]]:
    """Settings of a database that does not exist yet, and login roles of this test only (roles are
    shared by every database of the cluster: the usual rcm_<service> ones must keep their
    passwords), with passwords the migration Job only knows from the services' URLs."""
    settings = infra_support.isolated_settings(infra)
    tag = uuid.uuid4().hex[:8]
    base = settings.admin_url.split("@", 1)[1]
    urls: dict[str, str] = {s: f"postgresql://rcm_t{tag}_{s}:pw-{tag}-{s}@{base}" for s in SERVICES}
    yield settings, urls
    await infra_support.teardown_isolated(settings)
    conn = await asyncpg.connect(settings.admin_maintenance_url)
    try:
        for service in SERVICES:
            await conn.execute(f'DROP ROLE IF EXISTS "rcm_t{tag}_{service}"')
    finally:
        await conn.close()


async def test_the_migration_job_works_from_nothing_twice_at_once_and_again(
    empty_cluster: tuple[Settings, dict[str, str]], tmp_path: Path
) -> None:
    settings, urls = empty_cluster
    env = _platform_env(settings, tmp_path / "state")
    env.update({f"RCM_{s.upper()}_DATABASE_URL": url for s, url in urls.items()})

    async def run(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(RCM, "migrate", *args, env=env, stdout=subprocess.PIPE,
                                                    stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        return proc.returncode or 0, out.decode(), err.decode()

    first, second = await asyncio.gather(run("--json"), run("--json"))
    assert (first[0], second[0]) == (0, 0), (first, second)
    applied = [name for r in (first, second) for item in json.loads(r[1])["services"]
               for name in (f"{item['service']}:{n}" for n in item["applied"])]
    third = await run()
    assert third[0] == 0, third
    assert third[1].count("0 migration(s) applied") == len(SERVICES), third[1]

    # Each migration ran exactly once across the two concurrent runners, and the record agrees.
    conn = await asyncpg.connect(settings.admin_url)
    try:
        recorded: list[str] = []
        for service in SERVICES:
            rows = await conn.fetch(f"SELECT name FROM {service}.schema_migrations")
            recorded += [f"{service}:{r['name']}" for r in rows]
    finally:
        await conn.close()
    assert recorded and len(recorded) == len(set(recorded))
    assert sorted(applied) == sorted(recorded)

    # Each service can log in with the password of its URL and sees its own schema only.
    for schema, url in urls.items():
        login = await asyncpg.connect(url)
        try:
            assert await login.fetchval("SELECT count(*) FROM schema_migrations") > 0
            assert await login.fetchval("SELECT current_schema()") == schema
        finally:
            await login.close()


async def test_provisioning_twice_at_once_does_not_collide(infra: infra_support.Infra) -> None:
    """Two runners creating the same database and roles together (the race the Job's pods run)."""
    settings = infra_support.isolated_settings(infra)
    try:
        await asyncio.gather(provision.ensure_database(settings), provision.ensure_database(settings))
        await asyncio.gather(*(provision.ensure_roles_and_schemas(settings) for _ in range(3)))
        conn = await asyncpg.connect(settings.admin_url)
        try:
            schemas = {r["nspname"] for r in await conn.fetch("SELECT nspname FROM pg_namespace")}
        finally:
            await conn.close()
        assert set(SERVICES) <= schemas
    finally:
        await infra_support.teardown_isolated(settings)
