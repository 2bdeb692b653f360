"""Patient statements through real Kafka, Postgres and SMTP (an aiosmtpd catcher started here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from devstack.mailcatcher import MailCatcher
from services.chassis.clock import FixedClock
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.notifications.service.delivery import create_due_reminders
from services.notifications.settings import NotificationSettings
from tests.integration.test_notifications_helpers import (
    T0,
    WRITTEN_OFF,
    Story,
    definition,
    events_until,
    fetch,
    html_of,
    notification_settings,
    settled,
    stored,
    text_of,
)
from tests.support.kafka_io import consumed, eventually, publish
from tests.support.runtimes import running
from tests.support.testsvc import example

pytestmark = pytest.mark.integration
OF_BALANCES = "related->>'balance_id' = ANY($1)"


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture(scope="module")
def ns(catcher: MailCatcher) -> NotificationSettings:
    return notification_settings(catcher.port)


@pytest.fixture(scope="module")
async def service(platform: Settings, ns: NotificationSettings, clock: FixedClock) -> AsyncIterator[Runtime]:
    async with running(definition(ns), platform, clock=clock) as rt:
        yield rt


async def mails_to(folder: Path, to: str, n: int, what: str) -> None:
    async def check() -> bool:
        return len(stored(folder, to)) >= n

    await eventually(check, timeout_s=60, what=what)


async def test_a_balance_produces_exactly_one_correct_statement(
    platform: Settings, catcher: MailCatcher, service: Runtime
) -> None:
    story = Story()
    await publish(platform, story.ready())
    created = story.created()
    envelope = await publish(platform, created)
    await publish(platform, created, event_id=envelope.id)  # the same event redelivered
    await publish(platform, created)  # the same balance revision under a new event id
    await mails_to(catcher.folder, story.email, 1, "the statement")
    # Every copy consumed and the sender done with what they queued: a duplicate would be here now.
    await consumed(platform, "notifications", "rcm.patient-balances.v1")
    await settled(platform, OF_BALANCES, [story.balance_id])
    mails = stored(catcher.folder, story.email)
    assert len(mails) == 1
    msg = mails[0]
    assert msg["Subject"].strip() == "Your statement from Mission Family Medical Group: $40.00 due 2026-05-08"
    text = text_of(msg)
    for expected in ("Dear Ana L Rivera", "2026-03-02", "99213", "Office visit", "87880", "$150.00", "$58.00",
                     "$52.00", "Amount due: $40.00 by 2026-05-08", story.account, "https://pay.clinic.example"):
        assert expected in text
    assert story.account in html_of(msg) and "$40.00" in html_of(msg)
    rows = await fetch(platform, "SELECT notification_id, state, attempts FROM notifications"
                                 " WHERE related->>'balance_id' = $1", story.balance_id)
    assert [(r["state"], r["attempts"]) for r in rows] == [("sent", 1)]
    assert msg["Message-ID"] == f"<{rows[0]['notification_id']}@notifications.revcycle>"

    # settled(): the outbox is drained, so a second NotificationSent would be on the topic already.
    events = await events_until(platform, lambda _, p: p["related"]["balance_id"] == story.balance_id,
                                bool, "NotificationSent")
    assert [n for n, _ in events] == ["NotificationSent"]
    sent = events[0][1]
    assert sent["template"] == "patient-statement" and sent["recipient_kind"] == "guarantor"
    assert sent["trigger_event_id"] == str(envelope.id) and sent["attempt"] == 1
    assert "email" not in repr(sent["related"]) and story.email not in repr(sent)


async def test_a_balance_before_its_contact_waits_for_it(
    platform: Settings, catcher: MailCatcher, service: Runtime
) -> None:
    story = Story()
    await publish(platform, story.created())

    async def parked() -> bool:
        return bool(await fetch(platform, "SELECT 1 FROM parked WHERE park_key = $1", f"contact:{story.encounter_id}"))

    await eventually(parked, what="the balance to wait for its contact details")
    assert stored(catcher.folder, story.email) == []
    await publish(platform, story.ready())
    await mails_to(catcher.folder, story.email, 1, "the statement after the contact arrived")


async def test_a_change_sends_a_new_statement_and_grouping_covers_open_balances(
    platform: Settings, catcher: MailCatcher, service: Runtime
) -> None:
    story = Story()
    await publish(platform, story.ready())
    await publish(platform, story.created())
    await mails_to(catcher.folder, story.email, 1, "the first statement")
    second = Story()
    second.guarantor = story.guarantor  # the same guarantor, another encounter
    await publish(platform, second.ready())
    await publish(platform, second.created(due_date="2026-05-01"))
    await mails_to(catcher.folder, story.email, 2, "the grouped statement")
    grouped = [m for m in stored(catcher.folder, story.email) if "$80.00" in m["Subject"]]
    assert len(grouped) == 1
    text = text_of(grouped[0])
    assert story.account in text and second.account in text and "TOTAL DUE: $80.00 by 2026-05-01" in text
    await publish(platform, story.updated(patient_paid="10.00", amount_due="30.00", previous_amount_due="40.00",
                                          reason="patient_payment"))
    await mails_to(catcher.folder, story.email, 3, "the statement for the change")
    assert any("$70.00" in m["Subject"] for m in stored(catcher.folder, story.email))


async def test_no_email_or_opt_out_means_no_statement_recorded_as_skipped(
    platform: Settings, catcher: MailCatcher, service: Runtime
) -> None:
    opted_out = Story(contact_preference="none")
    no_email = Story(email=None, contact_preference="mail", relationship_to_patient="parent")
    for story in (opted_out, no_email):
        await publish(platform, story.ready())
        await publish(platform, story.created())

    wanted = {opted_out.balance_id, no_email.balance_id}
    got = await events_until(platform, lambda n, p: n == "NotificationFailed" and p["related"]["balance_id"] in wanted,
                             lambda names: len(names) >= 2, "two NotificationFailed")
    events = {p["related"]["balance_id"]: p for _, p in got}
    assert events[opted_out.balance_id]["error_class"] == "opted_out"
    assert events[no_email.balance_id]["error_class"] == "no_contact_details"
    assert all(events[s.balance_id]["permanent"] for s in (opted_out, no_email))
    rows = await fetch(platform, "SELECT state, reason FROM notifications WHERE related->>'balance_id' = ANY($1)",
                       [opted_out.balance_id, no_email.balance_id])
    assert sorted((r["state"], r["reason"]) for r in rows) == [
        ("skipped", "guarantor opted out of statements"), ("skipped", "no email address on file")]
    assert stored(catcher.folder, opted_out.email) == []


async def test_reminders_follow_the_clock_and_stop_when_paid_or_written_off(
    platform: Settings, catcher: MailCatcher, service: Runtime, ns: NotificationSettings, clock: FixedClock
) -> None:
    paid, open_, written, zeroed = Story(), Story(), Story(), Story()
    balances = [s.balance_id for s in (paid, open_, written, zeroed)]
    for story in (paid, open_, written, zeroed):
        await publish(platform, story.ready())
        await publish(platform, story.created())
        await mails_to(catcher.folder, story.email, 1, "the statement")
    clock.advance(timedelta(days=31))
    for story in (paid, open_, written, zeroed):
        await mails_to(catcher.folder, story.email, 2, "the 30-day reminder")
    reminder = next(m for m in stored(catcher.folder, open_.email)
                    if m["Subject"].strip().startswith("Reminder (30 days)"))
    assert "open for 30 days" in text_of(reminder) and open_.account in text_of(reminder)
    await publish(platform, paid.paid())
    await publish(platform, example(WRITTEN_OFF, patient_account_id=written.account, balance_id=written.balance_id,
                                    encounter_id=written.encounter_id, amount="40.00", reason="charity",
                                    remaining_amount_due="0.00"))
    await publish(platform, zeroed.updated())  # the contract example: paid in full, amount_due 0.00

    async def closed() -> bool:
        rows = await fetch(platform, "SELECT count(*) AS n FROM balances WHERE balance_id = ANY($1)"
                                     " AND state = 'closed'", [paid.balance_id, written.balance_id, zeroed.balance_id])
        return int(rows[0]["n"]) == 3

    await eventually(closed, what="paid, written-off and zeroed balances to close")
    clock.advance(timedelta(days=30))
    await mails_to(catcher.folder, open_.email, 3, "the 60-day reminder for the open balance")
    # A whole reminder pass after the advance (ours, beside the service's own), then the sender done
    # with what it queued: a reminder for a closed balance would be in the folder now.
    await create_due_reminders(service, ns)
    await settled(platform, OF_BALANCES, balances)
    assert len(stored(catcher.folder, paid.email)) == 2
    assert len(stored(catcher.folder, written.email)) == 2
    assert len(stored(catcher.folder, zeroed.email)) == 2  # and no statement for the zeroing change
    reasons = await fetch(platform, "SELECT balance_id, closed_reason FROM balances WHERE balance_id = ANY($1)",
                          [paid.balance_id, written.balance_id, zeroed.balance_id])
    assert {r["balance_id"]: r["closed_reason"] for r in reasons} == {
        paid.balance_id: "paid", written.balance_id: "written off: charity",
        zeroed.balance_id: "zeroed: patient_payment"}
    subjects = sorted(m["Subject"].strip()[:19] for m in stored(catcher.folder, open_.email))
    assert subjects[:2] == ["Reminder (30 days):", "Reminder (60 days):"]
    clock.advance(timedelta(days=1))  # a later pass creates nothing new for the same steps
    await create_due_reminders(service, ns)
    await settled(platform, OF_BALANCES, balances)
    assert len(stored(catcher.folder, open_.email)) == 3
