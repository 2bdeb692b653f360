"""The HTTP endpoints every service has: health, readiness and metrics (open, for probes and
scrapers), DLQ replay (admin token) and the OpenAPI document (read token)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from services.chassis import audit, dlq_replay
from services.chassis.auth import RESPONSES, authenticated, requires
from services.chassis.openapi import BAD_BODY, Problem
from services.chassis.tokens import Principal, Scope

if TYPE_CHECKING:
    from services.chassis.runtime import Runtime


class ReplayRequest(BaseModel):
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)
    # No `actor` any more: the audit actor is the token's name (a body `actor` is ignored).
    reason: str = Field(min_length=1, max_length=500, pattern=r"\S")  # blank: the audit refuses it after the replay


class ReplayOutcome(BaseModel):
    outcome: str


def platform_router(runtime: Runtime) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"service": runtime.service, "alive": not runtime.failed}

    @router.get("/readyz", responses={503: {"description": "Not ready: the checks say which part is down."}})
    async def readyz(response: Response) -> dict[str, object]:
        checks = await runtime.health()
        if not checks["ready"]:
            response.status_code = 503
        return {"service": runtime.service, **checks}

    @router.get("/metrics", response_class=PlainTextResponse,
                responses={200: {"description": "Prometheus text exposition.", "content": {"text/plain": {}}}})
    async def metrics() -> Response:
        return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


_ADMIN = Depends(requires(Scope.ADMIN))


def admin_router(runtime: Runtime) -> APIRouter:
    router = APIRouter(responses=RESPONSES)

    @router.post("/admin/dlq/replay", response_model=ReplayOutcome,
                 responses={**BAD_BODY,
                            404: {"model": Problem, "description": "No such partition or offset in the DLQ."}})
    async def replay(request: ReplayRequest, who: Principal = _ADMIN) -> dict[str, object]:
        """Re-deliver one dead letter to this service (admin scope; audited with the token's name)."""
        assert runtime.consumer is not None
        try:
            record = await dlq_replay.fetch(runtime.settings, runtime.service, request.partition, request.offset)
        except LookupError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc
        outcome = await runtime.consumer.process(record)
        async with runtime.db.acquire() as conn:
            await audit.record(
                conn,
                actor=who.name,
                action="dlq.replay",
                subject=f"{runtime.settings.dlq_topic(runtime.service)}:{request.partition}:{request.offset}",
                reason=request.reason,
                details={"outcome": outcome.value, "token_id": who.token_id},
            )
        return {"outcome": outcome.value}

    return router


def openapi_route(app: FastAPI) -> None:
    """The OpenAPI document behind a read token (it maps every door, so it is not public)."""

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(authenticated)])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())
