"""The demo traffic generator: contract-valid events, deterministic from the seed, realistic mix."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sandbox.demo_data import events, generate, read_chargemaster
from sandbox.payers import load_payers
from schemas import registry
from schemas.intake import ChargeSubmitted, EncounterClosed, EncounterRegistered

START = date(2026, 3, 2)


def test_every_event_validates_against_its_contract() -> None:
    out = events(60, seed=3, start=START)
    for e in out:
        again = registry.validate(e.event_type, registry.encode(e.event).decode())
        assert again == e.event
        assert registry.key_of(e.event) == e.key
    kinds = Counter(type(e.event) for e in out)
    assert kinds[EncounterRegistered] == kinds[EncounterClosed] == 60
    assert kinds[ChargeSubmitted] >= 60


def test_same_seed_same_events_other_seed_other_events() -> None:
    def dump(seed: int) -> list[bytes]:
        return [registry.encode(e.event) for e in events(25, seed=seed, start=START)]

    assert dump(7) == dump(7)
    assert dump(7) != dump(8)


def test_each_encounter_closes_with_its_own_charge_ids() -> None:
    for encounter in generate(30, seed=1, start=START):
        registered, *charges, closed = encounter.events
        assert isinstance(registered.event, EncounterRegistered) and isinstance(closed.event, EncounterClosed)
        ids = [c.event.source_charge_id for c in charges if isinstance(c.event, ChargeSubmitted)]
        assert closed.event.expected_source_charge_ids == ids and len(set(ids)) == len(ids)
        assert {e.key for e in encounter.events} == {encounter.source_encounter_id}


def test_payers_codes_and_members_match_what_the_sandbox_plays() -> None:
    payers = load_payers()
    chargemaster = read_chargemaster()
    cdm_codes = {item.cdm_code for item in chargemaster.values()}
    encounters = generate(200, seed=42, start=START)
    secondaries = 0
    for encounter in encounters:
        registered = encounter.events[0].event
        assert isinstance(registered, EncounterRegistered)
        for coverage in registered.coverages:
            payer = payers[coverage.payer_id]
            assert coverage.claim_filing_indicator == payer.claim_filing_indicator
            assert payer.behaviour.reject_if.member_id_ok(coverage.member_id)
        secondaries += len(registered.coverages) > 1
        assert registered.patient.contact_preference in {"email", "mail"}
        for e in encounter.events[1:-1]:
            charge = e.event
            assert isinstance(charge, ChargeSubmitted)
            assert charge.procedure_code in chargemaster or charge.chargemaster_code in cdm_codes
    assert {e.payer_id for e in encounters} == set(payers)
    assert secondaries > 10
    assert sum(e.events[0].event.patient.contact_preference == "email" for e in encounters  # type: ignore[attr-defined]
               ) > 150
    assert {e.specialty for e in encounters} >= {"family medicine", "emergency", "physical therapy"}


def test_deliberate_errors_are_few_and_of_each_kind() -> None:
    encounters = generate(300, seed=42, start=START)
    errors = Counter(e.error for e in encounters if e.error)
    assert set(errors) == {"non_billable_icd", "pointer_out_of_range", "future_service_date"}
    assert sum(errors.values()) < 40
    for encounter in encounters:
        registered = encounter.events[0].event
        charges = [e.event for e in encounter.events[1:-1]]
        assert isinstance(registered, EncounterRegistered)
        pointers_ok = all(max(c.diagnosis_pointers) <= len(registered.diagnoses)
                          for c in charges if isinstance(c, ChargeSubmitted))
        future = any(c.service_date > START for c in charges if isinstance(c, ChargeSubmitted))
        assert pointers_ok == (encounter.error != "pointer_out_of_range")
        assert future == (encounter.error == "future_service_date")
        if encounter.error == "non_billable_icd":
            assert registered.diagnoses[0] in {"E11", "J02", "M545"}
