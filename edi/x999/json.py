"""The normalized JSON document of a 999 (the CLI prints it)."""

from __future__ import annotations

from typing import Any

from edi.x999.model import Ack999, TransactionSetAck


def to_json_dict(ack: Ack999) -> dict[str, Any]:
    return {
        "transaction": "999",
        "functional_id": ack.functional_id,
        "group_control_number": ack.group_control_number,
        "version": ack.version,
        "group_code": ack.group_code.value,
        "included_count": ack.included_count,
        "received_count": ack.received_count,
        "accepted_count": ack.accepted_count,
        "group_error_codes": list(ack.group_error_codes),
        "transaction_sets": [_set_json(ts) for ts in ack.transaction_sets],
    }


def _set_json(ts: TransactionSetAck) -> dict[str, Any]:
    return {
        "set_id": ts.set_id,
        "control_number": ts.control_number,
        "accepted": ts.accepted,
        "code": ts.code.value,
        "syntax_error_codes": list(ts.syntax_error_codes),
        "errors": [
            {
                "segment_id": e.segment_id,
                "position": e.position,
                "loop_id": e.loop_id,
                "code": e.code,
                "business_unit": ({"name": e.business_unit[0], "value": e.business_unit[1]}
                                  if e.business_unit else None),
                "elements": [
                    {"position": x.position, "component": x.component, "repetition": x.repetition,
                     "reference_number": x.reference_number, "code": x.code}
                    for x in e.element_errors
                ],
            }
            for e in ts.segment_errors
        ],
    }
