"""The charges service's background tasks: the HL7 v2 MLLP listener (DFT^P03 in, ACK out)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import hl7.mllp
import yaml

from services.charges.hl7.mllp import Hl7Door, load_defaults, mllp_idle_timeout, mllp_port
from services.chassis.logs import ids
from services.chassis.runtime import Runtime

log = logging.getLogger(__name__)


async def serve_mllp(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Chassis background task: listen until the runtime stops."""
    try:
        door = Hl7Door(runtime, load_defaults(), idle_timeout=mllp_idle_timeout())
        server = await hl7.mllp.start_hl7_server(door.connection, host=runtime.settings.http_host,
                                                     port=mllp_port())
    except (OSError, ValueError, yaml.YAMLError) as exc:
        log.critical("mllp listener cannot start", extra=ids(component="mllp", error_class=type(exc).__name__))
        raise
    log.info("mllp listening", extra=ids(service=runtime.service, component="mllp"))
    try:
        await stopping.wait()
    finally:
        server.close()
        await door.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
