"""The claim state machine: ONE transition table (documented in docs/claims.md).

Each entry maps (state, trigger) to the next state and the event type the transition emits
(None when the transition is internal bookkeeping). Anything not in the table is refused:
the caller logs the refusal by claim id and records it in the claim's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

State = Literal[
    "created", "held", "ready", "submitted", "accepted", "rejected", "adjudicated",
    "denied", "forwarded", "corrected", "voided", "closed",
]  # fmt: skip
Trigger = Literal[
    "create", "hold", "scrub_pass", "release", "submit", "accept", "reject", "resubmit",
    "rehold", "pay", "deny", "cross_over", "reverse", "correct", "void", "close",
]  # fmt: skip

START: State = "created"

_ADJUDICABLE: tuple[State, ...] = ("submitted", "accepted")
_ADJUDICATED: tuple[State, ...] = ("adjudicated", "denied", "forwarded", "closed")

TRANSITIONS: dict[tuple[State | None, Trigger], tuple[State, str | None]] = {
    # assembly and the scrubber
    (None, "create"): ("created", "ClaimCreated"),
    ("created", "hold"): ("held", "ClaimHeld"),
    ("created", "scrub_pass"): ("ready", None),
    ("held", "hold"): ("held", "ClaimHeld"),
    ("ready", "hold"): ("held", "ClaimHeld"),
    ("held", "release"): ("ready", "ClaimReleased"),
    # submission and acknowledgments
    ("ready", "submit"): ("submitted", "ClaimSubmitted"),
    ("submitted", "accept"): ("accepted", "ClaimAccepted"),
    ("submitted", "reject"): ("rejected", "ClaimRejected"),
    ("accepted", "reject"): ("rejected", "ClaimRejected"),
    # a rejected claim never entered adjudication: fixed, it goes again as a new original
    ("rejected", "resubmit"): ("ready", "ClaimResubmitted"),
    # the payer answered a claim status request "not found" (277 A4): the same claim goes again
    **{(s, "resubmit"): ("ready", "ClaimResubmitted") for s in _ADJUDICABLE},
    ("rejected", "rehold"): ("held", "ClaimHeld"),
    # adjudication (from remits' events)
    **{(s, "pay"): ("adjudicated", "ClaimAdjudicated") for s in (*_ADJUDICABLE, "forwarded", "denied")},
    **{(s, "deny"): ("denied", "ClaimAdjudicated") for s in (*_ADJUDICABLE, "forwarded", "adjudicated", "closed")},
    **{(s, "cross_over"): ("forwarded", "ClaimForwarded") for s in _ADJUDICABLE},
    **{(s, "reverse"): ("accepted", "ClaimAdjudicated") for s in _ADJUDICATED},
    # corrections and voids: only claims the payer adjudicated
    **{(s, "correct"): ("corrected", "ClaimCorrected") for s in _ADJUDICATED},
    **{(s, "void"): ("voided", "ClaimVoided") for s in _ADJUDICATED},
    # nothing more is owed by this payer (for a denial: what it left open was written off)
    ("adjudicated", "close"): ("closed", "ClaimClosed"),
    ("denied", "close"): ("closed", "ClaimClosed"),
    ("corrected", "close"): ("closed", "ClaimClosed"),
    ("voided", "close"): ("closed", "ClaimClosed"),
}


class IllegalTransition(ValueError):
    def __init__(self, state: State | None, trigger: Trigger) -> None:
        super().__init__(f"no transition from {state or 'nothing'} on {trigger}")
        self.state = state
        self.trigger = trigger


@dataclass(frozen=True)
class Transition:
    from_state: State | None
    trigger: Trigger
    to_state: State
    event_type: str | None


def transition(state: State | None, trigger: Trigger) -> Transition:
    """The transition the table allows, or IllegalTransition."""
    found = TRANSITIONS.get((state, trigger))
    if found is None:
        raise IllegalTransition(state, trigger)
    return Transition(state, trigger, found[0], found[1])


def allowed(state: State | None, trigger: Trigger) -> bool:
    return (state, trigger) in TRANSITIONS


def payer_adjudicated(state: State) -> bool:
    """Whether a frequency 7/8 claim may follow (the payer adjudicated this claim)."""
    return allowed(state, "correct")


def table_markdown() -> str:
    """The table as docs/claims.md shows it (kept in sync by a unit test)."""
    rows = ["| from | trigger | to | emits |", "|---|---|---|---|"]
    for (frm, trig), (to, event) in TRANSITIONS.items():
        rows.append(f"| {frm or '(none)'} | {trig} | {to} | {event or '-'} |")
    return "\n".join(rows)
