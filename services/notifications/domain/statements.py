"""Patient statements: who receives one, and what it says (pure; no I/O).

A statement groups every open balance of one guarantor. It is the only message that carries
PHI (names, services, amounts), and it goes only to the guarantor (or a self-guarantor patient).
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

__all__ = ["Recipient", "StatementBalance", "choose_recipient", "guarantor_key", "render_statement"]


@dataclass(frozen=True)
class Recipient:
    """Where a statement goes, or why it cannot go anywhere."""

    email: str | None
    kind: Literal["patient", "guarantor"]
    name: str
    skip_reason: str | None = None
    """None when the statement can be sent; otherwise why not (kept with the notification)."""
    error_class: Literal["no_contact_details", "opted_out"] | None = None


def _name(person: dict[str, Any]) -> str:
    name = person.get("name") or {}
    return " ".join(p for p in (name.get("given"), name.get("middle"), name.get("family"), name.get("suffix")) if p)


def guarantor_key(details: dict[str, Any]) -> str:
    """A stable key for "the same guarantor" across encounters: name, address and email, normalized.

    The email is part of it so two people of the same name at one address are not merged."""
    g = details.get("guarantor") or {}
    name = g.get("name") or {}
    address = g.get("address") or {}
    parts = [name.get("family"), name.get("given"), name.get("suffix"), address.get("line1"),
             address.get("postal_code"), g.get("email")]
    text = "|".join(str(p or "").strip().lower() for p in parts)
    return hashlib.sha256(text.encode()).hexdigest()


def choose_recipient(details: dict[str, Any]) -> Recipient:
    """The guarantor pays, so the guarantor gets the statement, by email when allowed.

    A self-guarantor with no guarantor email falls back to the patient's email. No email, an
    opt-out (`none`) or a preference for paper mail means no email statement.
    """
    guarantor = details.get("guarantor") or {}
    patient = details.get("patient") or {}
    preference = guarantor.get("contact_preference")
    email = guarantor.get("email")
    kind: Literal["patient", "guarantor"] = "guarantor"
    if not email and guarantor.get("relationship_to_patient") == "self" and patient.get("email"):
        email, kind = patient.get("email"), "patient"
    name = _name(guarantor) or _name(patient)
    if preference == "none":
        return Recipient(None, kind, name, "guarantor opted out of statements", "opted_out")
    if not email:
        return Recipient(None, kind, name, "no email address on file", "no_contact_details")
    if preference == "mail":
        return Recipient(None, kind, name, "guarantor prefers paper mail; no mail vendor is configured", "opted_out")
    return Recipient(str(email), kind, name)


@dataclass(frozen=True)
class StatementBalance:
    """One open balance on a statement: the balance event body plus where it happened."""

    balance_id: str
    patient_account_id: str
    body: dict[str, Any]
    patient_name: str
    provider_name: str


@dataclass(frozen=True)
class RenderedStatement:
    subject: str
    text: str
    html: str
    total_due: Decimal
    due_date: date


def _money(value: Any) -> str:
    return f"${Decimal(str(value)):,.2f}"


def render_statement(
    balances: list[StatementBalance],
    *,
    recipient_name: str,
    organization: str,
    pay_url: str,
    pay_phone: str,
    reminder_days: int | None = None,
) -> RenderedStatement:
    """The itemized statement (text and HTML) for a guarantor's open balances."""
    if not balances:
        raise ValueError("a statement needs at least one balance")
    total = sum((Decimal(str(b.body["amount_due"])) for b in balances), Decimal("0.00"))
    due = min(date.fromisoformat(str(b.body["due_date"])) for b in balances)
    accounts = sorted({b.patient_account_id for b in balances})
    prefix = f"Reminder ({reminder_days} days): " if reminder_days else ""
    subject = f"{prefix}Your statement from {balances[0].provider_name}: {_money(total)} due {due.isoformat()}"
    lines = [f"Dear {recipient_name},", ""]
    if reminder_days:
        lines += [f"This is a reminder: part of your balance has been open for {reminder_days} days.", ""]
    parts = [f"<p>Dear {html.escape(recipient_name)},</p>"]
    if reminder_days:
        parts.append(f"<p>This is a reminder: part of your balance has been open for {reminder_days} days.</p>")
    for b in balances:
        body = b.body
        lines += [
            f"Patient: {b.patient_name}    Account: {b.patient_account_id}    Provider: {b.provider_name}",
            f"{'Date':<11}{'Service':<44}{'Charge':>11}{'Ins. paid':>11}{'Adjust.':>11}{'You owe':>11}",
        ]
        rows = []
        for item in body["items"]:
            code = item["procedure_code"] or item.get("revenue_code") or ""  # a facility line: its revenue code
            service = f"{code} {item.get('description') or ''}".strip()[:43]
            lines.append(
                f"{item['service_date']:<11}{service:<44}{_money(item['charge']):>11}"
                f"{_money(item['insurance_paid']):>11}{_money(item['adjustments']):>11}"
                f"{_money(item['patient_responsibility']):>11}"
            )
            rows.append(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in (
                    item["service_date"], service, _money(item["charge"]), _money(item["insurance_paid"]),
                    _money(item["adjustments"]), _money(item["patient_responsibility"]),
                )) + "</tr>"
            )
        lines += [
            f"Your responsibility: {_money(body['total_patient_responsibility'])}   "
            f"Paid: {_money(body['patient_paid'])}   Written off: {_money(body['written_off'])}   "
            f"Amount due: {_money(body['amount_due'])} by {body['due_date']}",
            "",
        ]
        parts.append(
            f"<h3>Patient: {html.escape(b.patient_name)} &middot; Account {html.escape(b.patient_account_id)}"
            f" &middot; {html.escape(b.provider_name)}</h3>"
            "<table border='1' cellpadding='4'><tr><th>Date</th><th>Service</th><th>Charge</th>"
            "<th>Insurance paid</th><th>Adjustments</th><th>You owe</th></tr>" + "".join(rows) + "</table>"
            f"<p>Your responsibility {_money(body['total_patient_responsibility'])}; paid "
            f"{_money(body['patient_paid'])}; written off {_money(body['written_off'])}; "
            f"<b>amount due {_money(body['amount_due'])}</b> by {html.escape(str(body['due_date']))}.</p>"
        )
    how = (
        f"How to pay: online at {pay_url} or by phone at {pay_phone}; "
        f"quote your patient account number {', '.join(accounts)}."
    )
    lines += [f"TOTAL DUE: {_money(total)} by {due.isoformat()}", "", how, "", organization]
    parts += [
        f"<p><b>Total due: {_money(total)} by {due.isoformat()}</b></p>",
        f"<p>{html.escape(how)}</p>",
        f"<p>{html.escape(organization)}</p>",
    ]
    return RenderedStatement(subject, "\n".join(lines) + "\n", "<html><body>" + "".join(parts) + "</body></html>",
                             total, due)
