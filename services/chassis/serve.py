"""Run one service as its own process: `python -m services.<name>`."""

from __future__ import annotations

import os
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from services.chassis import ports
from services.chassis.logs import configure_logging
from services.chassis.settings import get_settings


def serve(service: str, create_app: Callable[[], FastAPI]) -> None:
    settings = get_settings()
    configure_logging(service, settings.log_level)
    os.environ["RCM_SERVICE_PROCESS"] = "1"
    uvicorn.run(
        create_app(),
        host="127.0.0.1",
        port=int(os.environ.get(f"RCM_{service.upper()}_HTTP_PORT", ports.HTTP[service])),
        log_config=None,
        access_log=False,
    )
