"""Each scrubber edit as a unit: what it flags and what it lets through."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from schemas import examples as ex
from services.chassis.icd10cm import SHIPPED, Edition, Editions, LoadedCodeSet
from services.claims.domain.codesets import AdjudicationIndicator, CodeSets, ModifierIndicator, Mue, PtpEdit, shipped
from services.claims.domain.model import ClaimDraft
from services.claims.domain.scrubber import (
    CLAIM_TYPES,
    EDITS,
    OVERRIDABLE,
    LineKey,
    ScrubInput,
    holds,
    is_drug_code,
    scrub,
)
from tests.unit.claims.factory import DOS, charge, draft

TODAY = DOS + timedelta(days=8)


def run(edit_id: str, d: ClaimDraft, **kw: Any) -> list[tuple[str, str, int | None]]:
    item = ScrubInput(draft=d, today=kw.pop("today", TODAY), timely_filing_days=kw.pop("days", 90), **kw)
    return [(f.edit_id, f.severity, f.line_number) for f in EDITS[edit_id](item)]


def test_edit_registry_has_ids_and_sources() -> None:
    assert list(EDITS) == ["REQ-FIELDS", "DX-POINTER", "ICD10-BILLABLE", "DX-EXTERNAL-CAUSE", "NCCI-PTP", "MUE",
                           "POS-COMPONENT", "EM-MODIFIER-25", "AGE-SEX", "DUPLICATE", "TIMELY-FILING",
                           "CORRECTION-REF", "NDC-REQUIRED", "CLIA-REQUIRED", "FACILITY-REQUIRED", "MSP-TYPE",
                           "RENDERING-NAME", "INSTITUTIONAL"]
    both = {"REQ-FIELDS", "ICD10-BILLABLE", "DX-EXTERNAL-CAUSE", "TIMELY-FILING", "CORRECTION-REF", "MSP-TYPE"}
    assert {e for e, kinds in CLAIM_TYPES.items() if "institutional" in kinds} == both | {"INSTITUTIONAL"}
    assert {e for e, kinds in CLAIM_TYPES.items() if "professional" in kinds} == set(EDITS) - {"INSTITUTIONAL"}
    # every edit names the published rule it applies
    assert all((fn.__doc__ and "Source" in fn.__doc__) or "Guidelines" in (fn.__doc__ or "") for fn in EDITS.values())


def test_clean_claim_passes_every_edit() -> None:
    d = draft(charge(1, modifiers=["25"], diagnosis_codes=["J020", "R509"]),
              charge(2, "87880", modifiers=["QW"], amount=Decimal("35.00")))
    assert scrub(ScrubInput(draft=d, today=TODAY, timely_filing_days=90)) == []


def test_required_fields() -> None:
    assert run("REQ-FIELDS", draft(charge(1, service_date=TODAY + timedelta(days=1)))) == [
        ("REQ-FIELDS", "error", 1)]
    no_coverage = draft(charge(1)).model_copy(update={"coverage_rank": 3})
    assert run("REQ-FIELDS", no_coverage)[0][0] == "REQ-FIELDS"


def test_diagnosis_pointers() -> None:
    d = draft(charge(1))
    bad = d.model_copy(update={"lines": [d.lines[0].model_copy(update={"diagnosis_pointers": [1, 1]})]})
    assert run("DX-POINTER", bad) == [("DX-POINTER", "error", 1)]
    beyond = d.model_copy(update={"lines": [d.lines[0].model_copy(update={"diagnosis_pointers": [2]})]})
    assert run("DX-POINTER", beyond) == [("DX-POINTER", "error", 1)]
    assert run("DX-POINTER", d) == []


def test_icd10_billable() -> None:
    assert run("ICD10-BILLABLE", draft(charge(1, diagnosis_codes=["J02"]))) == [("ICD10-BILLABLE", "error", None)]
    assert run("ICD10-BILLABLE", draft(charge(1, diagnosis_codes=["J020"]))) == []
    old = draft(charge(1, service_date=date(2015, 9, 30)))
    assert run("ICD10-BILLABLE", old, today=date(2015, 10, 5), days=365) == [("ICD10-BILLABLE", "error", None)]


FY2027 = Editions({**SHIPPED.by_year, 2027: LoadedCodeSet(Edition(2027, "icd10cm_codes_2027.txt"),
                                                          {"J020": True, "J02": False, "Z9999": True})})


def test_icd10_by_the_edition_of_the_date_of_service() -> None:
    """FY2027 is in force from 2026-10-01: a code it adds passes on that day, not on 2026-09-30."""
    on_boundary = draft(charge(1, diagnosis_codes=["Z9999"], service_date=date(2026, 10, 1)))
    day_before = draft(charge(1, diagnosis_codes=["Z9999"], service_date=date(2026, 9, 30)))
    assert run("ICD10-BILLABLE", on_boundary, today=date(2026, 10, 2), diagnoses=FY2027) == []
    assert run("ICD10-BILLABLE", day_before, today=date(2026, 10, 2), diagnoses=FY2027) == [
        ("ICD10-BILLABLE", "error", None)]


def test_icd10_past_every_edition_judges_with_the_newest_and_says_so() -> None:
    stale = draft(charge(1, diagnosis_codes=["J02X"], service_date=date(2026, 12, 1)))
    item = ScrubInput(draft=stale, today=date(2026, 12, 6), timely_filing_days=365)
    found = EDITS["ICD10-BILLABLE"](item)
    assert [(f.severity, f.line_number) for f in found] == [("error", None), ("warning", None)]
    assert "J02X" in found[0].message and "ICD-10-CM FY2026" in found[0].message and "2026-12-01" in found[0].message
    assert "past every loaded ICD-10-CM edition" in found[1].message and "FY2027" in found[1].message


def test_external_cause_is_never_the_principal_diagnosis() -> None:
    first = draft(charge(1, diagnosis_codes=["W010XXA", "S0990XA"]))
    (finding,) = EDITS["DX-EXTERNAL-CAUSE"](ScrubInput(draft=first, today=TODAY, timely_filing_days=90))
    assert finding.severity == "error" and "I.C.20" in finding.message
    assert run("DX-EXTERNAL-CAUSE", draft(charge(1, diagnosis_codes=["S0990XA", "W010XXA"]))) == []


def test_ncci_ptp_modifier_indicator() -> None:
    zero = draft(charge(1, "80053"), charge(2, "80048", modifiers=["59"]))
    assert run("NCCI-PTP", zero) == [("NCCI-PTP", "error", 2)]  # indicator 0: no modifier helps
    (finding,) = EDITS["NCCI-PTP"](ScrubInput(draft=zero, today=TODAY, timely_filing_days=90))
    assert "2026Q1" in finding.message and "ccipra_v320r0" in finding.message and "indicator 0" in finding.message
    other_day = draft(charge(1, "80053"), charge(2, "80048", service_date=DOS - timedelta(days=1)))
    assert run("NCCI-PTP", other_day) == []
    # a lab test with a visit: no CMS pair, so no push toward 59/XU
    assert run("NCCI-PTP", draft(charge(1), charge(2, "87880", modifiers=["QW"]))) == []


def _ptp(indicator: ModifierIndicator, deleted: date | None = None) -> CodeSets:
    edit = PtpEdit("20610", "20605", date(2004, 1, 1), deleted, indicator, "ccipra_test.txt", "2026Q1")
    return replace(shipped(), ptp=(edit,))


def test_ncci_ptp_indicator_one_bypass_nine_and_deletion() -> None:
    plain = draft(charge(1, "20610"), charge(2, "20605"))
    assert run("NCCI-PTP", plain, codesets=_ptp("1")) == [("NCCI-PTP", "error", 2)]
    for modifier in ("59", "XS", "LT"):
        bypassed = draft(charge(1, "20610"), charge(2, "20605", modifiers=[modifier]))
        assert run("NCCI-PTP", bypassed, codesets=_ptp("1")) == []
    assert run("NCCI-PTP", plain, codesets=_ptp("9")) == []
    assert run("NCCI-PTP", plain, codesets=_ptp("1", deleted=DOS)) == []  # deleted on the date of service
    assert run("NCCI-PTP", plain, codesets=_ptp("1", deleted=DOS + timedelta(days=1))) == [("NCCI-PTP", "error", 2)]


def _mue(indicator: AdjudicationIndicator) -> CodeSets:
    return replace(shipped(), mue={"36415": Mue("36415", 2, indicator, "MCR_MUE_test.csv", "2026Q1")})


def test_mue_by_adjudication_indicator() -> None:
    three = draft(charge(1, "36415", units=Decimal(3), amount=Decimal("30.00")))
    two_lines = draft(charge(1, "36415", units=Decimal(2)), charge(2, "36415", units=Decimal(1)))
    # MAI 1: per line
    assert run("MUE", three, codesets=_mue("1")) == [("MUE", "error", 1)]
    assert run("MUE", two_lines, codesets=_mue("1")) == []
    # MAI 2 and 3: the units of the date across lines
    cases: tuple[tuple[AdjudicationIndicator, str], ...] = (("2", "MAI 2: date-of-service edit, policy"),
                                                             ("3", "MAI 3: date-of-service edit, clinical"))
    for indicator, words in cases:
        assert run("MUE", two_lines, codesets=_mue(indicator)) == [("MUE", "error", 2)]
        (finding,) = EDITS["MUE"](ScrubInput(draft=two_lines, today=TODAY, timely_filing_days=90,
                                             codesets=_mue(indicator)))
        assert words in finding.message
    assert run("MUE", draft(charge(1, "36415", units=Decimal(2))), codesets=_mue("2")) == []
    assert run("MUE", draft(charge(1, "99213"), charge(2, "99213"))) == [("MUE", "error", 2)]  # shipped: MAI 2


def test_pos_component() -> None:
    assert run("POS-COMPONENT", draft(charge(1, "71046", place_of_service="23"))) == [("POS-COMPONENT", "error", 1)]
    assert run("POS-COMPONENT", draft(charge(1, "71046", place_of_service="23", modifiers=["26"]))) == []
    assert run("POS-COMPONENT", draft(charge(1, "71046", place_of_service="11"))) == []  # office: global is right
    (ecg,) = EDITS["POS-COMPONENT"](ScrubInput(draft=draft(charge(1, "93000", place_of_service="21")), today=TODAY,
                                               timely_filing_days=90))
    assert "bill 93010" in ecg.message
    assert run("POS-COMPONENT", draft(charge(1, "93010", place_of_service="21"))) == []


def test_em_with_a_minor_procedure_needs_25() -> None:
    visit_and_injection = draft(charge(1, "99213"), charge(2, "20610"))
    assert run("EM-MODIFIER-25", visit_and_injection) == [("EM-MODIFIER-25", "error", 1)]
    assert run("EM-MODIFIER-25", draft(charge(1, "99213", modifiers=["25"]), charge(2, "20610"))) == []
    assert run("EM-MODIFIER-25", draft(charge(1, "99213"), charge(2, "96372"))) == []  # XXX: no global period
    other_day = draft(charge(1, "99213"), charge(2, "17000", service_date=DOS - timedelta(days=1)))
    assert run("EM-MODIFIER-25", other_day) == []
    other_provider = draft(charge(1, "99213", rendering_npi="1999999984"), charge(2, "11102",
                                                                                  rendering_npi="1234567893"))
    assert run("EM-MODIFIER-25", other_provider) == []


def test_a_waiver_turns_that_edits_errors_into_warnings() -> None:
    d = draft(charge(1, "99213"), charge(2, "20610"))
    found = scrub(ScrubInput(draft=d, today=TODAY, timely_filing_days=90,
                             waivers={"EM-MODIFIER-25": "separate problem documented"}))
    (waived,) = [f for f in found if f.edit_id == "EM-MODIFIER-25"]
    assert waived.severity == "warning" and waived.message.startswith("waived by an operator (separate problem")
    assert not holds(found)


def test_age_and_sex() -> None:
    # the example patient is F, born 1984-06-12: 41 at the visit
    assert run("AGE-SEX", draft(charge(1, diagnosis_codes=["N400"]))) == [("AGE-SEX", "error", None)]
    assert run("AGE-SEX", draft(charge(1, "99395", diagnosis_codes=["Z0000"]))) == [("AGE-SEX", "error", 1)]
    assert run("AGE-SEX", draft(charge(1, "99396", diagnosis_codes=["Z0000"]))) == []
    assert run("AGE-SEX", draft(charge(1, "G0102"))) == [("AGE-SEX", "error", 1)]


def test_duplicate() -> None:
    d = draft(charge(1))
    billed = frozenset({LineKey("99213", (), DOS)})
    assert run("DUPLICATE", d, billed_elsewhere=billed) == [("DUPLICATE", "error", 1)]
    assert run("DUPLICATE", d, billed_elsewhere=billed, frequency="7", payer_claim_control_number="X") == []
    assert run("DUPLICATE", d) == []


def test_timely_filing() -> None:
    d = draft(charge(1))
    assert run("TIMELY-FILING", d, days=5) == [("TIMELY-FILING", "error", None)]
    assert run("TIMELY-FILING", d, days=20) == [("TIMELY-FILING", "warning", None)]
    assert run("TIMELY-FILING", d, days=90) == []


def test_correction_reference() -> None:
    d = draft(charge(1))
    assert run("CORRECTION-REF", d, frequency="7") == [("CORRECTION-REF", "error", None)]
    assert run("CORRECTION-REF", d, frequency="8", payer_claim_control_number="PCN1") == []


def test_warnings_alone_do_not_hold() -> None:
    findings = scrub(ScrubInput(draft=draft(charge(1)), today=TODAY, timely_filing_days=20))
    assert findings and not holds(findings)


# --- companion-guide data ---------------------------------------------------------------------

NDC = {"ndc": "00409733801", "ndc_quantity": Decimal(1), "ndc_unit": "UN"}
MEDICAID_FIRST = [{**ex.COVERAGES[1], "rank": 1}]
NO_CLIA = {k: v for k, v in ex.BILLING_PROVIDER.items() if k != "clia_number"}
ER = {"name": "Mission General ER", "npi": "1548154818",
      "address": {"line1": "1001 Potrero Ave", "city": "San Francisco", "state": "CA", "postal_code": "94110"}}


def test_drug_codes_are_j_codes_and_biosimilars() -> None:
    assert [c for c in ("J1885", "J9999", "Q5101", "j3301", "Q5999", "Q0091", "J188", "99213", "A4206")
            if is_drug_code(c)] == ["J1885", "J9999", "Q5101", "j3301"]


def test_ndc_required_holds_medicaid_and_warns_the_others() -> None:
    bare = (charge(1), charge(2, "J1885", units=Decimal(2)))
    assert run("NDC-REQUIRED", draft(*bare, coverages=MEDICAID_FIRST)) == [("NDC-REQUIRED", "error", 2)]
    assert run("NDC-REQUIRED", draft(*bare)) == [("NDC-REQUIRED", "warning", 2)]  # Aetna (CI)
    with_ndc = draft(charge(1), charge(2, "J1885", **NDC), coverages=MEDICAID_FIRST)
    assert run("NDC-REQUIRED", with_ndc) == []
    assert run("NDC-REQUIRED", draft(charge(1, "Q5101"), coverages=MEDICAID_FIRST)) == [("NDC-REQUIRED", "error", 1)]
    # the secondary claim to Medicaid holds too: the payer judged is the claim's own
    assert run("NDC-REQUIRED", draft(*bare, rank=2)) == [("NDC-REQUIRED", "error", 2)]
    # an NDC without its quantity cannot be written as LIN/CTP: still missing
    partial = draft(charge(1, "J1885", ndc="00409733801"), coverages=MEDICAID_FIRST)
    assert run("NDC-REQUIRED", partial) == [("NDC-REQUIRED", "error", 1)]


def test_clia_required_for_lab_codes_and_waived_tests() -> None:
    assert run("CLIA-REQUIRED", draft(charge(1), charge(2, "87880", modifiers=["QW"]), billing_provider=NO_CLIA)) == [
        ("CLIA-REQUIRED", "error", 2)]
    assert run("CLIA-REQUIRED", draft(charge(1, "80053"), charge(2, "85025"), billing_provider=NO_CLIA)) == [
        ("CLIA-REQUIRED", "error", 1)]  # one finding: REF*X4 is one per claim
    assert run("CLIA-REQUIRED", draft(charge(1, "G0481", modifiers=["QW"]), billing_provider=NO_CLIA)) == [
        ("CLIA-REQUIRED", "error", 1)]
    assert run("CLIA-REQUIRED", draft(charge(1), charge(2, "36415"), billing_provider=NO_CLIA)) == []  # venipuncture
    assert run("CLIA-REQUIRED", draft(charge(1, "87880", modifiers=["QW"]))) == []  # the example has its CLIA
    assert "CLIA-REQUIRED" not in OVERRIDABLE


def test_facility_required_where_the_care_was_not_at_the_practice() -> None:
    for pos in ("19", "21", "22", "23", "24", "31", "32", "34", "51", "52", "56", "61"):
        assert run("FACILITY-REQUIRED", draft(charge(1, place_of_service=pos), place_of_service=pos)) == [
            ("FACILITY-REQUIRED", "error", 1)], pos
    for pos in ("11", "12", "02", "10", "81"):
        assert run("FACILITY-REQUIRED", draft(charge(1, place_of_service=pos), place_of_service=pos)) == [], pos
    # one line read in the hospital on an office claim is enough
    mixed = draft(charge(1), charge(2, "71046", modifiers=["26"], place_of_service="22"))
    assert run("FACILITY-REQUIRED", mixed) == [("FACILITY-REQUIRED", "error", 2)]
    assert run("FACILITY-REQUIRED", draft(charge(1, place_of_service="23"), place_of_service="23", facility=ER)) == []


def test_a_facility_at_the_billing_address_needs_no_2310c() -> None:
    """The writer leaves 2310C out when the facility is the billing address: the edit agrees."""
    same = {"name": "Mission Family Medical Group", "address": {**ex.BILLING_PROVIDER["address"], "line2": None}}
    d = draft(charge(1, place_of_service="22"), place_of_service="22", facility=same)
    assert run("FACILITY-REQUIRED", d) == []


MEDICARE = {"rank": 2, "payer_id": "01182", "payer_name": "Medicare Part B", "member_id": "1EG4TE5MK73",
            "relationship_to_subscriber": "18", "claim_filing_indicator": "MB"}


def test_msp_type_on_a_claim_to_medicare_as_secondary() -> None:
    coverages = [ex.COVERAGES[0], MEDICARE]
    assert run("MSP-TYPE", draft(charge(1), rank=2, coverages=coverages)) == [("MSP-TYPE", "error", None)]
    typed = [ex.COVERAGES[0], {**MEDICARE, "insurance_type_code": "12"}]
    assert run("MSP-TYPE", draft(charge(1), rank=2, coverages=typed)) == []
    # the primary claim to the employer plan is not the Medicare claim
    assert run("MSP-TYPE", draft(charge(1), rank=1, coverages=coverages)) == []
    medicare_first = [{**MEDICARE, "rank": 1}]
    assert run("MSP-TYPE", draft(charge(1), coverages=medicare_first)) == []  # Medicare primary has no SBR05
    assert "MSP-TYPE" not in OVERRIDABLE


OTHER = {"npi": "1215121512", "name": {"family": "Ito", "given": "Ken"}}


def test_rendering_name_warns_when_2420a_cannot_be_written() -> None:
    nameless = draft(charge(1), charge(2, "73562", rendering_npi="1215121512"))
    assert run("RENDERING-NAME", nameless) == [("RENDERING-NAME", "warning", 2)]
    named = draft(charge(1), charge(2, "73562", rendering_npi="1215121512", rendering_provider=OTHER))
    assert run("RENDERING-NAME", named) == []
    own = draft(charge(1, rendering_npi=ex.RENDERING_PROVIDER["npi"]))
    assert run("RENDERING-NAME", own) == []  # the claim's own practitioner: no 2420A needed
    assert not holds(scrub(ScrubInput(draft=nameless, today=TODAY, timely_filing_days=90)))


def test_waiving_ndc_and_facility_releases_what_they_alone_hold() -> None:
    d = draft(charge(1, place_of_service="23"), charge(2, "J1885", place_of_service="23"), place_of_service="23",
              coverages=MEDICAID_FIRST)
    found = scrub(ScrubInput(draft=d, today=TODAY, timely_filing_days=90))
    assert sorted(f.edit_id for f in found if f.severity == "error") == ["FACILITY-REQUIRED", "NDC-REQUIRED"]
    waivers = {"NDC-REQUIRED": "state plan exempts this drug", "FACILITY-REQUIRED": "billing office is the ER"}
    assert {"NDC-REQUIRED", "FACILITY-REQUIRED"} <= OVERRIDABLE
    assert not holds(scrub(ScrubInput(draft=d, today=TODAY, timely_filing_days=90, waivers=waivers)))
