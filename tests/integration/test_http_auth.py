"""Issue 16 item 5: every HTTP API but health and metrics needs a bearer token (read < operate <
admin), kept only as a hash; the token's name is the audit actor; `rcm tokens create|list|revoke`.

Before the fix each refused call below was answered (a payment posted, a claim looked up, a
dead letter fetched) and the audit actor was whatever the body said.
"""

from __future__ import annotations

import asyncio
import json
import logging
import stat
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner, Result

from cli.main import app as rcm
from devstack import credentials
from services.chassis import tokens
from services.chassis.clock import FixedClock
from services.chassis.settings import Settings, get_settings
from services.chassis.tokens import Scope
from services.claims.app import DEFINITION as CLAIMS
from services.claims.app import create_app as create_claims
from services.remits.app import DEFINITION as REMITS
from services.remits.app import create_app as create_remits
from tests.support.runtimes import running
from tests.support.tokens import bearer, issue

NOW = datetime(2026, 5, 4, 9, tzinfo=UTC)
CACHE_S = 1.0
PAYMENT = {"source_system": "frontdesk", "source_payment_id": "auth-1",
           "idempotency_key": "frontdesk:auth-1", "patient_account_id": "PA-AUTH-1", "amount": "12.50",
           "method": "cash", "received_on": "2026-05-04"}



def payment(source_id: str) -> dict[str, str]:
    return {**PAYMENT, "source_payment_id": source_id, "idempotency_key": f"frontdesk:{source_id}"}


@pytest.fixture(scope="module")
async def apps(platform: Settings) -> AsyncIterator[dict[str, FastAPI]]:
    """Claims and remits in-process; tokens trusted for CACHE_S seconds (5 by default)."""
    quick = platform.model_copy(update={"token_cache_s": CACHE_S})
    async with (running(CLAIMS, quick, clock=FixedClock(NOW), app=create_claims) as claims,
                running(REMITS, quick, clock=FixedClock(NOW), app=create_remits) as remits):
        yield {"claims": claims, "remits": remits}


def client(app: FastAPI, secret: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc",
                             headers=bearer(secret) if secret else {})


async def rows(platform: Settings, service: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(platform.database_url(service))  # type: ignore[arg-type]
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def test_without_a_token_operator_routes_answer_401_and_do_nothing(
    platform: Settings, apps: dict[str, FastAPI]
) -> None:
    async with client(apps["remits"]) as remits, client(apps["claims"]) as claims:
        answers = {
            "payment": await remits.post("/v1/payments", json=PAYMENT),
            "835 upload": await remits.post("/v1/remittances", content=b"ISA*00~"),
            "dlq replay": await remits.post("/admin/dlq/replay", json={"partition": 0, "offset": 0, "reason": "x"}),
            "claim void": await claims.post("/v1/claims/clm_1/void", json={"reason": "x"}),
            "claim override": await claims.post("/v1/claims/clm_1/override", json={"reason": "x", "edit_id": "E1"}),
            "held queue": await claims.get("/v1/claims/held"),
            "openapi": await claims.get("/openapi.json"),
        }
        garbage = await remits.post("/v1/payments", json=PAYMENT, headers={"Authorization": "Bearer nope"})
        basic = await remits.post("/v1/payments", json=PAYMENT, headers={"Authorization": "Basic dXNlcjpwdw=="})
        unknown = await remits.post("/v1/payments", json=PAYMENT, headers=bearer(tokens.new_secret()))
        open_ = [await claims.get(p) for p in ("/healthz", "/readyz", "/metrics")]
    for what, answer in {**answers, "garbage": garbage, "basic": basic, "unknown": unknown}.items():
        assert answer.status_code == 401, (what, answer.status_code, answer.text)
        assert answer.headers["www-authenticate"].startswith("Bearer"), what
    assert unknown.json() == {"detail": "the token is unknown or revoked"}
    assert [a.status_code for a in open_] == [200, 200, 200]
    assert await rows(platform, "remits", "SELECT 1 FROM payments WHERE idempotency_key = $1",
                      PAYMENT["idempotency_key"]) == []


async def test_a_read_token_reads_but_cannot_operate_and_operate_cannot_replay(
    platform: Settings, apps: dict[str, FastAPI]
) -> None:
    reader = await issue(platform, ["claims", "remits"], name="auditor", scope=Scope.READ)
    operator = await issue(platform, ["remits"], name="cashier", scope=Scope.OPERATE)
    async with client(apps["claims"], reader) as claims, client(apps["remits"], reader) as remits:
        assert (await claims.get("/v1/claims/held")).status_code == 200
        assert (await claims.get("/openapi.json")).status_code == 200
        void = await claims.post("/v1/claims/clm_1/void", json={"reason": "x"})
        paid = await remits.post("/v1/payments", json=PAYMENT)
    assert void.status_code == 403 and paid.status_code == 403
    assert paid.json() == {"detail": "this route needs the operate scope; the token has read"}
    assert 'error="insufficient_scope"' in paid.headers["www-authenticate"]
    async with client(apps["remits"], operator) as remits:
        replay = await remits.post("/admin/dlq/replay", json={"partition": 0, "offset": 0, "reason": "x"})
    assert replay.status_code == 403 and "admin scope" in replay.json()["detail"]
    assert await rows(platform, "remits", "SELECT 1 FROM payments WHERE idempotency_key = $1",
                      PAYMENT["idempotency_key"]) == []


async def test_the_audit_row_names_the_token_owner_not_the_body(
    platform: Settings, apps: dict[str, FastAPI], caplog: pytest.LogCaptureFixture
) -> None:
    secret = await issue(platform, ["remits"], name="cashier-desk-3", scope=Scope.OPERATE)
    caplog.set_level(logging.DEBUG)
    async with client(apps["remits"], secret) as remits:
        paid = await remits.post("/v1/payments", json=payment("auth-2"))
    assert paid.status_code == 202, paid.text
    [row] = await rows(platform, "remits", "SELECT actor, details FROM audit_log WHERE action = 'payments.post'"
                                           " AND subject = $1", paid.json()["payment_id"])
    assert row["actor"] == "cashier-desk-3"
    # An object, not a JSON string (service pools encode jsonb themselves; it was stored twice encoded).
    assert json.loads(row["details"])["token_id"] == tokens.token_id(secret)
    assert secret not in caplog.text  # nor logged


async def test_only_the_hash_is_stored(platform: Settings, apps: dict[str, FastAPI]) -> None:
    secret = await issue(platform, ["claims", "remits"], name="at-rest", scope=Scope.READ)
    assert tokens.well_formed(secret) and len(secret) == 47
    for service in ("claims", "remits"):
        [row] = await rows(platform, service, "SELECT * FROM api_tokens WHERE name = 'at-rest'")
        stored = json.dumps({k: str(v) for k, v in dict(row).items()})
        assert secret not in stored and secret[4:] not in stored
        assert row["token_hash"] == tokens.digest(secret) and row["token_id"] == tokens.digest(secret)[:12]


async def test_a_revoked_token_is_refused_within_the_cache_time(
    platform: Settings, apps: dict[str, FastAPI], cli_env: None
) -> None:
    secret = await issue(platform, ["claims"], name="leaver", scope=Scope.READ)
    async with client(apps["claims"], secret) as claims:
        assert (await claims.get("/v1/claims/held")).status_code == 200  # now cached
        revoked = await cli(["tokens", "revoke", tokens.token_id(secret), "--reason", "left the team",
                             "--service", "claims"])
        assert revoked.exit_code == 0, revoked.output
        started = time.monotonic()
        while (await claims.get("/v1/claims/held")).status_code == 200:
            assert time.monotonic() - started < CACHE_S + 1.0, "still accepted past the cache time"
            await asyncio.sleep(0.1)
    [audit] = await rows(platform, "claims", "SELECT actor, reason FROM audit_log WHERE action = 'tokens.revoke'"
                                             " AND subject = $1", tokens.token_id(secret))
    assert audit["reason"] == "left the team"


async def cli(args: list[str]) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, rcm, args)


async def test_rcm_tokens_create_list_revoke(platform: Settings, apps: dict[str, FastAPI], cli_env: None) -> None:
    created = await cli(["tokens", "create", "billing-bot", "--scope", "operate", "--service", "claims",
                         "--service", "remits", "--json"])
    assert created.exit_code == 0, created.output
    made = json.loads(created.output)
    secret = made["token"]
    assert made["scope"] == "operate" and made["services"] == ["claims", "remits"]
    assert made["token_id"] == tokens.token_id(secret)
    async with client(apps["remits"], secret) as remits:
        paid = await remits.post("/v1/payments", json=payment("auth-3"))
    assert paid.status_code == 202, paid.text

    listed = await cli(["tokens", "list", "--service", "claims", "--service", "remits", "--json"])
    assert listed.exit_code == 0, listed.output
    assert secret not in listed.output and tokens.digest(secret) not in listed.output
    [entry] = [t for t in json.loads(listed.output) if t["token_id"] == made["token_id"]]
    assert entry["name"] == "billing-bot" and entry["services"] == ["claims", "remits"]
    assert entry["revoked_at"] is None and entry["created_by"]

    revoked = await cli(["tokens", "revoke", "billing-bot", "--reason", "rotated", "--service", "claims",
                         "--service", "remits", "--json"])
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.output)["revoked"] == [made["token_id"]]
    again = await cli(["tokens", "revoke", "billing-bot", "--reason", "rotated", "--service", "claims"])
    assert again.exit_code == 1 and "no live token" in again.output and "Traceback" not in again.output

    # Usage errors exit 2; a schema without the table (the service never started) exits 1.
    assert (await cli(["tokens", "create", "x", "--scope", "root"])).exit_code == 2
    assert (await cli(["tokens", "create", "x", "--scope", "read", "--service", "billing"])).exit_code == 2
    assert (await cli(["tokens", "revoke", "x"])).exit_code == 2
    bad_name = await cli(["tokens", "create", "two words", "--scope", "read", "--service", "claims"])
    assert bad_name.exit_code == 1 and "token name" in bad_name.output
    # (charges never ran on this module's platform)
    unmigrated = await cli(["tokens", "create", "x", "--scope", "read", "--service", "charges"])
    assert unmigrated.exit_code == 1 and "no api_tokens table" in unmigrated.output, unmigrated.output


async def test_rcm_up_writes_one_operator_token_the_cli_sends(
    platform: Settings, apps: dict[str, FastAPI], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = platform.model_copy(update={"state_dir": tmp_path})
    assert await credentials.ensure_operator_token(local, ["claims", "remits"]) is True
    path = credentials.operator_token_path(local)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = path.read_text().strip()
    assert await credentials.ensure_operator_token(local, ["claims", "remits"]) is False  # kept while live
    assert path.read_text().strip() == secret
    monkeypatch.delenv(credentials.ENV, raising=False)
    assert credentials.auth_headers(local) == bearer(secret)
    async with client(apps["claims"], secret) as claims:
        assert (await claims.get("/v1/claims/held")).status_code == 200
    [row] = await rows(platform, "claims", "SELECT name, scope FROM api_tokens WHERE token_id = $1",
                       tokens.token_id(secret))
    assert row["name"].startswith("operator:") and row["scope"] == "admin"
    monkeypatch.setenv(credentials.ENV, "rcm_explicit")
    assert credentials.api_token(local) == "rcm_explicit"  # RCM_API_TOKEN wins over the file

    conn = await asyncpg.connect(platform.admin_url)
    try:
        await tokens.revoke(conn, ["claims", "remits"], ident=tokens.token_id(secret), reason="test",
                            revoked_by="pytest")
    finally:
        await conn.close()
    assert await credentials.ensure_operator_token(local, ["claims", "remits"]) is True  # a revoked one is replaced
    assert path.read_text().strip() != secret


async def test_dlq_replay_without_any_token_says_where_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(credentials.ENV, raising=False)
    monkeypatch.setenv("RCM_STATE_DIR", str(tmp_path))  # no operator.token there
    get_settings.cache_clear()
    try:
        result = await cli(["dlq", "replay", "remits", "0:0", "--reason", "x"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "no API token: set RCM_API_TOKEN" in " ".join(result.output.split())
