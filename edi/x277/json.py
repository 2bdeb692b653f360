"""The normalized JSON document of a 277 claim status response (the CLI prints it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edi.claimstatus import parties_json
from edi.x12values import json_amount, json_date, json_optional_amount
from edi.x277.model import Status, StatusResponse


def _status_json(s: Status) -> dict[str, Any]:
    return {"category_code": s.category_code, "status_code": s.status_code, "entity_code": s.entity_code,
            "outcome": s.outcome, "effective_date": json_date(s.effective_date),
            "total_charge": json_amount(s.total_charge), "paid_amount": json_optional_amount(s.paid_amount),
            "adjudication_date": json_date(s.adjudication_date), "payment_date": json_date(s.payment_date),
            "check_number": s.check_number,
            "additional": [{"category_code": c.category, "status_code": c.status, "entity_code": c.entity or None}
                           for c in s.additional]}


def to_json_dict(responses: Sequence[StatusResponse]) -> dict[str, Any]:
    """{"transaction": "277", "claims": [...]}: per claim its outcome (the first finalized STC
    wins), the first STC's codes and every STC."""
    return {
        "transaction": "277",
        "claims": [
            {"trace_number": r.trace_number, "patient_control_number": r.patient_control_number or None,
             "payer_claim_control_number": r.payer_claim_control_number, "outcome": r.outcome,
             "category_code": r.primary.category_code, "status_code": r.primary.status_code,
             "type_of_bill": r.type_of_bill, "service_date": json_date(r.service_date),
             "service_end_date": json_date(r.service_end_date), "statuses": [_status_json(s) for s in r.statuses],
             **parties_json(r)}
            for r in responses
        ],
    }
