"""The append-only audit trail of operator actions (who, what, when, why)."""

from __future__ import annotations

import getpass
import json
from typing import Any

import asyncpg


def current_actor() -> str:
    return getpass.getuser()


async def record(
    conn: asyncpg.Connection,
    *,
    actor: str,
    action: str,
    subject: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> int:
    if not reason.strip():
        raise ValueError("an operator action needs a reason")
    # $5 is text cast to jsonb: a connection with a jsonb codec (every service pool) would otherwise
    # encode the JSON text again and store a JSON string instead of an object.
    row_id: int = await conn.fetchval(
        "INSERT INTO audit_log (actor, action, subject, reason, details) VALUES ($1, $2, $3, $4, $5::text::jsonb)"
        " RETURNING id",
        actor,
        action,
        subject,
        reason,
        json.dumps(details or {}, sort_keys=True, default=str),
    )
    return row_id
