"""API tokens for tests: created the way `rcm tokens create` does (admin connection, hash only),
into the schemas of the services a test runs (they must have started: the table is theirs)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import asyncpg
import httpx
from fastapi import FastAPI

from services.chassis import tokens
from services.chassis.settings import Settings
from services.chassis.tokens import Scope


async def issue(platform: Settings, services: Iterable[str], *, name: str = "test-operator",
                scope: Scope = Scope.ADMIN) -> str:
    """A new token's secret, live in each service schema given."""
    conn = await asyncpg.connect(platform.admin_url)
    try:
        secret, _ = await tokens.issue(conn, list(services), name=name, scope=scope, created_by="pytest")
    finally:
        await conn.close()
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@asynccontextmanager
async def authorized(app: FastAPI, platform: Settings, *, name: str = "test-operator",
                     scope: Scope = Scope.ADMIN) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of a started service app, sending a new token of its own."""
    service: str = app.state.runtime.service
    secret = await issue(platform, [service], name=name, scope=scope)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}",
                                 headers=bearer(secret)) as client:
        yield client
