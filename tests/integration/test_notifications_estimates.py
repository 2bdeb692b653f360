"""What notifications does with the eligibility events, through real Kafka, Postgres and SMTP: a
patient estimate email (once per distinct estimate, "an estimate, not a bill", a floor said so),
staff work items for a payer the 271 names that is not on file and for an inactive coverage (one
per problem, however many events report it), the ERA-missing follow-up, and a ClaimStatusChecked
that only fans out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from devstack.mailcatcher import MailCatcher
from services.chassis.clock import FixedClock
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.integration.test_notifications_helpers import (
    T0,
    Story,
    definition,
    fetch,
    html_of,
    notification_settings,
    settled,
    stored,
    text_of,
)
from tests.support.kafka_io import consumed, eventually, publish, read_topic
from tests.support.runtimes import running
from tests.support.testsvc import example

pytestmark = pytest.mark.integration
BILLING = "billing-team@clinic.example"


@pytest.fixture(scope="module")
async def service(platform: Settings, catcher: MailCatcher) -> AsyncIterator[Runtime]:
    ns = notification_settings(catcher.port, digest_interval_s=1.0)
    async with running(definition(ns), platform, clock=FixedClock(T0)) as rt:
        yield rt


def estimated(story: Story, estimate_id: str, *, complete: bool = True, **amounts: str) -> Any:
    return example("rcm.eligibility.PatientEstimated.v1", encounter_id=story.encounter_id,
                   patient_account_id=story.account, estimate_id=estimate_id, complete=complete, **amounts)


def checked(encounter_id: str, check_id: str, **fields: Any) -> Any:
    return example("rcm.eligibility.EligibilityChecked.v1", encounter_id=encounter_id, check_id=check_id, **fields)


async def alerts_of(platform: Settings, encounter_id: str) -> list[dict[str, Any]]:
    rows = await fetch(platform, "SELECT event_type, summary FROM staff_alerts WHERE summary->>'encounter_id' = $1"
                                 " ORDER BY event_type", encounter_id)
    return [{"type": r["event_type"].split(".")[2], **r["summary"]} for r in rows]


async def test_the_patient_is_told_the_estimate_once_per_figure(platform: Settings, catcher: MailCatcher,
                                                                service: Runtime) -> None:
    story = Story()
    await publish(platform, estimated(story, "est_N1"))  # before the contact: it waits for it
    await publish(platform, story.ready())
    await publish(platform, estimated(story, "est_N2"))  # the same figures from a cached 271: nothing new

    async def first() -> bool:
        return len(stored(catcher.folder, story.email)) >= 1

    await eventually(first, what="the estimate email")
    await consumed(platform, "notifications", "rcm.eligibility.v1")
    await consumed(platform, "notifications", "rcm.charges.v1")
    assert not await fetch(platform, "SELECT 1 FROM parked WHERE park_key = $1", f"contact:{story.encounter_id}")
    await settled(platform, "related->>'encounter_id' = $1", story.encounter_id)
    mails = stored(catcher.folder, story.email)
    assert len(mails) == 1
    assert mails[0]["Subject"].strip() == ("Your estimated share for the visit on 2026-03-02 with"
                                           " Mission Family Medical Group: $116.00")
    text = text_of(mails[0])
    for expected in ("Dear Ana L Rivera", "Your estimated share for the visit on 2026-03-02 is $116.00",
                     "Aetna", "deductible $100.00, co-insurance $16.00, copay $0.00",
                     "This is an estimate, not a bill"):
        assert expected in text, expected
    assert "incomplete" not in text and "$116.00" in html_of(mails[0])
    rows = await fetch(platform, "SELECT kind, template, state FROM notifications WHERE related->>'encounter_id' = $1",
                       story.encounter_id)
    assert [tuple(r) for r in rows] == [("estimate", "patient-estimate", "sent")]

    # A later check with other figures, some services unpriced: told again, and told it is a floor.
    await publish(platform, estimated(story, "est_N3", complete=False, deductible="100.00", coinsurance="6.00",
                                      patient_estimate="106.00"))

    async def second() -> bool:
        return len(stored(catcher.folder, story.email)) == 2

    await eventually(second, what="the second estimate email")
    floor = next(m for m in stored(catcher.folder, story.email) if "$106.00" in m["Subject"])
    assert "This estimate is incomplete" in text_of(floor) and "may be more than this amount" in text_of(floor)


async def test_eligibility_problems_become_one_work_item_each(platform: Settings, catcher: MailCatcher,
                                                             service: Runtime) -> None:
    medicare = {"role": "primary", "payer_id": "01182", "payer_name": "Medicare Part B", "insurance_type": "MB",
                "on_file": False}
    on_file = {"role": "secondary", "payer_id": "610442", "payer_name": "Medi-Cal", "on_file": True}
    # A payer not on file, reported again by a cached answer: one work item.
    await publish(platform, checked("enc_OTH1", "elg_OTH1a", other_payers=[medicare, on_file]))
    await publish(platform, checked("enc_OTH1", "elg_OTH1b", source="cache", other_payers=[medicare, on_file]))
    # An inactive coverage and the ClaimHeld (ELIG-INACTIVE) it causes: one work item, whichever comes first.
    elig = {"edit_id": "ELIG-INACTIVE", "severity": "error", "source": "eligibility",
            "message": "coverage rank 1 inactive on 2026-03-02 (271 EB*6)"}
    ncci = {"edit_id": "NCCI-PTP", "severity": "error", "source": "ncci-ptp", "message": "bundled pair"}
    await publish(platform, checked("enc_INA1", "elg_INA1", outcome="inactive", benefits=[], coverage_level=None))
    await publish(platform, checked("enc_INA2", "elg_INA2", outcome="inactive", benefits=[], coverage_level=None))
    await publish(platform, example("rcm.claims.ClaimHeld.v1", claim_id="clm_INA3", encounter_id="enc_INA3",
                                    edits=[elig]))
    await consumed(platform, "notifications", "rcm.eligibility.v1")
    await consumed(platform, "notifications", "rcm.claims.v1")
    await publish(platform, example("rcm.claims.ClaimHeld.v1", claim_id="clm_INA1", encounter_id="enc_INA1",
                                    edits=[elig]))
    # Held for eligibility and a coding edit: the coding edit is a problem of its own.
    await publish(platform, example("rcm.claims.ClaimHeld.v1", claim_id="clm_INA2", encounter_id="enc_INA2",
                                    edits=[elig, ncci]))
    await publish(platform, checked("enc_INA3", "elg_INA3", outcome="inactive", benefits=[], coverage_level=None))
    # The 277 said paid, no 835 came; and a status answer only fans out.
    await publish(platform, example("rcm.claims.ClaimFollowUpDue.v1", claim_id="clm_ERA1", encounter_id="enc_ERA1",
                                    reason="era_missing"))
    await publish(platform, example("rcm.claims.ClaimStatusChecked.v1", claim_id="clm_STS1",
                                    encounter_id="enc_STS1"))
    await consumed(platform, "notifications", "rcm.eligibility.v1")
    await consumed(platform, "notifications", "rcm.claims.v1")
    assert await read_topic(platform, "rcm.notifications.dlq.v1") == []

    assert await alerts_of(platform, "enc_OTH1") == [{
        "type": "EligibilityChecked", "encounter_id": "enc_OTH1", "check_id": "elg_OTH1a", "coverage_rank": 1,
        "payer_id": "60054", "service_date": "2026-03-02",
        "problem": "payer named by the 271 not on file for coverage rank 1", "other_payers": "primary:01182:MB"}]
    assert await alerts_of(platform, "enc_INA1") == [{
        "type": "EligibilityChecked", "encounter_id": "enc_INA1", "check_id": "elg_INA1", "coverage_rank": 1,
        "payer_id": "60054", "service_date": "2026-03-02", "outcome": "inactive",
        "problem": "coverage rank 1 inactive on the date of service"}]
    assert [(a["type"], a.get("edits")) for a in await alerts_of(platform, "enc_INA2")] == [
        ("ClaimHeld", "ELIG-INACTIVE,NCCI-PTP"), ("EligibilityChecked", None)]
    assert [(a["type"], a.get("edits")) for a in await alerts_of(platform, "enc_INA3")] == [
        ("ClaimHeld", "ELIG-INACTIVE")]
    era = await alerts_of(platform, "enc_ERA1")
    assert [(a["type"], a["reason"], a["problem"]) for a in era] == [(
        "ClaimFollowUpDue", "era_missing",
        "ERA missing: the payer reports the claim paid or denied but no 835 arrived")]
    assert await alerts_of(platform, "enc_STS1") == []

    async def digested() -> bool:
        text = "".join(text_of(m) for m in stored(catcher.folder, BILLING))
        return all(i in text for i in ("enc_OTH1", "enc_INA1", "clm_INA2", "clm_ERA1"))

    await eventually(digested, what="the staff digest")
    text = "".join(text_of(m) for m in stored(catcher.folder, BILLING))
    assert "== Eligibility (271): coverage inactive or rejected, or a payer not on file" in text
    assert "problem=payer named by the 271 not on file for coverage rank 1" in text
    assert "problem=ERA missing: the payer reports the claim paid or denied but no 835 arrived" in text
    assert text.count("enc_OTH1") == 1 and "Rivera" not in text
