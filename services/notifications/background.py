"""The notifications service's background tasks: the sender, and the passes that create due
reminders and staff digests."""

from __future__ import annotations

import asyncio
from typing import Any

from services.chassis.periodic import every
from services.chassis.runtime import Runtime, leader_only
from services.notifications.service.delivery import Sender, create_digest, create_due_reminders
from services.notifications.settings import NotificationSettings


def background(nsettings: NotificationSettings) -> list[Any]:
    async def sender(runtime: Runtime, stopping: asyncio.Event) -> None:
        await Sender(runtime, nsettings).run(stopping)

    async def reminders(runtime: Runtime, stopping: asyncio.Event) -> None:
        await every(lambda: nsettings.scheduler_interval_s, stopping, lambda: create_due_reminders(runtime, nsettings),
                    "notifications-reminders", wait_first=True)

    async def digests(runtime: Runtime, stopping: asyncio.Event) -> None:
        await every(lambda: nsettings.digest_interval_s, stopping, lambda: create_digest(runtime),
                    "notifications-digest", wait_first=True)

    # One of each among the instances (docs/scaling.md): the sender's start-up reconcile re-queues
    # every `sending` row, which is right only when no other sender is live; two digest passes would
    # split the alerts into two digests; reminders are idempotent, one scan is enough.
    return [leader_only(sender), leader_only(reminders), leader_only(digests)]
