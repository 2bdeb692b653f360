"""The Postgres server log never holds a row's values (issue 16 item 4).

On a Postgres of this module's own (`deploy/local/postgres.sh` with its own state folder and a
free port; the shared one is never reconfigured or restarted): the script's logging settings
reach a cluster made before them, on start and on a running cluster by a reload; then a unique
violation and a check violation with canary values, provoked through the chassis consumer (the
path every service's handlers run on), leave the constraint's name in the server log but no
value, and no value in the dead letters' reasons, our logs or the spans either.

Before the fix the server log held `DETAIL:  Key (payment_id)=(...) already exists.` and
`DETAIL:  Failing row contains (...)`; the negative control below shows it still would with
Postgres's default verbosity."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from devstack import stack
from schemas.dlq import DeadLetterInfo
from services.chassis.consumer import HandlerContext
from services.chassis.runtime import ServiceDefinition
from services.chassis.settings import Settings
from services.chassis.telemetry import RedactingExporter
from tests.support import infra as infra_support
from tests.support import testsvc
from tests.support.kafka_io import count, eventually, publish, read_topic
from tests.support.runtimes import running

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "local" / "postgres.sh"
CANARY = "ZEBEDIAHQUUX-555123456"  # id-shaped, so the contract lets it into a row
CONF = "10-revcycle-logging.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class OwnPostgres:
    state: Path
    port: int

    @property
    def data(self) -> Path:
        return self.state / "postgres" / "data"

    @property
    def log(self) -> Path:
        return self.state / "postgres" / "postgres.log"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres:postgres-local@127.0.0.1:{self.port}/postgres"

    def script(self, command: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "RCM_STATE_DIR": str(self.state), "RCM_LOCAL_POSTGRES_PORT": str(self.port)}
        result = subprocess.run(["bash", str(SCRIPT), command], env=env, capture_output=True, text=True,
                                timeout=180, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def forget_logging_conf(self) -> None:
        """Make the cluster look like one initialized before the logging settings existed."""
        conf = self.data / "postgresql.conf"
        conf.write_text("".join(line for line in conf.read_text().splitlines(keepends=True)
                                if not line.startswith("include_dir = 'conf.d'")))
        (self.data / "conf.d" / CONF).unlink()

    async def show(self, setting: str) -> str:
        conn = await asyncpg.connect(self.admin_url)
        try:
            return str(await conn.fetchval(f"SHOW {setting}"))
        finally:
            await conn.close()


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    # Under /var/tmp, not pytest's tmp_path: the postgres user must reach the data folder.
    state = Path(tempfile.mkdtemp(prefix="rcm-phi-pg-", dir="/var/tmp"))
    state.chmod(0o755)
    pg = OwnPostgres(state, free_port())
    try:
        pg.script("start")
        yield pg
    finally:
        pg.script("stop")
        shutil.rmtree(state, ignore_errors=True)


async def test_the_logging_settings_reach_an_existing_cluster_on_start_and_while_it_runs(
    own_postgres: OwnPostgres,
) -> None:
    pg = own_postgres
    assert await pg.show("log_error_verbosity") == "terse"
    # A cluster from before: stopped, started again by the script.
    pg.script("stop")
    pg.forget_logging_conf()
    pg.script("start")
    assert await pg.show("log_error_verbosity") == "terse"
    assert await pg.show("log_min_error_statement") == "panic"
    assert await pg.show("log_parameter_max_length") == "0"
    assert await pg.show("log_parameter_max_length_on_error") == "0"
    # Running while the script is run again (`rcm up` on a live stack): a reload, no restart.
    pg.forget_logging_conf()
    conn = await asyncpg.connect(pg.admin_url)
    try:
        postmaster = await conn.fetchval("SELECT pg_postmaster_start_time()")
    finally:
        await conn.close()
    again = pg.script("start")
    assert "reloaded" in again.stderr and "already running" in again.stderr
    conn = await asyncpg.connect(pg.admin_url)
    try:
        assert await conn.fetchval("SELECT pg_postmaster_start_time()") == postmaster
        assert await conn.fetchval("SHOW log_error_verbosity") == "terse"
    finally:
        await conn.close()
    # And a start with nothing to change does not reload.
    assert "reloaded" not in pg.script("start").stderr


async def on_payment(ctx: HandlerContext, event: Any) -> None:
    await ctx.conn.execute("INSERT INTO test_phi_rows (payment_id, reference) VALUES ($1, $2)",
                           event.source_payment_id, event.reference)


@pytest.fixture(scope="module")
async def platform_on_own_postgres(own_postgres: OwnPostgres, infra: infra_support.Infra) -> AsyncIterator[Settings]:
    tag = uuid.uuid4().hex[:10]
    settings = Settings(kafka_bootstrap=infra.kafka_bootstrap, admin_database_url=own_postgres.admin_url,
                        topic_prefix=f"t{tag}.", database_name=f"rcm_t{tag}", retry_base_delay_s=0.05,
                        retry_max_delay_s=0.2, outbox_poll_interval_s=0.5)
    await stack.wait_for_postgres(settings)
    await stack.provision_all(settings)
    yield settings
    await infra_support.teardown_isolated(settings)


def payment(payment_id: str, reference: str) -> Any:
    return testsvc.example(testsvc.PAYMENT_RECEIVED, source_payment_id=payment_id,
                           idempotency_key=f"portal:{payment_id}", reference=reference)


async def test_constraint_errors_reach_the_server_log_without_values(
    own_postgres: OwnPostgres, platform_on_own_postgres: Settings, caplog: pytest.LogCaptureFixture,
) -> None:
    platform = platform_on_own_postgres
    for name in ("services", "rcm", "faststream", "asyncpg"):
        caplog.set_level(logging.DEBUG, logger=name)
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(RedactingExporter(spans)))  # as the services export
    definition = ServiceDefinition(name="remits", migrations=REPO / "tests" / "support" / "phi_migrations",
                                   handlers={testsvc.PAYMENT_RECEIVED: on_payment},
                                   topics=["rcm.intake.payments.v1"])
    unique_id, declined = f"U-{CANARY}", f"DECLINED-{CANARY}"
    async with running(definition, platform, provider=provider):
        await publish(platform, payment(unique_id, "first"))
        await publish(platform, payment(unique_id, "again"))  # same primary key: a unique violation
        await publish(platform, payment(f"C-{uuid.uuid4().hex[:8]}", declined))  # breaks the CHECK

        async def two_dead_letters() -> bool:
            return len(await read_topic(platform, "rcm.remits.dlq.v1")) == 2

        await eventually(two_dead_letters, what="the two constraint errors dead-lettered")
    # Positive control: the canary did reach the database, so a log echoing rows would show it.
    assert await count(platform, "remits", "SELECT count(*) FROM test_phi_rows WHERE payment_id = $1", unique_id) == 1

    reasons = [DeadLetterInfo.from_headers(h).reason for _, _, h in await read_topic(platform, "rcm.remits.dlq.v1")]
    assert sorted(reasons) == ["handler failed (CheckViolationError)", "handler failed (UniqueViolationError)"]
    assert CANARY not in caplog.text
    assert spans.get_finished_spans() and not any(CANARY in s.to_json() for s in spans.get_finished_spans())

    server_log = own_postgres.log.read_text(errors="replace")
    assert 'duplicate key value violates unique constraint "test_phi_rows_pkey"' in server_log
    assert 'violates check constraint "test_phi_rows_reference_check"' in server_log
    assert CANARY not in server_log
    assert "DETAIL" not in server_log and "STATEMENT" not in server_log

    # Negative control: with Postgres's default verbosity the same error echoes the value.
    conn = await asyncpg.connect(own_postgres.admin_url)
    try:
        await conn.execute("SET log_error_verbosity = 'default'")
        await conn.execute("CREATE TEMP TABLE t (id text PRIMARY KEY)")
        await conn.execute("INSERT INTO t VALUES ($1)", f"NEG-{CANARY}")
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute("INSERT INTO t VALUES ($1)", f"NEG-{CANARY}")
    finally:
        await conn.close()

    async def echoed() -> bool:
        return f"Key (id)=(NEG-{CANARY}) already exists" in own_postgres.log.read_text(errors="replace")

    await eventually(echoed, timeout_s=10, what="the default verbosity to echo the value")
