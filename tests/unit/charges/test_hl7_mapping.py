"""DFT^P03 -> intake events: a complete message, each error kind, and hostile input."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.registry import ContractError, validate
from services.charges.hl7.ack import ack_message
from services.charges.hl7.codec import Hl7Location, Hl7MappingError, read_header
from services.charges.hl7.defaults import Hl7Defaults, defaults_from_mapping
from services.charges.hl7.mapping import (
    CHARGE_SUBMITTED,
    ENCOUNTER_CLOSED,
    ENCOUNTER_REGISTERED,
    ENCOUNTER_UPDATED,
    DftMapping,
    contract_error,
    map_dft_p03,
    read_message,
)

BILLING_PROVIDER: dict[str, Any] = {
    "npi": "1234567893",
    "tax_id": "521234567",
    "taxonomy": "207Q00000X",
    "name": "Mission Family Medical Group",
    "address": {"line1": "2100 Webster St", "city": "San Francisco", "state": "CA", "postal_code": "94115-1234"},
}
DEFAULTS = defaults_from_mapping({"billing_provider": BILLING_PROVIDER, "timezone": "America/Los_Angeles"})
VISIT = "V7f3a9c21-0001"


def seg(name: str, fields: Mapping[int, str]) -> str:
    """A segment from {field number: raw text}, so tests never miscount pipes."""
    last = max(fields, default=0)
    return "|".join([name, *(fields.get(i, "") for i in range(1, last + 1))])


def msh(message_type: str = "DFT^P03^DFT_P03", control_id: str = "MSG00001", app: str = "EPIC") -> str:
    return "MSH|^~\\&|" + "|".join(
        [app, "MISSIONFMG", "REVCYCLE", "CHARGES", "20260302184500", "", message_type, control_id, "P", "2.5"]
    )


PID = seg(
    "PID",
    {
        1: "1",
        3: "MRN12345^^^MFMG^MR",
        5: "Rivera^Ana^L^^^^L",
        7: "19840612",
        8: "F",
        11: "1450 Valencia St^Apt 3^San Francisco^CA^94110^USA^H",
        13: "(415)555-0142^PRN^PH~^NET^Internet^ana.rivera@example.org",
        18: "HAR100234567",
    },
)
PV1 = seg(
    "PV1",
    {
        1: "1",
        2: "O",
        7: "1999999984^Okafor^Samuel^^^^^^^^^^NPI",
        8: "1245319482^Chen^Lisa",
        19: VISIT,
        44: "20260302090000",
        45: "20260302184000",
    },
)
# Listed out of set-id order on purpose: rank follows IN1-1, not position.
IN1_SECONDARY = seg(
    "IN1",
    {1: "2", 3: "610442", 4: "Medi-Cal", 15: "MC", 17: "SEL", 36: "91234567A"},
)
IN1_PRIMARY = seg(
    "IN1",
    {
        1: "1",
        3: "60054",
        4: "Aetna",
        8: "GRP-0042",
        14: "AUTH-7781",
        15: "HMO",  # not an SBR09 code -> the interface default (CI)
        16: "Rivera^Marco^J",
        17: "SPO",
        18: "19820103",
        19: "1450 Valencia St^Apt 3^San Francisco^CA^94110",
        36: "W123456789",
        43: "M",
    },
)
DG1S = [
    seg("DG1", {1: "1", 3: "R50.9^Fever, unspecified^I10", 6: "F", 15: "2"}),
    seg("DG1", {1: "2", 3: "j02.0^Streptococcal pharyngitis^I10", 6: "F", 15: "1"}),
    seg("DG1", {1: "3", 3: "R07.0^Pain in throat^I10", 6: "F"}),
]
FT1S = [
    seg(
        "FT1",
        {
            1: "1",
            2: "chg-88412-1",
            4: "20260302",
            6: "CG",
            7: "300-1001^Office visit",
            10: "1",
            11: "150.00",
            12: "150.00",
            19: "J02.0~R50.9",
            25: "99213^Office visit est low^C4",
            26: "25",
        },
    ),
    seg(
        "FT1",
        {
            1: "2",
            2: "chg-88412-2",
            4: "20260302",
            6: "CG",
            7: "CDM-300-1042^Rapid strep",
            10: "1",
            11: "35",
            19: "J02.0",
        },
    ),
    seg(
        "FT1",
        {
            1: "3",
            2: "chg-88412-3",
            4: "20260302",
            6: "CG",
            7: "300-2002",
            10: "2",
            11: "48.50",
            12: "24.25",
            19: "R07.0~J02.0~R50.9",
            20: "1345678902^Park^June",
            25: "96372",
            26: "59~XU",
        },
    ),
]


def message(*segments: str, header: str | None = None) -> str:
    return "\r".join([header or msh(), "EVN|P03|20260302184500", *segments]) + "\r"


FULL = message(PID, PV1, *FT1S, *DG1S, IN1_SECONDARY, IN1_PRIMARY)
CORE = [PID, PV1, FT1S[1], DG1S[1]]


def by_type(mapping: DftMapping, event_type: str) -> list[dict[str, Any]]:
    return [e.data for e in mapping.events if e.type == event_type]


def raises(text: str, defaults: Hl7Defaults = DEFAULTS) -> Hl7MappingError:
    with pytest.raises(Hl7MappingError) as info:
        map_dft_p03(text, defaults)
    return info.value


# --------------------------------------------------------------------------- the full message


def test_full_message_maps_to_events_that_pass_the_contracts() -> None:
    mapping = map_dft_p03(FULL, DEFAULTS)

    assert [e.type for e in mapping.events] == [ENCOUNTER_REGISTERED] + [CHARGE_SUBMITTED] * 3 + [ENCOUNTER_CLOSED]
    for event in mapping.events:
        validate(event.type, event.data)
    assert (mapping.control_id, mapping.source_system, mapping.source_encounter_id) == ("MSG00001", "epic", VISIT)


def test_encounter_fields() -> None:
    enc = map_dft_p03(FULL, DEFAULTS).events[0].data
    model: Any = validate(ENCOUNTER_REGISTERED, enc)

    assert enc["source_system"] == "epic"
    assert enc["source_encounter_id"] == VISIT
    assert enc["diagnoses"] == ["J020", "R509", "R070"]  # DG1-15 priority, then unranked
    assert enc["place_of_service"] == "22"
    assert (enc["admission_date"], enc["discharge_date"]) == ("2026-03-02", "2026-03-02")
    patient = enc["patient"]
    assert patient["name"] == {"family": "Rivera", "given": "Ana", "middle": "L"}
    assert (patient["birth_date"], patient["sex"]) == ("1984-06-12", "F")
    assert patient["address"] == {
        "line1": "1450 Valencia St",
        "line2": "Apt 3",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94110",
    }
    assert (patient["email"], patient["phone"]) == ("ana.rivera@example.org", "+14155550142")
    assert patient["contact_preference"] == "email"
    assert patient["source_account_number"] == "HAR100234567"
    assert "MRN12345" not in str(enc)  # minimum necessary: the MRN goes nowhere
    assert enc["guarantor"]["relationship_to_patient"] == "self"
    assert enc["guarantor"]["name"] == patient["name"]
    assert enc["rendering_provider"] == {"npi": "1999999984", "name": {"family": "Okafor", "given": "Samuel"}}
    assert enc["referring_provider"]["npi"] == "1245319482"
    assert model.billing_provider.address.postal_code == "941151234"

    primary, secondary = enc["coverages"]
    assert (primary["rank"], primary["payer_id"], primary["member_id"]) == (1, "60054", "W123456789")
    assert primary["group_number"] == "GRP-0042"
    assert primary["prior_authorization_numbers"] == ["AUTH-7781"]
    assert primary["claim_filing_indicator"] == "CI"
    assert primary["relationship_to_subscriber"] == "01"
    assert primary["subscriber"] == {
        "name": {"family": "Rivera", "given": "Marco", "middle": "J"},
        "birth_date": "1982-01-03",
        "sex": "M",
        "address": {
            "line1": "1450 Valencia St",
            "line2": "Apt 3",
            "city": "San Francisco",
            "state": "CA",
            "postal_code": "94110",
        },
    }
    assert (secondary["rank"], secondary["payer_id"], secondary["claim_filing_indicator"]) == (2, "610442", "MC")
    assert secondary["relationship_to_subscriber"] == "18"
    assert "subscriber" not in secondary


def test_charge_fields() -> None:
    first, second, third = by_type(map_dft_p03(FULL, DEFAULTS), CHARGE_SUBMITTED)

    assert first["source_charge_id"] == "chg-88412-1"
    assert first["idempotency_key"] == "epic:chg-88412-1"
    assert first["source_encounter_id"] == VISIT
    assert first["service_date"] == "2026-03-02"
    assert (first["procedure_code"], first["modifiers"]) == ("99213", ["25"])
    assert "chargemaster_code" not in first  # FT1-7 is only used without FT1-25
    assert (first["units"], first["unit_price"], first["amount"]) == ("1", "150.00", "150.00")
    assert first["diagnosis_pointers"] == [1, 2]
    assert "rendering_provider_npi" not in first

    assert second["chargemaster_code"] == "CDM-300-1042"
    assert "procedure_code" not in second
    assert second["amount"] == "35.00"
    assert "unit_price" not in second
    assert second["diagnosis_pointers"] == [1]

    assert third["modifiers"] == ["59", "XU"]
    assert (third["units"], third["unit_price"], third["amount"]) == ("2", "24.25", "48.50")
    assert third["diagnosis_pointers"] == [3, 1, 2]
    # A named performer other than the encounter's is the line's rendering provider (837P 2420A).
    assert third["rendering_provider"] == {"npi": "1345678902", "name": {"family": "Park", "given": "June"}}
    assert "rendering_provider_npi" not in third
    model: Any = validate(CHARGE_SUBMITTED, third)
    assert str(model.amount) == "48.50"


DRUG_FT1 = seg(
    "FT1",
    {
        1: "1", 2: "chg-88412-9", 4: "20260302", 6: "CG", 10: "2", 11: "24.00", 19: "J02.0",
        20: "1345678902^^^^^^^^^^^^NPI", 21: "1326132614^Ito^Ken^^^^^^^^^^NPI", 25: "J1885",
        29: "00409-1234-01^Ketorolac 15 mg/mL^N4", 43: "2^ml",
    },
)


def test_ordering_provider_ndc_and_an_unnamed_performer() -> None:
    [charge] = by_type(map_dft_p03(message(PID, PV1, DRUG_FT1, DG1S[1]), DEFAULTS), CHARGE_SUBMITTED)
    assert charge["ordering_provider"] == {"npi": "1326132614", "name": {"family": "Ito", "given": "Ken"}}
    assert (charge["ndc"], charge["ndc_quantity"], charge["ndc_unit"]) == ("00409-1234-01", "2", "ML")
    assert charge["rendering_provider_npi"] == "1345678902" and "rendering_provider" not in charge
    model: Any = validate(CHARGE_SUBMITTED, charge)
    assert model.ndc == "00409123401"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({1: "20260227", 2: "MVA", 4: "ca", 5: "Y"}, {"causes": ["employment", "auto"], "state": "CA"}),
        ({1: "20260227", 2: "EM"}, {"causes": ["employment"]}),
        ({1: "20260227", 2: "FALL"}, {"causes": ["other"]}),
        ({1: "20260227"}, {"causes": ["other"]}),
    ],
)
def test_accident_from_acc(fields: dict[int, str], expected: dict[str, Any]) -> None:
    enc = map_dft_p03(message(*CORE, seg("ACC", fields)), DEFAULTS).events[0].data
    assert enc["accident"] == {"occurred_on": "2026-02-27", **expected}
    validate(ENCOUNTER_REGISTERED, enc)


def test_new_field_errors_point_at_ft1_and_acc() -> None:
    no_qty = DRUG_FT1.replace("|2^ml", "|")
    found = contract_errors(message(PID, PV1, no_qty, DG1S[1], seg("ACC", {2: "AA"})))
    assert ("FT1^1^43", "102", "") in found  # rule ndc_incomplete: the quantity and unit are missing
    assert ("ACC^1^1", "101", "accident.occurred_on") in found
    no_state = contract_errors(message(*CORE, seg("ACC", {1: "20260227", 2: "AA"})))
    assert no_state == [("ACC^1^4", "102", "accident")]  # rule accident_state: an auto accident needs its state


def test_discharge_closes_the_encounter_with_the_interface_zone() -> None:
    (closed,) = by_type(map_dft_p03(FULL, DEFAULTS), ENCOUNTER_CLOSED)
    assert closed == {"source_system": "epic", "source_encounter_id": VISIT, "closed_at": "2026-03-02T18:40:00-08:00"}


def test_explicit_offset_wins_and_no_discharge_means_no_close() -> None:
    pv1 = PV1.replace("20260302184000", "202603021840+0000")
    (closed,) = by_type(map_dft_p03(message(PID, pv1, *FT1S, *DG1S), DEFAULTS), ENCOUNTER_CLOSED)
    assert closed["closed_at"] == "2026-03-02T18:40:00+00:00"

    open_visit = seg("PV1", {2: "E", 19: VISIT})
    mapping = map_dft_p03(message(PID, open_visit, FT1S[1], DG1S[1]), DEFAULTS)
    assert [e.type for e in mapping.events] == [ENCOUNTER_REGISTERED, CHARGE_SUBMITTED]
    assert mapping.events[0].data["place_of_service"] == "23"


def test_guarantor_segment_and_defaults() -> None:
    gt1 = seg("GT1", {1: "1", 3: "Rivera^Marco", 5: "9 Elm St^^Oakland^ca^94607", 6: "^NET^^m@example.org", 11: "PAR"})
    config = defaults_from_mapping(
        {
            "billing_provider": BILLING_PROVIDER,
            "source_system": "mission-epic",
            "contact_preference": "mail",
            "place_of_service": "11",
        }
    )
    pv1 = seg("PV1", {2: "R", 19: VISIT})
    enc = map_dft_p03(message(PID, pv1, gt1, *CORE[2:]), config).events[0].data
    validate(ENCOUNTER_REGISTERED, enc)

    assert enc["source_system"] == "mission-epic"
    assert enc["place_of_service"] == "11"
    assert enc["guarantor"] == {
        "relationship_to_patient": "parent",
        "name": {"family": "Rivera", "given": "Marco"},
        "address": {"line1": "9 Elm St", "city": "Oakland", "state": "CA", "postal_code": "94607"},
        "email": "m@example.org",
        "contact_preference": "mail",
    }
    assert enc["coverages"] == []


def test_escaped_separators_are_unescaped() -> None:
    pid = PID.replace("1450 Valencia St", "1450 Valencia St \\T\\ 16th")
    enc = map_dft_p03(message(pid, *CORE[1:]), DEFAULTS).events[0].data
    assert enc["patient"]["address"]["line1"] == "1450 Valencia St & 16th"


def test_segments_may_end_in_newlines() -> None:
    mapping = map_dft_p03(FULL.replace("\r", "\r\n"), DEFAULTS)
    assert len(mapping.events) == 5


def test_encounter_type_can_be_switched() -> None:
    mapping = map_dft_p03(FULL, DEFAULTS).with_encounter_type(ENCOUNTER_UPDATED)
    assert [e.type for e in mapping.events][:2] == [ENCOUNTER_UPDATED, CHARGE_SUBMITTED]
    validate(ENCOUNTER_UPDATED, mapping.events[0].data)


# --------------------------------------------------------------------------- mapping errors


@pytest.mark.parametrize(
    ("text", "where", "code", "reject"),
    [
        ("", ("MSH", 1, None), "100", True),
        ("PID|1\rMSH|^~\\&|X", ("MSH", 1, None), "100", True),
        ("MSH|^~|EPIC", ("MSH", 1, 2), "102", True),
        ("MSH|^^\\&|EPIC", ("MSH", 1, 2), "102", True),
        (message(*CORE, header=msh("ADT^A02")), ("MSH", 1, 9), "200", True),
        (message(*CORE, header=msh("")), ("MSH", 1, 9), "101", True),
        (message(*CORE, header=msh(control_id="")), ("MSH", 1, 10), "101", True),
        (message(*CORE, header=msh(app="")), ("MSH", 1, 3), "101", True),
        (message(*CORE, "pid|oops"), ("UNK", 7, None), "100", True),
        (message(*CORE, msh()), ("MSH", 2, None), "100", True),
        (message(*CORE[1:]), ("PID", 1, None), "100", False),
        (message(*CORE, PID), ("PID", 2, None), "100", False),
        (message(PID, PV1, DG1S[1]), ("FT1", 1, None), "100", False),
        (message(PID, seg("PV1", {2: "O"}), *CORE[2:]), ("PV1", 1, 19), "101", False),
        (message(PID.replace("19840612", "198406"), *CORE[1:]), ("PID", 1, 7), "102", False),
        (message(PID.replace("19840612", "19840231"), *CORE[1:]), ("PID", 1, 7), "102", False),
        (message(PID, PV1.replace("20260302184000", "2026030218400"), *CORE[2:]), ("PV1", 1, 45), "102", False),
        (message(PID, PV1, FT1S[0], FT1S[1].replace("|CG|", "|PY|"), *DG1S), ("FT1", 2, 6), "103", False),
        (message(PID, PV1, FT1S[1].replace("|CG|", "||"), DG1S[1]), ("FT1", 1, 6), "101", False),
        (message(PID, PV1, FT1S[1].replace("|J02.0", "|J02.0~Z99.89"), DG1S[1]), ("FT1", 1, 19), "103", False),
        (message(PID, PV1, FT1S[1].replace("|35|", "|35.005|"), DG1S[1]), ("FT1", 1, 11), "102", False),
        (message(PID, PV1, FT1S[1].replace("|35|", "|1e3|"), DG1S[1]), ("FT1", 1, 11), "102", False),
        (message(PID, PV1, FT1S[1].replace("|1|35|", "|one|35|"), DG1S[1]), ("FT1", 1, 10), "102", False),
        (message(*CORE[:3], seg("DG1", {1: "1"})), ("DG1", 1, 3), "101", False),
        (message(*CORE[:3], seg("DG1", {1: "1", 3: "J020", 15: "first"})), ("DG1", 1, 15), "102", False),
        (message(*CORE, seg("IN1", {1: "x", 3: "60054"})), ("IN1", 1, 1), "102", False),
    ],
)
def test_mapping_errors_name_segment_sequence_and_field(
    text: str, where: tuple[str, int, int | None], code: str, reject: bool
) -> None:
    err = raises(text)
    assert (err.segment, err.sequence, err.field) == where
    assert (err.code, err.reject) == (code, reject)


def test_error_messages_never_echo_message_values() -> None:
    secret = "Z99.89"
    err = raises(message(PID, PV1, FT1S[1].replace("|J02.0", f"|{secret}"), DG1S[1]))
    assert secret not in err.message and secret not in str(err)
    assert "FT1-19" in err.message


def test_every_mapping_error_of_a_message_is_collected() -> None:
    """Issue 16: mapping stopped at the first error, one round trip per mistake."""
    text = message(
        PID.replace("19840612", "198406"),
        PV1.replace("20260302184000", "2026030218400"),
        FT1S[0].replace("|CG|", "|PY|"),
        FT1S[1].replace("|35|", "|35.005|").replace("|J02.0", "|J02.0~Z99.89"),
        seg("DG1", {1: "4", 3: "Z00.00", 15: "first"}),
        *DG1S,
        seg("IN1", {1: "x", 3: "60054"}),
    )
    mapping = read_message(text, DEFAULTS)
    assert [(e.segment, e.sequence, e.field, e.code) for e in mapping.errors] == [
        ("PID", 1, 7, "102"),
        ("PV1", 1, 45, "102"),
        ("FT1", 1, 6, "103"),
        ("FT1", 2, 11, "102"),
        ("FT1", 2, 19, "103"),
        ("DG1", 1, 15, "102"),
        ("IN1", 1, 1, "102"),
    ]
    assert "198406" not in " ".join(e.message for e in mapping.errors)
    # map_dft_p03 keeps raising the first one.
    assert raises(text).location == Hl7Location("PID", 1, 7)


def test_missing_segments_are_collected_with_the_field_errors() -> None:
    mapping = read_message(message(PID.replace("19840612", "1984"), DG1S[1]), DEFAULTS)
    assert [(e.segment, e.sequence, e.field) for e in mapping.errors] == [
        ("PV1", 1, None),
        ("FT1", 1, None),
        ("PID", 1, 7),
    ]


def test_a_dg1_without_its_code_is_one_error_not_one_per_pointer() -> None:
    mapping = read_message(message(PID, PV1, *FT1S, seg("DG1", {1: "1"}), *DG1S[1:]), DEFAULTS)
    assert [(e.segment, e.sequence, e.field) for e in mapping.errors] == [("DG1", 1, 3)]


def test_a_clean_message_has_no_errors() -> None:
    assert read_message(FULL, DEFAULTS).errors == ()


NO_PID18 = PID.replace("|HAR100234567", "|")


def test_missing_pid18_falls_back_to_the_first_pid3_identifier() -> None:
    """Issue 16: PID-18 is optional in HL7 v2.5.1; a DFT without it got AE."""
    pid = NO_PID18.replace("MRN12345^^^MFMG^MR", "MRN12345^^^MFMG^MR~SSN999^^^SSA^SS")
    mapping = map_dft_p03(message(pid, *CORE[1:]), DEFAULTS)
    enc = mapping.events[0].data
    assert enc["patient"]["source_account_number"] == "MRN12345"
    validate(ENCOUNTER_REGISTERED, enc)
    assert mapping.account_field == 3
    # A contract error on the fallback names the field it came from.
    assert mapping.locate(0, "patient.source_account_number", "string_too_long") == Hl7Location("PID", 1, 3)


def test_pid18_wins_over_the_fallback() -> None:
    enc = map_dft_p03(message(*CORE), DEFAULTS).events[0].data
    assert enc["patient"]["source_account_number"] == "HAR100234567"


def test_account_fallback_is_configurable() -> None:
    by_visit = defaults_from_mapping({"billing_provider": BILLING_PROVIDER, "account_number_fallback": "visit_number"})
    enc = map_dft_p03(message(NO_PID18, *CORE[1:]), by_visit).events[0].data
    assert enc["patient"]["source_account_number"] == VISIT

    strict = defaults_from_mapping({"billing_provider": BILLING_PROVIDER, "account_number_fallback": "none"})
    mapping = map_dft_p03(message(NO_PID18, *CORE[1:]), strict)
    with pytest.raises(ContractError) as info:
        validate(ENCOUNTER_REGISTERED, mapping.events[0].data)
    (error,) = info.value.errors
    assert contract_error(mapping, 0, error).location == Hl7Location("PID", 1, 18)

    # No PID-18 and no PID-3: the error names PID-18, the field the sender should fill.
    bare = map_dft_p03(message(NO_PID18.replace("MRN12345^^^MFMG^MR", ""), *CORE[1:]), DEFAULTS)
    assert "source_account_number" not in bare.events[0].data["patient"]
    assert bare.account_field == 18


# --------------------------------------------------------------------------- contract errors -> HL7 locations


def contract_errors(text: str) -> list[tuple[str, str, str]]:
    """(location, HL7 code, contract field) for every contract error of every event."""
    mapping = map_dft_p03(text, DEFAULTS)
    out: list[tuple[str, str, str]] = []
    for index, event in enumerate(mapping.events):
        try:
            validate(event.type, event.data)
        except ContractError as exc:
            for error in exc.errors:
                err = contract_error(mapping, index, error)
                assert err.location is not None
                loc = err.location
                out.append((f"{loc.segment}^{loc.sequence}^{loc.field or ''}", err.code, error["field"]))
    return out


def test_contract_errors_point_at_the_hl7_fields_that_produced_them() -> None:
    bad_ft1 = FT1S[2].replace("|96372|", "|9637|").replace("|48.50|", "|48.00|")
    bad_in1 = IN1_SECONDARY.replace("|91234567A", "|")
    text = message(
        # PID-3 emptied too: otherwise the account falls back to the first PID-3 identifier.
        PID.replace("|F|", "|F|").replace("HAR100234567", "").replace("MRN12345^^^MFMG^MR", ""),
        PV1,
        FT1S[0],
        FT1S[1],
        bad_ft1,
        *DG1S,
        IN1_PRIMARY,
        bad_in1,
    )
    assert sorted(contract_errors(text)) == sorted(
        [
            ("PID^1^18", "101", "patient.source_account_number"),
            ("IN1^2^36", "101", "coverages[1].member_id"),
            ("FT1^3^25", "102", "procedure_code"),
        ]
    )
    # Fixed, the rule behind the amount becomes visible too.
    assert contract_errors(message(PID, PV1, FT1S[2].replace("|48.50|", "|48.00|"), *DG1S)) == [("FT1^1^11", "102", "")]


def test_contract_rules_and_the_self_guarantor_map_to_pid() -> None:
    # contact_preference email with no email is impossible from PID, so use a rule we can trigger:
    # a subscriber that is not self without a name, and a bad email that the guarantor copies.
    pid = PID.replace("ana.rivera@example.org", "not-an-email")
    in1 = seg("IN1", {1: "1", 3: "60054", 4: "Aetna", 17: "CHD", 18: "20100101", 36: "W1"})
    found = contract_errors(message(pid, *CORE[1:], in1))
    assert ("PID^1^13", "102", "patient.email") in found
    assert ("PID^1^13", "102", "guarantor.email") in found
    assert ("IN1^1^16", "101", "coverages[0].subscriber.name") in found


def test_diagnosis_and_place_errors() -> None:
    dup = seg("DG1", {1: "9", 3: "J02.0"})
    text = message(PID, PV1, FT1S[1], DG1S[1], dup)
    assert ("DG1^2^3", "102", "") in contract_errors(text)
    bad_code = seg("DG1", {1: "1", 3: "1234"})
    assert contract_errors(message(PID, PV1, FT1S[1].replace("|J02.0", "|1234"), bad_code)) == [
        ("DG1^1^3", "102", "diagnoses[0]")
    ]


# --------------------------------------------------------------------------- header, ACK, defaults


def test_read_header_is_total() -> None:
    header = read_header(FULL)
    assert header is not None
    assert (header.control_id, header.sending_application, header.trigger_event) == ("MSG00001", "EPIC", "P03")
    assert read_header("") is None
    assert read_header("\x00\x01garbage") is None


def test_ack_escapes_and_carries_err_segments() -> None:
    from datetime import UTC, datetime

    header = read_header(FULL)
    text = ack_message(
        header,
        "AE",
        [raises(message(PID, PV1, FT1S[1].replace("|CG|", "|CD|"), DG1S[1])).as_error()],
        control_id="ACK1",
        now=datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
    )
    lines = text.rstrip("\r").split("\r")
    assert lines[0].startswith("MSH|^~\\&|REVCYCLE|CHARGES|EPIC|MISSIONFMG|20260302120000+0000||ACK^P03^ACK|ACK1|P|2.5")
    assert lines[1] == "MSA|AE|MSG00001"
    assert lines[2].startswith("ERR||FT1^1^6|103^Table value not found^HL70357|E|")
    from services.charges.hl7.codec import Hl7Error

    weird = ack_message(
        None,
        "AR",
        [Hl7Error(Hl7Location("MSH", 1, 9), "102", "must match ^a|b~c&d\\e\r")],
        control_id="A",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    err = weird.rstrip("\r").split("\r")[2]
    assert err.endswith("|must match \\S\\a\\F\\b\\R\\c\\T\\d\\E\\e ")
    assert weird.count("\r") == 3


@pytest.mark.parametrize(
    "change",
    [
        {"billing_provider": {**BILLING_PROVIDER, "npi": "1234567890"}},
        {"billing_provider": {**BILLING_PROVIDER, "address": {**BILLING_PROVIDER["address"], "postal_code": "94115"}}},
        {"place_of_service": "1"},
        {"claim_filing_indicator": "XX"},
        {"contact_preference": "sms"},
        {"timezone": "Mars/Olympus"},
        {"source_system": "has space"},
        {"account_number_fallback": "mrn"},
        {"surprise": True},
    ],
)
def test_bad_defaults_are_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="hl7 defaults"):
        defaults_from_mapping({"billing_provider": BILLING_PROVIDER, **change})


def test_shipped_defaults_file_is_valid() -> None:
    from pathlib import Path

    import yaml

    path = Path(__file__).resolve().parents[3] / "deploy" / "local" / "hl7.yaml"
    defaults = defaults_from_mapping(yaml.safe_load(path.read_text()))
    assert defaults.billing_provider["npi"] == "1234567893"


# --------------------------------------------------------------------------- hostile input

_SEGMENT_NAMES = st.sampled_from(["MSH", "EVN", "PID", "PV1", "FT1", "DG1", "IN1", "GT1", "ZZZ", "pid", "X", ""])
_FIELD_TEXT = st.text(alphabet=string.printable + "^~\\&|\x00\x0b\x1cé€", max_size=30)


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """The full message, mangled: truncated, fields replaced, segments dropped or duplicated."""
    lines = FULL.rstrip("\r").split("\r")
    for _ in range(draw(st.integers(0, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["truncate", "field", "drop", "dup", "insert"]))
        if action == "truncate":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif action == "field":
            parts = lines[i].split("|")
            j = draw(st.integers(0, len(parts)))
            parts[j : j + 1] = [draw(_FIELD_TEXT)]
            lines[i] = "|".join(parts)
        elif action == "drop" and len(lines) > 1:
            del lines[i]
        elif action == "dup":
            lines.insert(i, lines[i])
        else:
            name = draw(_SEGMENT_NAMES)
            lines.insert(i, "|".join([name, *draw(st.lists(_FIELD_TEXT, max_size=30))]))
    return "\r".join(lines)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        _mutated(),
        st.text(max_size=200),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
        st.builds(lambda rest: "MSH|^~\\&|" + rest, st.text(max_size=300)),
    )
)
def test_arbitrary_input_raises_only_mapping_errors(text: str) -> None:
    read_header(text)
    try:
        mapping = map_dft_p03(text, DEFAULTS)
    except Hl7MappingError as err:
        assert err.code in ("100", "101", "102", "103", "200", "207")
        return
    for index, event in enumerate(mapping.events):
        try:
            validate(event.type, event.data)
        except ContractError as exc:
            for error in exc.errors:
                contract_error(mapping, index, error)
