"""Every SQL statement of the notifications service (the one store module)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.chassis import outbox

# --- contacts ------------------------------------------------------------------------------


async def upsert_contact(
    conn: asyncpg.Connection, *, encounter_id: str, patient_account_id: str, revision: int,
    guarantor_key: str, details: dict[str, Any], now: datetime,
) -> bool:
    """Keep the latest revision; an older revision arriving late changes nothing."""
    row = await conn.fetchval(
        "INSERT INTO contacts (encounter_id, patient_account_id, revision, guarantor_key, details, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (encounter_id) DO UPDATE SET"
        " patient_account_id = EXCLUDED.patient_account_id, revision = EXCLUDED.revision,"
        " guarantor_key = EXCLUDED.guarantor_key, details = EXCLUDED.details, updated_at = EXCLUDED.updated_at"
        " WHERE contacts.revision <= EXCLUDED.revision RETURNING 1",
        encounter_id, patient_account_id, revision, guarantor_key, details, now,
    )
    return row is not None


async def load_contact(conn: asyncpg.Connection, encounter_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT encounter_id, patient_account_id, guarantor_key, details FROM contacts WHERE encounter_id = $1",
        encounter_id,
    )
    return row


# --- balances ------------------------------------------------------------------------------


async def upsert_balance(
    conn: asyncpg.Connection, *, balance_id: str, patient_account_id: str, encounter_id: str, revision: int,
    amount_due: Decimal, due_date: date, opened_at: datetime, body: dict[str, Any], now: datetime,
) -> bool:
    """Apply a balance revision newer than the one we have; False for a stale or repeated one."""
    row = await conn.fetchval(
        "INSERT INTO balances (balance_id, patient_account_id, encounter_id, revision, amount_due, due_date,"
        " state, opened_at, body, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9)"
        " ON CONFLICT (balance_id) DO UPDATE SET revision = EXCLUDED.revision, amount_due = EXCLUDED.amount_due,"
        " due_date = EXCLUDED.due_date, body = EXCLUDED.body, updated_at = EXCLUDED.updated_at,"
        " state = CASE WHEN EXCLUDED.amount_due > 0 THEN 'open' ELSE balances.state END,"
        " closed_reason = CASE WHEN EXCLUDED.amount_due > 0 THEN NULL ELSE balances.closed_reason END"
        " WHERE balances.revision < EXCLUDED.revision RETURNING 1",
        balance_id, patient_account_id, encounter_id, revision, amount_due, due_date, opened_at, body, now,
    )
    return row is not None


async def close_balance(conn: asyncpg.Connection, balance_id: str, reason: str, now: datetime) -> bool:
    """Close an open balance (paid, written off, zeroed) and cancel its pending reminders."""
    closed = await conn.fetchval(
        "UPDATE balances SET state = 'closed', closed_reason = $2, updated_at = $3"
        " WHERE balance_id = $1 AND state = 'open' RETURNING 1",
        balance_id, reason, now,
    )
    await conn.execute(
        "UPDATE notifications SET state = 'skipped', reason = $2 WHERE kind = 'reminder' AND state = 'pending'"
        " AND related->>'balance_id' = $1",
        balance_id, f"balance closed ({reason})",
    )
    return closed is not None


async def reduce_balance(conn: asyncpg.Connection, balance_id: str, amount: Decimal, now: datetime) -> Decimal | None:
    """Apply a patient payment to the balance; the remaining amount due (None if unknown)."""
    remaining: Decimal | None = await conn.fetchval(
        "UPDATE balances SET amount_due = greatest(amount_due - $2, 0), updated_at = $3 WHERE balance_id = $1"
        " RETURNING amount_due",
        balance_id, amount, now,
    )
    return remaining


async def set_amount_due(conn: asyncpg.Connection, balance_id: str, amount: Decimal, now: datetime) -> None:
    await conn.execute("UPDATE balances SET amount_due = $2, updated_at = $3 WHERE balance_id = $1",
                       balance_id, amount, now)


async def statement_view(conn: asyncpg.Connection, balance_id: str) -> list[asyncpg.Record]:
    """What a statement about the balance shows, in one round trip: a row per open balance with
    something due of the same guarantor (balance_id, patient_account_id, body, details; oldest
    first), each carrying the balance's own state, amount_due and contact; one row with those
    NULL when the balance is not open with something due; no row when the balance is unknown."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT t.state, t.amount_due, t.details AS contact, o.balance_id, o.patient_account_id, o.body, o.details"
        " FROM (SELECT b.state, b.amount_due, c.guarantor_key, c.details FROM balances b"
        "       LEFT JOIN contacts c USING (encounter_id) WHERE b.balance_id = $1) t"
        " LEFT JOIN LATERAL (SELECT b.balance_id, b.patient_account_id, b.body, c.details, b.opened_at"
        "       FROM balances b JOIN contacts c USING (encounter_id)"
        "       WHERE c.guarantor_key = t.guarantor_key AND b.state = 'open' AND b.amount_due > 0) o"
        " ON t.state = 'open' AND t.amount_due > 0 ORDER BY o.opened_at, o.balance_id",
        balance_id,
    )
    return rows


async def balances_needing_reminders(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """Open balances with something due, and the reminder steps already created for them."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT b.balance_id, b.patient_account_id, b.encounter_id, b.opened_at,"
        " coalesce(array_agg((n.body->>'reminder_days')::int) FILTER (WHERE n.kind = 'reminder'), '{}') AS steps"
        " FROM balances b LEFT JOIN notifications n ON n.kind = 'reminder' AND n.related->>'balance_id' = b.balance_id"
        " WHERE b.state = 'open' AND b.amount_due > 0 GROUP BY b.balance_id"
    )
    return rows


async def last_trigger(conn: asyncpg.Connection, balance_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT trigger_event_id, trigger_event_type FROM notifications WHERE kind = 'statement'"
        " AND related->>'balance_id' = $1 ORDER BY created_at DESC LIMIT 1",
        balance_id,
    )
    return row


# --- notifications -------------------------------------------------------------------------


async def insert_notification(
    conn: asyncpg.Connection, *, notification_id: str, idempotency_key: str, kind: str, channel: str,
    template: str, recipient_kind: str, related: dict[str, Any], trigger_event_id: UUID, trigger_event_type: str,
    now: datetime, state: str = "pending", reason: str | None = None, body: dict[str, Any] | None = None,
    subscription_id: str | None = None,
) -> bool:
    """False when a notification with that idempotency key exists already (never a duplicate)."""
    row = await conn.fetchval(
        "INSERT INTO notifications (notification_id, idempotency_key, kind, channel, template, recipient_kind,"
        " related, trigger_event_id, trigger_event_type, subscription_id, body, state, reason, next_attempt_at,"
        " created_at, traceparent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)"
        " ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1",
        notification_id, idempotency_key, kind, channel, template, recipient_kind, related, trigger_event_id,
        trigger_event_type, subscription_id, body or {}, state, reason, now,
        outbox.current_traceparent(),  # the trace it is queued in (the event's): the sender continues it
    )
    return row is not None


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[asyncpg.Record]:
    """Mark due pending notifications `sending` (attempt + 1) and return them; commit before sending."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "UPDATE notifications SET state = 'sending', attempts = attempts + 1 WHERE notification_id IN ("
        " SELECT notification_id FROM notifications WHERE state = 'pending' AND next_attempt_at <= $1"
        " ORDER BY next_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING *",
        now, limit,
    )
    return rows


async def reconcile_sending(conn: asyncpg.Connection) -> list[str]:
    """After a restart: a `sending` row may or may not have been handed over. Send it again with the
    same Message-ID / webhook-id (at least once on the wire; receivers dedupe on that id)."""
    rows = await conn.fetch(
        "UPDATE notifications SET state = 'pending', attempts = attempts - 1 WHERE state = 'sending'"
        " RETURNING notification_id"
    )
    return [r["notification_id"] for r in rows]


async def load_notification(conn: asyncpg.Connection, notification_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM notifications WHERE notification_id = $1 FOR UPDATE", notification_id
    )
    return row


async def record_results(
    conn: asyncpg.Connection, attempts: list[tuple[str, int, str, int | None]],
    results: list[tuple[str, str, str | None, datetime | None]], now: datetime,
) -> None:
    """Hand-overs recorded: each attempt row (notification_id, attempt, outcome, status_code) and
    each notification's new (state, reason, next_attempt_at; None keeps it), `sent_at` = now for
    the sent ones. Two statements however many hand-overs."""
    await conn.executemany(
        "INSERT INTO delivery_attempts (notification_id, attempt, outcome, status_code, attempted_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        [(*attempt, now) for attempt in attempts],
    )
    await conn.execute(
        "UPDATE notifications n SET state = r.state, reason = r.reason,"
        " sent_at = CASE WHEN r.state = 'sent' THEN $5 ELSE n.sent_at END,"
        " next_attempt_at = coalesce(r.next_attempt_at, n.next_attempt_at)"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[])"
        " AS r(notification_id, state, reason, next_attempt_at) WHERE n.notification_id = r.notification_id",
        [r[0] for r in results], [r[1] for r in results], [r[2] for r in results], [r[3] for r in results], now,
    )


# --- staff alerts --------------------------------------------------------------------------


async def add_alert(
    conn: asyncpg.Connection, event_id: UUID, event_type: str, summary: dict[str, Any], now: datetime,
    alert_key: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO staff_alerts (event_id, event_type, summary, created_at, alert_key) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (event_id) DO NOTHING",
        event_id, event_type, summary, now, alert_key,
    )


async def alert_raised(conn: asyncpg.Connection, alert_key: str) -> bool:
    """Whether a work item for this problem was raised already, under the key's lock (held to the
    transaction's end, so two events naming one problem cannot both find none)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('notifications.alert:' || $1, 0))", alert_key)
    found: bool = await conn.fetchval("SELECT EXISTS (SELECT 1 FROM staff_alerts WHERE alert_key = $1)", alert_key)
    return found


async def resolve_alerts(conn: asyncpg.Connection, event_type: str, alert_key: str, now: datetime) -> dict[str, int]:
    """Mark the open alerts of that type and key resolved. One still pending (in no digest yet, or in
    a digest not yet handed over) is skipped with reason "resolved"; one already delivered (its
    digest is sending, sent or failed) stays as it was. Counts by outcome: skipped, delivered,
    already (resolved before). The digest row is locked, so the sender cannot start it meanwhile."""
    alerts = await conn.fetch(
        "SELECT event_id, digest_id, resolved_at FROM staff_alerts WHERE event_type = $1 AND alert_key = $2"
        " ORDER BY created_at, event_id FOR UPDATE",
        event_type, alert_key,
    )
    counts = {"skipped": 0, "delivered": 0, "already": 0}
    for alert in alerts:
        if alert["resolved_at"] is not None:
            counts["already"] += 1
            continue
        pending = True
        if alert["digest_id"] is not None:
            state = await conn.fetchval(
                "SELECT state FROM notifications WHERE idempotency_key = 'digest:' || $1 FOR UPDATE",
                alert["digest_id"],
            )
            pending = state in (None, "pending")
        await conn.execute(
            "UPDATE staff_alerts SET resolved_at = $2, skip_reason = $3 WHERE event_id = $1",
            alert["event_id"], now, "resolved" if pending else None,
        )
        counts["skipped" if pending else "delivered"] += 1
    return counts


async def take_undigested(conn: asyncpg.Connection, digest_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "UPDATE staff_alerts SET digest_id = $1 WHERE event_id IN (SELECT event_id FROM staff_alerts"
        " WHERE digest_id IS NULL AND skip_reason IS NULL ORDER BY created_at FOR UPDATE SKIP LOCKED) RETURNING *",
        digest_id,
    )
    return sorted(rows, key=lambda r: (r["created_at"], str(r["event_id"])))


async def digest_alerts(conn: asyncpg.Connection, digest_id: str) -> list[asyncpg.Record]:
    """The alerts a digest shows when it is handed over (those skipped meanwhile left out)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT event_type, summary FROM staff_alerts WHERE digest_id = $1 AND skip_reason IS NULL"
        " ORDER BY created_at, event_id", digest_id
    )
    return rows


# --- webhook subscriptions -----------------------------------------------------------------


async def add_subscription(
    conn: asyncpg.Connection, subscription_id: str, url: str, event_types: list[str], secret_env: str, now: datetime
) -> None:
    await conn.execute(
        "INSERT INTO webhook_subscriptions (subscription_id, url, event_types, secret_env, created_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        subscription_id, url, event_types, secret_env, now,
    )


async def list_subscriptions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT subscription_id, url, event_types, secret_env, enabled, consecutive_failures, created_at,"
        " disabled_at FROM webhook_subscriptions WHERE removed_at IS NULL ORDER BY created_at"
    )
    return rows


async def remove_subscription(conn: asyncpg.Connection, subscription_id: str, now: datetime) -> bool:
    row = await conn.fetchval(
        "UPDATE webhook_subscriptions SET removed_at = $2, enabled = false WHERE subscription_id = $1"
        " AND removed_at IS NULL RETURNING 1",
        subscription_id, now,
    )
    await skip_pending_deliveries(conn, subscription_id, "subscription removed")
    return row is not None


async def skip_pending_deliveries(conn: asyncpg.Connection, subscription_id: str, reason: str) -> None:
    await conn.execute(
        "UPDATE notifications SET state = 'skipped', reason = $2 WHERE subscription_id = $1 AND state = 'pending'",
        subscription_id, reason,
    )


async def live_subscriptions(conn: asyncpg.Connection) -> list[tuple[str, frozenset[str]]]:
    """The enabled, not removed subscriptions, each with the event types it names ('*': all), by id."""
    rows = await conn.fetch(
        "SELECT subscription_id, event_types FROM webhook_subscriptions WHERE enabled AND removed_at IS NULL"
        " ORDER BY subscription_id"
    )
    return [(r["subscription_id"], frozenset(r["event_types"])) for r in rows]


async def subscription(conn: asyncpg.Connection, subscription_id: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM webhook_subscriptions WHERE subscription_id = $1", subscription_id
    )
    return row


async def webhook_result(
    conn: asyncpg.Connection, subscription_id: str, *, ok: bool, disable_after: int, now: datetime
) -> bool:
    """Count a delivery attempt's outcome; True when this failure disabled the subscription."""
    if ok:
        await conn.execute(
            "UPDATE webhook_subscriptions SET consecutive_failures = 0 WHERE subscription_id = $1", subscription_id
        )
        return False
    disabled = await conn.fetchval(
        "UPDATE webhook_subscriptions SET consecutive_failures = consecutive_failures + 1,"
        " enabled = CASE WHEN consecutive_failures + 1 >= $2 THEN false ELSE enabled END,"
        " disabled_at = CASE WHEN consecutive_failures + 1 >= $2 AND enabled THEN $3 ELSE disabled_at END"
        " WHERE subscription_id = $1 RETURNING NOT enabled AND disabled_at = $3",
        subscription_id, disable_after, now,
    )
    return bool(disabled)


async def recent(conn: asyncpg.Connection, state: str | None, limit: int) -> list[asyncpg.Record]:
    """For `rcm notifications list`: ids, states and reasons; no addresses, no bodies."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT notification_id, kind, channel, template, recipient_kind, related, state, reason, attempts,"
        " next_attempt_at, created_at, sent_at FROM notifications WHERE ($1::text IS NULL OR state = $1)"
        " ORDER BY created_at DESC, notification_id DESC LIMIT $2",
        state, limit,
    )
    return rows


async def attempts_of(conn: asyncpg.Connection, notification_id: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT attempt, outcome, status_code, attempted_at FROM delivery_attempts WHERE notification_id = $1"
        " ORDER BY id",
        notification_id,
    )
    return rows


async def audit_statement_amounts(conn: asyncpg.Connection) -> dict[str, tuple[Decimal, int]]:
    """For the audit: per balance, the amount due notifications last knew and how many
    statements (sent, or skipped with a reason) it has."""
    rows = await conn.fetch(
        "SELECT b.balance_id, b.amount_due, (SELECT count(*) FROM notifications n WHERE n.kind = 'statement'"
        " AND n.related ->> 'balance_id' = b.balance_id AND n.state IN ('sent', 'skipped', 'pending', 'sending'))"
        " AS statements FROM balances b"
    )
    return {r["balance_id"]: (r["amount_due"], r["statements"]) for r in rows}
