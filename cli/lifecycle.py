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
class Adjudication:
    """What one payer rank was billed and how its 835s accounted for it (CLP03 = CLP04 + CAS)."""

    billed: Decimal = ZERO
    charged_on_835s: Decimal = ZERO
    paid: Decimal = ZERO
    contractual: Decimal = ZERO
    denied_open: Decimal = ZERO
    other_adjustments: Decimal = ZERO
    patient_responsibility: Decimal = ZERO

    @property
    def accounted(self) -> Decimal:
        return self.paid + self.contractual + self.denied_open + self.other_adjustments + self.patient_responsibility


@dataclass
class Lifecycle:
    counts: Counter[str] = field(default_factory=Counter)
    charged: Decimal = ZERO
    reversed_charges: Decimal = ZERO
    by_rank: dict[int, Adjudication] = field(default_factory=dict)
    patient_paid: Decimal = ZERO
    provider_adjustments: Decimal = ZERO
    balances_due: dict[str, Decimal] = field(default_factory=dict)
    notifications: Counter[str] = field(default_factory=Counter)
    rejection_codes: Counter[str] = field(default_factory=Counter)
    _rank: dict[str, int] = field(default_factory=dict)
    _payer: dict[str, str] = field(default_factory=dict)
    _billed: set[str] = field(default_factory=set)
    _charge: dict[str, Decimal] = field(default_factory=dict)
    _rejected: set[str] = field(default_factory=set)  # claims whose last answer is a front-end rejection
    _live: dict[tuple[str, int], str] = field(default_factory=dict)  # (claim family, rank) -> claim billed

    def apply(self, event_type: str, payload: dict[str, Any]) -> None:
        """Fold one event (its short name, e.g. "ChargePosted", and its JSON payload) in."""
        self.counts[event_type] += 1
        handler = getattr(self, f"_on_{event_type}", None)
        if handler is not None:
            handler(payload)

    def knows_claim(self, claim_id: str) -> bool:
        return claim_id in self._rank

    def rank(self, rank: int) -> Adjudication:
        return self.by_rank.setdefault(rank, Adjudication())

    @property
    def paid(self) -> Decimal:
        return sum((a.paid for a in self.by_rank.values()), ZERO)

    def _on_ChargePosted(self, p: dict[str, Any]) -> None:
        self.charged += _money(p["amount"])

    def _on_ChargeReversed(self, p: dict[str, Any]) -> None:
        self.reversed_charges += _money(p["amount"])

    def _on_ChargeRejected(self, p: dict[str, Any]) -> None:
        self.rejection_codes.update(r["code"] for r in p["reasons"])

    def _on_ClaimSubmitted(self, p: dict[str, Any]) -> None:
        rank = int(p.get("coverage_rank", 1))
        self._rank[p["claim_id"]] = rank
        self._payer[p["claim_id"]] = p["payer"]["payer_id"]
        self._charge[p["claim_id"]] = _money(p["total_charge"])
        self._rejected.discard(p["claim_id"])
        if p["claim_id"] in self._billed:
            return  # a resubmission of the same claim bills the same services again
        self._billed.add(p["claim_id"])
        frequency = p.get("frequency", "1")
        live = (p["claim_family_id"], rank)
        if frequency in ("7", "8") and (replaced := self._live.get(live)) is not None:
            self.rank(rank).billed -= self._charge[replaced]  # the payer reverses what it was billed before
        if frequency != "8":
            self._live[live] = p["claim_id"]
            self.rank(rank).billed += _money(p["total_charge"])

    def _on_ClaimRejected(self, p: dict[str, Any]) -> None:
        self._rejected.add(p["claim_id"])

    def rejected(self, rank: int) -> Decimal:
        """Charges of this rank's claims the payer's front end rejected and nobody resubmitted yet:
        billed, but on no 835 until fixed."""
        return sum((self._charge[c] for c in self._rejected if self._rank.get(c) == rank), ZERO)

    def _bucket(self, p: dict[str, Any]) -> Adjudication:
        """The payer rank an adjudication belongs to: a crossover 835 comes from the next payer on
        the claim we sent to the first one, which billed it for us (so it counts as billed there)."""
        claim_id = p["claim_id"]
        rank = self._rank.get(claim_id, 1)
        if p["payer"]["payer_id"] == self._payer.get(claim_id, p["payer"]["payer_id"]):
            return self.rank(rank)
        bucket = self.rank(rank + 1)
        if (crossed := f"{claim_id}>{p['payer']['payer_id']}") not in self._billed:
            self._billed.add(crossed)
            bucket.billed += _money(p["total_charge"])
        return bucket

    def _adjudication(self, p: dict[str, Any]) -> Adjudication:
        bucket = self._bucket(p)
        bucket.charged_on_835s += _money(p["total_charge"])
        bucket.paid += _money(p["total_paid"])
        bucket.patient_responsibility += _money(p["patient_responsibility"])
        adjustments = list(p.get("claim_adjustments", []))
        for line in p.get("lines", []):
            adjustments += line.get("adjustments", [])
        for adj in adjustments:
            amount = _money(adj["amount"])
            if adj["group"] == CONTRACTUAL_GROUP:
                bucket.contractual += amount
            elif adj["group"] != "PR":
                bucket.other_adjustments += amount
        return bucket

    def _on_ClaimPaymentPosted(self, p: dict[str, Any]) -> None:
        self._adjudication(p)

    def _on_ClaimDenied(self, p: dict[str, Any]) -> None:
        # A line denial comes beside the ClaimPaymentPosted of the same 835 claim, which already
        # counted its money; a whole-claim denial is the claim's only adjudication event.
        bucket = self._bucket(p) if p.get("denial_scope") == "line" else self._adjudication(p)
        denied = sum((_money(d["amount"]) for d in p["denials"] if d["group"] == CONTRACTUAL_GROUP), ZERO)
        bucket.denied_open += denied
        bucket.contractual -= denied  # a CO denial stays open: it is not a contractual write-off

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
    def open_patient_balances(self) -> Decimal:
        return sum(self.balances_due.values(), ZERO)


def books_summary(cards: list[dict[str, Any]]) -> dict[str, Any]:
    """Account cards (`rcm report accounts --json`) totalled: the books of a set of encounters, so
    that charge = paid + contractual + other + denied (open) + patient responsibility + what the
    payers still owe, as each card says."""
    def total(key: str) -> Decimal:
        return sum((_money(c[key]) for c in cards), ZERO)

    def payers(key: str, rank: int | None = None) -> Decimal:
        return sum((_money(p[key]) for c in cards for p in c["payers"] if rank is None or p["rank"] == rank), ZERO)

    ranks = sorted({p["rank"] for c in cards for p in c["payers"]})
    figures = ("paid", "contractual", "other_adjustments", "denied_open")
    out: dict[str, Any] = {
        "encounters": len(cards), "states": dict(sorted(Counter(c["state"] for c in cards).items())),
        "charge": total("charge"), **{k: payers(k) for k in figures},
        "cost_share_protected": sum((_money(x["written_off"]) for c in cards for x in c["cost_share_protection"]),
                                    ZERO),
        **{k: total(k) for k in ("patient_responsibility", "insurance_balance", "patient_paid", "patient_writeoffs",
                                 "patient_balance")},
        "by_rank": {rank: {k: payers(k, rank) for k in figures} for rank in ranks},
    }
    out["closes"] = out["charge"] == (sum((out[k] for k in figures), ZERO) + out["patient_responsibility"]
                                      + out["insurance_balance"])
    return out
