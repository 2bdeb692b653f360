"""API tokens: opaque bearer secrets, one per operator or calling system, kept only as a hash.

A token is `rcm_` + 32 random bytes (URL-safe base64). Its SHA-256 is stored, never the secret:
a secret of 256 random bits cannot be guessed or brute-forced from its hash, so a slow password
hash (bcrypt, argon2) would add nothing but latency on every request. Its public id is the first
12 hex digits of that hash: enough to name it in `rcm tokens list`, useless to an attacker.

Scopes are ordered: read < operate < admin (a token of a scope may do everything below it).

Each service schema holds its own `api_tokens` table (chassis migration 0003); `issue` and
`revoke` write the same row into every schema asked for through the admin connection, in one
transaction, so the services never read a shared schema. `lookup` is what a service reads.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

import asyncpg

PREFIX = "rcm_"
_SHAPE = re.compile(r"^rcm_[A-Za-z0-9_-]{43}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$")


class Scope(IntEnum):
    READ = 1
    OPERATE = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Scope:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown scope {value!r}; choose one of: read, operate, admin") from None


class TokenError(Exception):
    """A token command that cannot be done (unknown name, unmigrated schema): one line for the operator."""


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_id(secret: str) -> str:
    return digest(secret)[:12]


def well_formed(secret: str) -> bool:
    """A shape check before any lookup: garbage never reaches the database."""
    return bool(_SHAPE.fullmatch(secret))


@dataclass(frozen=True)
class Principal:
    """Who a valid token says is calling: the audit actor of what it does."""

    token_id: str
    name: str
    scope: Scope


@dataclass(frozen=True)
class TokenRow:
    service: str
    token_id: str
    name: str
    scope: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None


async def lookup(conn: asyncpg.Connection, secret: str) -> Principal | None:
    """The live (not revoked) token with this secret in the connection's own schema."""
    row = await conn.fetchrow(
        "SELECT token_id, name, scope FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL", digest(secret))
    if row is None:
        return None
    return Principal(token_id=row["token_id"], name=row["name"], scope=Scope.parse(row["scope"]))


async def _check_migrated(conn: asyncpg.Connection, schemas: Iterable[str]) -> None:
    for schema in schemas:
        if await conn.fetchval("SELECT to_regclass($1)", f"{schema}.api_tokens") is None:
            raise TokenError(f"the {schema} schema has no api_tokens table yet: start the service once (`rcm up`)")


async def issue(conn: asyncpg.Connection, schemas: Iterable[str], *, name: str, scope: Scope,
                created_by: str) -> tuple[str, str]:
    """A new token for `name` in every schema given (one transaction); returns (secret, token id).
    The secret exists only in the caller's hands from here on."""
    if not NAME.fullmatch(name):
        raise TokenError("a token name is 1-64 letters, digits or . _ : @ - (the operator or calling system)")
    schemas = list(schemas)
    secret = new_secret()
    async with conn.transaction():
        await _check_migrated(conn, schemas)
        for schema in schemas:
            await conn.execute(
                f"INSERT INTO {schema}.api_tokens (token_id, token_hash, name, scope, created_by)"
                " VALUES ($1, $2, $3, $4, $5)", token_id(secret), digest(secret), name, scope.label, created_by)
            await conn.execute(
                f"INSERT INTO {schema}.audit_log (actor, action, subject, reason, details)"
                " VALUES ($1, 'tokens.create', $2, $3, $4::jsonb)",
                created_by, token_id(secret), f"token for {name}", json.dumps({"name": name, "scope": scope.label}))
    return secret, token_id(secret)


async def listing(conn: asyncpg.Connection, schemas: Iterable[str]) -> list[TokenRow]:
    """Every token of the schemas given (no hash, no secret): one row per schema holding it."""
    schemas = list(schemas)
    await _check_migrated(conn, schemas)
    rows: list[TokenRow] = []
    for schema in schemas:
        for r in await conn.fetch(
            "SELECT token_id, name, scope, created_at, created_by, revoked_at, revoked_by, revoke_reason"
            f" FROM {schema}.api_tokens ORDER BY created_at, token_id"
        ):
            rows.append(TokenRow(service=schema, **dict(r)))
    return rows


async def revoke(conn: asyncpg.Connection, schemas: Iterable[str], *, ident: str, reason: str,
                 revoked_by: str) -> list[str]:
    """Revoke the live tokens named `ident` (a token id or a name) in every schema given, and
    audit it there; returns the token ids revoked. Unknown (or already revoked): TokenError."""
    if not reason.strip():
        raise TokenError("a revocation needs a reason (kept in the audit log)")
    schemas = list(schemas)
    revoked: set[str] = set()
    async with conn.transaction():
        await _check_migrated(conn, schemas)
        for schema in schemas:
            ids = await conn.fetch(
                f"UPDATE {schema}.api_tokens SET revoked_at = now(), revoked_by = $2, revoke_reason = $3"
                " WHERE (token_id = $1 OR name = $1) AND revoked_at IS NULL RETURNING token_id, name",
                ident, revoked_by, reason)
            for row in ids:
                revoked.add(row["token_id"])
                await conn.execute(
                    f"INSERT INTO {schema}.audit_log (actor, action, subject, reason, details)"
                    " VALUES ($1, 'tokens.revoke', $2, $3, $4::jsonb)",
                    revoked_by, row["token_id"], reason, json.dumps({"name": row["name"]}))
        if not revoked:
            raise TokenError(f"no live token with the id or name {ident!r}")
    return sorted(revoked)
