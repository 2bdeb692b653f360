"""The HTTP doors, and ledger invariants over hypothesis-generated 835 streams (written by edi/)
posted through the service's own intake into Postgres: journals balance, payer cash = BPR02
(CLP04 less PLB), patient balances = PR after the last payer less payments and write-offs."""

from __future__ import annotations

import asyncio
import itertools
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import asyncssh
import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi.x12 import EnvelopeParams
from edi.x835 import ClaimPayment, write_835
from services.chassis.clock import FixedClock
from services.chassis.settings import Settings
from services.chassis.sftp import open_clearinghouse
from services.chassis.tokens import Scope
from services.remits import background, store
from services.remits.app import DEFINITION, create_app
from services.remits.rows import SubmissionRow
from services.remits.service import patient_payments, remittances
from services.remits.settings import RemitsSettings, remits_settings
from tests.support.runtimes import running
from tests.support.tokens import authorized, issue
from tests.unit.remits.builders import adj, claim, line, plb, remittance

pytestmark = pytest.mark.integration
NOW = datetime(2026, 4, 8, 15, 0, tzinfo=UTC)
D = Decimal
SEQ = itertools.count(1)
HUNDRED = D("100.00")
cents = st.integers(0, 20_000).map(lambda c: D(c) / 100)


def params(icn: int) -> EnvelopeParams:
    return EnvelopeParams(sender_id="ACME", receiver_id="SUNRISE", interchange_control_number=icn,
                          group_control_number=icn, created=datetime(2026, 4, 8, 9, 0))


@pytest.fixture(scope="module")
async def app(platform: Settings) -> AsyncIterator[FastAPI]:
    async with running(DEFINITION, platform, clock=FixedClock(NOW), app=create_app) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI, platform: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with authorized(app, platform, name="cashier-1", scope=Scope.OPERATE) as c:
        yield c


async def seed(conn: asyncpg.Connection, n: int, account: str, next_payer: bool = False,
               charge: Decimal = HUNDRED) -> str:
    """The ClaimSubmitted projection of claim n (one line of `charge`): what its 835 answers."""
    sub = f"SL{n}"
    await store.save_submission(conn, SubmissionRow(
        submission_id=sub, claim_id=f"clm_l{n}", claim_family_id=f"fam_l{n}", encounter_id=f"enc_l{n}",
        patient_account_id=account, payer_id="ACME01", payer_name="Acme", coverage_rank=1,
        next_payer_rank=2 if next_payer else None, frequency="1", total_charge=charge,
        lines=({"line_control_number": f"{sub}-1", "charge_id": f"chg_l{n}", "procedure_code": "99213",
                "service_date": "2026-03-02", "charge": str(charge), "expected_allowed": "80.00",
                "description": None},),
        submitted_at=NOW))
    return sub


async def test_http_upload_and_payment(app: FastAPI, client: httpx.AsyncClient) -> None:
    async with app.state.runtime.db.acquire() as conn:
        await store.init_codecs(conn)
        sub = await seed(conn, next(SEQ) + 10_000, "PA-HTTP")
    c = claim(sub, "1", "100.00", "60.00",
              line("100.00", "60.00", adj("CO", "45", "20.00"), adj("PR", "2", "20.00"), lcn=f"{sub}-1"))
    text = write_835([remittance("HTTP1", c)], params(1))
    first = await client.post("/v1/remittances", content=text, params={"file_name": "up.835"})
    assert first.status_code == 202 and first.json()["status"] == "posted"
    again = await client.post("/v1/remittances", content=text)
    assert again.json()["status"] == "duplicate" and again.json()["duplicates"] == [first.json()["file_id"]]
    garbage = await client.post("/v1/remittances", content=b"ISA*nonsense~")
    assert garbage.json()["status"] == "quarantined" and garbage.json()["reason"].startswith("parse")
    # Two interchanges in one file post both; a wrong trailer count quarantines the file with the reason.
    async with app.state.runtime.db.acquire() as conn:
        subs = [await seed(conn, next(SEQ) + 10_000, "PA-HTTP2") for _ in range(2)]
    files = [write_835([remittance(f"TWO{k}", claim(sub, "1", "100.00", "60.00", line(
        "100.00", "60.00", adj("CO", "45", "40.00"), lcn=f"{sub}-1")))], params(k)) for k, sub in enumerate(subs, 2)]
    both = await client.post("/v1/remittances", content="\r\n".join(files), params={"file_name": "two.835"})
    assert both.json()["status"] == "posted" and len(both.json()["remittance_ids"]) == 2, both.json()
    miscounted = re.sub(r"SE\*\d+\*", "SE*99*", files[0].replace("TWO2", "TWO9"))
    held = (await client.post("/v1/remittances", content=miscounted)).json()
    assert held["status"] == "quarantined" and re.fullmatch(
        r"envelope: segment \d+ \(SE\): SE01 says 99 segments, found \d+", held["reason"]), held
    body = {"source_system": "portal", "source_payment_id": "h-1", "idempotency_key": "portal:h-1",
            "patient_account_id": "PA-HTTP", "amount": "25.00", "method": "card", "received_on": "2026-04-09",
            "encounter_id": None, "statement_id": None, "reference": None}
    paid = await client.post("/v1/payments", json=body)
    assert paid.status_code == 202
    again_paid = await client.post("/v1/payments", json=body)
    assert again_paid.json() == paid.json()  # the same key posts once
    async with app.state.runtime.db.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM balances WHERE encounter_id = $1", f"enc_l{int(sub[2:])}")
        assert row["total"] == D("20.00") and row["patient_paid"] == D("20.00")
        assert await conn.fetchval("SELECT sum(remaining) FROM credits WHERE patient_account_id = 'PA-HTTP'") == D(
            "5.00")
    bad = await client.post("/v1/payments", json={**body, "amount": "-1"})
    assert bad.status_code == 422

    # A later balance for the same patient takes the 5.00 credit at once (applied automatically).
    async with app.state.runtime.db.acquire() as conn:
        await store.init_codecs(conn)
        sub2 = await seed(conn, next(SEQ) + 10_000, "PA-HTTP")
        c2 = claim(sub2, "1", "100.00", "70.00",
                   line("100.00", "70.00", adj("CO", "45", "20.00"), adj("PR", "3", "10.00"), lcn=f"{sub2}-1"))
        result = await remittances.ingest(conn, write_835([remittance("HTTP2", c2)], params(2)).encode(), "b.835",
                                          "test", NOW)
        assert result.status == "posted"
        credit_id = await conn.fetchval("SELECT credit_balance_id FROM credits WHERE patient_account_id = 'PA-HTTP'")
        row = await conn.fetchrow("SELECT * FROM balances WHERE encounter_id = $1", f"enc_l{int(sub2[2:])}")
        assert row["patient_paid"] == D("5.00") and row["total"] == D("10.00")
        assert await conn.fetchval("SELECT remaining FROM credits WHERE credit_balance_id = $1", credit_id) == 0
        async with conn.transaction():
            assert await patient_payments.apply_credit(conn, credit_balance_id=credit_id, at=NOW) == 0


@st.composite
def paid_claim(draw: st.DrawFn, sub: str, status: str = "1", charge: Decimal | None = None) -> ClaimPayment:
    """The payer's answer to a claim of `charge` (drawn when not given): paid, CO-45, PR-1/2/3, CO-97."""
    total = draw(st.integers(0, 100_000)) if charge is None else int(charge * 100)
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=5, max_size=5)))
    paid, co, pr1, pr2, pr3, co97 = (D(b - a) / 100 for a, b in itertools.pairwise([0, *cuts, total]))
    adjs = [a for a in (adj("CO", "45", str(co)), adj("PR", "1", str(pr1)), adj("PR", "2", str(pr2)),
                        adj("PR", "3", str(pr3)), adj("CO", "97", str(co97))) if a.amount]
    amount = paid + sum((a.amount for a in adjs), D(0))
    return claim(sub, status, str(amount), str(paid), line(str(amount), str(paid), *adjs, lcn=f"{sub}-1"),
                 pccn=f"P{sub}")


def negate(c: ClaimPayment) -> ClaimPayment:
    lines = tuple(line(str(-ln.charge), str(-ln.paid), *(adj(a.group.value, a.reason, str(-a.amount))
                                                         for a in ln.adjustments), lcn=ln.line_control_number)
                  for ln in c.service_lines)
    return claim(c.patient_control_number, "22", str(-c.charge), str(-c.paid), *lines,
                 pccn=c.payer_claim_control_number)


def pr(c: ClaimPayment) -> Decimal:
    return sum((a.amount for ln in c.service_lines for a in ln.adjustments if a.group.value == "PR"), D(0))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(data=st.data())
async def test_ledger_invariants_over_generated_streams(app: FastAPI, data: st.DataObject) -> None:
    pool = app.state.runtime.db
    run = next(SEQ)
    account = f"PA-GEN-{run}"
    expected_pr: dict[str, Decimal] = {}
    held: set[str] = set()
    files: list[str] = []
    async with pool.acquire() as conn:
        await store.init_codecs(conn)
        first: list[ClaimPayment] = []
        later: list[ClaimPayment] = []
        for k in range(data.draw(st.integers(1, 4))):
            n = run * 100 + k
            forwarded = data.draw(st.booleans())
            sub = f"SL{n}"
            c = data.draw(paid_claim(sub, "19" if forwarded else data.draw(st.sampled_from(["1", "4"]))))
            await seed(conn, n, account, next_payer=forwarded, charge=c.charge)
            enc = f"enc_l{n}"
            first.append(c)
            expected_pr[enc] = pr(c)
            if forwarded:
                held.add(enc)
            elif data.draw(st.booleans()):  # reversed, then corrected (or not)
                later.append(negate(c))
                expected_pr[enc] = D("0.00")
                if data.draw(st.booleans()):
                    corrected = data.draw(paid_claim(sub, charge=c.charge))
                    later.append(corrected)
                    expected_pr[enc] = pr(corrected)
        plbs = tuple(plb(r, str(data.draw(cents) - D("50")), ref) for r, ref in
                     data.draw(st.lists(st.sampled_from([("L6", ""), ("WO", first[0].payer_claim_control_number),
                                                         ("FB", ""), ("CS", "")]), max_size=3)))
        files.append(write_835([remittance(f"G{run}A", *first, plbs=plbs)], params(run * 10 + 1)))
        if later:
            files.append(write_835([remittance(f"G{run}B", *later)], params(run * 10 + 2)))
        files.append(files[0])  # a duplicate file changes nothing
        for i, text in enumerate(files):
            result = await remittances.ingest(conn, text.encode(), f"g{run}-{i}.835", "test", NOW)
            assert result.status == ("duplicate" if i == len(files) - 1 else "posted"), result.reason
        payment = data.draw(cents) + D("0.01")
        async with conn.transaction():
            await patient_payments.post_payment(conn, idempotency_key=f"portal:g-{run}", patient_account_id=account,
                                        amount=payment, method="cash", received_on=NOW.date(), encounter_id=None,
                                        at=NOW)

        rems = await conn.fetch("SELECT remittance_id, total_payment FROM remittances WHERE trace_number LIKE $1",
                                f"G{run}%")
        for r in rems:
            cash = await conn.fetchval("SELECT COALESCE(sum(amount), 0) FROM ledger_entries WHERE remittance_id = $1"
                                       " AND account = 'payer_cash'", r["remittance_id"])
            assert cash == r["total_payment"]
        assert await conn.fetch("SELECT journal_id FROM ledger_entries GROUP BY journal_id"
                                " HAVING sum(amount) <> 0") == []
        balances: dict[str, Any] = {r["encounter_id"]: r for r in await conn.fetch(
            "SELECT * FROM balances WHERE patient_account_id = $1", account)}
        for enc, amount in expected_pr.items():
            if enc in held:
                assert enc not in balances
            elif enc in balances:
                assert balances[enc]["total"] == amount
            else:
                assert amount == 0
        owed = sum((b["total"] for b in balances.values()), D(0))
        paid = sum((b["patient_paid"] for b in balances.values()), D(0))
        assert paid == min(payment, owed)
        credit = await conn.fetchval("SELECT coalesce(sum(remaining), 0) FROM credits WHERE patient_account_id = $1",
                                     account)
        assert credit == payment - paid


class _Sftp(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return (username, password) == ("biller", "s3cret")


async def test_835s_are_fetched_over_sftp(app: FastAPI, tmp_path: Path) -> None:
    root = tmp_path / "sftp"
    root.mkdir()
    acceptor = await asyncssh.listen(
        "127.0.0.1", 0, server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")], server_factory=_Sftp,
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()))
    try:
        port = acceptor.sockets[0].getsockname()[1]
        house = await open_clearinghouse(tmp_path / "unused", RemitsSettings(
            sftp_host="127.0.0.1", sftp_port=port, sftp_username="biller", sftp_password="s3cret"))
        pool = app.state.runtime.db
        async with pool.acquire() as conn:
            await store.init_codecs(conn)
            sub = await seed(conn, next(SEQ) + 20_000, "PA-SFTP")
        c = claim(sub, "1", "100.00", "80.00", line("100.00", "80.00", adj("CO", "45", "20.00"), lcn=f"{sub}-1"))
        await house.write("inbound/remits", "sftp.835", write_835([remittance("SFTP1", c)], params(3)).encode())
        assert await background.poll_once(house, pool, lambda: NOW) == 1
        assert await house.list("inbound/remits") == []
        assert (root / "archive" / "inbound_remits" / "sftp.835").exists()
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM remittances WHERE trace_number = 'SFTP1'") == 1
    finally:
        acceptor.close()
        await acceptor.wait_closed()


def _unique_835() -> bytes:
    """A body no earlier upload had (a repeated body is a duplicate whatever its name)."""
    return f"ISA*nonsense-{next(SEQ)}-{uuid.uuid4().hex}~".encode()


async def _stored_name(app: FastAPI, file_id: str) -> str:
    async with app.state.runtime.db.acquire() as conn:
        name = await conn.fetchval("SELECT file_name FROM remittance_files WHERE file_id = $1", file_id)
    assert isinstance(name, str)
    return name


async def test_upload_keeps_only_the_base_name_of_a_path(app: FastAPI, client: httpx.AsyncClient) -> None:
    """Issue 16: `../../etc/passwd` was stored and shown verbatim."""
    for sent, kept in (("../../etc/passwd", "passwd"), ("..\\..\\windows\\remit.835", "remit.835"),
                       ("/var/inbound/era 0412.835", "era 0412.835"), ("plain.835", "plain.835")):
        answer = await client.post("/v1/remittances", content=_unique_835(), params={"file_name": sent})
        assert answer.status_code == 202, answer.text
        assert await _stored_name(app, answer.json()["file_id"]) == kept


@pytest.mark.parametrize(("sent", "rule"), [
    ("remit.835\r\nX-Injected: yes", "control_character"),
    ("remit\x00.835", "control_character"),
    ("remit\t.835", "control_character"),
    ("remit\u202e538.exe", "control_character"),  # right-to-left override: shows a different name
    ("A" * 5000 + ".835", "too_long"),
    ("../", "empty"),
    ("..", "empty"),
    ("", "empty"),
])
async def test_upload_refuses_a_file_name_it_cannot_show_safely(
    app: FastAPI, client: httpx.AsyncClient, sent: str, rule: str
) -> None:
    """Issue 16: CR/LF and 5,000-character names were stored; refused now with 422 naming the field
    and the rule (never the value), and nothing stored."""
    body = _unique_835()
    async with app.state.runtime.db.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM remittance_files")
    answer = await client.post("/v1/remittances", content=body, params={"file_name": sent})
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "file_name" and error["type"] == rule, error
    if sent:
        assert sent not in answer.text and "Injected" not in answer.text
    async with app.state.runtime.db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM remittance_files") == before


async def test_a_file_name_of_255_characters_is_kept(app: FastAPI, client: httpx.AsyncClient) -> None:
    name = "é" * 251 + ".835"
    answer = await client.post("/v1/remittances", content=_unique_835(), params={"file_name": name})
    assert answer.status_code == 202, answer.text
    assert await _stored_name(app, answer.json()["file_id"]) == name


@pytest.fixture
def small_upload_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setenv("RCM_REMITS_MAX_UPLOAD_BYTES", "1024")
    remits_settings.cache_clear()
    yield 1024
    monkeypatch.delenv("RCM_REMITS_MAX_UPLOAD_BYTES")
    remits_settings.cache_clear()


async def test_an_upload_over_the_body_limit_answers_413(
    app: FastAPI, client: httpx.AsyncClient, small_upload_limit: int
) -> None:
    """Issue 16: a 5 MB body was accepted (no limit). Declared lengths are refused before reading;
    a chunked body (no length) as soon as it passes the limit."""
    async with app.state.runtime.db.acquire() as conn:
        before = await conn.fetchval("SELECT count(*) FROM remittance_files")
    over = b"ISA*" + b"X" * small_upload_limit
    declared = await client.post("/v1/remittances", content=over, params={"file_name": "big.835"})
    assert declared.status_code == 413, declared.text
    [error] = declared.json()["errors"]
    assert error == {"field": "body", "type": "too_large",
                     "message": "the body is over 1024 bytes (RCM_REMITS_MAX_UPLOAD_BYTES)"}

    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            sent.append(512)
            yield b"X" * 512

    chunked = await client.post("/v1/remittances", content=chunks(), params={"file_name": "big.835"})
    assert chunked.status_code == 413, chunked.text
    assert len(sent) < 100, "the whole chunked body was read before answering"
    async with app.state.runtime.db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM remittance_files") == before
    at_limit = await client.post("/v1/remittances", content=_unique_835().ljust(small_upload_limit, b"~"))
    assert at_limit.status_code == 202, at_limit.text


def test_the_upload_limit_defaults_to_50_mb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RCM_REMITS_MAX_UPLOAD_BYTES", raising=False)
    assert RemitsSettings().max_upload_bytes == 50 * 1024 * 1024


async def test_a_declared_body_over_the_limit_is_refused_before_it_is_sent(
    app: FastAPI, platform: Settings, small_upload_limit: int, unused_tcp_port: int
) -> None:
    """Over a real socket: the 413 comes back while the client has sent only the headers and a
    first piece of a 10 MB body (the server does not wait for, or hold, the rest)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=unused_tcp_port, log_config=None,
                                           lifespan="off"))
    task = asyncio.create_task(server.serve())
    writer: asyncio.StreamWriter | None = None
    try:
        for _ in range(100):
            if server.started:
                break
            await asyncio.sleep(0.05)
        secret = await issue(platform, ["remits"], name="uploader", scope=Scope.OPERATE)
        reader, writer = await asyncio.open_connection("127.0.0.1", unused_tcp_port)
        writer.write(b"POST /v1/remittances?file_name=big.835 HTTP/1.1\r\nHost: remits\r\n"
                     b"Authorization: Bearer " + secret.encode() + b"\r\n"
                     b"Content-Type: application/octet-stream\r\nContent-Length: 10000000\r\n\r\n" + b"ISA*" * 256)
        await writer.drain()
        try:
            answer = await asyncio.wait_for(reader.read(4096), timeout=2)
        except TimeoutError:
            answer = b"(no answer within 2 s: the server waits for the whole body)"
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"too_large"' in answer
    finally:
        if writer is not None:
            writer.close()
        # force_exit: a server still waiting for the body would otherwise hold shutdown open.
        server.should_exit = server.force_exit = True
        await asyncio.wait_for(task, timeout=10)
