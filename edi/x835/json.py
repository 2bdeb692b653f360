"""The normalized JSON document of an 835 (posting and the CLI rely on its field names).

Amounts are strings with cents, dates ISO; each transaction carries its balancing verdict.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from edi.x12values import json_amount, json_date, json_optional_amount, json_quantity
from edi.x835 import balancing
from edi.x835.model import Adjustment, ClaimPayment, Remittance835, RemittanceTransaction, ServiceLine


def to_json_dict(remittance: Remittance835) -> dict[str, Any]:
    """The normalized document: {"transaction": "835", "transactions": [...]}, amounts as strings."""
    return {"transaction": "835", "transactions": [transaction_json(t) for t in remittance.transactions]}


def transaction_json(t: RemittanceTransaction) -> dict[str, Any]:
    checks = balancing.check_835(t)
    payer_id = t.payer.id or next((r.value for r in t.payer.references if r.qualifier == "2U"), "")
    return {
        "control_number": t.control_number,
        "handling_code": t.handling_code.value,
        "payer": {"name": t.payer.name, "id": payer_id or t.trace_payer_id},
        "payee": {"name": t.payee.name, "npi": t.payee.npi, "tax_id": t.payee.tax_id},
        "trace_number": t.trace_number,
        "trace_payer_id": t.trace_payer_id,
        "payment_method": t.payment_method.value,
        "credit_debit": t.credit_debit,
        "total_payment": json_amount(t.total_payment),
        "payment_date": json_date(t.payment_date),
        "production_date": json_date(t.production_date),
        "balanced": balancing.is_balanced(checks),
        "balancing_errors": [c.message for c in checks if not c.ok],
        "provider_adjustments": [
            {"provider_id": p.provider_id, "fiscal_period_date": json_date(p.fiscal_period_date),
             "reason": p.reason, "reference": p.reference, "amount": json_amount(p.amount)}
            for p in t.provider_adjustments
        ],
        "claims": [_claim_json(c) for c in t.claims],
    }


def _adjustment_json(a: Adjustment) -> dict[str, Any]:
    return {"group": a.group.value, "reason": a.reason, "amount": json_amount(a.amount),
            "quantity": json_quantity(a.quantity)}


def _claim_json(c: ClaimPayment) -> dict[str, Any]:
    carrier = c.crossover_carrier
    return {
        "patient_control_number": c.patient_control_number,
        "status_code": c.status.value,
        "status": c.status.name.lower(),
        "charge_amount": json_amount(c.charge),
        "paid_amount": json_amount(c.paid),
        "patient_responsibility": json_amount(c.patient_responsibility or Decimal(0)),
        "filing_indicator": c.filing_indicator,
        "payer_claim_control_number": c.payer_claim_control_number,
        "frequency_code": c.frequency_code,
        "adjustments": [_adjustment_json(a) for a in c.adjustments],  # the CLP's CAS; lines carry theirs
        "remarks": list(c.remark_codes),
        "crossover_payer": {"name": carrier.last_name, "id": carrier.id} if carrier else None,
        "statement_from": json_date(c.statement_from),
        "statement_to": json_date(c.statement_to),
        "service_lines": [_line_json(line) for line in c.service_lines],
    }


def _line_json(line: ServiceLine) -> dict[str, Any]:
    return {
        "procedure": line.procedure.code,
        "procedure_qualifier": line.procedure.qualifier,
        "modifiers": list(line.procedure.modifiers),
        "revenue_code": line.revenue_code,
        "charge": json_amount(line.charge),
        "paid": json_amount(line.paid),
        "allowed": json_optional_amount(line.allowed),
        "units": json_quantity(line.units_paid),
        "line_control_number": line.line_control_number or None,
        "service_date": json_date(line.date_of_service),
        "adjustments": [_adjustment_json(a) for a in line.adjustments],
        "remarks": [r.code for r in line.remarks],
    }
