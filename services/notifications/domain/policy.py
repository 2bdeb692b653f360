"""Small rules of the notifications service: reminders, backoff, webhook bodies, digests (pure)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

__all__ = ["backoff_s", "due_reminders", "render_digest", "webhook_body"]


def due_reminders(opened_at: datetime, now: datetime, reminder_days: list[int], already: set[int]) -> list[int]:
    """The reminder steps (days after the balance opened) that are due and not yet created."""
    age = now - opened_at
    return [d for d in sorted(set(reminder_days)) if d > 0 and age >= timedelta(days=d) and d not in already]


def backoff_s(attempt: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: uniform in [ceiling/2, ceiling], ceiling = base * 2^(attempt-1)."""
    ceiling = min(max_s, base_s * 2 ** max(attempt - 1, 0))
    return (rng or random).uniform(ceiling / 2, ceiling)


_SAFE_SCALARS = frozenset({"revision", "reason_code", "claim_status", "denial_scope", "resolution", "origin"})


def webhook_body(event_id: str, event_type: str, occurred_at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """Minimum necessary: ids, amounts, dates of record and a few status codes; never demographics.

    `data` is the event as python values (model_dump()). Kept: keys ending in `_id` / `_ids`,
    Decimal amounts, `*_at` timestamps, `due_date`, and a short list of status codes; nested
    objects only for the payer reference (its id). Everything else (names, addresses, emails,
    member ids, free text) is dropped.
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key.endswith("_id") and (value is None or isinstance(value, str)):
            out[key] = value
        elif key.endswith("_ids") and isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[key] = list(value)
        elif isinstance(value, Decimal):
            out[key] = f"{value:.2f}"
        elif (key.endswith("_at") and isinstance(value, datetime)) or (key == "due_date" and isinstance(value, date)):
            out[key] = value.isoformat()
        elif key in _SAFE_SCALARS and isinstance(value, (str, int)) and not isinstance(value, bool):
            out[key] = value
        elif key == "payer" and isinstance(value, dict) and isinstance(value.get("payer_id"), str):
            out["payer_id"] = value["payer_id"]
    return {"type": event_type, "event_id": event_id, "occurred_at": occurred_at.isoformat(), "data": out}


_TITLES = {
    "rcm.claims.ClaimHeld.v1": "Claim held by the scrubber",
    "rcm.claims.ClaimRejected.v1": "Claim rejected by the clearinghouse or payer",
    "rcm.remittances.ClaimDenied.v1": "Claim denied",
    "rcm.remittances.UnderpaymentDetected.v1": "Underpayment detected",
    "rcm.remittances.UnmatchedRemittance.v1": "Unmatched remittance",
    "rcm.remittances.UnmatchedRemittanceResolved.v1": "Unmatched remittance resolved",
    "rcm.claims.ClaimFollowUpDue.v1": "Claim follow-up due",
    "rcm.remittances.ProviderAdjustmentPosted.v1": "Payment recouped from a claim (its books reopened)",
    "rcm.eligibility.EligibilityChecked.v1": "Eligibility (271): coverage inactive or rejected, or a payer not on file",
}


def alert_title(event_type: str) -> str:
    return _TITLES.get(event_type, event_type)


def render_digest(alerts: list[dict[str, Any]], *, organization: str) -> tuple[str, str]:
    """Subject and plain text of a staff work-queue digest. Alerts carry ids and codes only."""
    subject = f"[work queue] {len(alerts)} item(s) need attention"
    lines = [f"{organization}: work-queue digest", ""]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for alert in alerts:
        by_type.setdefault(str(alert["event_type"]), []).append(alert)
    for event_type, items in sorted(by_type.items()):
        lines.append(f"== {alert_title(event_type)} ({len(items)})")
        for alert in items:
            summary = alert["summary"]
            lines.append("  - " + "  ".join(f"{k}={v}" for k, v in summary.items() if v not in (None, "", [])))
        lines.append("")
    lines.append("Open each id with `rcm claims show ID` or `rcm remits show ID`.")
    return subject, "\n".join(lines) + "\n"
