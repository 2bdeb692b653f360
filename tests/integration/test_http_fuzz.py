"""Issue 16 item 3 (HTTP): schemathesis against each service's live OpenAPI, with an admin token.

Each service runs in-process on the module's platform behind a real socket; its OpenAPI is read
from GET /openapi.json (a read token is needed for that too) and every operation is fuzzed with
positive and negative cases. Every answer must be: no 5xx, a documented status code, a
documented content type, a body conforming to the documented schema, invalid data refused (4xx).
A write answered 4xx must leave no row behind (the tables the door writes are counted before
and after each such case). RCM_FUZZ_HTTP_EXAMPLES sets the examples per operation and mode.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
import hypothesis
import hypothesis.errors
import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase
from hypothesis.strategies import SearchStrategy
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from services.charges.app import DEFINITION as CHARGES
from services.charges.app import create_app as create_charges
from services.chassis.runtime import ServiceDefinition
from services.chassis.settings import Settings
from services.claims.app import DEFINITION as CLAIMS
from services.claims.app import create_app as create_claims
from services.notifications.app import DEFINITION as NOTIFICATIONS
from services.notifications.app import create_app as create_notifications
from services.remits.app import DEFINITION as REMITS
from services.remits.app import create_app as create_remits
from tests.support.runtimes import AppFactory, running
from tests.support.tokens import bearer, issue

EXAMPLES = int(os.environ.get("RCM_FUZZ_HTTP_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
SERVICES: dict[str, tuple[ServiceDefinition, AppFactory]] = {
    "charges": (CHARGES, create_charges),
    "claims": (CLAIMS, create_claims),
    "remits": (REMITS, create_remits),
    "notifications": (NOTIFICATIONS, create_notifications),
}
# Tables the service writes in the background (its consumer handles what the door accepted a
# moment ago): not counted, or an earlier 202 would look like a later 4xx's half-write.
BACKGROUND = {"schema_migrations", "inbox", "parked"}
CHARGES_DOOR = {"http_requests", "audit_log"}  # charges consumes its own intake topics


@dataclass
class Tally:
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    operations: list[str] = field(default_factory=list)
    no_negative: list[str] = field(default_factory=list)


class RowCounter:
    """Row counts of the service's schema, read on a loop of the fuzzing thread."""

    def __init__(self, platform: Settings, service: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.loop.run_until_complete(
            asyncpg.connect(platform.database_url(service)))  # type: ignore[arg-type]
        names = [r["table_name"] for r in self.loop.run_until_complete(self.conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'",
            service))]
        tables = [t for t in names if t not in BACKGROUND and (service != "charges" or t in CHARGES_DOOR)]
        self.query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {service}.{t}) AS {t}" for t in sorted(tables))

    def counts(self) -> dict[str, int]:
        return dict(self.loop.run_until_complete(self.conn.fetchrow(self.query)))  # type: ignore[arg-type]

    def close(self) -> None:
        self.loop.run_until_complete(self.conn.close())
        self.loop.close()


def fuzz(base_url: str, secret: str, rows: RowCounter) -> Tally:
    """Every operation of the live OpenAPI, positive then negative; raises on the first failure."""
    headers = bearer(secret)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", headers=headers, timeout=10)
    tally = Tally()
    for result in schema.get_all_operations():
        # An operation schemathesis cannot read is a broken OpenAPI: fail with its reason.
        assert isinstance(result, Ok), result.err()
        operation = result.ok()
        tally.operations.append(f"{operation.method.upper()} {operation.path}")
        check_one(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), base_url, headers, rows, tally)
        try:
            check_one(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE), base_url, headers, rows, tally)
        except hypothesis.errors.Unsatisfiable:
            # An operation without inputs (GET /healthz) has no invalid request to make.
            tally.no_negative.append(tally.operations[-1])
    return tally


def check_one(strategy: SearchStrategy[Case], base_url: str, headers: dict[str, str], rows: RowCounter,
              tally: Tally) -> None:
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                         phases=[Phase.explicit, Phase.generate, Phase.shrink],
                         suppress_health_check=list(HealthCheck))
    @hypothesis.given(case=strategy)
    def run(case: Case) -> None:
        writes = case.method.upper() not in ("GET", "HEAD")
        before = rows.counts() if writes else None
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        tally.cases += 1
        tally.statuses[response.status_code] += 1
        # Any text is an 835 upload's body (garbage is stored quarantined, 202): schemathesis's
        # "negative" text bodies (a boolean sent as `false`) are valid once serialized.
        checks = CHECKS if case.media_type != "text/plain" else CHECKS[:-1]
        case.validate_response(response, checks=checks, headers=headers)
        if before is not None and 400 <= response.status_code < 500:
            after = rows.counts()
            assert after == before, f"{case.method} {case.path} answered {response.status_code} but wrote " + str(
                {t: after[t] - before[t] for t in after if after[t] != before[t]})

    run()


async def _serve(app: FastAPI, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    started = time.monotonic()
    while not server.started:
        assert time.monotonic() - started < 10, "the service's HTTP server did not start"
        await asyncio.sleep(0.05)
    return server, task


# schemathesis's own strategies use `random` (its problem, not ours): not a warning of ours to read.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("service", list(SERVICES))
async def test_schemathesis_finds_no_undocumented_answer(platform: Settings, service: str,
                                                         unused_tcp_port: int) -> None:
    definition, factory = SERVICES[service]
    async with running(definition, platform, app=factory) as app:
        secret = await issue(platform, [service], name="schemathesis")
        server, task = await _serve(app, unused_tcp_port)
        rows: Callable[[], RowCounter] = lambda: RowCounter(platform, service)  # noqa: E731
        counter = await asyncio.to_thread(rows)
        started = time.monotonic()
        try:
            tally = await asyncio.to_thread(fuzz, f"http://127.0.0.1:{unused_tcp_port}", secret, counter)
        finally:
            await asyncio.to_thread(counter.close)
            server.should_exit = True
            await task
    print(f"\nschemathesis {service}: {len(tally.operations)} operations, {tally.cases} cases in"
          f" {time.monotonic() - started:.1f} s; statuses {dict(sorted(tally.statuses.items()))}")
    assert tally.operations and tally.cases >= len(tally.operations)
    assert not any(s >= 500 for s in tally.statuses)
