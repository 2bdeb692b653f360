"""How notifications pairs an UnmatchedRemittance alert with its resolution and shows the
"resolved" line in a digest (no database: the SQL side is in the integration test)."""

from __future__ import annotations

from typing import Any

from schemas import remits
from services.notifications.domain.policy import render_digest
from services.notifications.handlers import (
    HANDLERS,
    STAFF_ALERTS,
    UNMATCHED,
    UNMATCHED_RESOLVED,
    on_staff_alert,
    on_unmatched_resolved,
)
from services.notifications.service.alerts import alert_summary, unmatched_alert_key
from tests.support.testsvc import example

POSITION = {"transaction_set_control_number": "0001", "claim_index": 2, "segment_number": 41}


def raised(**overrides: Any) -> remits.UnmatchedRemittance:
    event = example(UNMATCHED, **overrides)
    assert isinstance(event, remits.UnmatchedRemittance)
    return event


def resolution(**overrides: Any) -> remits.UnmatchedRemittanceResolved:
    event = example(UNMATCHED_RESOLVED, **overrides)
    assert isinstance(event, remits.UnmatchedRemittanceResolved)
    return event


def test_alert_and_resolution_share_a_key_per_claim_payment() -> None:
    alert, done = raised(position=POSITION), resolution(position=POSITION)
    assert unmatched_alert_key(alert.remittance_id, alert.position) == unmatched_alert_key(
        done.remittance_id, done.position) == "rem_01JPB2C8M4/0001/2"
    other = resolution(position={**POSITION, "claim_index": 3})
    assert unmatched_alert_key(other.remittance_id, other.position) != unmatched_alert_key(
        alert.remittance_id, alert.position)
    moved = resolution(remittance_id="rem_OTHER0001", position=POSITION)
    assert unmatched_alert_key(moved.remittance_id, moved.position) != "rem_01JPB2C8M4/0001/2"


def test_handlers_wire_the_resolution_apart_from_alerts() -> None:
    assert HANDLERS[UNMATCHED] is on_staff_alert and UNMATCHED in STAFF_ALERTS
    assert HANDLERS[UNMATCHED_RESOLVED] is on_unmatched_resolved and UNMATCHED_RESOLVED not in STAFF_ALERTS


def test_resolved_summary_is_ids_and_money() -> None:
    summary = alert_summary(resolution(resolution="operator_rematch"))
    assert summary == {"state": "resolved", "remittance_id": "rem_01JPB2C8M4", "position": "ST 0001 claim 2",
                       "claim_id": "clm_01HX00000Q", "encounter_id": "enc_01HX00000R", "amount_released": "130.00",
                       "resolution": "operator_rematch"}


def test_digest_shows_a_resolved_line() -> None:
    alerts = [{"event_type": UNMATCHED, "summary": alert_summary(raised(remittance_id="rem_OPEN00001"))},
              {"event_type": UNMATCHED_RESOLVED, "summary": alert_summary(resolution())}]
    subject, text = render_digest(alerts, organization="Mission Family Medical Group")
    assert subject == "[work queue] 2 item(s) need attention"
    assert "== Unmatched remittance (1)" in text and "== Unmatched remittance resolved (1)" in text
    line = next(x for x in text.splitlines() if "rem_01JPB2C8M4" in x)
    assert line == ("  - state=resolved  remittance_id=rem_01JPB2C8M4  position=ST 0001 claim 2"
                    "  claim_id=clm_01HX00000Q  encounter_id=enc_01HX00000R  amount_released=130.00"
                    "  resolution=claim_submitted")
