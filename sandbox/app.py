"""The sandbox process: the clearinghouse loop plus /readyz and /healthz (port 8105).

Knobs (environment): RCM_SANDBOX_SEED (default 42), RCM_SANDBOX_ACK_DELAY_S (1),
RCM_SANDBOX_REMIT_DELAY_S (6), RCM_SANDBOX_PAYERS_FILE (deploy/local/payers.yaml),
RCM_SANDBOX_POLL_S (1). The clearinghouse root and state folder come from the platform settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from sandbox.clearinghouse_loop import Sandbox, Timing
from sandbox.payers import DEFAULT_PAYERS_FILE, load_payers
from services.chassis.settings import Settings, get_settings


def sandbox_from_env(settings: Settings) -> Sandbox:
    payers = load_payers(Path(os.environ.get("RCM_SANDBOX_PAYERS_FILE", str(DEFAULT_PAYERS_FILE))))
    timing = Timing(ack_delay_s=float(os.environ.get("RCM_SANDBOX_ACK_DELAY_S", "1")),
                    remit_delay_s=float(os.environ.get("RCM_SANDBOX_REMIT_DELAY_S", "6")))
    return Sandbox(settings.clearinghouse, settings.state_dir / "sandbox", payers,
                   seed=int(os.environ.get("RCM_SANDBOX_SEED", "42")), timing=timing)


def create_app(sandbox: Sandbox | None = None) -> FastAPI:
    box = sandbox or sandbox_from_env(get_settings())
    poll_s = float(os.environ.get("RCM_SANDBOX_POLL_S", "1"))

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        box.start()
        stopping = asyncio.Event()
        task = asyncio.create_task(box.run(stopping, poll_s))
        try:
            yield
        finally:
            stopping.set()
            await task

    app = FastAPI(title="Revcycle sandbox", lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "files_processed": box.files_processed}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ready = box.ready and box.exchange.root.is_dir()
        return JSONResponse({"status": "ready" if ready else "starting"}, status_code=200 if ready else 503)

    return app
