"""270/271 (005010X279A1) writers and readers: exact segments, write-then-read round trips."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.x12 import app
from edi.validate import validate
from edi.x12 import X12EnvelopeError, X12Error, X12SyntaxError
from edi.x270 import Gender, Inquiry, Person, check_270, read_270, render_270
from edi.x271 import (
    BenefitDate,
    BenefitEntity,
    BenefitInfo,
    EligibilityResponse,
    Rejection,
    check_271,
    read_271,
    render_271,
)
from tests.unit.edi.remit_support import CUSTOM, ROUND_TRIPS, dates, ids, names, params

D = Decimal
runner = CliRunner()
NPI = "1234567893"
SUBSCRIBER = Person("DOE", "JANE", "M123", date(1980, 5, 1), "F", "G77")
CHILD = Person("DOE", "TIM", "", date(2010, 1, 2), "M", None, "19")


def inquiry(trace: str = "ENC1", **kw: object) -> Inquiry:
    fields: dict[str, object] = {"trace_number": trace, "payer_name": "ACME HEALTH", "payer_id": "ACME01",
                                 "provider_name": "SUNRISE CLINIC", "provider_npi": NPI, "subscriber": SUBSCRIBER,
                                 "service_date": date(2025, 3, 1)}
    return Inquiry(**{**fields, **kw})  # type: ignore[arg-type]


def response(trace: str = "ENC1", **kw: object) -> EligibilityResponse:
    fields: dict[str, object] = {"trace_number": trace, "payer_name": "ACME HEALTH", "payer_id": "ACME01",
                                 "provider_name": "SUNRISE CLINIC", "provider_npi": NPI, "subscriber": SUBSCRIBER}
    return EligibilityResponse(**{**fields, **kw})  # type: ignore[arg-type]


def body(text: str) -> list[str]:
    """The segments between ST and SE."""
    segments = [s.strip() for s in text.split("~") if s.strip()]
    return segments[3:-3]


BENEFITS = (
    BenefitInfo(code="1", coverage_level="IND", service_types=("30",), insurance_type="C1",
                plan_description="GOLD PPO"),
    BenefitInfo(code="C", coverage_level="IND", service_types=("30",), time_period="29", amount=D("350.00"),
                in_network=True),
    BenefitInfo(code="A", coverage_level="IND", service_types=("30", "98"), percent=D("0.2"), in_network=True,
                messages=("AFTER DEDUCTIBLE",)),
    BenefitInfo(code="B", coverage_level="IND", service_types=("98",), time_period="27", amount=D("25"),
                authorization_required=False, procedure_code="99213"),
    BenefitInfo(code="G", coverage_level="IND", service_types=("30",), time_period="29", amount=D("2150.5")),
    BenefitInfo(code="R", service_types=("30",), insurance_type="MB",
                dates=(BenefitDate(qualifier="290", start=date(2025, 1, 1), end=date(2025, 1, 1)),),
                benefit_entity=BenefitEntity(role="PRP", name="MEDICARE PART B", id_qualifier="PI", id="MCB01")),
)


def test_270_segments_subscriber_and_dependent() -> None:
    text = render_270([inquiry(), inquiry("ENC2", dependent=CHILD, service_end_date=date(2025, 3, 3),
                                          service_types=("30", "98"))], params())
    assert text.split("~")[1] == "GS*HS*ACMEPAYER*SUNRISE*20250201*0915*7*X*005010X279A1"
    assert text.split("~")[2] == "ST*270*0001*005010X279A1"
    assert body(text) == [
        "BHT*0022*13*000000101*20250201*0915",
        "HL*1**20*1", "NM1*PR*2*ACME HEALTH*****PI*ACME01",
        "HL*2*1*21*1", f"NM1*1P*2*SUNRISE CLINIC*****XX*{NPI}",
        "HL*3*2*22*0", "TRN*1*ENC1*9123456789", "NM1*IL*1*DOE*JANE****MI*M123", "REF*6P*G77",
        "DMG*D8*19800501*F", "DTP*291*D8*20250301", "EQ*30",
        "HL*4*2*22*1", "NM1*IL*1*DOE*JANE****MI*M123", "REF*6P*G77", "DMG*D8*19800501*F",
        "HL*5*4*23*0", "TRN*1*ENC2*9123456789", "NM1*03*1*DOE*TIM", "DMG*D8*20100102*M", "INS*N*19",
        "DTP*291*RD8*20250301-20250303", "EQ*30", "EQ*98",
    ]


def test_270_round_trip_groups_payers_and_providers() -> None:
    items = [inquiry(), inquiry("ENC2", dependent=CHILD), inquiry("ENC3", payer_name="BETA", payer_id="B2"),
             inquiry("ENC4", payer_name="BETA", payer_id="B2", provider_name="NORTH", provider_npi="1987654325")]
    text = render_270(items, params(CUSTOM))
    assert read_270(text) == items
    assert text.count("HL|") == 10  # 2 payers, 3 providers, 4 subscribers, 1 dependent


def test_271_segments() -> None:
    r = response(plan_begin=date(2025, 1, 1), plan_end=date(2025, 12, 31), benefits=BENEFITS)
    assert body(render_271(r, params()))[10:] == [
        "DTP*346*D8*20250101", "DTP*347*D8*20251231",
        "EB*1*IND*30*C1*GOLD PPO", "EB*C*IND*30***29*350*****Y", "EB*A*IND*30^98*****0.2****Y",
        "MSG*AFTER DEDUCTIBLE", "EB*B*IND*98***27*25****N**HC:99213", "EB*G*IND*30***29*2150.5",
        "EB*R**30*MB", "DTP*290*D8*20250101", "LS*2120", "NM1*PRP*2*MEDICARE PART B*****PI*MCB01", "LE*2120",
    ]


def test_271_round_trip_with_rejections_and_dependent() -> None:
    items = [
        response(plan_begin=date(2025, 1, 1), plan_end=date(2025, 12, 31), benefits=BENEFITS),
        response("ENC2", dependent=CHILD, plan_begin=date(2025, 1, 1),
                 benefits=(BenefitInfo(code="6", coverage_level="IND", service_types=("30",)),)),
        response("ENC3", rejections=(Rejection(loop="2100C", valid=False, reason_code="75", follow_up="C"),)),
    ]
    text = render_271(items, params(CUSTOM))
    read = read_271(text)
    assert read == items
    assert [r.active for r in read] == [True, False, None]
    assert [r.rejected for r in read] == [False, False, True]
    assert read[0].other_payers == (BENEFITS[-1],)
    assert read[0].reference == "000000101"
    assert "AAA|N||75|C'" in text


def test_271_payer_level_rejection_without_subscriber_reads_with_empty_trace() -> None:
    text = render_271(response(), params()).replace(
        "HL*2*1*21*1~NM1*1P*2*SUNRISE CLINIC*****XX*1234567893~", "")
    head, _, tail = text.partition("HL*3*2*22*0~")
    text = head.replace("HL*1**20*1~NM1*PR*2*ACME HEALTH*****PI*ACME01~",
                        "HL*1**20*0~NM1*PR*2*ACME HEALTH*****PI*ACME01~AAA*Y**42*R~") + tail[tail.index("SE*"):]
    text = text.replace("SE*10*", "SE*5*")
    [r] = read_271(text)
    assert r.trace_number == "" and r.payer_id == "ACME01"
    assert r.rejections == (Rejection(loop="2100A", valid=True, reason_code="42", follow_up="R"),)


def test_271_reads_plan_dates_from_a_291_period_and_2110_aaa() -> None:
    text = render_271(response(benefits=(BenefitInfo(code="1"),)), params()).replace(
        "EB*1~", "DTP*291*RD8*20250101-20251231~EB*1~AAA*N**15*C~")
    text = text.replace("SE*10*", "SE*12*")
    [r] = read_271(text)
    assert (r.plan_begin, r.plan_end) == (date(2025, 1, 1), date(2025, 12, 31))
    assert r.rejections == (Rejection(loop="2110C", valid=False, reason_code="15", follow_up="C"),)


@pytest.mark.parametrize(("find", "replace", "error"), [
    ("HL*3*2*22*0", "HL*3*9*22*0", "segment 9 (HL): HL02 must point to the enclosing level 21"),
    ("HL*2*1*21*1", "HL*2*1*24*1", "segment 7 (HL): HL03 must be 20, 21, 22 or 23"),
    ("TRN*1*ENC1*9123456789~", "", "segment 9 (HL): the patient level 2000C has no TRN*1"),
    ("EQ*30~", "", "segment 9 (HL): the patient level 2000C has no EQ (loop 2110)"),
    ("DTP*291*D8*20250301", "DTP*291*D8*20250231", "segment 14 (DTP): DTP03 is not a valid calendar date"),
    ("NM1*PR*", "NM1*XX*", "segment 6 (NM1): NM101 must be one of PR"),
])
def test_270_reader_names_the_broken_segment(find: str, replace: str, error: str) -> None:
    text = render_270(inquiry(), params()).replace(find, replace)
    with pytest.raises(X12SyntaxError) as exc:
        read_270(text)
    assert str(exc.value) == error


def test_readers_refuse_the_other_transaction() -> None:
    with pytest.raises(X12EnvelopeError, match="transaction set is not a 271"):
        read_271(render_270(inquiry(), params()))
    with pytest.raises(X12EnvelopeError, match="transaction set is not a 270"):
        read_270(render_271(response(), params()))


def test_writer_refuses_what_it_cannot_write() -> None:
    with pytest.raises(X12Error, match="relationship code"):
        render_270(inquiry(dependent=Person("DOE", "TIM")), params())
    with pytest.raises(X12Error, match="AAA of loop 2110C is read, not written"):
        render_271(response(rejections=(Rejection(loop="2110C", valid=False, reason_code="15", follow_up="C"),)),
                   params())
    with pytest.raises(X12Error, match="TRN02 trace number is required"):
        render_270(inquiry(""), params())


def test_names_are_sanitized_ids_are_refused() -> None:
    [got] = read_270(render_270(inquiry(subscriber=Person("O*BRIEN", "ZOË", "M1")), params()))
    assert (got.subscriber.last_name, got.subscriber.first_name) == ("O BRIEN", "ZOE")
    with pytest.raises(X12Error, match="NM109 contains a delimiter"):
        render_270(inquiry(subscriber=Person("DOE", "J", "M*1")), params())


genders: st.SearchStrategy[Gender | None] = st.sampled_from(["M", "F", "U", None])


@st.composite
def people(draw: st.DrawFn, dependent: bool = False) -> Person:
    birth = draw(st.none() | dates)
    return Person(draw(names), draw(names), "" if dependent else draw(ids), birth,
                  draw(genders) if birth is not None else None, None if dependent else draw(st.none() | ids),
                  draw(st.sampled_from(["01", "19", "34", "G8"])) if dependent else None)


@st.composite
def inquiries(draw: st.DrawFn) -> Inquiry:
    start = draw(dates)
    return Inquiry(trace_number=draw(ids), payer_name=draw(st.sampled_from(["ACME", "BETA"])),
                   payer_id=draw(st.sampled_from(["ACME01", "B2"])), provider_name="SUNRISE", provider_npi=NPI,
                   subscriber=draw(people()), dependent=draw(st.none() | people(dependent=True)), service_date=start,
                   service_end_date=draw(st.none() | st.dates(min_value=start + (date(2020, 1, 2) - date(2020, 1, 1)),
                                                              max_value=date(2028, 1, 1))),
                   service_types=tuple(draw(st.lists(st.sampled_from(["30", "1", "98", "AL", "MH"]), min_size=1,
                                                     max_size=3))))


amounts = st.none() | st.integers(0, 500_000).map(lambda c: D(c) / 100)


@st.composite
def benefits(draw: st.DrawFn) -> BenefitInfo:
    code = draw(st.sampled_from(["1", "6", "A", "B", "C", "G", "R", "D"]))
    quantity = draw(st.none() | st.integers(1, 60).map(D))
    return BenefitInfo(
        code=code, coverage_level=draw(st.sampled_from(["", "IND", "FAM"])),
        service_types=tuple(draw(st.lists(st.sampled_from(["30", "98", "UC"]), max_size=3))),
        insurance_type=draw(st.sampled_from(["", "C1", "MB", "MC"])),
        time_period=draw(st.sampled_from(["", "29", "23"])),
        amount=draw(amounts), percent=draw(st.none() | st.integers(0, 100).map(lambda p: D(p) / 100)),
        quantity_qualifier="VS" if quantity is not None else "", quantity=quantity,
        authorization_required=draw(st.none() | st.booleans()), in_network=draw(st.none() | st.booleans()),
        procedure_code=draw(st.sampled_from(["", "99213"])),
        messages=tuple(draw(st.lists(names, max_size=2))),
        benefit_entity=draw(st.builds(BenefitEntity, role=st.sampled_from(["PRP", "SEP", "TTP"]), name=names,
                                      id_qualifier=st.just("PI"), id=ids)) if code == "R" else None)


@st.composite
def responses(draw: st.DrawFn) -> EligibilityResponse:
    q = draw(inquiries())
    aaa = st.builds(Rejection, loop=st.just("2100D" if q.dependent else "2100C"), valid=st.booleans(),
                    reason_code=st.sampled_from(["72", "73", "75", "42"]), follow_up=st.sampled_from(["C", "N", "R"]))
    return EligibilityResponse(trace_number=q.trace_number, payer_name=q.payer_name, payer_id=q.payer_id,
                               provider_name=q.provider_name, provider_npi=q.provider_npi, subscriber=q.subscriber,
                               dependent=q.dependent, plan_begin=draw(st.none() | dates),
                               plan_end=draw(st.none() | dates),
                               benefits=tuple(draw(st.lists(benefits(), max_size=4))),
                               rejections=tuple(draw(st.lists(aaa, max_size=2))))


@given(st.lists(inquiries(), min_size=1, max_size=4))
def test_270_property_round_trip(items: list[Inquiry]) -> None:
    assert read_270(render_270(items, params())) == items
    ROUND_TRIPS["270"] += 1


@given(st.lists(responses(), min_size=1, max_size=4))
def test_271_property_round_trip(items: list[EligibilityResponse]) -> None:
    assert read_271(render_271(items, params())) == items
    ROUND_TRIPS["271"] += 1


# --- structural checks (pyx12 4.0 has no 5010 map for these) ------------------------------------

GOOD_270 = render_270([inquiry(), inquiry("ENC2", dependent=CHILD)], params())
GOOD_271 = render_271([response(plan_begin=date(2025, 1, 1), benefits=BENEFITS),
                       response("ENC2", dependent=CHILD, rejections=(
                           Rejection(loop="2100D", valid=False, reason_code="75", follow_up="C"),))], params())


def test_what_the_writers_write_passes_the_checks() -> None:
    assert check_270(GOOD_270) == [] and validate(GOOD_270) == []
    assert check_271(GOOD_271) == [] and validate(GOOD_271) == []


@pytest.mark.parametrize(("find", "replace", "found"), [
    ("EQ*30~", "", ["segment 9 (HL): loop 2000C: the patient's level has no EQ (loop 2110C)"]),
    ("TRN*1*ENC1*9123456789~", "", ["segment 9 (HL): loop 2000C: the patient's level has no TRN*1 trace number"]),
    ("HL*3*2*22*0", "HL*3*1*22*0", ["segment 7 (HL): loop 2000B: HL04 must be 1 when a level follows under this "
                                    "one, else 0",
                                    "segment 9 (HL): loop 2000C: HL02 must point to the level above (21)"]),
    ("HL*5*4*23*0", "HL*6*4*23*0", ["segment 20 (HL): loop 2000D: HL01 must be 5 (numbered from 1 in order)"]),
    ("DMG*D8*19800501*F", "DMG*D8*19800501*X", ["segment 13 (DMG): loop 2100C: DMG03 is not a code this loop "
                                                "allows"]),
    ("DTP*291*D8*20250301", "DTP*291*D8*2025030", ["segment 14 (DTP): loop 2100C: DTP03 is not a CCYYMMDD date"]),
    ("NM1*IL*1*DOE*JANE****MI*M123~REF", "REF", [
        "segment 11 (REF): loop 2000C: required loop 2100C (NM1) is missing",
        "segment 11 (REF): loop 2000C: REF is not allowed here (005010X279A1 segment order)"]),
    ("NM1*PR*2", "NM1*ZZ*2", ["segment 6 (NM1): loop 2100A: NM101 is not a code this loop allows"]),
    ("DTP*291*D8*20250301~", "DTP*291*D8*20250301~" * 3, [
        "segment 16 (DTP): loop 2100C: DTP is used more than 2 times"]),
    ("EQ*30~", "EQ*30~DMG*D8*19800501*F~", ["segment 16 (DMG): loop 2110C: DMG is not allowed here "
                                            "(005010X279A1 segment order)"]),
    ("BHT*0022*13", "BHT*0022*11", ["segment 4 (BHT): loop header: BHT02 must be 13"]),
])
def test_270_checks_name_loop_and_segment(find: str, replace: str, found: list[str]) -> None:
    assert find in GOOD_270
    assert [str(i) for i in check_270(GOOD_270.replace(find, replace, 1))] == found


@pytest.mark.parametrize(("find", "replace", "found"), [
    ("EB*1*", "EB*Z*", ["segment 15 (EB): loop 2110C: EB01 is not a code this loop allows"]),
    ("EB*C*IND*30***29", "EB*C*IND*30***99", ["segment 16 (EB): loop 2110C: EB06 is not a code this loop allows"]),
    ("LS*2120~", "", ["segment 23 (NM1): loop 2110C: NM1 is not allowed here (005010X279A1 segment order)"]),
    ("LE*2120~", "", ["segment 24 (NM1): loop 2120C LS/LE: required segment LE is missing"]),
    ("NM1*PRP", "NM1*QQQ", ["segment 24 (NM1): loop 2120C: NM101 is not a code this loop allows"]),
    ("TRN*2*ENC1*9123456789~", "", ["segment 9 (HL): loop 2000C: the patient's level has no TRN*2 trace number"]),
    ("AAA*N**75*C", "AAA*X**75*C", ["segment 33 (AAA): loop 2100D: AAA01 is not a code this loop allows",
                                    "segment 30 (HL): loop 2000D: the patient's level has no EB (loop 2110D)"]),
    ("MSG*AFTER DEDUCTIBLE~", "MSG*A~" * 11, ["segment 28 (MSG): loop 2110C: MSG is used more than 10 times"]),
    ("DTP*346*D8*20250101", "DTP*346*D8*20250132", ["segment 14 (DTP): loop 2100C: DTP03 is not a CCYYMMDD date"]),
])
def test_271_checks_name_loop_and_segment(find: str, replace: str, found: list[str]) -> None:
    assert find in GOOD_271
    assert [str(i) for i in check_271(GOOD_271.replace(find, replace, 1))] == found


def test_validate_runs_the_checks_and_cli_skips_pyx12_for_x279(tmp_path: Path) -> None:
    broken = tmp_path / "broken.270"
    broken.write_text(GOOD_270.replace("EQ*30~", "EQ*30~DMG*D8*19800501*F~", 1).replace("SE*25*", "SE*26*"))
    result = runner.invoke(app, ["validate", str(broken), "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [(i["position"], i["segment_id"], i["source"]) for i in doc["issues"]] == [(16, "DMG", "revcycle")]
    good = tmp_path / "good.271"
    good.write_text(GOOD_271)
    assert runner.invoke(app, ["validate", str(good)]).exit_code == 0
    parsed = json.loads(runner.invoke(app, ["parse", str(good), "--json"]).stdout)
    assert parsed["transaction"] == "271" and parsed["findings"] == []
    first, second = parsed["responses"]
    assert (first["trace_number"], first["active"], first["plan_begin"]) == ("ENC1", True, "2025-01-01")
    assert [(b["code"], b["time_period"], b["amount"], b["percent"]) for b in first["benefits"][1:3]] == [
        ("C", "29", "350", None), ("A", "", None, "0.2")]
    assert first["benefits"][-1]["benefit_entity"] == {"role": "PRP", "entity_type": "2", "name": "MEDICARE PART B",
                                                       "id_qualifier": "PI", "id": "MCB01"}
    assert (second["rejected"], second["rejections"]) == (True, [
        {"loop": "2100D", "valid": False, "reason_code": "75", "follow_up": "C"}])
    request = tmp_path / "good.270"
    request.write_text(GOOD_270)
    inquiries = json.loads(runner.invoke(app, ["parse", str(request), "--json"]).stdout)["inquiries"]
    assert [(i["trace_number"], i["service_types"], i["dependent"] and i["dependent"]["relationship"])
            for i in inquiries] == [("ENC1", ["30"], None), ("ENC2", ["30"], "19")]
