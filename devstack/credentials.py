"""The API token the `rcm` command sends, and the local operator token `rcm up` creates once.

The CLI sends `RCM_API_TOKEN` when set, else the secret in `$RCM_STATE_DIR/operator.token`
(mode 0600, written by `rcm up`: an admin token named `operator:<OS user>`). The file holds the
secret only; the databases hold only its hash.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from services.chassis import audit, tokens
from services.chassis.settings import SERVICES, Settings

ENV = "RCM_API_TOKEN"


def operator_token_path(settings: Settings) -> Path:
    return settings.state_dir / "operator.token"


def api_token(settings: Settings) -> str | None:
    """The token the CLI sends to the services: RCM_API_TOKEN, else the local operator token."""
    explicit = os.environ.get(ENV, "").strip()
    if explicit:
        return explicit
    path = operator_token_path(settings)
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def auth_headers(settings: Settings) -> dict[str, str]:
    secret = api_token(settings)
    return {"Authorization": f"Bearer {secret}"} if secret else {}


async def ensure_operator_token(settings: Settings, services: Sequence[str] = SERVICES) -> bool:
    """Create the local operator token unless the file's token is live in every service schema
    (a fresh database after `rcm down` no longer knows it); True when a new one was written."""
    path = operator_token_path(settings)
    conn = await asyncpg.connect(settings.admin_url)
    try:
        current = path.read_text().strip() if path.exists() else ""
        if current and tokens.well_formed(current):
            live = await conn.fetchval(
                " + ".join(f"(SELECT count(*) FROM {s}.api_tokens WHERE token_hash = $1 AND revoked_at IS NULL)"
                           for s in services).join(("SELECT ", "")), tokens.digest(current))
            if live == len(services):
                return False
        user = re.sub(r"[^A-Za-z0-9_.@-]", "_", audit.current_actor())[:50] or "local"
        secret, _ = await tokens.issue(conn, services, name=f"operator:{user}",
                                       scope=tokens.Scope.ADMIN, created_by=audit.current_actor())
    finally:
        await conn.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created 0600 before the secret is written: never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secret + "\n")
    os.chmod(path, 0o600)
    return True
