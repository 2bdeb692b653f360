"""The notifications service's background tasks: the sender, and the passes that create due
reminders and staff digests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from services.chassis.logs import ids
from services.chassis.runtime import Runtime
from services.notifications.service.delivery import Sender, create_digest, create_due_reminders
from services.notifications.settings import NotificationSettings

log = logging.getLogger(__name__)


async def _every(interval_s: float, stopping: asyncio.Event, step: Any) -> None:
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), interval_s)
        if stopping.is_set():
            return
        try:
            await step()
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("scheduled pass failed", extra=ids(error_class=type(exc).__name__))


def background(nsettings: NotificationSettings) -> list[Any]:
    async def sender(runtime: Runtime, stopping: asyncio.Event) -> None:
        await Sender(runtime, nsettings).run(stopping)

    async def reminders(runtime: Runtime, stopping: asyncio.Event) -> None:
        await _every(nsettings.scheduler_interval_s, stopping, lambda: create_due_reminders(runtime, nsettings))

    async def digests(runtime: Runtime, stopping: asyncio.Event) -> None:
        await _every(nsettings.digest_interval_s, stopping, lambda: create_digest(runtime))

    return [sender, reminders, digests]
