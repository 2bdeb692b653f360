"""The claims HTTP API: a claim family's history, the held queue, the operator actions, and a
claim status request (276) on demand.

The actor of an action is the name of the token that called (a body `operator_id`, which older
clients sent, is ignored: the authenticated identity wins)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.chassis.auth import authenticated
from services.chassis.openapi import BAD_BODY
from services.chassis.runtime import Runtime
from services.chassis.tokens import Principal
from services.claims.service import eligibility, operator
from services.claims.store import ClaimsStore


class Action(BaseModel):
    reason: str = Field(min_length=1, max_length=200, pattern=r"\S")


class Refusal(BaseModel):
    error: str


_UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"model": Refusal, "description": "No claim, claim family or submission has that id."}}
_ACTION: dict[int | str, dict[str, Any]] = {
    **_UNKNOWN, **BAD_BODY, 409: {"model": Refusal, "description": "The claim's state refuses the action."}}


class Override(Action):
    edit_id: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9-]+$")


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/v1/claims", tags=["claims"])

    @api.get("/held")
    async def held() -> list[dict[str, Any]]:
        async with runtime.db.acquire() as conn:
            return await operator.held(ClaimsStore(conn))

    @api.get("/{ident}", responses=_UNKNOWN)
    async def show(ident: str) -> JSONResponse:
        async with runtime.db.acquire() as conn:
            try:
                return JSONResponse(await operator.show(ClaimsStore(conn), ident))
            except LookupError as exc:
                return JSONResponse(status_code=404, content={"error": str(exc)})

    async def perform(work: Callable[[ClaimsStore], Awaitable[dict[str, Any]]]) -> JSONResponse:
        """One operator action in one transaction: 202 with the claim, 404 unknown id, 409 refused."""
        async with runtime.db.acquire() as conn:
            try:
                async with conn.transaction():
                    result = await work(ClaimsStore(conn))
            except LookupError as exc:
                return JSONResponse(status_code=404, content={"error": str(exc)})
            except operator.Refused as exc:
                return JSONResponse(status_code=409, content={"error": str(exc)})
        return JSONResponse(status_code=202, content=result)

    def action(name: str) -> None:
        work = getattr(operator, name)

        async def run(ident: str, body: Action, who: Principal = Depends(authenticated)) -> JSONResponse:
            return await perform(lambda db: work(db, ident, who.name, body.reason, runtime.clock.now()))

        api.add_api_route(f"/{{ident}}/{name}", run, methods=["POST"], name=f"claims_{name}", status_code=202,
                          responses=_ACTION)

    for name in ("release", "correct", "void"):
        action(name)

    @api.post("/{ident}/override", name="claims_override", status_code=202, responses=_ACTION)
    async def override(ident: str, body: Override, who: Principal = Depends(authenticated)) -> JSONResponse:
        """Waive one edit on one held claim (audited), then scrub it again."""
        return await perform(lambda db: operator.override(db, ident, body.edit_id, who.name, body.reason,
                                                          runtime.clock.now()))

    @api.post("/{ident}/status", name="claims_status", status_code=202, responses=_ACTION)
    async def status(ident: str, who: Principal = Depends(authenticated)) -> JSONResponse:
        """Ask the payer for the claim's status: a 276 in the next batch (or the request already
        waiting for its 277); the answer shows in `GET /v1/claims/{ident}` (`status_requests`)."""
        return await perform(lambda db: operator.ask_status(db, ident, who.name, runtime.clock.now()))

    return api


class EligibilityRequest(BaseModel):
    encounter_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


def eligibility_router(runtime: Runtime) -> APIRouter:
    """On-demand eligibility checks (270/271) of an encounter's coverages, and their answers."""
    api = APIRouter(prefix="/v1/eligibility", tags=["eligibility"])
    unknown: dict[int | str, dict[str, Any]] = {
        404: {"model": Refusal, "description": "Claims has no such encounter (or check)."}}

    @api.post("", status_code=202, responses={**unknown, **BAD_BODY})
    async def check(body: EligibilityRequest) -> JSONResponse:
        """Queue a check of each coverage of the encounter (a fresh earlier answer is reused): 202
        with the check ids; GET /v1/eligibility/{check_id} gives each answer when it comes."""
        async with runtime.db.acquire() as conn:
            try:
                async with conn.transaction():
                    checks = await eligibility.check_encounter(ClaimsStore(conn), body.encounter_id,
                                                               eligibility.Policy.current(), runtime.clock.now())
            except LookupError as exc:
                return JSONResponse(status_code=404, content={"error": str(exc)})
        return JSONResponse(status_code=202, content={
            "encounter_id": body.encounter_id, "check_ids": [c.check_id for c in checks]})

    @api.get("/{check_id}", responses=unknown)
    async def result(check_id: str) -> JSONResponse:
        async with runtime.db.acquire() as conn:
            found = await ClaimsStore(conn).get_check(check_id)
        if found is None:
            return JSONResponse(status_code=404, content={"error": "no eligibility check has that id"})
        return JSONResponse(eligibility.check_json(found))

    return api
