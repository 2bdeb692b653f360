"""Posting rules for one 835 claim payment and the PLB lines: pure, Decimal, no I/O.

A matched claim payment posts its cash as one balanced journal, payer_cash +CLP04 against the
encounter's insurance_receivable (`cash_rows`), and what its CAS say, sorted by how each posts
(`amounts_of`: contractual, denied, other, CARC 23 prior payer, patient responsibility by kind),
which the encounter's books (domain/books.py) turn into the other accounts. How a CAS posts:
contractual_writeoff (CO-45, CO-253, CO-24, ...), denied_open (CO/OA/PI denial CARCs, kept open),
patient_deductible / patient_coinsurance / patient_copay / patient_other (PR-1/2/3/other),
other_adjustment (OA informational).
An unmatched claim posts payer_cash +CLP04 against unmatched_suspense; when its submission arrives
later, that journal is reversed exactly (release_rows) and the claim posts as above. A PLB adjustment posts
payer_cash -amount against plb_interest / plb_recoupment / plb_forward_balance / plb_other.
So the payer_cash of one transaction set always equals BPR02 = sum(CLP04) - sum(PLB).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from edi.x835 import Adjustment, AdjustmentGroup, ClaimPayment, ClaimStatus, ProviderAdjustment, ServiceLine
from schemas.remits import DenialCategory, RecommendedAction
from services.remits.domain import codes

ZERO = Decimal("0.00")
CENT = Decimal("0.01")

PAYER_CASH = "payer_cash"
INSURANCE_RECEIVABLE = "insurance_receivable"
CONTRACTUAL = "contractual_writeoff"
DENIED = "denied_open"
OTHER_ADJUSTMENT = "other_adjustment"
SUSPENSE = "unmatched_suspense"
PATIENT_ACCOUNTS = {"1": "patient_deductible", "2": "patient_coinsurance", "3": "patient_copay"}
PATIENT_OTHER = "patient_other"
PLB_ACCOUNTS = {"L6": "plb_interest", "WO": "plb_recoupment", "72": "plb_recoupment", "FB": "plb_forward_balance"}
PLB_OTHER = "plb_other"
RECOUPMENTS = frozenset({"WO", "72"})
"""PLB reasons that take back part of an earlier claim payment (they reopen the claim's books)."""

FORWARDED = frozenset({"19", "20", "21"})
PRIOR_PAYER_CARC = "23"
"""The impact of the prior payers' adjudication: a later payer restating what they did."""
SHARE_OF_COST_CARC = "178"
"""Spend-down not met: the Medi-Cal share of cost the patient owes before Medi-Cal pays."""
_RANK_BY_STATUS = {"1": 1, "19": 1, "2": 2, "20": 2, "3": 3, "21": 3}


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


@dataclass(frozen=True)
class LedgerRow:
    account: str
    amount: Decimal
    code: str = ""
    line_control_number: str | None = None
    payer_rank: int | None = None
    payer_id: str | None = None
    """The payer the row is about when it is not the journal's own (the books' rows)."""


@dataclass(frozen=True)
class ExpectedLine:
    """A submitted line as the ClaimSubmitted projection holds it."""

    line_control_number: str
    charge_id: str
    procedure_code: str | None
    """None on an institutional line billed by revenue code alone (room and board)."""
    service_date: date
    charge: Decimal
    expected_allowed: Decimal | None = None
    description: str | None = None
    revenue_code: str | None = None
    summed_charge_ids: tuple[str, ...] = ()
    """The other charges an institutional revenue-code line sums: its amounts post to `charge_id`."""


@dataclass(frozen=True)
class Share:
    deductible: Decimal = ZERO
    coinsurance: Decimal = ZERO
    copay: Decimal = ZERO
    other: Decimal = ZERO

    def total(self) -> Decimal:
        return self.deductible + self.coinsurance + self.copay + self.other

    def __add__(self, o: Share) -> Share:
        return Share(self.deductible + o.deductible, self.coinsurance + o.coinsurance, self.copay + o.copay,
                     self.other + o.other)

    def negated(self) -> Share:
        return Share(-self.deductible, -self.coinsurance, -self.copay, -self.other)


@dataclass(frozen=True)
class PostedAmounts:
    """What one 835 claim payment says, sorted by how it posts (a reversal carries negated amounts)."""

    charge: Decimal
    paid: Decimal
    contractual: Decimal = ZERO
    denied: Decimal = ZERO
    other: Decimal = ZERO
    """OA/PI informational adjustments other than CARC 23."""
    prior_payer: Decimal = ZERO
    """CARC 23 (any group but PR): the earlier payers' adjudication, restated."""
    share: Share = field(default_factory=Share)
    share_of_cost: Decimal = ZERO
    """The part of share.other the payer assigned as Medi-Cal share of cost (PR-178)."""

    def __add__(self, o: PostedAmounts) -> PostedAmounts:
        return PostedAmounts(self.charge + o.charge, self.paid + o.paid, self.contractual + o.contractual,
                             self.denied + o.denied, self.other + o.other, self.prior_payer + o.prior_payer,
                             self.share + o.share, self.share_of_cost + o.share_of_cost)

    def negated(self) -> PostedAmounts:
        return PostedAmounts(-self.charge, -self.paid, -self.contractual, -self.denied, -self.other,
                             -self.prior_payer, self.share.negated(), -self.share_of_cost)


def share_of(adjustments: Iterable[Adjustment]) -> Share:
    d = c = p = o = ZERO
    for a in adjustments:
        if a.group.value != "PR":
            continue
        if a.reason == "1":
            d += a.amount
        elif a.reason == "2":
            c += a.amount
        elif a.reason == "3":
            p += a.amount
        else:
            o += a.amount
    return Share(money(d), money(c), money(p), money(o))


def account_for(adjustment: Adjustment) -> str:
    kind = codes.treatment(adjustment.group.value, adjustment.reason)
    if kind == "patient":
        return PATIENT_ACCOUNTS.get(adjustment.reason, PATIENT_OTHER)
    if kind == "contractual":
        return CONTRACTUAL
    if kind == "other":
        return OTHER_ADJUSTMENT
    return DENIED


def is_denial(adjustment: Adjustment) -> bool:
    return account_for(adjustment) == DENIED


def cash_rows(paid: Decimal, rank: int) -> list[LedgerRow]:
    """The journal of a matched claim payment: the payer's cash against the encounter's receivable
    (the books then restate the receivable into what the payer's CAS say); none when it paid nothing."""
    if money(paid) == 0:
        return []
    return [LedgerRow(PAYER_CASH, money(paid), payer_rank=rank),
            LedgerRow(INSURANCE_RECEIVABLE, money(-paid), payer_rank=rank)]


def amounts_of(claim: ClaimPayment) -> PostedAmounts:
    """What the claim payment says (claim and line CAS), sorted by how each adjustment posts."""
    contractual = denied = other = prior = soc = ZERO
    adjustments = claim.all_adjustments
    for a in adjustments:
        if a.group.value == "PR":
            if a.reason == SHARE_OF_COST_CARC:
                soc += a.amount
            continue
        if a.reason == PRIOR_PAYER_CARC:
            prior += a.amount
            continue
        account = account_for(a)
        if account == CONTRACTUAL:
            contractual += a.amount
        elif account == OTHER_ADJUSTMENT:
            other += a.amount
        else:
            denied += a.amount
    return PostedAmounts(money(claim.charge), money(claim.paid), money(contractual), money(denied), money(other),
                         money(prior), share_of(adjustments), money(soc))


def unmatched_rows(claim: ClaimPayment) -> list[LedgerRow]:
    return [LedgerRow(PAYER_CASH, money(claim.paid)), LedgerRow(SUSPENSE, money(-claim.paid))]


def release_rows(held: Sequence[LedgerRow], claim: ClaimPayment) -> list[LedgerRow] | None:
    """Out of suspense for a late match: the exact reverse of the suspense journal, provided it is
    this claim payment's (payer_cash +CLP04 against unmatched_suspense); None when it is not."""
    if list(held) != unmatched_rows(claim):
        return None
    return reversed_rows(held)


def reversed_rows(rows: Sequence[LedgerRow]) -> list[LedgerRow]:
    """The exact reverse of an earlier posting."""
    return [LedgerRow(r.account, -r.amount, r.code, r.line_control_number) for r in rows]


def plb_account(reason: str) -> str:
    return PLB_ACCOUNTS.get(reason, PLB_OTHER)


def plb_rows(adjustment: ProviderAdjustment, rank: int | None = None, amount: Decimal | None = None) -> list[
        LedgerRow]:
    """Payer cash less the adjustment (or `amount` of it); `rank`: the recouping payer's rank, when
    it takes back a payment on a claim of ours."""
    value = money(adjustment.amount if amount is None else amount)
    return [LedgerRow(PAYER_CASH, -value, adjustment.reason, payer_rank=rank),
            LedgerRow(plb_account(adjustment.reason), value, adjustment.reason, payer_rank=rank)]


def recoverable(amount: Decimal, paid_on_claim: Decimal) -> Decimal:
    """How much of a recoupment takes back a payment on the claim it names: never more than the payer
    still has paid on it (the rest is not about that claim: a PLB of the remittance only)."""
    return max(min(money(amount), money(paid_on_claim)), ZERO)


def balanced(rows: Iterable[LedgerRow]) -> bool:
    return sum((r.amount for r in rows), ZERO) == ZERO


def rank_for(status: str, submitted_rank: int, *, payer_id: str | None = None, submitted_payer_id: str | None = None,
             next_payer_id: str | None = None, next_payer_rank: int | None = None) -> int:
    """Which payer in coverage order adjudicated.

    CLP02 1/2/3/19/20/21 say it. Any other status (4 denied, 25 predetermination) does not: then
    the remittance's payer does. When that payer is the submission's next payer (a crossover: the
    primary forwarded the claim and the secondary answers under the primary's CLP01) and not the
    payer the claim was sent to, the next payer's rank; otherwise the submission's rank."""
    by_status = _RANK_BY_STATUS.get(status)
    if by_status is not None:
        return by_status
    if (next_payer_rank is not None and payer_id is not None and next_payer_id is not None
            and payer_id == next_payer_id and payer_id != submitted_payer_id):
        return next_payer_rank
    return submitted_rank


# --------------------------------------------------------------------------- institutional specifics

MIA_OUTLIER = 2
"""MIA02: the PPS operating outlier amount."""
MIA_DRG_AMOUNT = 4
"""MIA04: the claim DRG amount."""


@dataclass(frozen=True)
class Facility:
    """What an institutional 835 says of a claim besides its money: the DRG it paid by (CLP11, CLP12),
    the inpatient adjudication (MIA: covered days, DRG and outlier amounts) or the outpatient one
    (MOA: reimbursement rate, HCPCS payable), and their remark codes."""

    drg_code: str | None = None
    drg_weight: Decimal | None = None
    covered_days: Decimal | None = None
    drg_amount: Decimal | None = None
    outlier_amount: Decimal | None = None
    reimbursement_rate: Decimal | None = None
    hcpcs_payable: Decimal | None = None
    remark_codes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, str | list[str] | None]:
        """Amounts and factors as decimal strings (what the postings' `facility` column keeps)."""
        return {"drg_code": self.drg_code, "remark_codes": list(self.remark_codes), **{
            name: None if value is None else str(value) for name, value in (
                ("drg_weight", self.drg_weight), ("covered_days", self.covered_days),
                ("drg_amount", self.drg_amount), ("outlier_amount", self.outlier_amount),
                ("reimbursement_rate", self.reimbursement_rate), ("hcpcs_payable", self.hcpcs_payable))}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Facility:
        def number(name: str) -> Decimal | None:
            value = data.get(name)
            return None if value is None else Decimal(value)

        return cls(data.get("drg_code"), number("drg_weight"), number("covered_days"), number("drg_amount"),
                   number("outlier_amount"), number("reimbursement_rate"), number("hcpcs_payable"),
                   tuple(data.get("remark_codes") or ()))


def facility_of(claim: ClaimPayment) -> Facility | None:
    """The claim payment's institutional specifics; None when it has none (a professional claim)."""
    mia, moa = claim.inpatient, claim.outpatient
    if not claim.drg_code and claim.drg_weight is None and mia is None and moa is None:
        return None
    values = dict(mia.values) if mia is not None else {}
    outlier, drg_amount = values.get(MIA_OUTLIER), values.get(MIA_DRG_AMOUNT)
    return Facility(
        drg_code=claim.drg_code or None, drg_weight=claim.drg_weight,
        covered_days=mia.covered_days if mia is not None else None,
        drg_amount=None if drg_amount is None else money(drg_amount),
        outlier_amount=None if outlier is None else money(outlier),
        reimbursement_rate=moa.reimbursement_rate if moa is not None else None,
        hcpcs_payable=None if moa is None or moa.hcpcs_payable is None else money(moa.hcpcs_payable),
        remark_codes=claim.remark_codes)


# --------------------------------------------------------------------------- lines


def line_allowed(line: ServiceLine) -> Decimal:
    """AMT*B6 when present, else paid + all PR + reductions applied after allowance (CO-253)."""
    for amount in line.amounts:
        if amount.qualifier == "B6":
            return money(amount.amount)
    after = sum((a.amount for a in line.adjustments if a.group.value == "PR" or a.reason == "253"), ZERO)
    return money(line.paid + after)


def match_lines(lines: Sequence[ServiceLine], expected: Sequence[ExpectedLine]) -> list[ExpectedLine | None]:
    """The submitted line of each 835 line: by REF*6R; else an institutional line by its codes
    (`_by_codes`), each submitted line once; else by position when the counts agree."""
    by_lcn = {e.line_control_number: e for e in expected}
    taken: set[str] = set()
    out: list[ExpectedLine | None] = []
    for i, line in enumerate(lines):
        found = by_lcn.get(line.line_control_number) if line.line_control_number else None
        if found is None and not line.line_control_number:
            found = _by_codes(line, [e for e in expected if e.line_control_number not in taken])
            if (found is None and len(lines) == len(expected)
                    and expected[i].line_control_number not in taken):
                found = expected[i]
        if found is not None:
            taken.add(found.line_control_number)
        out.append(found)
    return out


def _by_codes(line: ServiceLine, free: Sequence[ExpectedLine]) -> ExpectedLine | None:
    """An institutional 835 line without REF*6R: NU:<revenue code> is a line billed by that
    revenue code (one without HCPCS first), HC:<code> with SVC04 the line with both codes."""
    if line.procedure.qualifier == "NU":
        same = [e for e in free if e.revenue_code == line.procedure.code]
        return next((e for e in same if e.procedure_code is None), same[0] if same else None)
    if line.revenue_code:
        return next((e for e in free if e.revenue_code == line.revenue_code
                     and e.procedure_code == line.procedure.code), None)
    return None


def line_denied(line: ServiceLine) -> bool:
    return line.paid == 0 and any(is_denial(a) and a.amount != 0 for a in line.adjustments)


# --------------------------------------------------------------------------- denials


DenialScope = Literal["claim", "line"]
"""A whole-claim denial, or single lines denied."""


@dataclass(frozen=True)
class DenialItem:
    line_control_number: str | None
    group: Literal["CO", "PR", "OA", "PI"]
    reason_code: str
    remark_codes: tuple[str, ...]
    amount: Decimal
    category: DenialCategory
    recommended_action: RecommendedAction


def _denial(a: Adjustment, lcn: str | None, remarks: list[str]) -> DenialItem:
    category, action = codes.denial_advice(a.group.value, a.reason, remarks)
    return DenialItem(lcn, a.group.value, a.reason, tuple(remarks), money(a.amount), category, action)


def _claim_remarks(claim: ClaimPayment) -> list[str]:
    out: list[str] = []
    for adj in (claim.outpatient, claim.inpatient):
        if adj is not None:
            out += list(adj.remark_codes)
    return out


def denials(claim: ClaimPayment, expected: Sequence[ExpectedLine]) -> tuple[DenialScope | None, list[DenialItem]]:
    """DOMAIN.md: a whole-claim denial (CLP02 4, or nothing paid and no patient share with a
    non-contractual CARC) or single lines (paid 0 with a denial CARC). Deductible-only is none."""
    status = claim.status.value
    if status in ("22", "23", "25"):
        return None, []
    matched = match_lines(claim.service_lines, expected)
    pr_total = share_of([*claim.adjustments, *(a for ln in claim.service_lines for a in ln.adjustments)]).total()
    claim_remarks = _claim_remarks(claim)

    def lcn_of(i: int) -> str | None:
        line = claim.service_lines[i]
        m = matched[i]
        return line.line_control_number or (m.line_control_number if m else None)

    def line_remarks(line: ServiceLine) -> list[str]:
        return [r.code for r in line.remarks if r.qualifier == "HE"]

    all_denials = [_denial(a, None, claim_remarks) for a in claim.adjustments if is_denial(a) and a.amount != 0]
    for i, line in enumerate(claim.service_lines):
        all_denials += [_denial(a, lcn_of(i), line_remarks(line)) for a in line.adjustments
                        if is_denial(a) and a.amount != 0]
    whole = status == ClaimStatus.DENIED.value or (claim.paid == 0 and pr_total == 0 and bool(all_denials))
    if whole:
        if not all_denials:  # CLP02 4 without a denial CARC: report its largest adjustment
            candidates = [*claim.adjustments, *(a for ln in claim.service_lines for a in ln.adjustments)]
            if not candidates:
                return None, []
            biggest = max(candidates, key=lambda a: abs(a.amount))
            all_denials = [_denial(biggest, None, claim_remarks)]
        return "claim", all_denials
    if not claim.service_lines and expected:
        # Adjudicated without lines: a claim-level denial of part of it is told per line, as its
        # allocation puts it (each part keeps its CARC), like a line denial.
        parts = [_denial(a, al.line.line_control_number, claim_remarks)
                 for al in allocate_claim_level(claim, expected) for a in al.adjustments if is_denial(a)]
        return ("line", parts) if parts else (None, [])
    items: list[DenialItem] = []
    for i, line in enumerate(claim.service_lines):
        lcn = lcn_of(i)
        if line_denied(line) and lcn is not None:
            items += [_denial(a, lcn, line_remarks(line)) for a in line.adjustments if is_denial(a) and a.amount != 0]
    return ("line", items) if items else (None, [])


# --------------------------------------------------------------------------- allowed variance


@dataclass(frozen=True)
class Variance:
    line_control_number: str
    procedure_code: str
    expected_allowed: Decimal
    allowed: Decimal

    @property
    def variance(self) -> Decimal:
        return self.allowed - self.expected_allowed


@dataclass(frozen=True)
class VarianceResult:
    lines: list[Variance] = field(default_factory=list)

    @property
    def total_expected(self) -> Decimal:
        return sum((v.expected_allowed for v in self.lines), ZERO)

    @property
    def total_allowed(self) -> Decimal:
        return sum((v.allowed for v in self.lines), ZERO)

    @property
    def total_variance(self) -> Decimal:
        return self.total_allowed - self.total_expected

    def kind(self, tolerance: Decimal) -> str | None:
        if not self.lines or abs(self.total_variance) <= tolerance:
            return None
        return "under" if self.total_variance < 0 else "over"


def allowed_variance(claim: ClaimPayment, expected: Sequence[ExpectedLine], submitted_rank: int, *,
                     scope: DenialScope | Literal["unknown"] | None = "unknown") -> VarianceResult:
    """Allowed (not paid) against the contract, for the payer the claim was sent to; denied lines,
    reversals and whole-claim denials are left out. Sequestration and patient shares lower the
    payment, not the allowed amount, so they never show here. For a secondary or tertiary payer
    only lines with AMT*B6 are compared. `scope`: the claim's `denials` scope when the caller has it
    (the posting does: worked out once per claim), else worked out here."""
    status = claim.status.value
    if status not in _RANK_BY_STATUS or rank_for(status, submitted_rank) != submitted_rank:
        return VarianceResult()
    if scope == "unknown":
        scope, _ = denials(claim, expected)
    if scope == "claim":
        return VarianceResult()
    out: list[Variance] = []
    for line, m in zip(claim.service_lines, match_lines(claim.service_lines, expected), strict=True):
        if m is None or m.expected_allowed is None or line_denied(line):
            continue
        if submitted_rank > 1 and not any(a.qualifier == "B6" for a in line.amounts):
            continue  # a later payer's paid + PR leaves out the prior payer's share (OA-23): no basis
        out.append(Variance(m.line_control_number, line.procedure.code, money(m.expected_allowed), line_allowed(line)))
    return VarianceResult(out)


# --------------------------------------------------------------------------- claim-level adjudication


def prorate(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """`amount` split over `weights` in proportion, exact to the cent (largest remainder): each part
    is cut down to the cent, then the cents left go one each to the largest remainders, the earlier
    position first on a tie. Negative weights count as zero; when none is above zero, the split is
    even. A negative amount (a reversal) splits as its opposite, negated."""
    if not weights:
        return []
    cents = int(money(amount) / CENT)
    sign, cents = (-1, -cents) if cents < 0 else (1, cents)
    w = [max(x, ZERO) for x in weights]
    total = sum(w, ZERO)
    if total == 0:
        w, total = [Decimal(1)] * len(w), Decimal(len(w))
    exact = [cents * x / total for x in w]
    parts = [int(e) for e in exact]  # exact >= 0: int() is the floor
    by_remainder = sorted(range(len(w)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in by_remainder[:cents - sum(parts)]:
        parts[i] += 1
    return [sign * Decimal(p) * CENT for p in parts]


@dataclass(frozen=True)
class LineAllocation:
    """A submitted line's part of a claim the payer adjudicated without service lines."""

    line: ExpectedLine
    charge: Decimal
    paid: Decimal
    adjustments: tuple[Adjustment, ...]
    """Its part of each claim-level CAS (group and reason; repeated ones summed), zero parts left out."""


def allocate_claim_level(claim: ClaimPayment, expected: Sequence[ExpectedLine]) -> list[LineAllocation]:
    """Spread a claim payment without SVC lines (an inpatient DRG, per-diem or case-rate payment)
    over the lines we sent, in line order: CLP03, CLP04 and each claim-level CAS, each `prorate`d
    by line charge, so every figure's parts add up to the claim's to the cent."""
    weights = [e.charge for e in expected]
    charges = prorate(claim.charge, weights)
    paid = prorate(claim.paid, weights)
    totals: dict[tuple[str, str], Decimal] = {}
    for a in claim.adjustments:
        key = (a.group.value, a.reason)
        totals[key] = totals.get(key, ZERO) + a.amount
    parts = {key: prorate(amount, weights) for key, amount in totals.items()}
    return [LineAllocation(e, charges[i], paid[i], tuple(
        Adjustment(AdjustmentGroup(group), reason, parts[(group, reason)][i])
        for group, reason in totals if parts[(group, reason)][i] != 0)) for i, e in enumerate(expected)]


# --------------------------------------------------------------------------- per-line patient effect


@dataclass(frozen=True)
class LineEffect:
    """What one posting did to one submitted line (the balance's item detail)."""

    charge_id: str
    line_control_number: str
    charge: Decimal
    paid: Decimal
    share: Share


@dataclass
class _Tally:
    charge: Decimal = ZERO
    paid: Decimal = ZERO
    share: Share = field(default_factory=Share)


def line_effects(claim: ClaimPayment, expected: Sequence[ExpectedLine]) -> list[LineEffect]:
    """Per submitted line: charge, paid and PR share. A claim adjudicated without service lines is
    allocated over the lines (`allocate_claim_level`); otherwise claim-level PR goes to the first line.
    A summed institutional line posts to its first charge (`ExpectedLine.charge_id`)."""
    if not expected:
        return []
    if not claim.service_lines:
        return [LineEffect(a.line.charge_id, a.line.line_control_number, a.charge, a.paid, share_of(a.adjustments))
                for a in allocate_claim_level(claim, expected)
                if a.charge != 0 or a.paid != 0 or a.adjustments]
    acc = {e.line_control_number: _Tally() for e in expected}
    by_lcn = {e.line_control_number: e for e in expected}
    first = expected[0].line_control_number
    for line, m in zip(claim.service_lines, match_lines(claim.service_lines, expected), strict=True):
        t = acc[m.line_control_number if m else first]
        t.charge += money(line.charge)
        t.paid += money(line.paid)
        t.share = share_of(line.adjustments) + t.share
    acc[first].share = share_of(claim.adjustments) + acc[first].share
    return [LineEffect(by_lcn[k].charge_id, k, t.charge, t.paid, t.share) for k, t in acc.items()
            if t.charge != 0 or t.paid != 0 or t.share != Share()]
