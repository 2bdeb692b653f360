"""HTTP: upload an 835 (POST /v1/remittances, raw X12 body) and post a patient payment."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from schemas.intake import PatientPaymentReceived
from schemas.registry import ContractError, validate
from services.chassis.runtime import Runtime
from services.remits.service import patient_payments, remittances

PAYMENT = "rcm.intake.PatientPaymentReceived.v1"


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(tags=["remits"])

    @api.post("/v1/remittances", status_code=202)
    async def upload(request: Request, file_name: str = "upload.835") -> dict[str, object]:
        raw = await request.body()
        if not raw:
            raise HTTPException(400, "the body must be an 835 file")
        async with runtime.db.acquire() as conn:
            result = await remittances.ingest(conn, raw, file_name, "http", runtime.clock.now())
        return {"file_id": result.file_id, "status": result.status, "reason": result.reason,
                "remittance_ids": result.remittance_ids, "duplicates": result.duplicates}

    @api.post("/v1/payments", status_code=202, response_model=None)
    async def payment(request: Request) -> JSONResponse | dict[str, str]:
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
        return {"payment_id": payment_id}

    return api
