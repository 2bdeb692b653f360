"""Helpers for the 835, 999, 277CA and balancing tests: hand-built text, sample models and
hypothesis strategies that stay inside what the implementation guides (and pyx12) allow."""

from __future__ import annotations

import string
from collections import Counter
from datetime import date, datetime
from decimal import Decimal

from hypothesis import strategies as st

from edi.issues import X12Issue
from edi.validate import pyx12_validate
from edi.x12 import DEFAULT_DELIMITERS, Delimiters, EnvelopeParams, write_interchange
from edi.x835 import (
    Address,
    Adjustment,
    AdjustmentGroup,
    Amount,
    BankDetails,
    ClaimPayment,
    ClaimStatus,
    Contact,
    EntityName,
    HandlingCode,
    HeaderNumber,
    InpatientAdjudication,
    OutpatientAdjudication,
    Payee,
    Payer,
    PaymentMethod,
    Procedure,
    ProviderAdjustment,
    Quantity,
    Reference,
    Remark,
    RemittanceTransaction,
    ServiceLine,
)

D = Decimal
# Files our 835/999/277CA writers produced and pyx12 checked, and write-then-read round trips,
# per transaction type (the lead's report counts them; see pytest_terminal_summary in conftest).
PYX12_FILES: Counter[str] = Counter()
PYX12_CLEAN: Counter[str] = Counter()
ROUND_TRIPS: Counter[str] = Counter()


def pyx12_checked(text: str, kind: str) -> list[X12Issue]:
    issues = pyx12_validate(text)
    PYX12_FILES[kind] += 1
    if not issues:
        PYX12_CLEAN[kind] += 1
    return issues


CUSTOM = Delimiters(element="|", repetition="!", component=">", segment="'")


def params(delimiters: Delimiters = DEFAULT_DELIMITERS, icn: int = 101) -> EnvelopeParams:
    return EnvelopeParams(sender_id="ACMEPAYER", receiver_id="SUNRISE", interchange_control_number=icn,
                          group_control_number=7, created=datetime(2025, 2, 1, 9, 15), delimiters=delimiters)


def _spec(raw: str) -> list[str | list[str]]:
    parts = raw.strip().split("*")
    return [parts[0], *[p.split(":") if ":" in p else p for p in parts[1:]]]


def interchange(functional_id: str, implementation: str, *bodies: str, delimiters: Delimiters = DEFAULT_DELIMITERS,
                crlf: bool = False, st03: bool = True) -> str:
    """Wrap hand-written bodies (default delimiters, '~' between segments, no ST/SE) in an
    envelope, re-emitting them with ``delimiters``; ``crlf`` puts CR LF after each terminator."""
    specs = [[_spec(s) for s in body.split("~") if s.strip()] for body in bodies]
    text = write_interchange(params(delimiters), functional_id, implementation, specs, st03=st03)
    if crlf:
        text = text.replace(delimiters.segment, delimiters.segment + "\r\n")
    return text


def wrap_835(*bodies: str, **kw: object) -> str:
    return interchange("HP", "005010X221A1", *bodies, st03=False, **kw)  # type: ignore[arg-type]


HEADER_835 = """
TRN*1*TRACE0001*1999999999~
DTM*405*20250131~
N1*PR*ACME HEALTH~
N3*1 MAIN ST~
N4*SPRINGFIELD*IL*62701~
REF*2U*ACME01~
PER*BL*EDI DESK*TE*8005551212~
N1*PE*SUNRISE CLINIC*XX*1234567893~
REF*TJ*123456789~
"""


def body_835(claims: str, total: str, *, plb: str = "", handling: str = "C", method: str = "CHK",
             trace: str = "TRACE0001") -> str:
    header = HEADER_835.replace("TRACE0001", trace)
    return f"BPR*{handling}*{total}*C*{method}************20250201~{header}LX*1~{claims}{plb}"


PATIENT = "NM1*QC*1*DOE*JANE****MI*W123456789~"


# --- sample models ----------------------------------------------------------------------------


def adj(group: str, reason: str, amount: str, quantity: str | None = None) -> Adjustment:
    return Adjustment(AdjustmentGroup(group), reason, D(amount), D(quantity) if quantity else None)


def line(charge: str, paid: str, *adjustments: Adjustment, code: str = "99213", **kw: object) -> ServiceLine:
    return ServiceLine(procedure=Procedure(qualifier="HC", code=code), charge=D(charge), paid=D(paid),
                       adjustments=adjustments, **kw)  # type: ignore[arg-type]


def claim(charge: str, paid: str, *lines: ServiceLine, adjustments: tuple[Adjustment, ...] = (),
          status: ClaimStatus = ClaimStatus.PROCESSED_AS_PRIMARY, pcn: str = "C0001", **kw: object) -> ClaimPayment:
    return ClaimPayment(patient_control_number=pcn, status=status, charge=D(charge), paid=D(paid),
                        filing_indicator="12", payer_claim_control_number="P" + pcn, adjustments=adjustments,
                        patient=EntityName(entity="QC", last_name="DOE", first_name="JANE", id_qualifier="MI",
                                           id="W123456789"),
                        service_lines=lines, **kw)  # type: ignore[arg-type]


PAYER = Payer(name="ACME HEALTH", address=Address(line1="1 MAIN ST", city="SPRINGFIELD", state="IL",
                                                   postal_code="62701"),
              references=(Reference("2U", "ACME01"),), contacts=(Contact("BL", "EDI DESK", (("TE", "8005551212"),)),))
PAYEE = Payee(name="SUNRISE CLINIC", id_qualifier="XX", id="1234567893", references=(Reference("TJ", "123456789"),))


def remittance(total: str, *claims: ClaimPayment, plb: tuple[ProviderAdjustment, ...] = ()) -> RemittanceTransaction:
    return RemittanceTransaction(
        handling_code=HandlingCode.PAYMENT_WITH_REMITTANCE, total_payment=D(total),
        payment_method=PaymentMethod.CHK, payment_date=date(2025, 2, 1), trace_number="TRACE0001",
        trace_payer_id="1999999999", payer=PAYER, payee=PAYEE,
        header_numbers=(HeaderNumber(1, claims),) if claims else (), provider_adjustments=plb,
    )


def plb(reason: str, amount: str, reference: str = "") -> ProviderAdjustment:
    return ProviderAdjustment(provider_id="1234567893", fiscal_period_date=date(2025, 12, 31), reason=reason,
                              reference=reference, amount=D(amount))


# --- strategies ----------------------------------------------------------------------------------

_NAME = string.ascii_uppercase + string.digits + " &'-."
names = st.text(_NAME, min_size=1, max_size=30).map(lambda s: " ".join(s.split())).filter(lambda s: len(s) >= 2)
ids = st.from_regex(r"[A-Z0-9]{2,20}", fullmatch=True)
dates = st.dates(min_value=date(2020, 1, 1), max_value=date(2027, 12, 31))
cents = st.integers(-2_000_000, 2_000_000).map(lambda c: D(c) / 100)
positive_cents = st.integers(0, 2_000_000).map(lambda c: D(c) / 100)
quantities = st.integers(1, 9999).map(lambda q: D(q) / 10)
carcs = st.sampled_from(["1", "2", "3", "45", "97", "253", "16", "50", "B7", "23"])
groups = st.sampled_from(list(AdjustmentGroup))


@st.composite
def adjustment_runs(draw: st.DrawFn, max_groups: int = 3) -> tuple[Adjustment, ...]:
    """Adjustments grouped by group code, as a payer writes them (one CAS per group)."""
    chosen = draw(st.lists(groups, max_size=max_groups, unique=True))
    out: list[Adjustment] = []
    for group in chosen:
        for _ in range(draw(st.integers(1, 8))):  # more than 6 forces a second CAS of the group
            out.append(Adjustment(group, draw(carcs), draw(cents), draw(st.none() | quantities)))
    return tuple(out)


@st.composite
def procedures(draw: st.DrawFn, with_description: bool = False) -> Procedure:
    return Procedure(
        qualifier=draw(st.sampled_from(["HC", "AD", "NU", "N4"])),
        code=draw(st.from_regex(r"[0-9A-Z]{4,11}", fullmatch=True)),
        modifiers=tuple(draw(st.lists(st.sampled_from(["25", "59", "GP", "XS", "QW", "76"]), max_size=4))),
        description=draw(st.sampled_from(["", "OFFICE VISIT"])) if with_description else "",
    )


@st.composite
def service_lines(draw: st.DrawFn) -> ServiceLine:
    adjustments = draw(adjustment_runs())
    charge = draw(positive_cents)
    paid = charge - sum((a.amount for a in adjustments), D(0))  # balanced by construction
    start = draw(dates)
    ranged = draw(st.booleans())
    return ServiceLine(
        procedure=draw(procedures()), charge=charge, paid=paid,
        revenue_code=draw(st.sampled_from(["", "0450"])),
        units_paid=draw(st.none() | quantities),
        original_procedure=draw(st.none() | procedures(with_description=True)),
        original_units=draw(st.none() | quantities),
        service_date=None if ranged else start,
        service_start=start if ranged else None,
        service_end=draw(dates) if ranged else None,
        adjustments=adjustments,
        line_control_number=draw(st.sampled_from(["", "L1", "LINE-0002"])),
        references=tuple(draw(st.lists(st.builds(Reference, st.sampled_from(["1S", "APC", "LU", "0K"]), ids),
                                       max_size=2))),
        amounts=tuple(draw(st.lists(st.builds(Amount, st.sampled_from(["B6", "KH", "T"]), cents), max_size=2))),
        quantities=tuple(draw(st.lists(st.builds(Quantity, st.sampled_from(["ZK", "ZL"]), quantities), max_size=1))),
        remarks=tuple(draw(st.lists(st.builds(Remark, st.sampled_from(["HE", "RX"]),
                                              st.sampled_from(["N130", "M15", "MA01"])), max_size=3))),
    )


def _names(draw: st.DrawFn, entity: str, entity_type: str, qualifiers: list[str]) -> EntityName:
    person = entity_type == "1"
    return EntityName(entity=entity, entity_type=entity_type, last_name=draw(names),
                      first_name=draw(names) if person and draw(st.booleans()) else "",
                      middle_name="A" if person and draw(st.booleans()) else "",
                      suffix="JR" if person and draw(st.booleans()) else "",
                      id_qualifier=draw(st.sampled_from(qualifiers)), id=draw(ids))


@st.composite
def claims(draw: st.DrawFn) -> ClaimPayment:
    lines = tuple(draw(st.lists(service_lines(), max_size=3)))
    adjustments = draw(adjustment_runs(max_groups=2))
    charge = sum((ln.charge for ln in lines), D(0)) if lines else draw(positive_cents)
    paid = charge - sum((a.amount for a in adjustments), D(0)) - sum(
        (a.amount for ln in lines for a in ln.adjustments), D(0))
    status = draw(st.sampled_from(list(ClaimStatus)))
    maybe = st.booleans()
    return ClaimPayment(
        patient_control_number=draw(ids), status=status, charge=charge, paid=paid,
        patient_responsibility=draw(st.none() | positive_cents),
        filing_indicator=draw(st.sampled_from(["12", "MB", "MC", "HM", "16", "ZZ"])),
        payer_claim_control_number=draw(ids),
        facility_code=draw(st.sampled_from(["", "11", "22"])), frequency_code=draw(st.sampled_from(["", "1", "7"])),
        adjustments=adjustments,
        patient=_names(draw, "QC", "1", ["MI", "HN", "34", "II", "MR"]),
        insured=_names(draw, "IL", "1", ["MI", "II"]) if draw(maybe) else None,
        rendering_provider=_names(draw, "82", "1", ["XX"]) if draw(maybe) else None,
        crossover_carrier=_names(draw, "TT", "2", ["PI", "XV"]) if draw(maybe) else None,
        corrected_priority_payer=_names(draw, "PR", "2", ["PI"]) if draw(maybe) else None,
        inpatient=InpatientAdjudication(covered_days=draw(quantities), remark_codes=("MA01",),
                                        values=((4, draw(cents)), (24, draw(cents))))
        if draw(maybe) else None,
        outpatient=OutpatientAdjudication(reimbursement_rate=D("0.8"), hcpcs_payable=draw(cents),
                                          remark_codes=tuple(draw(st.lists(st.sampled_from(["MA01", "MA18", "N130"]),
                                                                           max_size=5))))
        if draw(maybe) else None,
        statement_from=draw(st.none() | dates), statement_to=draw(st.none() | dates),
        coverage_expiration=draw(st.none() | dates), received=draw(st.none() | dates),
        references=tuple(draw(st.lists(st.builds(Reference, st.sampled_from(["1L", "EA", "F8", "CE"]), ids),
                                       max_size=3))),
        amounts=tuple(draw(st.lists(st.builds(Amount, st.sampled_from(["AU", "I", "F5", "D8"]), cents), max_size=3))),
        quantities=tuple(draw(st.lists(st.builds(Quantity, st.sampled_from(["CA", "ZK"]), quantities), max_size=1))),
        service_lines=lines,
    )


@st.composite
def provider_adjustments(draw: st.DrawFn) -> tuple[ProviderAdjustment, ...]:
    provider = draw(st.sampled_from(["1234567893", "1999999984"]))
    fiscal = draw(dates)
    return tuple(
        ProviderAdjustment(provider_id=provider, fiscal_period_date=fiscal,
                           reason=draw(st.sampled_from(["L6", "WO", "FB", "72", "CS", "J1", "IR"])),
                           reference=draw(st.sampled_from(["", "REF1", "CLAIM99"])), amount=draw(cents))
        # At most 6: a second PLB segment is valid per the guide, but pyx12 4.0.0 counts it as a
        # second FOOTER loop; test_835 covers the split without pyx12.
        for _ in range(draw(st.integers(0, 6)))
    )


@st.composite
def remittances(draw: st.DrawFn) -> RemittanceTransaction:
    headers = tuple(HeaderNumber(n, tuple(draw(st.lists(claims(), min_size=1, max_size=2))))
                    for n in range(1, draw(st.integers(0, 2)) + 1))
    plbs = draw(provider_adjustments())
    paid = sum((c.paid for h in headers for c in h.claims), D(0))
    total = paid - sum((p.amount for p in plbs), D(0))
    bank = BankDetails(sender_dfi_qualifier="01", sender_dfi_id="999999992", sender_account_qualifier="DA",
                       sender_account="123456", originating_company_id="1999999999",
                       receiver_dfi_qualifier="01", receiver_dfi_id="888888885", receiver_account_qualifier="DA",
                       receiver_account="98765")
    return RemittanceTransaction(
        handling_code=draw(st.sampled_from(list(HandlingCode))), total_payment=total,
        credit_debit=draw(st.sampled_from(["C", "D"])), payment_method=draw(st.sampled_from(list(PaymentMethod))),
        payment_format=draw(st.sampled_from(["", "CCP"])), bank=draw(st.none() | st.just(bank)),
        payment_date=draw(dates), trace_number=draw(ids),
        trace_payer_id="1" + draw(st.from_regex(r"[0-9]{9}", fullmatch=True)),
        trace_supplemental=draw(st.sampled_from(["", "SUPP1"])), currency=draw(st.sampled_from(["", "USD"])),
        receiver_id=draw(st.sampled_from(["", "RCV1"])), version_id=draw(st.sampled_from(["", "V2"])),
        production_date=draw(st.none() | dates),
        payer=Payer(name=draw(names), address=Address(line1=draw(names), line2=draw(st.sampled_from(["", "STE 2"])),
                                                      city=draw(names), state="IL", postal_code="627011234"),
                    **draw(st.sampled_from([{}, {"id_qualifier": "XV", "id": "PLANID0001"}])),
                    references=tuple(draw(st.lists(st.builds(Reference, st.sampled_from(["2U", "EO", "NF"]), ids),
                                                   max_size=2))),
                    contacts=(Contact("CX", "CLAIMS", (("TE", "8005550000"),)),
                              Contact("BL", draw(names), (("TE", "8005551212"), ("EM", "EDI@ACME.COM"))))
                    if draw(st.booleans()) else (Contact("BL", "", (("UR", "WWW.ACME.COM"),)),)),
        payee=Payee(name=draw(names), id_qualifier=draw(st.sampled_from(["XX", "FI"])), id=draw(ids),
                    address=draw(st.none() | st.builds(Address, line1=names, city=names, state=st.just("CA"),
                                                       postal_code=st.just("90210"))),
                    references=tuple(draw(st.lists(st.builds(Reference, st.sampled_from(["TJ", "PQ"]), ids),
                                                   max_size=1)))),
        header_numbers=headers, provider_adjustments=plbs,
    )
