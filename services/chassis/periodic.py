"""`every`: the one loop of a service's periodic background work (pollers, batchers, timers)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg
import asyncssh

from services.chassis.logs import ids

log = logging.getLogger(__name__)
TRANSIENT: tuple[type[BaseException], ...] = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncssh.Error)
"""What a pass may meet and simply retry at the next one: the database, the disk, the SFTP server."""


async def every(interval_s: Callable[[], float], stopping: asyncio.Event, step: Callable[[], Awaitable[object]],
                name: str, *, wait_first: bool = False, survive_bugs: bool = False) -> None:
    """Run `step` every `interval_s()` seconds until `stopping` is set (`wait_first`: the first pass
    after one interval). A transient failure is logged and retried at the next pass; any other
    exception ends the task (the health check then reports the service not whole) unless
    `survive_bugs` (a poller whose input stays in place for the next pass)."""
    while not stopping.is_set():
        if wait_first:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval_s())
            if stopping.is_set():
                return
        try:
            await step()
        except TRANSIENT as exc:
            log.warning("background pass failed; retrying", extra=ids(component=name, error_class=type(exc).__name__))
        except Exception:
            if not survive_bugs:
                raise
            log.exception("background pass failed; retrying", extra=ids(component=name))
        if not wait_first:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval_s())
