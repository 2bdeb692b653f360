"""HTTP: upload an 835 (POST /v1/remittances, raw X12 body) and post a patient payment.

Both need an operate token and are audited with the token's name as the actor (as the CLI audits
its own with the OS user)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from schemas.intake import PatientPaymentReceived
from schemas.registry import ContractError, validate
from services.chassis import audit
from services.chassis.auth import authenticated
from services.chassis.openapi import json_body, text_body, with_models
from services.chassis.runtime import Runtime
from services.chassis.tokens import Principal
from services.remits.domain.file_names import FileNameRefused, upload_file_name
from services.remits.service import patient_payments, remittances
from services.remits.settings import remits_settings

PAYMENT = "rcm.intake.PatientPaymentReceived.v1"


_ERRORS: dict[str, Any] = {"description": "Refused: one entry per field, naming the rule (never the value)."}
_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {400: _ERRORS, 413: _ERRORS, 422: _ERRORS}
_PAYMENT_ERRORS: dict[int | str, dict[str, Any]] = {422: _ERRORS}


def _error(status: int, field: str, type_: str, message: str) -> JSONResponse:
    """The error shape of every intake door: the field and the rule, never the value."""
    return JSONResponse(status_code=status, content={"errors": [{"field": field, "type": type_, "message": message}]})


async def _body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes: a declared length over the limit is refused
    before reading anything, a chunked body as soon as it passes (never held whole in memory)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(tags=["remits"])

    @api.post("/v1/remittances", status_code=202, response_model=None, responses=_UPLOAD_ERRORS,
              openapi_extra=text_body("An X12 835 file, as the payer sent it."))
    async def upload(request: Request, file_name: str = "upload.835",
                     who: Principal = Depends(authenticated)) -> JSONResponse | dict[str, object]:
        """A raw 835 body (at most RCM_REMITS_MAX_UPLOAD_BYTES, else 413); `file_name` is kept as
        its base name and refused (422) when it holds control characters or passes 255 characters."""
        try:
            name = upload_file_name(file_name)
        except FileNameRefused as exc:
            return _error(422, "file_name", exc.type, exc.message)
        limit = remits_settings().max_upload_bytes
        raw = await _body(request, limit)
        if raw is None:
            return _error(413, "body", "too_large", f"the body is over {limit} bytes (RCM_REMITS_MAX_UPLOAD_BYTES)")
        if not raw:
            return _error(400, "body", "missing", "the body must be an 835 file")
        async with runtime.db.acquire() as conn, conn.transaction():
            result = await remittances.ingest(conn, raw, name, "http", runtime.clock.now())
            await audit.record(conn, actor=who.name, action="remits.import", subject=result.file_id,
                               reason="HTTP upload", details={"status": result.status, "token_id": who.token_id})
        return {"file_id": result.file_id, "status": result.status, "reason": result.reason,
                "remittance_ids": result.remittance_ids, "duplicates": result.duplicates}

    @api.post("/v1/payments", status_code=202, response_model=None, responses=_PAYMENT_ERRORS,
              openapi_extra=json_body(PatientPaymentReceived))
    async def payment(request: Request, who: Principal = Depends(authenticated)) -> JSONResponse | dict[str, str]:
        """A PatientPaymentReceived body (strict contract, JSON money strings; `statement_id` and
        `encounter_id` say which balance to pay first); the same key posts once."""
        try:
            body = validate(PAYMENT, await request.body())
        except ContractError as exc:
            return JSONResponse(status_code=422, content={"errors": exc.errors})
        assert isinstance(body, PatientPaymentReceived)
        async with runtime.db.acquire() as conn, conn.transaction():
            payment_id = await patient_payments.post_payment(
                conn, idempotency_key=body.idempotency_key, patient_account_id=body.patient_account_id,
                amount=body.amount, method=body.method, received_on=body.received_on,
                encounter_id=body.encounter_id, statement_id=body.statement_id, at=runtime.clock.now())
            await audit.record(conn, actor=who.name, action="payments.post", subject=payment_id,
                               reason="HTTP payment", details={"amount": str(body.amount), "token_id": who.token_id,
                                                               "statement": body.statement_id})
        return {"payment_id": payment_id}

    return api


install_openapi = with_models([PatientPaymentReceived], "Remits: 835 uploads and patient payments by HTTP.")
