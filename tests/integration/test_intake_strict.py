"""The Kafka intake door is as strict as HTTP (issue 16): unknown fields and a record key or
ce_subject that is not the payload's aggregate key are refused, with the field named and no
payload value echoed. Charges answers with its rejection events; remits, which has no rejection
event for payments, dead-letters with the field paths. Our own topics stay tolerant."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.charges.app import DEFINITION as CHARGES
from services.chassis.clock import FixedClock
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from tests.support import intake
from tests.support.kafka_io import count, eventually, publish, read_topic
from tests.support.remits_io import submitted
from tests.support.runtimes import running
from tests.support.testsvc import example

pytestmark = pytest.mark.integration
TODAY = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
SSN = "123-45-6789"


@pytest.fixture(scope="module")
async def charges(platform: Settings) -> AsyncIterator[Runtime]:
    async with running(CHARGES, platform, clock=FixedClock(TODAY)) as runtime:
        yield runtime


async def rejections(platform: Settings, sei: str, name: str) -> list[dict[str, Any]]:
    """`name` (EncounterRejected, ChargeRejected) events about the sender's encounter, waited for."""
    got: list[dict[str, Any]] = []

    async def seen() -> bool:
        nonlocal got
        got = [json.loads(v) for _, v, h in await read_topic(platform, "rcm.charges.v1")
               if dict(h)["ce_type"].decode() == f"rcm.charges.{name}.v1"
               and json.loads(v)["source_encounter_id"] == sei]
        return bool(got)

    await eventually(seen, timeout_s=60, what=name)
    return got


def body(event: Any, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(event.model_dump_json())
    return data | changes


async def test_a_misspelled_charge_field_is_rejected_by_name_not_posted_without_it(
    platform: Settings, charges: Runtime
) -> None:
    """The finding: `"modifers":["25"]` posted 99213 with no modifier."""
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))
    charge = intake.charge(sei, "typo-1")
    typo = body(charge)
    typo["modifers"] = typo.pop("modifiers")
    await publish(platform, charge, raw_value=json.dumps(typo).encode())
    [rejected] = await rejections(platform, sei, "ChargeRejected")
    assert rejected["source_charge_id"] == "typo-1"
    assert [(r["code"], r["field"]) for r in rejected["reasons"]] == [("INTAKE_UNKNOWN_FIELD", "modifers")]
    assert await count(platform, "charges", "SELECT count(*) FROM charges WHERE idempotency_key = $1",
                       f"{intake.SYSTEM}:typo-1") == 0


async def test_an_encounter_carrying_patient_ssn_is_rejected_without_echoing_it(
    platform: Settings, charges: Runtime
) -> None:
    sei = intake.new_encounter_id()
    encounter = intake.encounter(sei)
    data = body(encounter)
    data["patient"] = data["patient"] | {"ssn": SSN}
    await publish(platform, encounter, raw_value=json.dumps(data).encode())
    [rejected] = await rejections(platform, sei, "EncounterRejected")
    assert [(r["code"], r["field"]) for r in rejected["reasons"]] == [("INTAKE_UNKNOWN_FIELD", "patient.ssn")]
    assert SSN not in json.dumps(rejected)
    registered = "SELECT count(*) FROM encounters WHERE encounter_id = $1"
    assert await count(platform, "charges", registered, rejected["encounter_id"]) == 0


async def test_a_record_keyed_for_another_encounter_is_rejected(platform: Settings, charges: Runtime) -> None:
    sei, other = intake.new_encounter_id(), intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))
    await publish(platform, intake.charge(sei, "key-1"), key=other)
    [rejected] = await rejections(platform, sei, "ChargeRejected")
    assert [(r["code"], r["field"]) for r in rejected["reasons"]] == [("INTAKE_KEY_MISMATCH", "source_encounter_id")]
    assert other not in json.dumps(rejected["reasons"])
    assert await count(platform, "charges", "SELECT count(*) FROM charges WHERE idempotency_key = $1",
                       f"{intake.SYSTEM}:key-1") == 0


async def test_a_ce_subject_naming_another_encounter_is_rejected(platform: Settings, charges: Runtime) -> None:
    sei, other = intake.new_encounter_id(), intake.new_encounter_id()
    await publish(platform, intake.encounter(sei), subject=other)
    [rejected] = await rejections(platform, sei, "EncounterRejected")
    assert [(r["code"], r["field"]) for r in rejected["reasons"]] == [
        ("INTAKE_SUBJECT_MISMATCH", "source_encounter_id")]
    registered = "SELECT count(*) FROM encounters WHERE encounter_id = $1"
    assert await count(platform, "charges", registered, rejected["encounter_id"]) == 0


async def test_a_clean_charge_still_posts(platform: Settings, charges: Runtime) -> None:
    sei = intake.new_encounter_id()
    await publish(platform, intake.encounter(sei))
    await publish(platform, intake.charge(sei, "clean-1"))

    async def posted() -> bool:
        return await count(platform, "charges", "SELECT count(*) FROM charges WHERE idempotency_key = $1",
                           f"{intake.SYSTEM}:clean-1") == 1

    await eventually(posted, what="the clean charge posted")


def payment(n: str, **overrides: Any) -> Any:
    return example("rcm.intake.PatientPaymentReceived.v1", source_payment_id=f"strict-{n}",
                   idempotency_key=f"portal:strict-{n}", patient_account_id=f"pa_STRICT{n}", **overrides)


async def dead_letter_reason(platform: Settings, event_id: str) -> str:
    reason = ""

    async def dead() -> bool:
        nonlocal reason
        for _, _, h in await read_topic(platform, "rcm.remits.dlq.v1"):
            headers = dict(h)
            if headers["ce_id"].decode() == event_id:
                reason = headers["dlq_reason"].decode()
                return True
        return False

    await eventually(dead, timeout_s=60, what="the payment dead-lettered")
    return reason


async def test_payments_with_an_unknown_field_or_a_foreign_key_are_dead_lettered_by_field(
    platform: Settings, remits: Runtime
) -> None:
    typo = payment("1")
    data = body(typo)
    data["amout"] = data["amount"]
    sent = await publish(platform, typo, raw_value=json.dumps(data).encode())
    assert await dead_letter_reason(platform, str(sent.id)) == "intake refused: amout: INTAKE_UNKNOWN_FIELD"
    keyed = await publish(platform, payment("2"), key="pa_SOMEONEELSE")
    assert await dead_letter_reason(platform, str(keyed.id)) == (
        "intake refused: patient_account_id: INTAKE_KEY_MISMATCH")
    subject = await publish(platform, payment("3"), subject="pa_SOMEONEELSE")
    assert await dead_letter_reason(platform, str(subject.id)) == (
        "intake refused: patient_account_id: INTAKE_SUBJECT_MISMATCH")
    assert await count(platform, "remits", "SELECT count(*) FROM payments WHERE idempotency_key LIKE 'portal:strict-%'"
                       ) == 0


async def test_internal_topics_still_tolerate_added_fields(platform: Settings, remits: Runtime) -> None:
    """A producer of our own may add an optional field within a version: remits still records it."""
    event = submitted("SSTRICT1", "strict1", "pa_STRICTX")
    data = body(event, added_in_a_later_minor="x")
    await publish(platform, event, raw_value=json.dumps(data).encode())

    async def recorded() -> bool:
        return await count(platform, "remits", "SELECT count(*) FROM submissions WHERE submission_id = $1",
                           "SSTRICT1") == 1

    await eventually(recorded, what="the submission with an added field recorded")
