"""The charges HTTP door: contract validation per field, 202 with ids, idempotency, status, OpenAPI."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import examples as ex
from services.charges.app import DEFINITION, create_app
from services.chassis.clock import FixedClock
from services.chassis.settings import Settings
from services.chassis.tokens import Scope
from tests.support import intake
from tests.support.kafka_io import count, eventually
from tests.support.runtimes import running
from tests.support.tokens import authorized

pytestmark = pytest.mark.integration
CANARY = "CANARY-Zebediah-Quux-555-12-3456"


@pytest.fixture(scope="module")
async def app(platform: Settings) -> AsyncIterator[FastAPI]:
    async with running(DEFINITION, platform, clock=FixedClock(datetime(2026, 3, 10, 15, tzinfo=UTC)),
                       app=create_app) as application:
        yield application


@pytest.fixture
async def client(app: FastAPI, platform: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with authorized(app, platform, name="ehr-feed", scope=Scope.OPERATE) as c:
        yield c


def encounter_body(sei: str) -> dict[str, object]:
    return copy.deepcopy(ex.ENCOUNTER) | {"source_encounter_id": sei}


def charge_body(sei: str, charge_id: str, **overrides: object) -> dict[str, object]:
    return intake.CHARGE_EXAMPLE | {"source_encounter_id": sei, "source_charge_id": charge_id,
                                    "idempotency_key": f"{intake.SYSTEM}:{charge_id}"} | overrides


async def test_encounter_and_charge_are_accepted_then_posted(platform: Settings, client: httpx.AsyncClient) -> None:
    sei = intake.new_encounter_id()
    first = await client.post("/v1/encounters", json=encounter_body(sei))
    assert first.status_code == 202, first.text
    accepted = first.json()
    assert accepted["event_type"] == "rcm.intake.EncounterRegistered.v1" and accepted["encounter_id"].startswith("enc_")
    second = await client.post("/v1/charges", json=charge_body(sei, "h1"))
    assert second.status_code == 202 and second.json()["encounter_id"] == accepted["encounter_id"]

    async def posted() -> bool:
        status = await client.get(f"/v1/charges/{intake.SYSTEM}/h1")
        return status.status_code == 200 and status.json()["outcome"] == "posted"

    await eventually(posted, what="the charge to post")
    status = (await client.get(f"/v1/encounters/{intake.SYSTEM}/{sei}")).json()
    assert status["encounter_id"] == accepted["encounter_id"] and status["ledger_total"] == "150.00"
    assert [c["outcome"] for c in status["charges"]] == ["posted"]
    assert (await client.get(f"/v1/charges/{intake.SYSTEM}/never-sent")).status_code == 404


async def test_contract_errors_name_each_field_and_never_echo_values(
    platform: Settings, client: httpx.AsyncClient
) -> None:
    body = charge_body(intake.new_encounter_id(), "h-bad", units="0", diagnosis_pointers=[], description=CANARY,
                       unit_price=12.5, surprise=CANARY)
    before = await count(platform, "charges", "SELECT count(*) FROM outbox")
    response = await client.post("/v1/charges", json=body)
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"units", "diagnosis_pointers", "unit_price"} <= fields
    assert CANARY not in response.text
    assert await count(platform, "charges", "SELECT count(*) FROM outbox") == before  # nothing queued
    broken = await client.post("/v1/charges", content=b'{"units": ', headers={"content-type": "application/json"})
    assert broken.status_code == 422


async def test_idempotency_key_replays_the_first_answer(platform: Settings, client: httpx.AsyncClient) -> None:
    sei = intake.new_encounter_id()
    headers = {"Idempotency-Key": f"req-{sei}"}
    first = await client.post("/v1/encounters", json=encounter_body(sei), headers=headers)
    again = await client.post("/v1/encounters", json=encounter_body(sei), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    other = await client.post("/v1/encounters", json=encounter_body(sei) | {"place_of_service": "22"}, headers=headers)
    assert other.status_code == 409
    queued = "SELECT count(*) FROM outbox WHERE event_type = 'rcm.intake.EncounterRegistered.v1' AND message_key = $1"
    assert await count(platform, "charges", queued, sei) == 1


async def test_openapi_documents_the_contract_bodies(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/v1/charges"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ChargeSubmitted"}
    assert "diagnosis_pointers" in spec["components"]["schemas"]["ChargeSubmitted"]["properties"]
    def refs(node: object) -> set[str]:
        if isinstance(node, dict):
            own = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
            return own.union(*(refs(v) for v in node.values()))
        if isinstance(node, list):
            return set().union(*(refs(v) for v in node))
        return set()

    names = {r.removeprefix("#/components/schemas/") for r in refs(spec)}
    assert names and names <= set(spec["components"]["schemas"])  # every reference resolves


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=st.dictionaries(st.sampled_from([*sorted(intake.CHARGE_EXAMPLE), "units", "junk"]), json_values,
                                min_size=1, max_size=4))
async def test_fuzzed_bodies_get_a_precise_answer_never_a_crash(
    client: httpx.AsyncClient, mutation: dict[str, object]
) -> None:
    response = await client.post("/v1/charges", json=charge_body("fuzz-enc", "fuzz-1") | mutation)
    assert response.status_code in (202, 409, 422), response.text
    if response.status_code == 422:
        assert all(set(e) == {"field", "type", "message"} for e in response.json()["errors"])
