"""The demo's clean-claim rate and where its deliberate errors were caught.

A claim is clean when it went through on its first submission: no charge or encounter of it
rejected by the charges service, no scrubber hold, no clearinghouse (999) or payer (277CA)
rejection, and an acceptance came back. The demo bills one claim per encounter to its primary
payer, so the rate is over the encounters sent. Each stop is labelled by where it happened
("charges <reason code>", "scrubber <edit id>", "277CA <STC01:STC02>"): a deliberate error
stopped where its kind says is caught; any other stop is unexpected, and so is an error nobody
caught (missed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sandbox.demo_data import ERRORS, DemoError

PERCENT = Decimal("0.1")


def charges_label(reason_code: str) -> str:
    return f"charges {reason_code}"


def scrubber_label(edit_id: str) -> str:
    return f"scrubber {edit_id}"


def acknowledgment_label(source: str, code: str) -> str:
    """A 277CA STC composite by category and status ("277CA A7:164"), a 999 code as it is."""
    return f"{source} {':'.join(code.split(':')[:2])}" if source == "277CA" else f"{source} {code}"


@dataclass
class ErrorOutcome:
    label: str
    injected: int = 0
    caught: Counter[str] = field(default_factory=Counter)  # where, counted once per encounter
    missed: int = 0


@dataclass
class CleanClaims:
    claims: int
    clean: int
    not_answered: int  # no stop, but no acceptance either (yet)
    errors: dict[DemoError, ErrorOutcome]
    unexpected: Counter[str]
    holds_by_edit: Counter[str]

    @property
    def rate(self) -> Decimal:
        if not self.claims:
            return Decimal(0).quantize(PERCENT)
        return (Decimal(self.clean) * 100 / self.claims).quantize(PERCENT, rounding=ROUND_HALF_UP)

    @property
    def injected(self) -> int:
        return sum(o.injected for o in self.errors.values())

    def lines(self) -> list[tuple[str, str]]:
        """The summary rows: clean-claim rate, deliberate errors, holds by edit, unexpected stops."""
        rows = [("clean-claim rate", f"{self.rate}% ({self.clean:,} of {self.claims:,} claims accepted on first "
                                     "submission: no charge rejected, no scrubber hold, no 999/277CA rejection)"
                                     + (f"; {self.not_answered:,} not answered yet" if self.not_answered else ""))]
        parts = []
        for outcome in self.errors.values():
            if not outcome.injected:
                continue
            where = ", ".join(f"{label} {n}" for label, n in outcome.caught.most_common())
            missed = f", missed {outcome.missed}" if outcome.missed else ""
            parts.append(f"{outcome.injected} {outcome.label} ({where or 'not caught'}{missed})")
        rows.append(("deliberate errors", f"{self.injected:,}" + (": " + "; ".join(parts) if parts else "")))
        rows.append(("holds by edit", ", ".join(f"{k} {v}" for k, v in self.holds_by_edit.most_common()) or "none"))
        unexpected = sum(self.unexpected.values())
        rows.append(("unexpected stops", "none" if not unexpected else f"{unexpected}: " + ", ".join(
            f"{k} {v}" for k, v in self.unexpected.most_common())))
        return rows

    def as_json(self) -> dict[str, Any]:
        return {
            "claims": self.claims, "clean": self.clean, "rate_percent": str(self.rate),
            "not_answered": self.not_answered,
            "deliberate_errors": {kind: {"label": o.label, "injected": o.injected, "caught": dict(o.caught),
                                         "missed": o.missed} for kind, o in self.errors.items()},
            "holds_by_edit": dict(self.holds_by_edit), "unexpected": dict(self.unexpected),
        }


def clean_claims(errors: Mapping[str, DemoError | None], stops: Mapping[str, Iterable[str]],
                 accepted: set[str], holds_by_edit: Counter[str]) -> CleanClaims:
    """``errors``: the deliberate error of each encounter sent (by the sender's encounter id);
    ``stops``: where each encounter was stopped (labels); ``accepted``: encounters with an
    accepted claim."""
    outcomes = {kind: ErrorOutcome(ERRORS[kind].label) for kind in ERRORS}
    unexpected: Counter[str] = Counter()
    clean = not_answered = 0
    for encounter, error in errors.items():
        where = set(stops.get(encounter, ()))
        expected = set(ERRORS[error].caught_by) if error else set()
        unexpected.update(where - expected)
        if error is not None:
            outcome = outcomes[error]
            outcome.injected += 1
            outcome.caught.update(where & expected)
            outcome.missed += not where & expected
        if not where:
            clean += encounter in accepted
            not_answered += encounter not in accepted
    missed = {f"missed {o.label}": o.missed for o in outcomes.values() if o.missed}
    unexpected.update(missed)
    return CleanClaims(claims=len(errors), clean=clean, not_answered=not_answered, errors=outcomes,
                       unexpected=unexpected, holds_by_edit=holds_by_edit)
