"""How the simulated payers price institutional (837I) claims, per payer ``sandbox: institutional:``
in payers.yaml. Pure: the 835 assembly, cost sharing and denials are ``sandbox.adjudication``'s.

The method follows the type of bill (CLM05-1, the claim's first two digits):

Inpatient (``schemas.common.is_inpatient_bill``: 11x hospital inpatient, 12x inpatient Part B, 18x
swing bed, 2xx skilled nursing inpatient, ...),
answered at claim level (claim CAS, MIA, no SVC lines, as payers may answer inpatient claims):

    covered days = statement_through - statement_from, at least 1               MIA01
    case amount  = drg_base_rate x weight of the MS-DRG the principal diagnosis  MIA04, CLP11, CLP12
                   groups to (``sandbox/data/ms_drg_sample.csv``: longest ICD-10-CM prefix,
                   fallback DRG 951), or without drg_base_rate, per_diem x covered days
    outlier      = outlier_percent% x (charge - case amount - outlier_threshold),  MIA02
                   when positive (no outlier without outlier_threshold)
    allowed      = min(charge, case amount + outlier)
    CO-45 = charge - allowed; PR-1, PR-2 and CO-253 as on a professional line (no copay)
    CO-18 = the whole charge when the payer already paid the member's stay (type of bill and
            statement start)

Outpatient (every other type of bill: 13x, 14x, 85x, 7x, ...), per line like a professional
claim (the same denials, CO-45, PR-1, PR-2, PR-3 and CO-253; duplicates only among HCPCS
lines), with:

    allowed = outpatient_percent% x line charge                                 AMT*B6
    MOA01   = outpatient_percent / 100 (the reimbursement rate)

SVC01 is HC:<HCPCS>:<modifiers> with SVC04 = the revenue code when the line has a HCPCS code,
else NU:<revenue code>. A claim whose method the payer's section does not give (no
drg_base_rate or per_diem for inpatient, no outpatient_percent for outpatient) is denied CO-96.

Remark codes: MIA05 / MOA03 carry the appeal-rights alert every paid or denied claim gets,
RARC MA01 for a Medicare claim (CLP06 MA, MB) and N1 for any other payer.

All amounts are rounded to cents, half up (``money``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from edi.x835 import InpatientAdjudication, OutpatientAdjudication
from edi.x837i import Claim
from sandbox.payers import InstitutionalTerms, money
from schemas.common import is_inpatient_bill

DRG_TABLE = Path(__file__).resolve().parent / "data" / "ms_drg_sample.csv"
MEDICARE_FILING = frozenset({"MA", "MB"})  # CLP06
MIA_OUTLIER = 2  # MIA02: PPS operating outlier amount
MIA_DRG_AMOUNT = 4  # MIA04: claim DRG amount
HUNDRED = Decimal(100)
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Drg:
    prefix: str  # ICD-10-CM prefix of the principal diagnosis, "*" for the fallback
    code: str  # MS-DRG, CLP11
    weight: Decimal  # relative weight, CLP12
    title: str


@dataclass(frozen=True, kw_only=True)
class InpatientPrice:
    covered_days: Decimal
    case_amount: Decimal
    outlier: Decimal
    allowed: Decimal
    drg: Drg | None  # None: per diem


def is_inpatient(claim: Claim) -> bool:
    return is_inpatient_bill(claim.type_of_bill)


@cache
def drg_table(path: Path = DRG_TABLE) -> tuple[Drg, ...]:
    """The sample table, longest prefix first; the fallback ("*") last."""
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    rows = [Drg(r["prefix"].strip(), r["ms_drg"].strip(), Decimal(r["weight"].strip()), r["title"].strip())
            for r in csv.DictReader(lines)]
    if sum(1 for r in rows if r.prefix == "*") != 1:
        raise ValueError(f"{path.name} needs exactly one fallback row (prefix *)")
    return tuple(sorted(rows, key=lambda r: (r.prefix == "*", -len(r.prefix), r.prefix)))


def group(principal_diagnosis: str) -> Drg:
    """The MS-DRG of a principal diagnosis (with or without its dot)."""
    code = principal_diagnosis.replace(".", "").upper()
    return next(r for r in drg_table() if r.prefix == "*" or code.startswith(r.prefix))


def covered_days(claim: Claim) -> Decimal:
    return Decimal(max(1, (claim.statement_through - claim.statement_from).days))


def price_inpatient(claim: Claim, terms: InstitutionalTerms) -> InpatientPrice | None:
    """The allowed amount of an inpatient claim; None when the payer has no inpatient method."""
    days = covered_days(claim)
    drg: Drg | None = None
    if terms.drg_base_rate is not None:
        drg = group(claim.principal_diagnosis.code)
        case = money(terms.drg_base_rate * drg.weight)
    elif terms.per_diem is not None:
        case = money(terms.per_diem * days)
    else:
        return None
    outlier = ZERO
    if terms.outlier_threshold is not None:
        excess = claim.charge - case - terms.outlier_threshold
        outlier = money(max(excess, ZERO) * terms.outlier_percent / HUNDRED)
    return InpatientPrice(covered_days=days, case_amount=case, outlier=outlier,
                          allowed=min(claim.charge, case + outlier), drg=drg)


def outpatient_allowed(charge: Decimal, terms: InstitutionalTerms) -> Decimal | None:
    """The allowed amount of one outpatient line; None when the payer has no outpatient method."""
    if terms.outpatient_percent is None:
        return None
    return money(charge * terms.outpatient_percent / HUNDRED)


def appeal_remark(filing_indicator: str) -> str:
    """MA01 (Medicare's appeal-rights alert) or N1 (any payer's) for CLP06."""
    return "MA01" if filing_indicator in MEDICARE_FILING else "N1"


def mia(price: InpatientPrice | None, days: Decimal, remark: str) -> InpatientAdjudication:
    values: list[tuple[int, Decimal]] = []
    if price is not None and price.outlier > ZERO:
        values.append((MIA_OUTLIER, price.outlier))
    if price is not None and price.drg is not None:
        values.append((MIA_DRG_AMOUNT, price.case_amount))
    return InpatientAdjudication(covered_days=days, remark_codes=(remark,), values=tuple(values))


def moa(terms: InstitutionalTerms, remark: str) -> OutpatientAdjudication:
    rate = None if terms.outpatient_percent is None else terms.outpatient_percent / HUNDRED
    return OutpatientAdjudication(reimbursement_rate=rate, remark_codes=(remark,))
