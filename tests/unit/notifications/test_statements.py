"""Statement recipients and rendering, reminders, backoff, webhook bodies and digests (pure)."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import examples as ex
from services.notifications.domain.policy import backoff_s, due_reminders, render_digest, webhook_body
from services.notifications.domain.statements import (
    StatementBalance,
    choose_recipient,
    guarantor_key,
    render_statement,
)
from tests.support.testsvc import example

DETAILS: dict[str, Any] = {"patient": ex.PATIENT, "guarantor": ex.GUARANTOR,
                           "billing_provider": {"name": "Mission Family Medical Group"}}


def details(**guarantor: Any) -> dict[str, Any]:
    d = copy.deepcopy(DETAILS)
    d["guarantor"].update(guarantor)
    return d


def balance(balance_id: str = ex.BALANCE_ID, **overrides: Any) -> StatementBalance:
    body = example("rcm.patient-balances.PatientBalanceCreated.v1", balance_id=balance_id,
                   **overrides).model_dump(mode="json")
    return StatementBalance(balance_id, body["patient_account_id"], body, "Ana Rivera", "Mission Family Medical Group")


def test_guarantor_with_email_gets_the_statement() -> None:
    r = choose_recipient(DETAILS)
    assert (r.email, r.kind, r.skip_reason, r.name) == ("ana.rivera@example.org", "guarantor", None, "Ana L Rivera")


def test_self_guarantor_without_email_falls_back_to_the_patient() -> None:
    r = choose_recipient(details(email=None))
    assert (r.email, r.kind) == ("ana.rivera@example.org", "patient")


def test_no_email_or_opt_out_is_skipped_with_a_reason() -> None:
    d = details(email=None, relationship_to_patient="parent")
    assert choose_recipient(d).error_class == "no_contact_details"
    assert choose_recipient(d).email is None
    assert choose_recipient(details(contact_preference="none")).error_class == "opted_out"
    paper = choose_recipient(details(contact_preference="mail"))
    assert paper.email is None and paper.error_class == "opted_out" and "paper" in (paper.skip_reason or "")
    paper_no_email = choose_recipient(details(contact_preference="mail", email=None, relationship_to_patient="parent"))
    assert paper_no_email.error_class == "no_contact_details"


def test_guarantor_key_groups_the_same_person_and_separates_others() -> None:
    same = details(name={"family": " RIVERA", "given": "ana", "middle": None, "suffix": None})
    assert guarantor_key(DETAILS) == guarantor_key(same)
    other = details(name={"family": "Rivera", "given": "Luis", "middle": None, "suffix": None})
    assert guarantor_key(DETAILS) != guarantor_key(other)


def test_statement_is_itemized_with_totals_due_date_and_how_to_pay() -> None:
    s = render_statement([balance()], recipient_name="Ana L Rivera", organization="Billing Office",
                         pay_url="https://pay.example", pay_phone="+1 415 555 0100")
    for text in (s.text, s.html):
        assert "2026-03-02" in text and "99213" in text and "Rapid strep A antigen test" in text
        assert "$150.00" in text and "$58.00" in text and "$52.00" in text and "$40.00" in text
        assert "2026-05-08" in text and "https://pay.example" in text and ex.PATIENT_ACCOUNT_ID in text
    assert s.total_due == Decimal("40.00") and "$40.00 due 2026-05-08" in s.subject
    assert "Reminder" not in s.subject


def test_a_facility_line_billed_by_revenue_code_shows_its_revenue_code() -> None:
    created = example("rcm.patient-balances.PatientBalanceCreated.v1").model_dump(mode="json")
    room = {**created["items"][0], "procedure_code": None, "revenue_code": "0120", "description": "Room and board"}
    s = render_statement([balance(items=[room, created["items"][1]])], recipient_name="Ana L Rivera",
                         organization="Billing Office", pay_url="https://pay.example", pay_phone="+1 415 555 0100")
    row = next(line for line in s.text.splitlines() if "Room and board" in line)
    assert row.split()[:5] == ["2026-03-02", "0120", "Room", "and", "board"]
    assert "<td>0120 Room and board</td>" in s.html


def test_statement_groups_balances_and_sums_what_is_due() -> None:
    second = balance("bal_SECOND0001", due_date="2026-05-01", encounter_id="enc_SECOND0001")
    s = render_statement([balance(), second], recipient_name="Ana", organization="O", pay_url="u", pay_phone="p")
    assert s.total_due == Decimal("80.00") and s.due_date.isoformat() == "2026-05-01"
    assert "TOTAL DUE: $80.00 by 2026-05-01" in s.text
    r = render_statement([balance()], recipient_name="Ana", organization="O", pay_url="u", pay_phone="p",
                         reminder_days=60)
    assert r.subject.startswith("Reminder (60 days)") and "open for 60 days" in r.text


def test_html_escapes_names() -> None:
    s = render_statement([balance()], recipient_name="<script>", organization="O", pay_url="u", pay_phone="p")
    assert "<script>" not in s.html and "&lt;script&gt;" in s.html


def test_reminders_are_due_once_per_step() -> None:
    opened = datetime(2026, 4, 8, tzinfo=UTC)
    steps = [30, 60, 90]
    assert due_reminders(opened, opened + timedelta(days=29), steps, set()) == []
    assert due_reminders(opened, opened + timedelta(days=30), steps, set()) == [30]
    assert due_reminders(opened, opened + timedelta(days=61), steps, {30}) == [60]
    assert due_reminders(opened, opened + timedelta(days=200), steps, {30, 60, 90}) == []


@given(st.integers(min_value=1, max_value=30), st.integers(min_value=0, max_value=2**32))
@settings(max_examples=25)
def test_backoff_grows_within_jitter_bounds_and_is_capped(attempt: int, seed: int) -> None:
    delay = backoff_s(attempt, 2.0, 600.0, random.Random(seed))
    ceiling = min(600.0, 2.0 * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling


def test_webhook_body_carries_ids_and_amounts_never_demographics() -> None:
    ready = example("rcm.charges.EncounterReadyToBill.v1")
    body = webhook_body("e-1", "rcm.charges.EncounterReadyToBill.v1", datetime(2026, 4, 8, tzinfo=UTC),
                        ready.model_dump())
    text = repr(body)
    for phi in ("Rivera", "ana.rivera", "Valencia", "1984-06-12", "W123456789", "4155550142", "HAR100234567"):
        assert phi not in text
    assert body["data"]["encounter_id"] == ex.ENCOUNTER_ID and body["data"]["charge_ids"] == ex.CHARGE_IDS
    denied = example("rcm.remittances.ClaimDenied.v1")
    data = webhook_body("e-2", "t", datetime(2026, 4, 8, tzinfo=UTC), denied.model_dump())["data"]
    assert data["claim_id"] == ex.CLAIM_ID and data["total_paid"] == "58.00" and data["payer_id"] == "60054"


@given(st.from_regex(r"[A-Z][a-z]{3,12}", fullmatch=True), st.from_regex(r"[a-z]{4,10}", fullmatch=True))
@settings(max_examples=15)
def test_webhook_body_never_carries_any_name_or_email(family: str, user: str) -> None:
    email_address = f"{user}@mail-{user}.example"
    guarantor = {**ex.GUARANTOR, "name": {**ex.GUARANTOR["name"], "family": family}, "email": email_address}
    patient = {**ex.PATIENT, "name": {**ex.PATIENT["name"], "family": family}, "email": email_address}
    ready = example("rcm.charges.EncounterReadyToBill.v1", guarantor=guarantor, patient=patient)
    text = repr(webhook_body("e", "t", datetime(2026, 4, 8, tzinfo=UTC), ready.model_dump()))
    assert family not in text and email_address not in text


def test_digest_lists_every_alert_by_kind() -> None:
    alerts = [
        {"event_type": "rcm.claims.ClaimHeld.v1", "summary": {"claim_id": "clm_1", "edits": "NCCI-PTP"}},
        {"event_type": "rcm.remittances.ClaimDenied.v1", "summary": {"claim_id": "clm_2", "carcs": "CO-97"}},
        {"event_type": "rcm.claims.ClaimHeld.v1", "summary": {"claim_id": "clm_3", "edits": "MUE"}},
    ]
    subject, text = render_digest(alerts, organization="Billing")
    assert subject == "[work queue] 3 item(s) need attention"
    assert "Claim held by the scrubber (2)" in text and "Claim denied (1)" in text
    assert "claim_id=clm_1" in text and "carcs=CO-97" in text
