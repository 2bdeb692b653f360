"""Each scrubber edit as a unit: what it flags and what it lets through."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from services.claims.domain.model import ClaimDraft
from services.claims.domain.scrubber import EDITS, LineKey, ScrubInput, holds, scrub
from tests.unit.claims.factory import DOS, charge, draft

TODAY = DOS + timedelta(days=8)


def run(edit_id: str, d: ClaimDraft, **kw: Any) -> list[tuple[str, str, int | None]]:
    item = ScrubInput(draft=d, today=kw.pop("today", TODAY), timely_filing_days=kw.pop("days", 90), **kw)
    return [(f.edit_id, f.severity, f.line_number) for f in EDITS[edit_id](item)]


def test_edit_registry_has_ids_and_sources() -> None:
    assert list(EDITS) == ["REQ-FIELDS", "DX-POINTER", "ICD10-BILLABLE", "NCCI-PTP", "MUE", "AGE-SEX", "DUPLICATE",
                           "TIMELY-FILING", "CORRECTION-REF"]


def test_clean_claim_passes_every_edit() -> None:
    d = draft(charge(1, modifiers=["25"], diagnosis_codes=["J020", "R509"]),
              charge(2, "87880", modifiers=["QW", "59"], amount=Decimal("35.00")))
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


def test_ncci_ptp_modifier_indicator() -> None:
    one = draft(charge(1), charge(2, "87880", modifiers=["QW"]))
    assert run("NCCI-PTP", one) == [("NCCI-PTP", "error", 2)]
    bypassed = draft(charge(1), charge(2, "87880", modifiers=["QW", "XU"]))
    assert run("NCCI-PTP", bypassed) == []
    zero = draft(charge(1, "80053"), charge(2, "80048", modifiers=["59"]))
    assert run("NCCI-PTP", zero) == [("NCCI-PTP", "error", 2)]  # indicator 0: no modifier helps
    nine = draft(charge(1), charge(2, "36415"))
    assert run("NCCI-PTP", nine) == []
    other_day = draft(charge(1), charge(2, "87880", service_date=DOS - timedelta(days=1)))
    assert run("NCCI-PTP", other_day) == []


def test_mue_units() -> None:
    assert run("MUE", draft(charge(1, "36415", units=Decimal(3), amount=Decimal("30.00")))) == [("MUE", "error", 1)]
    assert run("MUE", draft(charge(1, "36415", units=Decimal(2)))) == []
    split = draft(charge(1, "99213"), charge(2, "99213"))
    assert run("MUE", split) == [("MUE", "error", 2)]


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
