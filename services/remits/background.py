"""The remits service's background tasks: the 835 poller of the clearinghouse (folder or SFTP)
and, at start, the books restatement of encounters queued by migration 0006."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg

from services.chassis.clearinghouse import Clearinghouse, FolderClearinghouse
from services.chassis.logs import ids
from services.chassis.sftp import SftpClearinghouse, SftpSettings
from services.remits.service.books import RESTATE_BATCH, restate_pending
from services.remits.service.remittances import ingest
from services.remits.settings import RemitsSettings, remits_settings

if TYPE_CHECKING:
    from services.chassis.runtime import Runtime

log = logging.getLogger(__name__)
FOLDER = "inbound/remits"


async def clearinghouse_for(root: Path, s: RemitsSettings) -> Clearinghouse:
    """SFTP when RCM_REMITS_SFTP_HOST is set, else the clearinghouse folder."""
    if s.sftp_host:
        sftp = SftpClearinghouse(SftpSettings(
            host=s.sftp_host, port=s.sftp_port, username=s.sftp_username, password=s.sftp_password,
            client_keys=(s.sftp_client_key,) if s.sftp_client_key else (), known_hosts=s.sftp_known_hosts,
            root=s.sftp_root))
        await sftp.ensure_layout()
        return sftp
    folder = FolderClearinghouse(root)
    folder.ensure_layout()
    return folder


async def poll_once(house: Clearinghouse, pool: asyncpg.Pool, now: Callable[[], datetime]) -> int:
    """Post every 835 waiting in inbound/remits/, archiving each once its outcome is committed."""
    done = 0
    for f in await house.list(FOLDER):
        raw = await house.read(f)
        async with pool.acquire() as conn:
            await ingest(conn, raw, f.name, "clearinghouse", now())
        await house.archive(f)
        done += 1
    return done


async def poll_inbound(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Background task: the clearinghouse poller (folder or SFTP)."""
    s = remits_settings()
    house: Clearinghouse | None = None
    while not stopping.is_set():
        try:
            house = house or await clearinghouse_for(runtime.settings.clearinghouse, s)
            await poll_once(house, runtime.db, runtime.clock.now)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("835 poll failed; retrying", extra=ids(error_class=type(exc).__name__))
        except Exception:  # a bug must not stop the poller; the file stays in the folder for a retry
            log.exception("835 poll failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=s.poll_interval_s)


async def restate_queued(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Background task: restate what is queued until nothing is left, then stop."""
    while not stopping.is_set():
        try:
            if await restate_pending(runtime.db, runtime.clock.now()) < RESTATE_BATCH:
                return
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("books restatement failed; retrying", extra=ids(error_class=type(exc).__name__))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=5)
