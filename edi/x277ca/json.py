"""The normalized JSON document of a 277CA (the CLI prints it): claims, provider and batch statuses."""

from __future__ import annotations

from typing import Any

from edi.x12values import json_amount, json_date, json_optional_amount
from edi.x277ca.model import Ack277CA, ClaimAck, StatusInfo


def _status_json(s: StatusInfo) -> dict[str, Any]:
    return {"category_code": s.code.category, "status_code": s.code.status, "entity_code": s.code.entity,
            "additional": [{"category_code": c.category, "status_code": c.status, "entity_code": c.entity}
                           for c in s.additional],
            "action_code": s.action_code, "effective_date": json_date(s.effective_date),
            "amount": json_optional_amount(s.amount), "message": s.message}


def _claim_json(c: ClaimAck) -> dict[str, Any]:
    first = c.primary_status
    return {
        "patient_control_number": c.patient_control_number,
        "accepted": c.accepted,
        "outcome": c.outcome,
        "category_code": first.category,
        "status_code": first.status,
        "entity_code": first.entity,
        "payer_claim_control_number": c.payer_claim_control_number or None,
        "clearinghouse_trace": c.clearinghouse_trace or None,
        "charge_amount": json_optional_amount(c.charge),
        "service_from": json_date(c.service_from),
        "service_to": json_date(c.service_to),
        "statuses": [_status_json(s) for s in c.statuses],
        "service_lines": [
            {"procedure": line.procedure.code, "modifiers": list(line.procedure.modifiers),
             "charge": json_amount(line.charge), "line_control_number": line.line_control_number or None,
             "category_code": line.status.code.category, "status_code": line.status.code.status}
            for line in c.lines
        ],
    }


def to_json_dict(ack: Ack277CA) -> dict[str, Any]:
    """{"transaction": "277CA", "claims": [...]} plus the provider-level statuses, which can
    reject every claim of a provider at once."""
    return {
        "transaction": "277CA",
        "claims": [_claim_json(c) for c in ack.claims],
        "provider_statuses": [
            {"provider_id": p.id, "id_qualifier": p.id_qualifier, "accepted": p.accepted,
             "statuses": [_status_json(s) for s in p.statuses]}
            for t in ack.transactions for p in t.providers
        ],
        "batch_statuses": [
            {"batch_trace": s.receiver.batch_trace, "statuses": [_status_json(x) for x in s.receiver.statuses]}
            for t in ack.transactions for s in t.sources
        ],
    }
