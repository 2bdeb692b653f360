"""The normalized JSON document of a 276 (the CLI prints it): one entry per claim asked about."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edi.claimstatus import parties_json
from edi.x12values import json_amount, json_date
from edi.x276.model import StatusInquiry


def to_json_dict(inquiries: Sequence[StatusInquiry]) -> dict[str, Any]:
    return {
        "transaction": "276",
        "inquiries": [
            {"trace_number": i.trace_number, "patient_control_number": i.patient_control_number,
             "payer_claim_control_number": i.payer_claim_control_number, "type_of_bill": i.type_of_bill,
             "total_charge": json_amount(i.total_charge), "service_date": json_date(i.service_date),
             "service_end_date": json_date(i.service_end_date), **parties_json(i)}
            for i in inquiries
        ],
    }
