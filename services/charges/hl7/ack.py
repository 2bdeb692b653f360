"""The original-mode ACK (v2.5) the door answers every message with: MSH, MSA, one ERR per error."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from services.charges.hl7.codec import Hl7Error, Hl7Header, escape

__all__ = ["ERROR_TEXT", "AckCode", "ack_message"]

AckCode = Literal["AA", "AE", "AR"]

# HL7 table 0357 (message error condition codes), the subset this door emits.
ERROR_TEXT: Mapping[str, str] = {
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "207": "Application internal error",
}


def ack_message(
    header: Hl7Header | None,
    code: AckCode,
    errors: list[Hl7Error],
    *,
    control_id: str,
    now: datetime,
) -> str:
    """An original-mode ACK (v2.5): MSH, MSA, then one ERR per error. Segments end in CR."""
    h = header or Hl7Header()
    e = escape
    processing = h.processing_id if h.processing_id in ("P", "T", "D") else "P"
    stamp = now.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")
    trigger = h.trigger_event if h.trigger_event else "P03"
    segments = [
        "|".join(
            [
                "MSH",
                "^~\\&",
                "REVCYCLE",
                "CHARGES",
                e(h.sending_application),
                e(h.sending_facility),
                stamp,
                "",
                f"ACK^{e(trigger)}^ACK",
                e(control_id),
                processing,
                "2.5",
            ]
        ),
        "|".join(["MSA", code, e(h.control_id)]),
    ]
    for err in errors:
        loc = err.location
        erl = "" if loc is None else f"{loc.segment}^{loc.sequence}^{'' if loc.field is None else loc.field}"
        segments.append(
            "|".join(
                [
                    "ERR",
                    "",
                    erl.rstrip("^"),
                    f"{err.code}^{ERROR_TEXT[err.code]}^HL70357",
                    "E",
                    e(err.application_code or ""),
                    "",
                    e(err.diagnostic or ""),
                    e(err.message),
                ]
            )
        )
    return "\r".join(segments) + "\r"
