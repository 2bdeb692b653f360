"""Bearer-token authentication of the HTTP API (everything but /healthz, /readyz and /metrics).

The scope a route needs: GET and HEAD read, every other method operates (intake, payments, 835
uploads, claim actions); DLQ replay needs admin (`requires(Scope.ADMIN)`). The answer is 401 with
`WWW-Authenticate: Bearer` for a missing, malformed, unknown or revoked token and 403 when the
token's scope is too low. The token itself is never logged nor echoed.

A service keeps what it found for `RCM_TOKEN_CACHE_S` seconds (default 5): a request costs no
query while a token is cached, and a revocation takes effect within that time. Unknown tokens are
not cached (a flood of random tokens could not grow the cache; each costs one indexed lookup).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any

import asyncpg
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.chassis import tokens
from services.chassis.openapi import Problem
from services.chassis.tokens import Principal, Scope

_MAX_CACHED = 1024
_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer rcm_...` (see `rcm tokens create`).")


RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No token, or an unknown, malformed or revoked one."},
    403: {"model": Problem, "description": "The token's scope is too low for this route."},
}
"""What every authenticated route may answer, documented in the OpenAPI."""


class Authenticator:
    """Finds the principal of a secret in the service's own `api_tokens`, with a short cache."""

    def __init__(self, pool: Callable[[], asyncpg.Pool], ttl_s: float,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._pool = pool
        self._ttl_s = ttl_s
        self._monotonic = monotonic
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def principal(self, secret: str) -> Principal | None:
        if not tokens.well_formed(secret):
            return None
        key = tokens.digest(secret)
        now = self._monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        async with self._pool().acquire() as conn:
            found = await tokens.lookup(conn, secret)
        if found is None:
            self._cache.pop(key, None)
            return None
        if len(self._cache) >= _MAX_CACHED:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
        self._cache[key] = (found, now + self._ttl_s)
        return found


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": 'Bearer realm="revcycle"'})


async def _principal(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("a bearer token is required (Authorization: Bearer rcm_...)")
    authenticator: Authenticator = request.app.state.authenticator
    principal = await authenticator.principal(credentials.credentials)
    if principal is None:
        raise _unauthorized("the token is unknown or revoked")
    return principal


def _check(principal: Principal, needed: Scope) -> Principal:
    if principal.scope < needed:
        raise HTTPException(403, f"this route needs the {needed.label} scope; the token has {principal.scope.label}",
                            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{needed.label}"'})
    return principal


async def authenticated(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> Principal:
    """The default guard of a service's routes: read for GET and HEAD, operate for the rest. A route
    that needs the caller (its audit actor) declares `who: Principal = Depends(authenticated)`:
    the same dependency, so it runs once per request."""
    needed = Scope.READ if request.method in ("GET", "HEAD") else Scope.OPERATE
    return _check(await _principal(request, credentials), needed)


@cache
def requires(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A guard for one fixed scope (admin routes). Cached: one callable per scope, so FastAPI runs
    it once per request however many places declare it."""

    async def guard(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
                    ) -> Principal:
        return _check(await _principal(request, credentials), scope)

    return guard
