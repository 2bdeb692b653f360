"""A hospital's feed on the HL7 door: DFT^P03 facility charges with the institutional claim's
data (PV1, DG1 with POA, PR1), ADT admit and discharge, and the interfaces of hl7.yaml."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest

from schemas.registry import validate
from services.charges.domain.chargemaster import ChargemasterItem
from services.charges.hl7.codec import Hl7MappingError
from services.charges.hl7.defaults import defaults_from_mapping
from services.charges.hl7.mapping import (
    CHARGE_SUBMITTED,
    ENCOUNTER_CLOSED,
    ENCOUNTER_REGISTERED,
    DftMapping,
    chargemaster_codes,
    read_message,
)
from services.charges.hl7.mllp import Hl7Door
from services.chassis.clock import FixedClock
from tests.unit.charges.test_hl7_mapping import BILLING_PROVIDER, PID, seg
from tests.unit.charges.test_hl7_mllp import DatabaseDown, segments

HOSPITAL: dict[str, Any] = {
    "npi": "1578901237",
    "tax_id": "941234567",
    "taxonomy": "282N00000X",
    "name": "Bayview Community Hospital",
    "address": {"line1": "500 Harbor Way", "city": "Oakland", "state": "CA", "postal_code": "94607-1234"},
}
FILE = defaults_from_mapping(
    {
        "billing_provider": BILLING_PROVIDER,
        "timezone": "America/Los_Angeles",
        "interfaces": [
            {"sending_application": "EPIC"},
            {
                "sending_application": "BAYVIEW",
                "sending_facility": "BCH",
                "source_system": "bayview",
                "bills": "both",
                "institutional_billing_provider": HOSPITAL,
            },
            {"sending_application": "BAYVIEW", "sending_facility": "BCH-ED", "bills": "institutional",
             "type_of_bill": "13"},
        ],
    }
)
STAY = "V-BCH-90417"


def item(cdm_code: str, procedure: str | None, revenue: str, price: str) -> ChargemasterItem:
    return ChargemasterItem(cdm_code, procedure, (), revenue, cdm_code, Decimal(price))


CDM = {
    i.cdm_code: i
    for i in (
        item("CDM-120-0001", None, "0120", "1850.00"),
        item("CDM-250-0001", None, "0250", "25.00"),
        item("CDM-300-0415", "36415", "0300", "12.00"),
        item("CDM-450-0284", "99284", "0450", "650.00"),
        item("CDM-510-0223", "99223", "0510", "380.00"),
    )
}


def msh(message_type: str, control_id: str, facility: str = "BCH", app: str = "BAYVIEW") -> str:
    return "MSH|^~\\&|" + "|".join(
        [app, facility, "REVCYCLE", "CHARGES", "20260305120000", "", message_type, control_id, "P", "2.5.1"]
    )


def pv1(**fields: str) -> str:
    base = {
        1: "1",
        2: "I",
        4: "E",
        7: "1999999984^Okafor^Samuel^^^^^^^^^^NPI",
        14: "1",
        19: STAY,
        44: "202603021415",
    }
    base.update({int(k[1:]): v for k, v in fields.items()})
    return seg("PV1", {k: v for k, v in base.items() if v})


DG1S = [
    seg("DG1", {1: "1", 3: "R06.02^Shortness of breath^I10", 6: "A"}),
    seg("DG1", {1: "2", 3: "J18.9^Pneumonia^I10", 6: "F", 15: "1", 26: "Y"}),
    seg("DG1", {1: "3", 3: "E11.9^Type 2 diabetes^I10", 6: "F", 15: "2", 26: "Y"}),
    seg("DG1", {1: "4", 3: "N39.0^UTI^I10", 6: "F", 15: "3", 26: "N"}),
]
PR1 = seg("PR1", {1: "1", 3: "0BH17EZ^Insertion of endotracheal airway^I10P", 5: "20260303", 14: "1"})
ROOM = seg(
    "FT1", {1: "1", 2: "chg-90417-1", 4: "20260302^20260304", 6: "CG", 7: "CDM-120-0001^Room and board", 10: "3"}
)
PHARMACY = seg(
    "FT1", {1: "2", 2: "chg-90417-2", 4: "20260303", 6: "CG", 7: "CDM-250-0001", 8: "Pharmacy", 10: "1", 11: "312.40"}
)
HOSPITALIST = seg(
    "FT1", {1: "3", 2: "chg-90417-3", 4: "20260302", 6: "CG", 7: "CDM-510-0223", 10: "1", 19: "J18.9"}
)


def message(header: str, *segments: str) -> str:
    return "\r".join([header, "EVN||20260305120000", *segments]) + "\r"


def mapped(text: str) -> DftMapping:
    mapping = read_message(text, FILE, {c: CDM[c] for c in chargemaster_codes(text) if c in CDM})
    assert mapping.errors == ()
    for event in mapping.events:
        validate(event.type, event.data)
    return mapping


def errors(text: str) -> list[tuple[str, int, int | None, str]]:
    mapping = read_message(text, FILE, {c: CDM[c] for c in chargemaster_codes(text) if c in CDM})
    return [(e.segment, e.sequence, e.field, e.code) for e in mapping.errors]


ATTENDING = {"npi": "1999999984", "name": {"family": "Okafor", "given": "Samuel"}}
INSTITUTIONAL: dict[str, Any] = {
    "type_of_bill": "11",
    "billing_provider": HOSPITAL
    | {"address": HOSPITAL["address"] | {"line2": None, "postal_code": "946071234"}, "clia_number": None},
    "statement_from": "2026-03-02",
    "statement_through": "2026-03-05",
    "admission_hour": 14,
    "admission_type": "1",
    "admission_source": "1",
    "discharge_hour": 10,
    "patient_status": "01",
    "attending_provider": ATTENDING,
    "principal_diagnosis": {"code": "J189", "present_on_admission": "Y"},
    "admitting_diagnosis": "R0602",
    "other_diagnoses": [{"code": "E119", "present_on_admission": "Y"}, {"code": "N390", "present_on_admission": "N"}],
    "principal_procedure": {"code": "0BH17EZ", "performed_on": "2026-03-03"},
    "other_procedures": [],
}


def test_inpatient_dft_maps_the_stay_and_its_facility_lines() -> None:
    text = message(
        msh("DFT^P03", "BCH-1"),
        PID,
        pv1(p36="01", p45="202603051030"),
        *DG1S,
        PR1,
        ROOM,
        PHARMACY,
        HOSPITALIST,
    )
    mapping = mapped(text)

    assert [e.type for e in mapping.events] == [ENCOUNTER_REGISTERED, *[CHARGE_SUBMITTED] * 3, ENCOUNTER_CLOSED]
    encounter = mapping.events[0].data
    assert encounter["bills"] == "both"
    assert (encounter["admission_date"], encounter["discharge_date"]) == ("2026-03-02", "2026-03-05")
    assert encounter["place_of_service"] == "21"
    assert encounter["diagnoses"] == ["J189", "E119", "N390"]  # the admitting DG1 is the claim's own
    assert encounter["institutional"] == INSTITUTIONAL
    common = {"source_system": "bayview", "source_encounter_id": STAY}
    assert [e.data for e in mapping.events[1:4]] == [
        common
        | {
            "source_charge_id": "chg-90417-1",
            "idempotency_key": "bayview:chg-90417-1",
            "service_date": "2026-03-02",
            "service_end_date": "2026-03-04",
            "chargemaster_code": "CDM-120-0001",
            "modifiers": [],
            "description": "Room and board",
            "units": "3",
            "diagnosis_pointers": [1],
            "claim_type": "institutional",
            "revenue_code": "0120",
        },
        common
        | {
            "source_charge_id": "chg-90417-2",
            "idempotency_key": "bayview:chg-90417-2",
            "service_date": "2026-03-03",
            "chargemaster_code": "CDM-250-0001",
            "modifiers": [],
            "description": "Pharmacy",
            "units": "1",
            "amount": "312.40",
            "diagnosis_pointers": [1],
            "claim_type": "institutional",
            "revenue_code": "0250",
        },
        common
        | {
            "source_charge_id": "chg-90417-3",
            "idempotency_key": "bayview:chg-90417-3",
            "service_date": "2026-03-02",
            "chargemaster_code": "CDM-510-0223",
            "modifiers": [],
            "units": "1",
            "diagnosis_pointers": [1],
            "claim_type": "professional",  # an item with a procedure code: the hospitalist's fee
        },
    ]
    assert mapping.events[4].data == common | {"closed_at": "2026-03-05T10:30:00-08:00"}


def test_adt_admit_then_discharge() -> None:
    admit = mapped(message(msh("ADT^A01", "BCH-A01"), PID, pv1(), DG1S[0]))
    assert [e.type for e in admit.events] == [ENCOUNTER_REGISTERED]
    encounter = admit.events[0].data
    assert (encounter["admission_date"], "discharge_date" in encounter) == ("2026-03-02", False)
    assert encounter["diagnoses"] == ["R0602"]  # only the admitting diagnosis so far
    assert encounter["institutional"] | {"billing_provider": None} == {
        "type_of_bill": "11",
        "billing_provider": None,
        "statement_from": "2026-03-02",
        "statement_through": "2026-03-02",
        "admission_hour": 14,
        "admission_type": "1",
        "admission_source": "1",
        "patient_status": "30",  # still a patient
        "attending_provider": ATTENDING,
        "principal_diagnosis": {"code": "R0602"},
        "admitting_diagnosis": "R0602",
        "other_diagnoses": [],
        "other_procedures": [],
    }

    discharge = mapped(message(msh("ADT^A03", "BCH-A03"), PID, pv1(p36="01", p45="202603051030"), *DG1S, PR1))
    assert [e.type for e in discharge.events] == [ENCOUNTER_REGISTERED, ENCOUNTER_CLOSED]
    assert discharge.events[0].data["institutional"] == INSTITUTIONAL
    assert discharge.events[1].data["closed_at"] == "2026-03-05T10:30:00-08:00"

    update = mapped(message(msh("ADT^A08", "BCH-A08"), PID, pv1(p36="01", p45="202603051030"), *DG1S))
    assert [e.type for e in update.events] == [ENCOUNTER_REGISTERED]  # an update closes nothing


def test_outpatient_interface_takes_its_type_of_bill_and_hcpcs_on_facility_lines() -> None:
    er = seg("FT1", {1: "1", 2: "er-1", 4: "20260304", 6: "CG", 7: "CDM-450-0284", 10: "1"})
    draw = seg("FT1", {1: "2", 2: "er-2", 4: "20260304", 6: "CG", 7: "CDM-300-0415", 10: "1", 25: "36415"})
    text = message(msh("DFT^P03", "ED-1", facility="BCH-ED"), PID, pv1(p2="E", p4="", p14="", p44=""), DG1S[1],
                   er, draw)
    mapping = mapped(text)
    institutional = mapping.events[0].data["institutional"]
    assert (institutional["type_of_bill"], institutional["statement_from"], institutional["statement_through"]) == (
        "13", "2026-03-04", "2026-03-04")  # no admission: the FT1 service dates
    assert mapping.events[0].data["bills"] == "institutional"
    er_line, draw_line = (e.data for e in mapping.events[1:])
    assert (er_line["chargemaster_code"], er_line["revenue_code"], er_line["claim_type"]) == (
        "CDM-450-0284", "0450", "institutional")
    # FT1-25 sent: the HCPCS and the item's revenue code and price.
    assert {k: draw_line.get(k) for k in ("procedure_code", "chargemaster_code", "revenue_code", "unit_price")} == {
        "procedure_code": "36415", "chargemaster_code": None, "revenue_code": "0300", "unit_price": "12.00"}


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        # An inpatient bill without its admission date.
        ((PID, pv1(p44=""), DG1S[1], ROOM), [("PV1", 1, 44, "101")]),
        # A procedure coded in another system than ICD-10-PCS.
        ((PID, pv1(), DG1S[1], PR1.replace("^I10P", "^C4"), ROOM), [("PR1", 1, 3, "103")]),
        # A chargemaster code the chargemaster does not have.
        ((PID, pv1(), DG1S[1], ROOM.replace("CDM-120-0001", "CDM-999-0001")), [("FT1", 1, 7, "103")]),
        # A present-on-admission indicator outside the NUBC values.
        ((PID, pv1(), DG1S[1].replace("|Y", "|X"), ROOM), [("DG1", 1, 26, "103")]),
        # An admission type neither NUBC nor HL7 table 0007.
        ((PID, pv1(p4="Z"), DG1S[1], ROOM), [("PV1", 1, 4, "103")]),
        # Discharged without a discharge disposition.
        ((PID, pv1(p45="202603051030"), DG1S[1], ROOM), [("PV1", 1, 36, "101")]),
        # A facility line without a chargemaster item names no revenue code.
        ((PID, pv1(), DG1S[1], ROOM.replace("CDM-120-0001^Room and board", "")), [("FT1", 1, 7, "101")]),
    ],
)
def test_facility_mapping_errors_name_segment_and_field(
    segments: tuple[str, ...], expected: list[tuple[str, int, int | None, str]]
) -> None:
    assert errors(message(msh("DFT^P03", "BAD-1"), *segments)) == expected


def test_unknown_sender_and_unmapped_type_are_refused() -> None:
    with pytest.raises(Hl7MappingError) as info:
        read_message(message(msh("ADT^A01", "X-1", app="LAB"), PID, pv1()), FILE)
    assert (info.value.location.segment, info.value.field, info.value.code, info.value.reject) == ("MSH", 3, "103",
                                                                                                   True)
    assert "no interface is configured" in info.value.message
    with pytest.raises(Hl7MappingError) as info:
        read_message(message(msh("ADT^A02", "X-2"), PID, pv1()), FILE)
    assert (info.value.field, info.value.code, info.value.reject) == (9, "200", True)


def test_a_professional_interface_maps_as_before() -> None:
    mapping = read_message(message(msh("ADT^A04", "E-1", app="EPIC"), PID, pv1(p2="O")), FILE)
    assert mapping.errors == ()
    encounter = mapping.events[0].data
    assert "bills" not in encounter and "institutional" not in encounter
    assert (encounter["source_system"], encounter["place_of_service"]) == ("epic", "22")


def test_interfaces_settings_are_checked() -> None:
    assert FILE.for_sender("bayview", "bch") is FILE.interfaces[1]
    assert FILE.for_sender("BAYVIEW", "OTHER") is None
    assert FILE.interfaces[0].bills == "professional"
    bad: list[tuple[dict[str, Any], str]] = [
        ({"interfaces": [{"bills": "both"}]}, "needs sending_application"),
        ({"interfaces": [{"sending_application": "A", "bills": "facility"}]}, "bills must be"),
        ({"interfaces": [{"sending_application": "A", "type_of_bill": "131"}]}, "type_of_bill must be 2 digits"),
        ({"interfaces": [{"sending_application": "A"}, {"sending_application": "a"}]}, "same sending_application"),
        ({"sending_application": "A"}, "belong on the entries of interfaces"),
        ({"interfaces": []}, "non-empty list"),
    ]
    for raw, message_part in bad:
        with pytest.raises(ValueError, match=message_part):
            defaults_from_mapping({"billing_provider": BILLING_PROVIDER, **raw})


def test_statement_runs_to_the_latest_charge_before_the_discharge() -> None:
    later = PHARMACY.replace("20260303", "20260304")
    mapping = mapped(message(msh("DFT^P03", "BCH-2"), PID, pv1(), DG1S[1], ROOM, later))
    institutional = mapping.events[0].data["institutional"]
    assert (institutional["statement_from"], institutional["statement_through"]) == ("2026-03-02", "2026-03-04")
    assert date.fromisoformat(institutional["statement_through"]) == date(2026, 3, 4)
    assert [e.type for e in mapping.events][-1] == CHARGE_SUBMITTED  # not discharged: not closed


async def test_the_door_refuses_an_unknown_sender_and_resends_after_a_chargemaster_failure() -> None:
    """The door reads a facility feed's chargemaster items before mapping: a database that is
    down costs the message an AR to send again; a sender no interface names is refused (AR)."""
    runtime = SimpleNamespace(clock=FixedClock(datetime(2026, 3, 6, 12, tzinfo=UTC)), db=DatabaseDown())
    door = Hl7Door(cast(Any, runtime), FILE)
    ack = segments(await door.handle(message(msh("DFT^P03", "BCH-9"), PID, pv1(), DG1S[1], ROOM).encode()))
    assert ack[1] == ["MSA", "AR", "BCH-9"]
    assert ack[2][3].startswith("207^") and "send it again" in ack[2][8]
    ack = segments(await door.handle(message(msh("ADT^A01", "LAB-1", app="LAB"), PID, pv1()).encode()))
    assert ack[1] == ["MSA", "AR", "LAB-1"]
    assert ack[2][2:4] == ["MSH^1^3", "103^Table value not found^HL70357"]
    assert "no interface is configured" in ack[2][8]
