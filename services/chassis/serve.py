"""Run one service as its own process: `python -m services.<name>`."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
from types import FrameType

import uvicorn

from services.chassis import ports
from services.chassis.logs import configure_logging, quiet_known_warnings
from services.chassis.settings import get_settings


def serve(service: str, app_factory: str) -> None:
    """Configure JSON logging, then import `app_factory` ("package.module:function") and serve it.

    The service's modules are imported only after logging is set up, and Python warnings go to the
    log as JSON lines: a library that warns while it is imported (asyncssh about DSA under newer
    cryptography releases) must not put plain text into the JSON-lines log."""
    settings = get_settings()
    configure_logging(service, settings.log_level)
    logging.captureWarnings(True)
    quiet_known_warnings()
    module, _, factory = app_factory.partition(":")
    create_app = getattr(importlib.import_module(module), factory)
    os.environ["RCM_SERVICE_PROCESS"] = "1"
    app = create_app()
    # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again for the handler that
    # was there before it: with the default one the process dies "killed by SIGTERM" (143) after a
    # clean stop, which a supervisor (compose's restart policy, a Job) counts as a failure. Ours
    # exits 0, and also stops a process signalled before uvicorn took the signals over.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    uvicorn.run(
        app,
        host=settings.http_host,
        port=int(os.environ.get(f"RCM_{service.upper()}_HTTP_PORT", ports.HTTP[service])),
        log_config=None,
        access_log=False,
        # uvloop, not uvicorn's "auto" (which silently falls back to asyncio when it is missing):
        # asyncpg and aiokafka do a round trip per statement and per request, and uvloop's
        # transport makes each cheaper. A dependency, so a missing install fails loudly here.
        loop="uvloop",
    )


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)
