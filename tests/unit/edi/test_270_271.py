"""270/271 (005010X279A1) writers and readers: exact segments, write-then-read round trips."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edi.x12 import X12EnvelopeError, X12Error, X12SyntaxError
from edi.x270 import Gender, Inquiry, Person, read_270, render_270
from edi.x271 import (
    BenefitDate,
    BenefitEntity,
    BenefitInfo,
    EligibilityResponse,
    Rejection,
    read_271,
    render_271,
)
from tests.unit.edi.remit_support import CUSTOM, ROUND_TRIPS, dates, ids, names, params

D = Decimal
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
                authorization_required=False),
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
        "MSG*AFTER DEDUCTIBLE", "EB*B*IND*98***27*25****N", "EB*G*IND*30***29*2150.5",
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
