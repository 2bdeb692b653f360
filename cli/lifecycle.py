"""The demo's lifecycle summary: what happened to the encounters, counted from the events.

Events are the platform's public record (each is written in the same transaction as the state
it announces), so a summary built from them is what downstream systems see too. Money is
summed as Decimal from the contracts' decimal strings.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

ZERO = Decimal("0.00")
CONTRACTUAL_GROUP = "CO"


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else ZERO


@dataclass
class Lifecycle:
    counts: Counter[str] = field(default_factory=Counter)
    charged: Decimal = ZERO
    reversed_charges: Decimal = ZERO
    claims_billed: Decimal = ZERO
    paid: Decimal = ZERO
    contractual: Decimal = ZERO
    denied_open: Decimal = ZERO
    patient_responsibility: Decimal = ZERO
    other_adjustments: Decimal = ZERO
    patient_paid: Decimal = ZERO
    provider_adjustments: Decimal = ZERO
    balances_due: dict[str, Decimal] = field(default_factory=dict)
    notifications: Counter[str] = field(default_factory=Counter)
    rejection_codes: Counter[str] = field(default_factory=Counter)

    def apply(self, event_type: str, payload: dict[str, Any]) -> None:
        """Fold one event (its short name, e.g. "ChargePosted", and its JSON payload) in."""
        self.counts[event_type] += 1
        handler = getattr(self, f"_on_{event_type}", None)
        if handler is not None:
            handler(payload)

    def _on_ChargePosted(self, p: dict[str, Any]) -> None:
        self.charged += _money(p["amount"])

    def _on_ChargeReversed(self, p: dict[str, Any]) -> None:
        self.reversed_charges += _money(p["amount"])

    def _on_ChargeRejected(self, p: dict[str, Any]) -> None:
        self.rejection_codes.update(r["code"] for r in p["reasons"])

    def _on_ClaimSubmitted(self, p: dict[str, Any]) -> None:
        if p.get("frequency", "1") == "1":
            self.claims_billed += _money(p["total_charge"])

    def _adjudication(self, p: dict[str, Any]) -> None:
        self.paid += _money(p["total_paid"])
        self.patient_responsibility += _money(p["patient_responsibility"])
        adjustments = list(p.get("claim_adjustments", []))
        for line in p.get("lines", []):
            adjustments += line.get("adjustments", [])
        for adj in adjustments:
            amount = _money(adj["amount"])
            if adj["group"] == CONTRACTUAL_GROUP:
                self.contractual += amount
            elif adj["group"] != "PR":
                self.other_adjustments += amount

    def _on_ClaimPaymentPosted(self, p: dict[str, Any]) -> None:
        self._adjudication(p)

    def _on_ClaimDenied(self, p: dict[str, Any]) -> None:
        self._adjudication(p)
        denied = sum((_money(d["amount"]) for d in p["denials"] if d["group"] == CONTRACTUAL_GROUP), ZERO)
        self.denied_open += denied
        self.contractual -= denied  # a CO denial stays open: it is not a contractual write-off

    def _on_ClaimPaymentReversed(self, p: dict[str, Any]) -> None:
        self._adjudication(p)  # CLP02 22 carries the original amounts negated

    def _on_ProviderAdjustmentPosted(self, p: dict[str, Any]) -> None:
        self.provider_adjustments += _money(p["total_amount"])

    def _on_PatientBalanceCreated(self, p: dict[str, Any]) -> None:
        self.balances_due[p["balance_id"]] = _money(p["amount_due"])

    _on_PatientBalanceUpdated = _on_PatientBalanceCreated

    def _on_PatientPaymentPosted(self, p: dict[str, Any]) -> None:
        self.patient_paid += _money(p["amount"])

    def _on_NotificationSent(self, p: dict[str, Any]) -> None:
        self.notifications[f"{p['recipient_kind']}:{p['template']}"] += 1

    @property
    def adjudicated(self) -> Decimal:
        """What the payers accounted for: paid + contractual + open denials + patient + other."""
        return self.paid + self.contractual + self.denied_open + self.patient_responsibility + self.other_adjustments

    @property
    def open_patient_balances(self) -> Decimal:
        return sum(self.balances_due.values(), ZERO)
