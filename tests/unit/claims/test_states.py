"""The claim state machine: every transition of the table, and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.claims.domain.states import (
    TRANSITIONS,
    IllegalTransition,
    State,
    Trigger,
    payer_adjudicated,
    table_markdown,
    transition,
)

EXPECTED: list[tuple[State | None, Trigger, State, str | None]] = [
    (None, "create", "created", "ClaimCreated"),
    ("created", "hold", "held", "ClaimHeld"),
    ("created", "scrub_pass", "ready", None),
    ("held", "release", "ready", "ClaimReleased"),
    ("ready", "hold", "held", "ClaimHeld"),
    ("ready", "submit", "submitted", "ClaimSubmitted"),
    ("submitted", "accept", "accepted", "ClaimAccepted"),
    ("submitted", "reject", "rejected", "ClaimRejected"),
    ("accepted", "reject", "rejected", "ClaimRejected"),
    ("rejected", "resubmit", "ready", "ClaimResubmitted"),
    ("rejected", "rehold", "held", "ClaimHeld"),
    ("submitted", "pay", "adjudicated", "ClaimAdjudicated"),
    ("accepted", "pay", "adjudicated", "ClaimAdjudicated"),
    ("forwarded", "pay", "adjudicated", "ClaimAdjudicated"),
    ("accepted", "deny", "denied", "ClaimAdjudicated"),
    ("accepted", "cross_over", "forwarded", "ClaimForwarded"),
    ("adjudicated", "reverse", "accepted", "ClaimAdjudicated"),
    ("adjudicated", "correct", "corrected", "ClaimCorrected"),
    ("denied", "correct", "corrected", "ClaimCorrected"),
    ("closed", "void", "voided", "ClaimVoided"),
    ("adjudicated", "close", "closed", "ClaimClosed"),
    ("corrected", "close", "closed", "ClaimClosed"),
    ("voided", "close", "closed", "ClaimClosed"),
]


@pytest.mark.parametrize(("state", "trigger", "to", "event"), EXPECTED)
def test_transition(state: State | None, trigger: Trigger, to: State, event: str | None) -> None:
    t = transition(state, trigger)
    assert (t.to_state, t.event_type) == (to, event)


@pytest.mark.parametrize(("state", "trigger"), [
    ("created", "submit"),      # never submitted unscrubbed
    ("held", "submit"),
    ("submitted", "correct"),   # not adjudicated: goes again as a new original instead
    ("accepted", "void"),
    ("rejected", "correct"),
    ("rejected", "pay"),
    ("closed", "submit"),
    (None, "submit"),
])
def test_illegal_transitions_are_refused(state: State | None, trigger: Trigger) -> None:
    with pytest.raises(IllegalTransition):
        transition(state, trigger)


def test_every_emitted_event_is_a_claims_contract() -> None:
    from schemas import claims

    assert {e for _, e in TRANSITIONS.values() if e} <= set(claims.__all__)


def test_only_adjudicated_claims_take_frequency_7_or_8() -> None:
    assert [s for s in ("submitted", "accepted", "rejected", "adjudicated", "denied", "forwarded", "closed")
            if payer_adjudicated(s)] == ["adjudicated", "denied", "forwarded", "closed"]  # type: ignore[arg-type]


def test_docs_show_the_table() -> None:
    docs = (Path(__file__).resolve().parents[3] / "docs" / "claims.md").read_text()
    assert table_markdown() in docs
