"""The HTTP door: integration teams POST intake events and GET their status by their own ids.

Bodies are validated against the contracts in JSON mode (the same strict check `rcm publish`
makes) and answered 202 with our ids; the events then travel the intake topics like any other,
so the rules run in one place. Errors name fields and rules, never the values sent.
"""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from schemas import intake
from schemas.registry import ContractError, spec_for_model, validate
from services.charges import store
from services.charges.service import doors, encounters
from services.chassis.openapi import json_body, with_models
from services.chassis.runtime import Runtime

ROUTES: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/v1/encounters"): intake.EncounterRegistered,
    ("PUT", "/v1/encounters"): intake.EncounterUpdated,
    ("POST", "/v1/encounters/close"): intake.EncounterClosed,
    ("POST", "/v1/charges"): intake.ChargeSubmitted,
    ("POST", "/v1/charges/corrections"): intake.ChargeCorrected,
    ("POST", "/v1/charges/voids"): intake.ChargeVoided,
}

_ERRORS = {
    "description": "The body breaks its contract: one entry per field, naming the rule (never the value).",
    "content": {"application/json": {"example": {"errors": [{"field": "units", "type": "greater_than",
                                                              "message": "Input should be greater than 0"}]}}},
}


def _error(status: int, errors: list[dict[str, Any]]) -> JSONResponse:
    return JSONResponse(status_code=status, content={"errors": errors})


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(tags=["intake"])

    def door(method: str, path: str, model: type[BaseModel]) -> None:
        event_type = spec_for_model(model).type

        async def submit(
            request: Request,
            idempotency_key: str | None = Header(
                default=None, description="Retries with the same key get the first answer; charges default to theirs."
            ),
        ) -> JSONResponse:
            raw = await request.body()
            try:
                event = validate(event_type, raw)
            except ContractError as exc:
                return _error(422, exc.errors)
            key = idempotency_key or getattr(event, "idempotency_key", None)
            digest = hashlib.sha256(raw).hexdigest()
            async with runtime.db.acquire() as conn, conn.transaction():
                if key is not None:
                    seen = await store.http_request(conn, key)
                    if seen is not None:
                        if seen["request_hash"] != digest:
                            return _error(409, [{"field": None, "type": "idempotency_key_reused",
                                                 "message": "this Idempotency-Key was used with a different body"}])
                        return JSONResponse(status_code=202, content=seen["response"],
                                            headers={"Idempotent-Replayed": "true"})
                [accepted] = await doors.accept(conn, runtime.clock, [event])
                body = {"event_id": str(accepted.event_id), "event_type": accepted.event_type,
                        "encounter_id": accepted.encounter_id, "status": "accepted"}
                if key is not None:
                    await store.save_http_request(conn, key, digest, body)
            return JSONResponse(status_code=202, content=body)

        api.add_api_route(
            path, submit, methods=[method], status_code=202, name=f"{method.lower()} {model.__name__}",
            summary=f"Send {model.__name__}", description=(model.__doc__ or "").strip(),
            responses={202: {"description": "Accepted: queued on the intake topic"}, 409: {"description": "Key reuse"},
                       422: _ERRORS},
            openapi_extra=json_body(model),
        )

    for (method, path), model in ROUTES.items():
        door(method, path, model)

    @api.get("/v1/encounters/{source_system}/{source_encounter_id}", summary="Status of an encounter",
             responses={404: {"description": "No encounter with these ids was received."}})
    async def encounter_status(source_system: str, source_encounter_id: str) -> dict[str, Any]:
        async with runtime.db.acquire() as conn:
            status = await encounters.encounter_status(conn, source_system, source_encounter_id)
        if status is None:
            raise HTTPException(404, "no encounter with these ids was received")
        return status

    @api.get("/v1/charges/{source_system}/{source_charge_id}", summary="Status of a charge",
             responses={404: {"description": "No charge with these ids was processed (yet)."}})
    async def charge_status(source_system: str, source_charge_id: str) -> dict[str, Any]:
        async with runtime.db.acquire() as conn:
            status = await store.charge_status(conn, f"{source_system}:{source_charge_id}")
        if status is None:
            raise HTTPException(404, "no charge with these ids was processed (yet)")
        return status

    return api


install_openapi = with_models(ROUTES.values(), "Charges intake: encounters and charges by HTTP.")
"""Publish the contracts' JSON Schemas as OpenAPI components, so the docs show them."""
