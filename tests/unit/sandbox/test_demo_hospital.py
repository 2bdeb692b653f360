"""The demo's hospital encounters: emergency department visits and short stays that bill the
facility claim and the physician's, valid for the charges service, deterministic by seed."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from edi.x837 import Claim
from sandbox.demo_data import (
    DEFAULT_HOSPITAL_SHARE,
    HOSPITAL,
    MEDICARE,
    MEDICARE_PART_A,
    DemoEncounter,
    generate,
)
from schemas import registry
from schemas.intake import ChargeSubmitted, EncounterClosed
from services.charges.domain.validation import assess_charge, validate_encounter
from services.charges.service.charges import charge_facts
from services.charges.service.encounters import encounter_facts
from tests.unit.sandbox.test_demo_data import (
    IN_YEAR,
    PAYERS,
    REFERENCE,
    TODAY,
    age,
    caught,
    charges,
    registered,
)

HOSPITAL_KINDS = {"hospital outpatient", "hospital inpatient"}


def hospital(out: list[DemoEncounter]) -> list[DemoEncounter]:
    return [e for e in out if e.specialty in HOSPITAL_KINDS]


def test_about_the_share_asked_for_of_both_kinds() -> None:
    out = generate(1000, 3, today=TODAY, hospital_share=DEFAULT_HOSPITAL_SHARE)
    kinds = [e.specialty for e in hospital(out)]
    assert 0.10 <= len(kinds) / len(out) <= 0.15
    assert 0.35 <= kinds.count("hospital inpatient") / len(kinds) <= 0.65
    assert hospital(generate(300, 3, today=TODAY, hospital_share=0)) == []
    assert all(e.error is None for e in hospital(generate(300, 3, today=TODAY, error_rate=1, hospital_share=0.5)))
    with pytest.raises(ValueError, match="hospital_share"):
        generate(1, today=TODAY, hospital_share=1.5)


def test_same_seed_same_events_and_the_clinic_encounters_stay_what_they_were() -> None:
    def dumped(out: list[DemoEncounter]) -> list[list[object]]:
        return [[d.event.model_dump(mode="json") for d in e.events] for e in out]

    first = generate(120, 11, today=TODAY, hospital_share=0.12)
    assert dumped(first) == dumped(generate(120, 11, today=TODAY, hospital_share=0.12))
    assert dumped(hospital(first)) != dumped(hospital(generate(120, 12, today=TODAY, hospital_share=0.12)))
    clinic = [e for e in first if e.specialty not in HOSPITAL_KINDS]
    assert dumped(clinic) == dumped(generate(len(clinic), 11, today=TODAY))


@pytest.mark.parametrize("today", [TODAY, IN_YEAR])
def test_every_hospital_encounter_passes_the_charges_service(today: date) -> None:
    for encounter in hospital(generate(200, 5, today=today, hospital_share=0.5)):
        for event in encounter.events:
            registry.validate(event.event_type, event.event.model_dump(mode="json"))
        enc = registered(encounter)
        facts = encounter_facts(enc)
        result = validate_encounter(facts, today, REFERENCE)
        assert result.ok, result.rejections
        for charge in charges(encounter):
            assessed = assess_charge(charge_facts(charge), facts, today, REFERENCE)
            assert assessed.result.ok, (charge.source_charge_id, assessed.result.rejections)
            assert assessed.line is not None
            if charge.claim_type == "institutional":
                assert assessed.line.revenue_code == charge.revenue_code
        closed = encounter.events[-1].event
        assert isinstance(closed, EncounterClosed)
        assert closed.expected_source_charge_ids == [c.source_charge_id for c in charges(encounter)]


def test_bills_claim_types_and_institutional_data_hold_together() -> None:
    for encounter in hospital(generate(300, 8, today=TODAY, hospital_share=0.5)):
        enc = registered(encounter)
        lines = charges(encounter)
        data = enc.institutional
        assert enc.bills == "both" and data is not None
        assert data.billing_provider is not None and data.billing_provider.npi == HOSPITAL["npi"]
        assert {c.claim_type for c in lines} == {"institutional", "professional"}
        facility = [c for c in lines if c.claim_type == "institutional"]
        professional = [c for c in lines if c.claim_type == "professional"]
        assert all(c.revenue_code and c.chargemaster_code and c.procedure_code is None for c in facility)
        assert all(c.procedure_code and c.revenue_code is None for c in professional)
        assert (data.statement_from, data.statement_through) == (enc.admission_date, enc.discharge_date)
        assert data.patient_status == "01" and data.attending_provider == enc.rendering_provider
        assert age(enc.patient.birth_date, data.statement_from) >= 18
        revenue = [c.revenue_code for c in facility]
        if encounter.specialty == "hospital inpatient":
            assert data.type_of_bill == "11" and enc.place_of_service == "21"
            assert enc.admission_date is not None and enc.discharge_date is not None
            days = (enc.discharge_date - enc.admission_date).days
            assert 2 <= days <= 4
            assert revenue == ["0120", "0250", "0300", "0305"]
            assert facility[0].units == days
            assert facility[0].service_end_date == enc.discharge_date - timedelta(days=1)
            visits = [c.procedure_code for c in professional]
            assert visits == ["99223", *["99232"] * (days - 1), "99238"]
            assert data.admission_type in ("1", "2") and data.admission_source == "1"
            assert data.admitting_diagnosis is not None
            assert data.principal_diagnosis.present_on_admission == "Y"
            assert all(d.present_on_admission in ("Y", "N") for d in data.other_diagnoses)
            if data.principal_procedure is not None:
                assert enc.admission_date < data.principal_procedure.performed_on < enc.discharge_date
        else:
            assert data.type_of_bill == "13" and enc.place_of_service == "23"
            assert enc.admission_date == enc.discharge_date
            assert revenue[0] == "0450" and set(revenue[1:]) <= {"0305", "0324"}
            assert [c.procedure_code for c in professional] == ["99284"]
            assert data.principal_procedure is None and len(data.reason_for_visit) == 1
            assert data.admission_hour is not None and data.discharge_hour is not None
            assert data.admission_hour < data.discharge_hour
        assert [d.code for d in [data.principal_diagnosis, *data.other_diagnoses]] == enc.diagnoses


def test_hospital_charges_are_dated_inside_the_statement_period() -> None:
    for encounter in hospital(generate(200, 9, today=TODAY, hospital_share=0.5)):
        data = registered(encounter).institutional
        assert data is not None
        for charge in charges(encounter):
            assert isinstance(charge, ChargeSubmitted)
            assert data.statement_from <= charge.service_date <= data.statement_through < TODAY
            if charge.service_end_date is not None:
                assert charge.service_end_date <= data.statement_through


def test_the_physicians_claims_pass_the_scrubber_and_the_clearinghouse() -> None:
    """The professional side of each hospital encounter is a clean 837P today (the facility side
    waits for the claims service's 837I)."""
    claims: list[Claim] = []
    for encounter in hospital(generate(120, 6, today=IN_YEAR, hospital_share=0.5)):
        professional = tuple(e for e in encounter.events if not isinstance(e.event, ChargeSubmitted)
                             or e.event.claim_type == "professional")
        assert caught(replace(encounter, events=professional), IN_YEAR, claims) == []
    assert len(claims) >= 50


def test_medicare_hospital_claims_go_to_part_a_and_the_clinic_visits_stay_on_part_b() -> None:
    out = generate(300, 4, today=TODAY, hospital_share=0.3)
    medicare = [(e, c) for e in out for c in registered(e).coverages if c.payer_id == MEDICARE.payer_id]
    in_hospital = [c for e, c in medicare if e.specialty in HOSPITAL_KINDS]
    at_clinic = [c for e, c in medicare if e.specialty not in HOSPITAL_KINDS]
    assert len(in_hospital) >= 5 and len(at_clinic) >= 5
    assert {(c.facility_payer_id, c.facility_payer_name) for c in in_hospital} == {
        ("SAMPLEPARTA", "Medicare Part A (SAMPLE MAC)")}
    assert {(c.facility_payer_id, c.facility_payer_name) for c in at_clinic} == {(None, None)}
    # The other payers bill both claims themselves; the Part A payer is one the sandbox plays.
    assert all(c.facility_payer_id is None for e in out for c in registered(e).coverages
               if c.payer_id != MEDICARE.payer_id)
    assert PAYERS[MEDICARE_PART_A.payer_id].claim_filing_indicator == "MA"
