"""The HTTP endpoints every service has: health, readiness, metrics and DLQ replay."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from services.chassis import audit, dlq_replay

if TYPE_CHECKING:
    from services.chassis.runtime import Runtime


class ReplayRequest(BaseModel):
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    actor: str = Field(min_length=1)
    reason: str = Field(min_length=1)


def platform_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"service": runtime.service, "alive": not runtime.failed}

    @router.get("/readyz")
    async def readyz(response: Response) -> dict[str, object]:
        checks = await runtime.health()
        if not checks["ready"]:
            response.status_code = 503
        return {"service": runtime.service, **checks}

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @router.post("/admin/dlq/replay")
    async def replay(request: ReplayRequest) -> dict[str, object]:
        assert runtime.consumer is not None
        try:
            record = await dlq_replay.fetch(runtime.settings, runtime.service, request.partition, request.offset)
        except LookupError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        outcome = await runtime.consumer.process(record)
        async with runtime.db.acquire() as conn:
            await audit.record(
                conn,
                actor=request.actor,
                action="dlq.replay",
                subject=f"{runtime.settings.dlq_topic(runtime.service)}:{request.partition}:{request.offset}",
                reason=request.reason,
                details={"outcome": outcome.value},
            )
        return {"outcome": outcome.value}

    return router
