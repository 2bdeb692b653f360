"""Shared helpers of the notifications integration tests (no tests here).

Upstream events are built from the contracts' examples (claims and remits are built elsewhere).
"""

from __future__ import annotations

import copy
import email
import email.policy
import json
import socket
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg

from schemas import examples as ex
from services.chassis.runtime import ServiceDefinition
from services.chassis.settings import Settings
from services.notifications.app import build_definition
from services.notifications.settings import NotificationSettings
from tests.support.kafka_io import eventually, publish, read_topic
from tests.support.testsvc import example

T0 = datetime(2026, 4, 8, 16, 0, tzinfo=UTC)
READY = "rcm.charges.EncounterReadyToBill.v1"
CREATED = "rcm.patient-balances.PatientBalanceCreated.v1"
UPDATED = "rcm.patient-balances.PatientBalanceUpdated.v1"
PAYMENT = "rcm.patient-balances.PatientPaymentPosted.v1"
WRITTEN_OFF = "rcm.patient-balances.BalanceWrittenOff.v1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def notification_settings(smtp_port: int, **overrides: Any) -> NotificationSettings:
    values: dict[str, Any] = {
        "smtp_port": smtp_port, "send_poll_interval_s": 0.2, "scheduler_interval_s": 0.3,
        "digest_interval_s": 1.0, "retry_base_delay_s": 0.0, "retry_max_delay_s": 0.0, "smtp_max_attempts": 3,
        "webhook_max_attempts": 3, "webhook_disable_after_failures": 3, "webhook_timeout_s": 3.0,
        "billing_team_address": "billing-team@clinic.example", "pay_url": "https://pay.clinic.example",
        **overrides,
    }
    return NotificationSettings(**values)


def definition(ns: NotificationSettings, *, sender: bool = True) -> ServiceDefinition:
    """The service on these settings; without `sender` it only consumes (no sends, reminders or digests)."""
    built = build_definition(ns)
    return built if sender else replace(built, background=[])


class Story:
    """One patient's ids, unique per test, so tests sharing a database never see each other."""

    def __init__(self, **guarantor: Any) -> None:
        tag = uuid.uuid4().hex[:10].upper()
        self.encounter_id = f"enc_{tag}"
        self.account = f"PA-{tag}"
        self.balance_id = f"bal_{tag}"
        self.email = f"guarantor-{tag.lower()}@example.org"
        self.guarantor = {**copy.deepcopy(ex.GUARANTOR), "email": self.email, **guarantor}

    def ready(self, revision: int = 1) -> Any:
        return example(READY, encounter_id=self.encounter_id, patient_account_id=self.account,
                       revision=revision, guarantor=self.guarantor)

    def created(self, **overrides: Any) -> Any:
        return example(CREATED, encounter_id=self.encounter_id, patient_account_id=self.account,
                       balance_id=self.balance_id, **overrides)

    def updated(self, **overrides: Any) -> Any:
        return example(UPDATED, encounter_id=self.encounter_id, patient_account_id=self.account,
                       balance_id=self.balance_id, **overrides)

    def paid(self, amount: str = "40.00") -> Any:
        return example(PAYMENT, patient_account_id=self.account, amount=amount,
                       applications=[{"balance_id": self.balance_id, "encounter_id": self.encounter_id,
                                      "amount": amount}])

    async def publish(self, platform: Settings, event: Any, **kw: Any) -> Any:
        return await publish(platform, event, **kw)


def stored(folder: Path, to: str | None = None) -> list[EmailMessage]:
    out = []
    for path in sorted(folder.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if to is None or msg["To"] == to:
            out.append(msg)
    return out


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


async def notification_events(platform: Settings) -> list[tuple[str, dict[str, Any]]]:
    return [(dict(h)["ce_type"].decode().split(".")[2], json.loads(v))
            for _, v, h in await read_topic(platform, "rcm.notifications.v1")]


async def fetch(platform: Settings, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(platform.database_url("notifications"))
    try:
        await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


async def handled(platform: Settings, event_id: object) -> bool:
    """The service has applied this event (its inbox row, written in the handler's transaction)."""
    rows = await fetch(platform, "SELECT count(*) FROM inbox WHERE event_id = $1::uuid", str(event_id))
    return bool(rows[0][0] == 1)


async def settled(platform: Settings, where: str, *args: object) -> None:
    """Wait until the sender is done with the notifications `where` selects (none pending or being
    sent) and what it announced is on the topic (the outbox drained): only then may a test count
    mails or events to show that there is no second one."""
    async def done() -> bool:
        busy = await fetch(platform, f"SELECT count(*) FROM notifications WHERE ({where})"
                                     " AND state IN ('pending', 'sending')", *args)
        unpublished = await fetch(platform, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
        return bool(busy[0][0] == 0 and unpublished[0][0] == 0)

    await eventually(done, timeout_s=60, what=f"the notifications where {where} to be sent")


async def events_until(
    platform: Settings, select: Callable[[str, dict[str, Any]], bool], done: Callable[[list[str]], bool], what: str
) -> list[tuple[str, dict[str, Any]]]:
    """Wait until the selected rcm.notifications.v1 events satisfy `done` (given their names); return them."""
    got: list[tuple[str, dict[str, Any]]] = []

    async def check() -> bool:
        nonlocal got
        got = [(n, p) for n, p in await notification_events(platform) if select(n, p)]
        return done([n for n, _ in got])

    await eventually(check, timeout_s=60, what=what)
    return got
