"""The simulated payers' answers to claim status requests (276 -> 277, 005010X212). Pure apart
from ``SandboxState``, like ``sandbox.adjudication``.

What the payer knows of a claim decides the answer (one STC per claim, no entity code: the
X212 list for STC01-3 has no PR):

* adjudicated (its 835 sent, due, or withheld): F1:65 paid (F2:107 denied), STC04 the charge,
  STC05 the payment, STC06 and STC08 the adjudication and payment date, STC09 the 835's TRN02
  (its last 16 characters: the element's size);
* accepted (a claim number issued) but not adjudicated: P1:20 pending;
* a claim of a ``slow_members`` member: P1:20 for its first ``pending_asks`` 276s;
* neither (no such CLM01 for that payer): A4:35 not found, STC04 the 276's AMT*T3.

A silent or slow claim's 835 is parked as withheld (``release`` names it): the answer that
says paid releases it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from edi.x276 import StatusInquiry
from edi.x277 import Status, StatusResponse
from edi.x835 import ClaimStatus
from sandbox.adjudication import SandboxState
from sandbox.payers import PayerConfig

PAID = ("F1", "65")  # finalized/payment: claim has been paid
DENIED = ("F2", "107")  # finalized/denial: processed according to contract provisions
PENDING = ("P1", "20")  # pending/in process: accepted for processing
NOT_FOUND = ("A4", "35")  # not found: claim/encounter not found


@dataclass(frozen=True)
class StatusAnswer:
    response: StatusResponse
    release: str | None = None  # the withheld 835 (its file name) this answer lets go


def _status(codes: tuple[str, str], effective: date, charge: Decimal, **details: Any) -> Status:
    return Status(category_code=codes[0], status_code=codes[1], effective_date=effective, total_charge=charge,
                  **details)


def _record(inquiry: StatusInquiry, state: SandboxState) -> dict[str, Any] | None:
    """The payer's record of the claim: by its claim number (REF*1K) when the 276 has one, else
    the latest one of this CLM01 at this payer that a correction has not replaced."""
    def ours(r: dict[str, Any]) -> bool:
        return bool(r["pcn"] == inquiry.patient_control_number and r["payer_id"] == inquiry.payer_id)

    by_number = state.claims.get(inquiry.payer_claim_control_number or "")
    if by_number is not None and ours(by_number):
        return by_number
    live = [r for r in state.claims.values() if ours(r) and not r["reversed"]]
    return live[-1] if live else None


def answer_inquiry(inquiry: StatusInquiry, payers: Mapping[str, PayerConfig], state: SandboxState, *,
                   today: date) -> StatusAnswer:
    """The 277 loop answering one 276 inquiry; counts the asks of a slow claim and clears the
    withheld mark of one it releases (in ``state``)."""
    record = _record(inquiry, state) if inquiry.payer_id in payers else None
    pccn = inquiry.payer_claim_control_number
    if record is None:
        accepted = pccn is not None and state.issued.get(pccn) == inquiry.patient_control_number
        status = _status(PENDING if accepted else NOT_FOUND, today, inquiry.total_charge)
        return StatusAnswer(respond(inquiry, status, pccn if accepted else None))
    payment = record["payment"]
    charge = Decimal(payment["charge"])
    if record.get("pending_asks", 0) > 0:
        record["pending_asks"] -= 1
        return StatusAnswer(respond(inquiry, _status(PENDING, today, charge), payment["pccn"]))
    adjudicated = date.fromisoformat(payment["received"])
    denied = payment["status"] == ClaimStatus.DENIED.value
    status = _status(DENIED if denied else PAID, adjudicated, charge, paid_amount=Decimal(payment["paid"]),
                     adjudication_date=adjudicated, payment_date=adjudicated,
                     check_number=_check_number(record.get("remit_trace")))
    release = record.pop("withheld", None)
    return StatusAnswer(respond(inquiry, status, payment["pccn"]), release)


def _check_number(trace: str | None) -> str | None:
    """STC09 holds 16 characters: the end of the 835's TRN02, where traces of one batch differ."""
    return None if trace is None else trace[-16:]


def respond(inquiry: StatusInquiry, status: Status, pccn: str | None) -> StatusResponse:
    """The 277 loop answering ``inquiry``: its parties and claim echoed (the 277 has no DMG)."""
    return StatusResponse(
        trace_number=inquiry.trace_number, payer_name=inquiry.payer_name, payer_id=inquiry.payer_id,
        receiver_name=inquiry.receiver_name, receiver_id=inquiry.receiver_id, provider_name=inquiry.provider_name,
        provider_npi=inquiry.provider_npi, subscriber=inquiry.subscriber.without_demographics(),
        dependent=inquiry.dependent.without_demographics() if inquiry.dependent else None,
        patient_control_number=inquiry.patient_control_number, payer_claim_control_number=pccn,
        type_of_bill=inquiry.type_of_bill, service_date=inquiry.service_date,
        service_end_date=inquiry.service_end_date, statuses=(status,),
    )
