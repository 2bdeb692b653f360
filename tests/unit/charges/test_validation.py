"""validate_encounter / validate_charge / assess_charge: the rules composed, and pricing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.charges.domain import (
    ChargeFacts,
    EncounterFacts,
    PricedLine,
    Reason,
    assess_charge,
    parse_chargemaster_csv,
    shipped_reference,
    validate_charge,
    validate_encounter,
)
from tests.unit.charges.conftest import TODAY, make_charge, make_encounter

CDM = parse_chargemaster_csv(
    "cdm_code,procedure_code,modifiers,revenue_code,description,unit_price\n"
    "CDM-300-1042,87880,QW,0300,Rapid strep A antigen test,35.00\n"
    "CDM-636-0696,J0696,,0636,Ceftriaxone 250 mg,6.25\n"
    "CDM-MANY,97110,GP 59 XS,0420,Therapeutic exercise,55.00\n"
).chargemaster


# --------------------------------------------------------------------------- encounter


def test_clean_encounter_passes() -> None:
    result = validate_encounter(make_encounter(), TODAY)
    assert result.ok and result.warnings == ()


def test_encounter_findings_are_collected_together() -> None:
    encounter = make_encounter(
        billing_npi="1234567890", referring_npi="1123456787", place_of_service="99X", diagnoses=(), coverage_ranks=()
    )
    result = validate_encounter(encounter, TODAY)
    assert not result.ok
    assert [(r.code, r.field) for r in result.rejections] == [
        (Reason.ENC_NPI_CHECK_DIGIT, "billing_provider.npi"),
        (Reason.ENC_NPI_CHECK_DIGIT, "referring_provider.npi"),
        (Reason.ENC_POS_INVALID, "place_of_service"),
        (Reason.ENC_NO_DIAGNOSIS, "diagnoses"),
        (Reason.ENC_COVERAGE_MISSING, "coverages"),
    ]


def test_encounter_diagnoses_are_judged_for_the_admission_date_else_today() -> None:
    bad = make_encounter(diagnoses=("J020", "J02"))
    assert validate_encounter(bad, TODAY).codes() == {Reason.ENC_DX_NOT_BILLABLE}
    # past FY2026 the newest edition still judges (it used to pass with warnings only) and says so
    later = validate_encounter(bad, date(2026, 11, 2))
    assert not later.ok and later.codes() == {Reason.ENC_DX_NOT_BILLABLE, Reason.ICD10_EDITION_STALE}
    admitted = validate_encounter(replace(bad, admission_date=date(2026, 9, 29)), date(2026, 11, 2))
    assert admitted.codes() == {Reason.ENC_DX_NOT_BILLABLE} and not admitted.ok


# --------------------------------------------------------------------------- charge


def test_clean_charge_passes_and_is_priced(reference) -> None:
    assessment = assess_charge(make_charge(), make_encounter(), TODAY, reference)
    assert assessment.result.ok and assessment.result.warnings == ()
    assert assessment.line == PricedLine("99213", ("25",), None, None, Decimal("150.00"), Decimal("150.00"),
                                       "professional")
    assert validate_charge(make_charge(), make_encounter(), TODAY, reference) == assessment.result


def test_amount_is_computed_from_unit_price_when_missing(reference) -> None:
    charge = make_charge(
        procedure_code="J0696", modifiers=(), units=Decimal("4"), unit_price=Decimal("6.25"), amount=None
    )
    line = assess_charge(charge, make_encounter(), TODAY, reference).line
    assert line is not None and line.amount == Decimal("25.00")


def test_amount_alone_is_accepted_without_unit_price(reference) -> None:
    line = assess_charge(make_charge(unit_price=None), make_encounter(), TODAY, reference).line
    assert line is not None and (line.unit_price, line.amount) == (None, Decimal("150.00"))


def test_amount_and_unit_price_must_agree(reference) -> None:
    charge = make_charge(units=Decimal("2"), unit_price=Decimal("150.00"), amount=Decimal("150.00"))
    assessment = assess_charge(charge, make_encounter(), TODAY, reference)
    assert assessment.result.codes() == {Reason.CHG_AMOUNT_MISMATCH} and assessment.line is None


def test_price_is_required_without_a_chargemaster_item(reference) -> None:
    result = validate_charge(make_charge(unit_price=None, amount=None), make_encounter(), TODAY, reference)
    assert result.codes() == {Reason.CHG_PRICE_MISSING}


def test_chargemaster_charge_without_price_takes_the_cdm_price(reference) -> None:
    ref = reference.with_chargemaster(CDM)
    charge = make_charge(
        procedure_code=None,
        chargemaster_code="CDM-300-1042",
        modifiers=(),
        unit_price=None,
        amount=None,
        units=Decimal("2"),
    )
    assessment = assess_charge(charge, make_encounter(), TODAY, ref)
    assert assessment.result.ok
    assert assessment.line == PricedLine(
        "87880", ("QW",), "0300", "Rapid strep A antigen test", Decimal("35.00"), Decimal("70.00"), "professional"
    )


def test_chargemaster_charge_keeps_a_price_the_sender_gave(reference) -> None:
    ref = reference.with_chargemaster(CDM)
    charge = make_charge(
        procedure_code=None, chargemaster_code="CDM-300-1042", modifiers=(), unit_price=None, amount=Decimal("30.00")
    )
    line = assess_charge(charge, make_encounter(), TODAY, ref).line
    assert line is not None and line.amount == Decimal("30.00")


def test_chargemaster_problems(reference) -> None:
    cdm_charge = make_charge(
        procedure_code=None, chargemaster_code="CDM-NOPE", modifiers=(), unit_price=None, amount=None
    )
    assert validate_charge(cdm_charge, make_encounter(), TODAY, reference).codes() == {Reason.CDM_NOT_LOADED}
    with_cdm = reference.with_chargemaster(CDM)
    assert validate_charge(cdm_charge, make_encounter(), TODAY, with_cdm).codes() == {Reason.CDM_UNKNOWN}
    too_many = replace(cdm_charge, chargemaster_code="CDM-MANY", modifiers=("LT", "KX"))
    assert validate_charge(too_many, make_encounter(), TODAY, with_cdm).codes() == {Reason.CHG_MODIFIER_COUNT}


def test_exactly_one_of_procedure_and_chargemaster_code(reference) -> None:
    both = make_charge(chargemaster_code="CDM-300-1042")
    neither = make_charge(procedure_code=None)
    for charge in (both, neither):
        assert Reason.CHG_CODE_CHOICE in validate_charge(charge, make_encounter(), TODAY, reference).codes()


def test_charge_findings_are_collected_together(reference) -> None:
    charge = make_charge(
        procedure_code="J9999",
        modifiers=("ZZ",),
        units=Decimal("0"),
        amount=Decimal("-1"),
        service_date=date(2026, 3, 20),
        diagnosis_pointers=(3,),
        place_of_service="30",
        rendering_npi="1234567890",
    )
    result = validate_charge(charge, make_encounter(), TODAY, reference)
    assert result.codes() == {
        Reason.CHG_HCPCS_UNKNOWN,
        Reason.CHG_MODIFIER_INVALID,
        Reason.CHG_UNITS,
        Reason.CHG_AMOUNT,
        Reason.CHG_SERVICE_DATE_FUTURE,
        Reason.CHG_DX_POINTER_RANGE,
        Reason.CHG_POS_INVALID,
        Reason.CHG_NPI_CHECK_DIGIT,
    }


def test_charge_pointing_to_a_category_is_rejected(reference) -> None:
    encounter = make_encounter(diagnoses=("J020", "J02"))
    result = validate_charge(make_charge(diagnosis_pointers=(1, 2)), encounter, TODAY, reference)
    (rejection,) = result.rejections
    assert (rejection.code, rejection.field) == (Reason.CHG_ICD_NOT_BILLABLE, "diagnosis_pointers[1]")


def test_charge_after_fy2026_passes_with_a_stale_edition_warning(reference) -> None:
    today = date(2026, 10, 20)
    result = validate_charge(make_charge(service_date=date(2026, 10, 14)), make_encounter(), today, reference)
    assert result.ok
    (warning,) = result.warnings
    assert warning.code is Reason.ICD10_EDITION_STALE and "judged with ICD-10-CM FY2026" in warning.message
    assert "2026-10-14" not in warning.message and "FY2027" in warning.message


def test_charge_after_fy2026_pointing_to_an_invalid_code_is_rejected(reference) -> None:
    today = date(2026, 12, 6)
    encounter = make_encounter(diagnoses=("J020", "J02X"))
    result = validate_charge(make_charge(service_date=date(2026, 12, 1), diagnosis_pointers=(2,)), encounter, today,
                             reference)
    (rejection,) = result.rejections
    assert (rejection.code, rejection.field) == (Reason.CHG_ICD_UNKNOWN, "diagnosis_pointers[0]")
    assert "J02X" not in rejection.message and "FY2026" in rejection.message and "2026-12-01" not in rejection.message


# --------------------------------------------------------------------------- never raises

_text = st.one_of(
    st.sampled_from(["99213", "J1100", "J02", "J020", "QW", "25", "11", "1234567893", "CDM-300-1042", ""]),
    st.text(max_size=12),
)
_decimal = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.sampled_from([Decimal("sNaN"), Decimal("-0"), Decimal("1E+999999"), Decimal("1E-999999")]),
)
_day = st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))

charges = st.builds(
    ChargeFacts,
    service_date=_day,
    units=_decimal,
    diagnosis_pointers=st.lists(st.integers(min_value=-5, max_value=20), max_size=6).map(tuple),
    procedure_code=st.none() | _text,
    chargemaster_code=st.none() | _text,
    modifiers=st.lists(_text, max_size=6).map(tuple),
    unit_price=st.none() | _decimal,
    amount=st.none() | _decimal,
    service_end_date=st.none() | _day,
    place_of_service=st.none() | _text,
    rendering_npi=st.none() | _text,
)
encounters = st.builds(
    EncounterFacts,
    billing_npi=_text,
    place_of_service=_text,
    diagnoses=st.lists(_text, max_size=14).map(tuple),
    coverage_ranks=st.lists(st.integers(min_value=-1, max_value=4), max_size=4).map(tuple),
    rendering_npi=st.none() | _text,
    referring_npi=st.none() | _text,
    admission_date=st.none() | _day,
)


@settings(max_examples=150, deadline=None)
@given(charge=charges, encounter=encounters, today=_day)
def test_validation_never_raises_on_arbitrary_facts(
    charge: ChargeFacts, encounter: EncounterFacts, today: date
) -> None:
    reference = shipped_reference().with_chargemaster(CDM)  # type: ignore[arg-type]
    assessment = assess_charge(charge, encounter, today, reference)
    assert (assessment.line is not None) == assessment.result.ok
    validate_encounter(encounter, today, reference)
