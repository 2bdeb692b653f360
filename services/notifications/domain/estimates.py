"""The patient estimate email: the patient's expected share of a visit, before any statement
(pure; no I/O). Like a statement it goes only to the guarantor (or a self-guarantor patient),
and it says plainly that it is an estimate, not a bill."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from schemas.eligibility import PatientEstimated

__all__ = ["RenderedEstimate", "estimate_body", "render_estimate"]


@dataclass(frozen=True)
class RenderedEstimate:
    subject: str
    text: str
    html: str


def _money(value: Any) -> str:
    return f"${Decimal(str(value)):,.2f}"


def estimate_body(event: PatientEstimated) -> dict[str, Any]:
    """What the sender needs of the estimate, kept on the notification row (amounts as strings)."""
    return {"service_date": event.service_date.isoformat(), "payer_name": event.payer.payer_name,
            "patient_estimate": str(event.patient_estimate), "deductible": str(event.deductible),
            "coinsurance": str(event.coinsurance), "copay": str(event.copay), "complete": event.complete}


def render_estimate(body: dict[str, Any], *, recipient_name: str, patient_name: str, provider_name: str,
                    organization: str) -> RenderedEstimate:
    """Text and HTML of the estimate email for `body` (estimate_body)."""
    visit = date.fromisoformat(str(body["service_date"])).isoformat()
    amount = _money(body["patient_estimate"])
    subject = f"Your estimated share for the visit on {visit} with {provider_name}: {amount}"
    paragraphs = [
        f"Dear {recipient_name},",
        f"Your estimated share for the visit on {visit} is {amount} (patient: {patient_name}; provider:"
        f" {provider_name}). It is worked out from what {body['payer_name']} told us of the plan before we"
        f" billed it: deductible {_money(body['deductible'])}, co-insurance {_money(body['coinsurance'])},"
        f" copay {_money(body['copay'])}.",
        "This is an estimate, not a bill: please do not pay now. Your insurance decides the final amount when it"
        " processes the claim, and you will get a statement then.",
    ]
    if not body["complete"]:
        paragraphs.append(
            "This estimate is incomplete: some services had no contracted price, or your plan's answer did not"
            " state a deductible or a cost share. What you owe may be more than this amount.")
    paragraphs.append(organization)
    text = "\n\n".join(paragraphs) + "\n"
    markup = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return RenderedEstimate(subject, text, f"<html><body>{markup}</body></html>")
