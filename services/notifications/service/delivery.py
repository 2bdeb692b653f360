"""Delivery: the sender (notifications table -> SMTP / HTTP), reminders and staff digests.

The sender never runs inside a consumer transaction. A pass takes up to `send_batch_size` messages:
1. claim: `pending` -> `sending`, attempts + 1, committed *before* anything goes out;
2. hand over: SMTP with a stable Message-ID (`<notification_id@...>`), the pass's emails on one
   SMTP connection, or a webhook POST with `webhook-id` = notification_id, signed per Standard
   Webhooks;
3. record: `sent` / retry (`pending` later) / `failed` / `skipped`, the attempt row and the
   NotificationSent / NotificationFailed outbox row, in one transaction for the hand-overs of the
   pass (a webhook's at once: its outcome may disable the subscription the next one posts to).
A crash between 2 and 3 leaves the rows `sending`; on restart they go back to `pending` and are
handed over again with the same id. That is at least once on the wire and once in effect:
the receiver keeps one message per Message-ID / webhook-id (our mail catcher does; Standard
Webhooks receivers must). We chose that over at most once, which would silently lose a
statement on every crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.policy
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Literal

import aiosmtplib
import asyncpg
import httpx
from opentelemetry import trace
from pydantic import BaseModel
from standardwebhooks import Webhook

from schemas.notifications import NotificationFailed, NotificationSent, RelatedIds
from services.chassis import outbox
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.chassis.runtime import Runtime
from services.chassis.telemetry import continued
from services.notifications import store
from services.notifications.domain.estimates import render_estimate
from services.notifications.domain.policy import backoff_s, due_reminders, render_digest
from services.notifications.domain.statements import StatementBalance, choose_recipient, render_statement
from services.notifications.service.alerts import DIGEST_TEMPLATE
from services.notifications.service.statements import REMINDER_TEMPLATE, create_statement
from services.notifications.settings import NotificationSettings

log = logging.getLogger(__name__)

ErrorClass = Literal[
    "smtp_rejected", "smtp_unavailable", "webhook_http_error", "webhook_timeout",
    "no_contact_details", "opted_out", "template_error",
]  # fmt: skip


@dataclass(frozen=True)
class Outcome:
    """What a hand-over did."""

    kind: Literal["sent", "error", "skip"]
    error_class: ErrorClass | None = None
    permanent: bool = False
    status_code: int | None = None
    reason: str | None = None


SENT = Outcome("sent")


class _HeaderClasses(HeaderRegistry):
    """The standard header classes, each made once: email's registry makes a new class at every
    lookup (a header set, and the count check before it), a seventh of the sender's CPU. The
    message is the same to the byte."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


HEADER_CLASSES = _HeaderClasses()
MESSAGE_POLICY = email.policy.default.clone(header_factory=HEADER_CLASSES)


def message_id(notification_id: str) -> str:
    return f"<{notification_id}@notifications.revcycle>"


def _name(person: dict[str, Any]) -> str:
    name = person.get("name") or {}
    return " ".join(p for p in (name.get("given"), name.get("family")) if p)


class Mailbox:
    """The SMTP connection a sender pass shares: opened by its first email, closed at its end. A
    connection per message cost a TCP handshake, the greeting, EHLO, QUIT and a getfqdn in a
    worker thread each time: most of the sender's CPU."""

    def __init__(self, nsettings: NotificationSettings) -> None:
        self.settings = nsettings
        self.client: aiosmtplib.SMTP | None = None
        self.local_hostname: str | None = None  # EHLO's name, looked up once (aiosmtplib does it in a thread)

    async def send(self, msg: EmailMessage) -> None:
        if self.client is not None:
            try:
                await self._send_on(self.client, msg)
                return
            except aiosmtplib.SMTPServerDisconnected:
                pass  # closed since the pass's previous email (a server restart): once more, on a new one
        client = aiosmtplib.SMTP(hostname=self.settings.smtp_host, port=self.settings.smtp_port,
                                 timeout=self.settings.smtp_timeout_s, start_tls=False, use_tls=False,
                                 local_hostname=self.local_hostname)
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        self.local_hostname = client.local_hostname
        self.client = client
        await self._send_on(client, msg)

    async def _send_on(self, client: aiosmtplib.SMTP, msg: EmailMessage) -> None:
        try:
            await client.send_message(msg)
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException):
            raise  # answered, and the envelope reset by aiosmtplib: the connection serves the next email
        except BaseException:
            self.client = None
            client.close()
            raise

    async def hang_up(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            await client.quit()
        client.close()


HandedOver = tuple[asyncpg.Record, Outcome, str | None]
"""A notification handed over, its outcome, and the trace it was handed over in."""


class Sender:
    def __init__(self, runtime: Runtime, nsettings: NotificationSettings) -> None:
        self.runtime = runtime
        self.settings = nsettings
        self.mailbox = Mailbox(nsettings)

    # --- the loop --------------------------------------------------------------------------

    async def reconcile(self) -> int:
        async with self.runtime.db.acquire() as conn:
            resent = await store.reconcile_sending(conn)
        for notification_id in resent:
            log.warning("send interrupted by a restart; sending again with the same id",
                        extra=ids(notification_id=notification_id))
        return len(resent)

    async def claim(self) -> list[asyncpg.Record]:
        async with self.runtime.db.acquire() as conn, conn.transaction():
            return await store.claim_due(conn, self.runtime.clock.now(), self.settings.send_batch_size)

    async def run_once(self) -> int:
        rows = await self.claim()
        done: list[HandedOver] = []
        try:
            # A span for a pass that sends something; each hand-over in the trace its notification
            # was queued in (a statement's: its balance's, so the encounter's), linked to it.
            with (self.runtime.tracer.start_as_current_span("notifications send") if rows
                  else contextlib.nullcontext()):
                passing = trace.get_current_span()
                for row in rows:
                    with continued(row["traceparent"], "notification send", links=[passing]):
                        done.append((row, await self.hand_over(row), outbox.current_traceparent()))
                    if row["kind"] == "webhook":
                        # Its outcome may disable the subscription: recorded before the next
                        # webhook of the pass reads the subscription.
                        await self.record(done)
                        done = []
                await self.record(done)
        finally:
            await self.mailbox.hang_up()
        return len(rows)

    async def run(self, stopping: asyncio.Event) -> None:
        await self.reconcile()
        while not stopping.is_set():
            try:
                busy = await self.run_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("sender pass failed", extra=ids(error_class=type(exc).__name__))
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self.settings.send_poll_interval_s)

    # --- hand-over -------------------------------------------------------------------------

    async def hand_over(self, row: asyncpg.Record) -> Outcome:
        try:
            if row["kind"] in ("statement", "reminder"):
                return await self._statement(row)
            if row["kind"] == "digest":
                return await self._digest(row)
            if row["kind"] == "estimate":
                return await self._estimate(row)
            return await self._webhook(row)
        except Exception as exc:  # a bug in rendering must not stop the sender
            log.error("hand-over failed", extra=ids(notification_id=row["notification_id"],
                                                      error_class=type(exc).__name__))
            return Outcome("error", "template_error", permanent=True, reason=type(exc).__name__)

    async def _statement(self, row: asyncpg.Record) -> Outcome:
        balance_id = row["related"]["balance_id"]
        async with self.runtime.db.acquire() as conn:
            rows = await store.statement_view(conn, balance_id)
        if not rows or rows[0]["state"] != "open" or rows[0]["amount_due"] <= 0:
            return Outcome("skip", reason="balance no longer open")
        details = rows[0]["contact"]
        recipient = choose_recipient(details)
        if recipient.email is None:
            return Outcome("skip", recipient.error_class, reason=recipient.skip_reason)
        balances = [
            StatementBalance(r["balance_id"], r["patient_account_id"], r["body"], _name(r["details"]["patient"]),
                             r["details"]["billing_provider"]["name"])
            for r in rows if r["balance_id"] is not None
        ]
        days = row["body"].get("reminder_days") if row["kind"] == "reminder" else None
        rendered = render_statement(
            balances, recipient_name=recipient.name, organization=self.settings.organization_name,
            pay_url=self.settings.pay_url, pay_phone=self.settings.pay_phone, reminder_days=days,
        )
        msg = self._message(row, recipient.email, rendered.subject, rendered.text)
        msg.add_alternative(rendered.html, subtype="html")
        return await self._smtp(msg)

    async def _estimate(self, row: asyncpg.Record) -> Outcome:
        """The estimate email, to whom a statement would go now (the contact may have changed since)."""
        async with self.runtime.db.acquire() as conn:
            contact = await store.load_contact(conn, row["related"]["encounter_id"])
        details = contact["details"] if contact else {}
        recipient = choose_recipient(details)
        if recipient.email is None:
            return Outcome("skip", recipient.error_class, reason=recipient.skip_reason)
        rendered = render_estimate(row["body"], recipient_name=recipient.name, patient_name=_name(details["patient"]),
                                   provider_name=details["billing_provider"]["name"],
                                   organization=self.settings.organization_name)
        msg = self._message(row, recipient.email, rendered.subject, rendered.text)
        msg.add_alternative(rendered.html, subtype="html")
        return await self._smtp(msg)

    async def _digest(self, row: asyncpg.Record) -> Outcome:
        async with self.runtime.db.acquire() as conn:
            alerts = await store.digest_alerts(conn, row["body"]["digest_id"])
        if not alerts:
            return Outcome("skip", reason="empty digest")
        subject, text = render_digest([dict(a) for a in alerts], organization=self.settings.organization_name)
        return await self._smtp(self._message(row, self.settings.billing_team_address, subject, text))

    def _message(self, row: asyncpg.Record, to: str, subject: str, text: str) -> EmailMessage:
        msg = EmailMessage(policy=MESSAGE_POLICY)
        msg["Message-ID"] = message_id(row["notification_id"])
        msg["From"] = self.settings.from_address
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(self.runtime.clock.now())
        msg["X-Revcycle-Template"] = row["template"]
        msg.set_content(text)
        return msg

    async def _smtp(self, msg: EmailMessage) -> Outcome:
        try:
            await self.mailbox.send(msg)
        except aiosmtplib.SMTPRecipientsRefused:
            return Outcome("error", "smtp_rejected", permanent=True, reason="recipient refused")
        except aiosmtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.code < 600
            return Outcome("error", "smtp_rejected" if permanent else "smtp_unavailable", permanent=permanent,
                           status_code=exc.code, reason=f"SMTP {exc.code}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome("error", "smtp_unavailable", reason=type(exc).__name__)
        return SENT

    async def _webhook(self, row: asyncpg.Record) -> Outcome:
        async with self.runtime.db.acquire() as conn:
            sub = await store.subscription(conn, row["subscription_id"])
        if sub is None or not sub["enabled"]:
            return Outcome("skip", reason="subscription disabled or removed")
        secret = os.environ.get(sub["secret_env"])
        if not secret:
            return Outcome("error", "webhook_http_error", permanent=True,
                           reason=f"secret environment variable {sub['secret_env']} is not set")
        payload = json.dumps(row["body"], separators=(",", ":"), sort_keys=True)
        # Signature time is transport time (receivers compare it with their wall clock).
        signed_at = datetime.fromtimestamp(int(time.time()), UTC)
        signature = Webhook(secret).sign(row["notification_id"], signed_at, payload)
        headers = {
            "content-type": "application/json",
            "webhook-id": row["notification_id"],
            "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": signature,
        }
        try:
            async with httpx.AsyncClient(timeout=self.settings.webhook_timeout_s) as client:
                response = await client.post(sub["url"], content=payload.encode(), headers=headers)
        except httpx.TimeoutException:
            return Outcome("error", "webhook_timeout", reason="timeout")
        except httpx.HTTPError as exc:
            return Outcome("error", "webhook_http_error", reason=type(exc).__name__)
        if 200 <= response.status_code < 300:
            return Outcome("sent", status_code=response.status_code)
        return Outcome("error", "webhook_http_error", status_code=response.status_code,
                       reason=f"HTTP {response.status_code}")

    # --- record ----------------------------------------------------------------------------

    async def record(self, done: list[HandedOver]) -> None:
        """Record hand-overs in one transaction: the state, the attempt row and the outbox row of
        each (in the trace of its hand-over)."""
        if not done:
            return
        now = self.runtime.clock.now()
        attempts: list[tuple[str, int, str, int | None]] = []
        results: list[tuple[str, str, str | None, datetime | None]] = []
        events: list[outbox.Traced] = []
        async with self.runtime.db.acquire() as conn, conn.transaction():
            for row, handed_over, traceparent in done:
                notification_id = row["notification_id"]
                label = handed_over.kind if handed_over.kind != "error" else str(handed_over.error_class)
                attempts.append((notification_id, int(row["attempts"]), label, handed_over.status_code))
                outcome = handed_over
                if row["kind"] == "webhook" and handed_over.kind != "skip":
                    outcome = await self._count_webhook_result(conn, row, handed_over, now)
                state, reason, next_at, event = self._result(row, outcome, now)
                results.append((notification_id, state, reason, next_at))
                if event is not None:
                    events.append((event, now, None, traceparent))
            await store.record_results(conn, attempts, results, now)
            await outbox.enqueue_many(conn, events)

    async def _count_webhook_result(
        self, conn: asyncpg.Connection, row: asyncpg.Record, outcome: Outcome, now: datetime
    ) -> Outcome:
        """The subscription's failures in a row; the one that disables it fails this delivery for
        good and skips the subscription's pending ones."""
        disabled = await store.webhook_result(
            conn, row["subscription_id"], ok=outcome.kind == "sent",
            disable_after=self.settings.webhook_disable_after_failures, now=now,
        )
        if not disabled:
            return outcome
        log.warning("webhook subscription disabled after repeated failures",
                    extra=ids(notification_id=row["notification_id"], count=int(row["attempts"])))
        await store.skip_pending_deliveries(conn, row["subscription_id"], "subscription disabled")
        return Outcome("error", outcome.error_class, permanent=True, status_code=outcome.status_code,
                       reason="subscription disabled")

    def _result(
        self, row: asyncpg.Record, outcome: Outcome, now: datetime
    ) -> tuple[str, str | None, datetime | None, BaseModel | None]:
        """A hand-over's new state, reason and next attempt time, and the event announcing it."""
        notification_id = row["notification_id"]
        attempt = int(row["attempts"])
        common: dict[str, Any] = {
            "notification_id": notification_id, "channel": row["channel"], "template": row["template"],
            "recipient_kind": row["recipient_kind"], "related": RelatedIds.model_validate(row["related"]),
            "trigger_event_id": row["trigger_event_id"], "trigger_event_type": row["trigger_event_type"],
        }
        if outcome.kind == "sent":
            log.info("notification sent", extra=ids(notification_id=notification_id, attempt=attempt))
            return "sent", None, None, NotificationSent(**common, attempt=attempt, sent_at=now)
        if outcome.kind == "skip":
            log.info("notification skipped", extra=ids(notification_id=notification_id))
            failed = None if outcome.error_class is None else NotificationFailed(
                **common, attempts=attempt, error_class=outcome.error_class, permanent=True,
                next_attempt_at=None, failed_at=now)
            return "skipped", outcome.reason, None, failed
        assert outcome.error_class is not None
        webhook = row["kind"] == "webhook"
        max_attempts = self.settings.webhook_max_attempts if webhook else self.settings.smtp_max_attempts
        permanent = outcome.permanent or attempt >= max_attempts
        next_at = None if permanent else now + timedelta(
            seconds=backoff_s(attempt, self.settings.retry_base_delay_s, self.settings.retry_max_delay_s))
        log.warning("notification attempt failed", extra=ids(
            notification_id=notification_id, attempt=attempt, error_class=outcome.error_class))
        return "failed" if permanent else "pending", outcome.reason, next_at, NotificationFailed(
            **common, attempts=attempt, error_class=outcome.error_class, permanent=permanent,
            next_attempt_at=next_at, failed_at=now)


# --- reminders and digests -------------------------------------------------------------------


async def create_due_reminders(runtime: Runtime, nsettings: NotificationSettings) -> int:
    """Reminder rows for open balances that reached 30/60/90 days (idempotent per step)."""
    created = 0
    now = runtime.clock.now()
    async with runtime.db.acquire() as conn:
        balances = await store.balances_needing_reminders(conn)
    for b in balances:
        for days in due_reminders(b["opened_at"], now, nsettings.reminder_days, set(b["steps"])):
            async with runtime.db.acquire() as conn, conn.transaction():
                trigger = await store.last_trigger(conn, b["balance_id"])
                if trigger is None:
                    continue
                contact = await store.load_contact(conn, b["encounter_id"])
                if await create_statement(
                    conn, runtime.clock, trigger["trigger_event_id"], trigger["trigger_event_type"],
                    balance_id=b["balance_id"], encounter_id=b["encounter_id"],
                    patient_account_id=b["patient_account_id"], idempotency_key=f"reminder:{b['balance_id']}:{days}",
                    template=REMINDER_TEMPLATE, kind="reminder", body={"reminder_days": days}, contact=contact,
                ):
                    created += 1
    return created


async def create_digest(runtime: Runtime) -> str | None:
    """Gather the undigested staff alerts into one digest notification."""
    digest_id = new_id("dig")
    async with runtime.db.acquire() as conn, conn.transaction():
        alerts = await store.take_undigested(conn, digest_id)
        if not alerts:
            return None
        first = alerts[0]
        await store.insert_notification(
            conn, notification_id=new_id("ntf"), idempotency_key=f"digest:{digest_id}", kind="digest",
            channel="email", template=DIGEST_TEMPLATE, recipient_kind="staff", related={},
            trigger_event_id=first["event_id"], trigger_event_type=first["event_type"], now=runtime.clock.now(),
            body={"digest_id": digest_id, "alerts": len(alerts)},
        )
    log.info("staff digest queued", extra=ids(count=len(alerts)))
    return digest_id
