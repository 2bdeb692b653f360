"""The patient estimate email and the ERA-missing work item (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.claims import ClaimFollowUpDue
from schemas.eligibility import PatientEstimated
from services.notifications.domain.estimates import estimate_body, render_estimate
from services.notifications.domain.policy import webhook_body
from services.notifications.service.alerts import alert_summary
from tests.support.testsvc import example

T0 = datetime(2026, 3, 3, 9, 0, 2, tzinfo=UTC)


def rendered(**overrides: Any) -> tuple[str, str, str]:
    event = example("rcm.eligibility.PatientEstimated.v1", **overrides)
    assert isinstance(event, PatientEstimated)
    out = render_estimate(estimate_body(event), recipient_name="Ana Rivera", patient_name="Leo Rivera",
                          provider_name="Mission Family Medical Group", organization="Mission Billing Office")
    return out.subject, out.text, out.html


def test_the_estimate_email_says_what_the_share_is_made_of_and_that_it_is_no_bill() -> None:
    subject, text, html = rendered()
    assert subject == "Your estimated share for the visit on 2026-03-02 with Mission Family Medical Group: $116.00"
    assert text == (
        "Dear Ana Rivera,\n\n"
        "Your estimated share for the visit on 2026-03-02 is $116.00 (patient: Leo Rivera; provider: Mission Family"
        " Medical Group). It is worked out from what Aetna told us of the plan before we billed it: deductible"
        " $100.00, co-insurance $16.00, copay $0.00.\n\n"
        "This is an estimate, not a bill: please do not pay now. Your insurance decides the final amount when it"
        " processes the claim, and you will get a statement then.\n\n"
        "Mission Billing Office\n")
    assert html.startswith("<html><body><p>Dear Ana Rivera,</p>") and "$116.00" in html


def test_an_incomplete_estimate_says_it_is_a_floor() -> None:
    _, text, html = rendered(complete=False)
    assert "This estimate is incomplete: some services had no contracted price" in text
    assert "What you owe may be more than this amount." in text and "incomplete" in html


def test_html_is_escaped() -> None:
    event = example("rcm.eligibility.PatientEstimated.v1")
    assert isinstance(event, PatientEstimated)
    out = render_estimate(estimate_body(event), recipient_name="<b>A</b>", patient_name="P", provider_name="Q & R",
                          organization="O")
    assert "&lt;b&gt;A&lt;/b&gt;" in out.html and "Q &amp; R" in out.html


def test_the_era_missing_follow_up_says_so() -> None:
    due = example("rcm.claims.ClaimFollowUpDue.v1", reason="era_missing")
    assert isinstance(due, ClaimFollowUpDue)
    assert alert_summary(due)["problem"] == "ERA missing: the payer reports the claim paid or denied but no 835 arrived"
    assert "problem" not in alert_summary(example("rcm.claims.ClaimFollowUpDue.v1"))


def test_eligibility_webhook_bodies_keep_ids_and_amounts_only() -> None:
    checked = example("rcm.eligibility.EligibilityChecked.v1")
    body = webhook_body("evt-1", "rcm.eligibility.EligibilityChecked.v1", T0, checked.model_dump())
    assert body["data"] == {"check_id": "elg_01JNQ8T3M5", "encounter_id": "enc_01JNQ8R6T2",
                            "patient_account_id": "PA-4821907", "payer_id": "60054",
                            "checked_at": "2026-03-03T09:00:00+00:00"}
    estimated = example("rcm.eligibility.PatientEstimated.v1")
    data = webhook_body("evt-2", "rcm.eligibility.PatientEstimated.v1", T0, estimated.model_dump())["data"]
    assert (data["patient_estimate"], data["deductible"], data["payer_id"]) == ("116.00", "100.00", "60054")
    assert "payer_name" not in repr(data) and "service_date" not in data
