"""The simulated payers' rules: front-end 277CA decisions and 835 adjudication. Pure.

Randomness (claim numbers, interest, recoupment) comes from a hash of the seed and the claim
itself (``claim_key``), so the same claim gets the same draw whatever order claims arrive in. What is really stateful
(member deductibles, paid services for duplicate checks, earlier payments to reverse or
recoup) lives in ``SandboxState``, which the loop saves as JSON between batches.

Amounts, per service line (primary):

    allowed  = min(charge, fee schedule rate x units x (1 - underpay%))   AMT*B6
    CO-45    = charge - allowed
    PR-3     = copay (once per claim, on the first line whose code carries it)
    PR-1     = what is left of the member's deductible, up to allowed - copay
    PR-2     = coinsurance% of what remains
    CO-253   = sequestration% of the payable amount (Medicare)
    paid     = allowed - PR - CO-253

Denials take the whole line charge: CO-197 (no prior authorization), CO-96 / PR-96
(non-covered), CO-18 (the same member, procedure and date was already paid). Codes the payer
exempts from cost sharing (Medicare's clinical laboratory fee schedule) carry no PR.

A secondary payer (a crossover, or a claim with the prior payer's COB loops) shows the prior
payer's impact as OA-23 on what that payer covered, pays the patient's share up to its own allowed
amount less what the prior payer paid (CO-45 on the rest of the share), and denies a line by its
own rules (CO-197, CO-96 / PR-96, CO-18) for the share it was left.

Institutional (837I) claims go through the same rules, priced by ``sandbox.institutional``:
outpatient ones line by line (allowed = percent of charges, SVC01 HC or NU, MOA), inpatient
ones at claim level (DRG case rate or per diem, plus outlier; claim CAS, MIA, no SVC lines). A
secondary inpatient claim is paid like a secondary line, at claim level: OA-23 on what the prior
payer covered, the patient's share up to the allowed amount less the prior payment, CO-45 on the
rest. What the loop and the rules read from a claim of either type is ``Billed`` (a service
line) and ``service_period``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from edi.x277ca import StatusCode
from edi.x835 import (
    Address,
    Adjustment,
    AdjustmentGroup,
    Amount,
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
    Reference,
    RemittanceTransaction,
    ServiceLine,
)
from edi.x837 import Claim
from edi.x837i import Claim as InstitutionalClaim
from sandbox import institutional
from sandbox.payers import CENT, Behaviour, PayerConfig, money
from services.claims.domain.scrubber import is_drug_code
from services.claims.domain.x837 import needs_clia

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

CO = AdjustmentGroup.CONTRACTUAL
PR = AdjustmentGroup.PATIENT_RESPONSIBILITY
OA = AdjustmentGroup.OTHER
_GROUP_ORDER = (CO, OA, PR, AdjustmentGroup.PAYER_INITIATED)

# 277CA rejections (STC01 category:status:entity).
UNKNOWN_PAYER = StatusCode("A3", "116", "PR")
MEMBER_ID_INVALID = StatusCode("A7", "164", "IL")
MISSING_AUTHORIZATION = StatusCode("A6", "252", "")
ORIGINAL_NOT_FOUND = StatusCode("A7", "21", "")
NDC_MISSING = StatusCode("A7", "218", "")  # 218: NDC number
# No claim status code names the CLIA number itself: 21 (missing or invalid information) for the
# billing provider (85), whose certificate it is, with the reason in the STC12 message.
CLIA_MISSING = StatusCode("A7", "21", "85")


# 837 SBR09 -> 835 CLP06: the 835 list has no CI (commercial) or BL (Blue Cross Blue Shield).
_CLP06 = frozenset({"12", "13", "14", "15", "16", "17", "AM", "CH", "DS", "HM", "LM", "MA", "MB", "MC", "OF", "TV",
                    "VA", "WC", "ZZ"})
_CLP06_MAP = {"CI": "12", "BL": "12", "11": "ZZ", "09": "ZZ", "10": "ZZ"}


def clp06(claim_filing_indicator: str) -> str:
    if claim_filing_indicator in _CLP06:
        return claim_filing_indicator
    return _CLP06_MAP.get(claim_filing_indicator, "ZZ")


def draw(seed: int, *parts: str) -> Decimal:
    """A uniform number in [0, 1) from the seed and ids: the same inputs, the same number."""
    digest = hashlib.sha256("|".join((str(seed), *parts)).encode()).digest()
    return Decimal(int.from_bytes(digest[:8], "big")) / Decimal(2**64)


def _digits(seed: int, *parts: str, n: int = 12) -> str:
    digest = hashlib.sha256("|".join((str(seed), *parts)).encode()).hexdigest()
    return str(int(digest, 16))[-n:].zfill(n)


# --- state --------------------------------------------------------------------------------------


@dataclass
class SandboxState:
    """What the payers remember between claims (saved as JSON by the loop)."""

    control_number: int = 0
    deductible_met: dict[str, Decimal] = field(default_factory=dict)  # "payer|member" -> met so far
    out_of_pocket: dict[str, Decimal] = field(default_factory=dict)  # "payer|member" -> patient share so far
    services: dict[str, str] = field(default_factory=dict)  # "payer|member|code|date" -> paying PCCN
    issued: dict[str, str] = field(default_factory=dict)  # PCCN -> CLM01 (277CA acceptances)
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)  # PCCN -> adjudicated claim

    def next_control_number(self) -> int:
        self.control_number = self.control_number % 999_999_999 + 1
        return self.control_number

    def to_json(self) -> str:
        return json.dumps({
            "control_number": self.control_number,
            "deductible_met": {k: str(v) for k, v in self.deductible_met.items()},
            "out_of_pocket": {k: str(v) for k, v in self.out_of_pocket.items()},
            "services": self.services,
            "issued": self.issued,
            "claims": self.claims,
        }, sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text: str) -> SandboxState:
        doc = json.loads(text)
        return cls(
            control_number=int(doc.get("control_number", 0)),
            deductible_met={k: Decimal(v) for k, v in doc.get("deductible_met", {}).items()},
            out_of_pocket={k: Decimal(v) for k, v in doc.get("out_of_pocket", {}).items()},
            services=dict(doc.get("services", {})),
            issued=dict(doc.get("issued", {})),
            claims=dict(doc.get("claims", {})),
        )

    @classmethod
    def load(cls, path: Path) -> SandboxState:
        return cls.from_json(path.read_text()) if path.exists() else cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".part")
        temp.write_text(self.to_json())
        temp.replace(path)


def member_key(payer_id: str, member_id: str) -> str:
    return f"{payer_id}|{member_id}"


# --- what the rules read from a claim of either type ------------------------------------------

AnyClaim = Claim | InstitutionalClaim


@dataclass(frozen=True, kw_only=True)
class Billed:
    """A service line as the rules read it, professional or institutional: ``code`` is what it is
    priced, checked and answered by (SVC01): the HCPCS/CPT code (HC), or the revenue code (NU) on
    an institutional line without one."""

    qualifier: str  # SVC01-1: HC or NU
    code: str
    modifiers: tuple[str, ...]
    revenue_code: str  # the institutional line's SV201 ("" on a professional line)
    charge: Decimal
    units: Decimal
    service_date: date
    service_date_end: date | None
    line_control_number: str

    def service_key(self, member: str) -> str | None:
        """What a duplicate shares with it (member, claim kind, code, date); None for a revenue code
        alone, which names no service (two pharmacy lines of a day are not duplicates). The kind
        keeps a facility's line apart from the physician's: an emergency visit bills 99284 on both
        the hospital's 837I and the physician's 837P, and neither duplicates the other."""
        if self.qualifier != "HC":
            return None
        kind = "I" if self.revenue_code else "P"
        return f"{member}|{kind}|{self.code}|{self.service_date.isoformat()}"


def billed_lines(claim: AnyClaim) -> list[Billed]:
    if isinstance(claim, Claim):
        return [Billed(qualifier="HC", code=line.procedure_code, modifiers=tuple(line.modifiers), revenue_code="",
                       charge=line.charge, units=line.units, service_date=line.service_date,
                       service_date_end=line.service_date_end, line_control_number=line.line_control_number or "")
                for line in claim.lines]
    out: list[Billed] = []
    for line in claim.lines:
        # An inpatient line may have no date of its own: it is dated by the statement period.
        start = line.service_date or claim.statement_from
        end = line.service_date_end if line.service_date else claim.statement_through
        out.append(Billed(qualifier="NU" if line.procedure_code is None else "HC",
                          code=line.procedure_code or line.revenue_code, modifiers=tuple(line.modifiers),
                          revenue_code=line.revenue_code, charge=line.charge, units=line.units, service_date=start,
                          service_date_end=end if end != start else None,
                          line_control_number=line.line_control_number or ""))
    return out


def service_period(claim: AnyClaim) -> tuple[date, date]:
    """The first and last date of service (the statement period of an institutional claim)."""
    if isinstance(claim, InstitutionalClaim):
        return claim.statement_from, claim.statement_through
    return (min(line.service_date for line in claim.lines),
            max(line.service_date_end or line.service_date for line in claim.lines))


def _inpatient(claim: AnyClaim) -> bool:
    return isinstance(claim, InstitutionalClaim) and institutional.is_inpatient(claim)


# --- front end (277CA) --------------------------------------------------------------------------


@dataclass(frozen=True)
class FrontEndDecision:
    accepted: bool
    status: StatusCode | None = None  # None: the default A2:20 acceptance
    message: str = ""


def front_end(claim: AnyClaim, payers: Mapping[str, PayerConfig], state: SandboxState) -> FrontEndDecision:
    """The payer's claim-level edits before adjudication (the 277CA)."""
    payer = payers.get(claim.payer.id)
    if payer is None:
        return FrontEndDecision(False, UNKNOWN_PAYER, "PAYER NOT ON FILE")
    rules = payer.behaviour.reject_if
    if not rules.member_id_ok(claim.subscriber.member_id):
        return FrontEndDecision(False, MEMBER_ID_INVALID, "MEMBER ID FORMAT")
    if claim.prior_authorization is None and any(
        b.qualifier == "HC" and b.code in rules.missing_prior_auth for b in billed_lines(claim)
    ):
        return FrontEndDecision(False, MISSING_AUTHORIZATION, "PRIOR AUTHORIZATION REQUIRED")
    # The NDC and CLIA rules read 2410 LIN and REF*X4, which only the 837P model carries.
    if isinstance(claim, Claim) and rules.missing_ndc and any(
        is_drug_code(line.procedure_code) and line.drug is None for line in claim.lines
    ):
        return FrontEndDecision(False, NDC_MISSING, "NDC REQUIRED ON DRUG LINES (2410 LIN)")
    if isinstance(claim, Claim) and rules.missing_clia and claim.clia_number is None and any(
        needs_clia(line.procedure_code, line.modifiers) for line in claim.lines
    ):
        return FrontEndDecision(False, CLIA_MISSING, "CLIA NUMBER REQUIRED FOR LABORATORY SERVICES (2300 REF X4)")
    if claim.frequency in {"7", "8"}:
        original = state.claims.get(claim.payer_claim_control_number or "")
        if original is None or original["reversed"] or original["payer_id"] != payer.payer_id:
            return FrontEndDecision(False, ORIGINAL_NOT_FOUND, "ORIGINAL CLAIM NOT FOUND")
    return FrontEndDecision(True)


def claim_key(claim: AnyClaim) -> str:
    """What identifies a claim for the random draws: payer, member, frequency, the claim it
    corrects and its lines (not CLM01, which a billing system may draw at random), so a demo
    replayed with the same data and seed gets the same numbers."""
    lines = ";".join(f"{b.code}:{','.join(b.modifiers)}:{b.service_date}:{b.charge}:{b.units}"
                     + (f":{b.revenue_code}" if b.revenue_code else "") for b in billed_lines(claim))
    return "|".join((claim.payer.id, claim.subscriber.member_id, claim.frequency,
                     claim.payer_claim_control_number or "", lines))


def issue_claim_number(seed: int, claim: AnyClaim, state: SandboxState) -> str:
    """The payer claim control number (REF*1K in the 277CA, CLP07 in the 835): derived from
    the claim (``claim_key``), made unique against numbers already issued."""
    parts = (claim_key(claim),)
    n = 0
    while True:
        pccn = "26" + _digits(seed, "pccn", *parts, str(n))
        if pccn not in state.issued:
            state.issued[pccn] = claim.submission_id
            return pccn
        n += 1


# --- adjudication -------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Crossover:
    """A claim the primary forwarded to the secondary payer itself (CLP02 19)."""

    secondary_payer_id: str
    claim: AnyClaim
    primary: ClaimPayment


@dataclass(frozen=True, kw_only=True)
class ClaimResult:
    payer_id: str
    payee_npi: str
    payments: tuple[ClaimPayment, ...]  # a reversal (22) first when there is one
    provider_adjustments: tuple[ProviderAdjustment, ...] = ()
    crossover: Crossover | None = None


@dataclass
class _Adjusted:
    """CAS adjustments being collected, for a line or (inpatient) the whole claim."""

    adjustments: list[Adjustment] = field(default_factory=list)

    def add(self, group: AdjustmentGroup, reason: str, amount: Decimal) -> None:
        if amount != ZERO:
            self.adjustments.append(Adjustment(group, reason, money(amount)))

    def order(self) -> None:
        """One CAS segment per group: CO first, then OA, PR."""
        self.adjustments.sort(key=lambda a: _GROUP_ORDER.index(a.group))


@dataclass(kw_only=True)
class _Line(_Adjusted):
    line: Billed
    allowed: Decimal | None = None
    denied: bool = False

    @property
    def paid(self) -> Decimal:
        return self.line.charge - sum((a.amount for a in self.adjustments), ZERO)


@dataclass
class _Outcome:
    """What a payer decided about a claim before it is written as a CLP loop."""

    lines: list[_Line]
    keys: list[str]  # paid services, for duplicate checks
    accumulated: tuple[Decimal, Decimal] = (ZERO, ZERO)  # deductible and out-of-pocket added
    claim_level: _Adjusted = field(default_factory=_Adjusted)
    denied: bool | None = None  # None: when every line is
    details: dict[str, Any] = field(default_factory=dict)  # ClaimPayment fields: DRG, MIA, MOA, ...


@dataclass
class _Member:
    """A member's deductible and out-of-pocket totals with one payer, while a claim is adjudicated."""

    key: str
    met: Decimal
    spent: Decimal
    copay_left: Decimal
    applied: Decimal = ZERO
    spent_here: Decimal = ZERO

    @classmethod
    def of(cls, payer: PayerConfig, member_id: str, state: SandboxState) -> _Member:
        key = member_key(payer.payer_id, member_id)
        return cls(key, state.deductible_met.get(key, ZERO), state.out_of_pocket.get(key, ZERO),
                   payer.behaviour.copay)

    def cost_share(self, b: Behaviour, code: str | None, allowed: Decimal, into: _Adjusted) -> None:
        """PR-1, PR-2, PR-3 and CO-253 of an allowed amount; ``code`` None (a whole inpatient
        claim) carries no copay and is never exempt."""
        copay = deductible = coinsurance = ZERO
        if code is None or not b.cost_share_exempt(code):  # e.g. Medicare's clinical lab fee schedule
            if self.copay_left > ZERO and code in b.copay_codes:
                copay = min(self.copay_left, allowed)
                self.copay_left -= copay
            deductible = min(max(b.deductible - self.met, ZERO), allowed - copay)
            coinsurance = money((allowed - copay - deductible) * b.coinsurance_percent / HUNDRED)
        if b.out_of_pocket_max is not None:
            # Past the member's out-of-pocket maximum the plan pays it all: trim the patient's
            # share, coinsurance first, then copay, then deductible.
            excess = max(ZERO, copay + deductible + coinsurance - max(b.out_of_pocket_max - self.spent, ZERO))
            for_coinsurance = min(excess, coinsurance)
            for_copay = min(excess - for_coinsurance, copay)
            coinsurance -= for_coinsurance
            copay -= for_copay
            deductible -= excess - for_coinsurance - for_copay
        self.met += deductible
        self.applied += deductible
        self.spent += copay + deductible + coinsurance
        self.spent_here += copay + deductible + coinsurance
        payable = allowed - copay - deductible - coinsurance
        into.add(PR, "1", deductible)
        into.add(PR, "2", coinsurance)
        into.add(PR, "3", copay)
        into.add(CO, "253", money(payable * b.sequestration_percent / HUNDRED))

    def save(self, state: SandboxState) -> None:
        state.deductible_met[self.key] = self.met
        state.out_of_pocket[self.key] = self.spent


def adjudicate(
    claim: AnyClaim,
    payers: Mapping[str, PayerConfig],
    state: SandboxState,
    *,
    seed: int,
    pccn: str,
    today: date,
    batch: str,
) -> ClaimResult:
    """Adjudicate one claim the front end accepted, updating ``state`` (accumulators, paid
    services, the claim record). Frequency 7 reverses the original and pays the correction;
    frequency 8 only reverses."""
    payer = payers[claim.payer.id]
    payments: list[ClaimPayment] = []
    if claim.frequency in {"7", "8"}:
        payments.append(_reverse(state, claim.payer_claim_control_number or ""))
        if claim.frequency == "8":
            return ClaimResult(payer_id=payer.payer_id, payee_npi=claim.billing_provider.npi,
                               payments=tuple(payments))
    primary = claim.payer_responsibility == "P" or not claim.other_payers
    if isinstance(claim, InstitutionalClaim) and institutional.is_inpatient(claim):
        outcome = _inpatient_claim(claim, payer, state, primary)
    elif primary:
        outcome = _primary_lines(claim, payer, state)
    else:
        outcome = _secondary_lines(claim, payer, *_prior_from_837(claim), state, claim.subscriber.member_id)
    crossover_to = _crossover_target(claim, payer, payers)
    payment = _payment(claim, payer, outcome, pccn, today,
                       crossover_to=payers[crossover_to] if crossover_to else None)
    payments.append(payment)
    state.claims[pccn] = _record(payer.payer_id, claim, payment, pccn, batch, outcome.accumulated, outcome.keys)
    for key in outcome.keys:
        state.services[key] = pccn
    plb = _interest(claim, payer, payment, seed, today) + _recoupment(claim, payer, state, payment, seed, today,
                                                                        pccn, batch)
    crossover = None
    if crossover_to and payment.status == ClaimStatus.PROCESSED_AS_PRIMARY_FORWARDED:
        crossover = Crossover(secondary_payer_id=crossover_to, claim=claim, primary=payment)
    return ClaimResult(payer_id=payer.payer_id, payee_npi=claim.billing_provider.npi, payments=tuple(payments),
                       provider_adjustments=tuple(plb), crossover=crossover)


def adjudicate_crossover(
    crossover: Crossover, payers: Mapping[str, PayerConfig], state: SandboxState, *, seed: int, today: date,
    batch: str,
) -> ClaimResult:
    """The secondary payer's own 835 claim for a crossed-over claim (CLP02 2, or 4 when it denies every line)."""
    payer = payers[crossover.secondary_payer_id]
    claim = crossover.claim
    prior_paid = [line.paid for line in crossover.primary.service_lines]
    prior_pr = [sum((a.amount for a in line.adjustments if a.group == PR), ZERO)
                for line in crossover.primary.service_lines]
    other = next((o for o in claim.other_payers if o.payer.id == payer.payer_id), None)
    member = other.member_id if other else claim.subscriber.member_id
    outcome = _secondary_lines(claim, payer, prior_paid, prior_pr, state, member)
    pccn = "26" + _digits(seed, "xover", payer.payer_id, crossover.primary.payer_claim_control_number)
    state.issued.setdefault(pccn, claim.submission_id)
    status = ClaimStatus.DENIED if all(r.denied for r in outcome.lines) else ClaimStatus.PROCESSED_AS_SECONDARY
    payment = _payment(claim, payer, outcome, pccn, today, status=status, member_id=member,
                       filing_indicator=payer.claim_filing_indicator)
    state.claims[pccn] = _record(payer.payer_id, claim, payment, pccn, batch, (ZERO, ZERO), outcome.keys)
    for key in outcome.keys:
        state.services[key] = pccn
    return ClaimResult(payer_id=payer.payer_id, payee_npi=claim.billing_provider.npi, payments=(payment,))


def _crossover_target(claim: AnyClaim, payer: PayerConfig, payers: Mapping[str, PayerConfig]) -> str | None:
    target = payer.behaviour.crossover_to
    # An inpatient answer has no lines for the secondary to take the patient's share from.
    if target is None or target not in payers or claim.payer_responsibility != "P" or _inpatient(claim):
        return None
    return target if any(o.payer.id == target for o in claim.other_payers) else None


def _primary_allowed(claim: AnyClaim, payer: PayerConfig, line: Billed) -> Decimal | None:
    """A primary payer's allowed amount for a line; None: not covered (CO-96)."""
    b = payer.behaviour
    if isinstance(claim, InstitutionalClaim):
        return institutional.outpatient_allowed(line.charge, b.institutional)
    rate = payer.contracted_rate(line.code, line.modifiers)
    if rate is None and b.unlisted_non_covered:
        return None
    contracted = line.charge if rate is None else rate * line.units
    return min(line.charge, money(contracted * (1 - b.underpay_percent / HUNDRED)))


def _secondary_allowed(claim: AnyClaim, payer: PayerConfig, line: Billed) -> Decimal:
    """A secondary payer's own allowed amount for a line (the charge when it has no price)."""
    if isinstance(claim, InstitutionalClaim):
        allowed = institutional.outpatient_allowed(line.charge, payer.behaviour.institutional)
        return line.charge if allowed is None else allowed
    rate = payer.contracted_rate(line.code, line.modifiers)
    return min(line.charge, money(rate * line.units)) if rate is not None else line.charge


def _primary_lines(claim: AnyClaim, payer: PayerConfig, state: SandboxState) -> _Outcome:
    """The lines, what they added to the member's deductible and out-of-pocket totals, and
    the services they paid (for duplicate checks)."""
    b = payer.behaviour
    member = _Member.of(payer, claim.subscriber.member_id, state)
    keys: list[str] = []
    out: list[_Line] = []
    for line in billed_lines(claim):
        result = _Line(line=line)
        out.append(result)
        code = line.code
        key = line.service_key(member.key)
        allowed = _primary_allowed(claim, payer, line)
        if code in b.auth_required and claim.prior_authorization is None:
            result.denied = True
            result.add(CO, "197", line.charge)
            continue
        if code in b.non_covered or allowed is None:
            result.denied = True
            result.add(PR if b.non_covered_patient_pays and code in b.non_covered else CO, "96", line.charge)
            continue
        if key is not None and (key in state.services or key in keys):
            result.denied = True
            result.add(CO, "18", line.charge)
            continue
        result.allowed = allowed
        result.add(CO, "45", line.charge - allowed)
        member.cost_share(b, code, allowed, result)
        if key is not None:
            keys.append(key)
    for result in out:
        result.order()
    member.save(state)
    return _Outcome(out, keys, (member.applied, member.spent_here))


def _inpatient_claim(claim: InstitutionalClaim, payer: PayerConfig, state: SandboxState, primary: bool) -> _Outcome:
    """An inpatient claim answered at claim level: CAS on the claim, MIA, DRG in CLP11/CLP12."""
    b = payer.behaviour
    price = institutional.price_inpatient(claim, b.institutional)
    remark = institutional.appeal_remark(clp06(claim.claim_filing_indicator if primary
                                               else payer.claim_filing_indicator))
    days = price.covered_days if price else institutional.covered_days(claim)
    outcome = _Outcome([], [], denied=price is None,
                       details={"inpatient": institutional.mia(price, days, remark)})
    if price is not None and price.drg is not None:
        outcome.details.update(drg_code=price.drg.code, drg_weight=price.drg.weight)
    level = outcome.claim_level
    member = _Member.of(payer, claim.subscriber.member_id, state)
    stay_key = f"{member.key}|{claim.type_of_bill}|{claim.statement_from.isoformat()}"
    if price is None:
        level.add(CO, "96", claim.charge)
    elif primary and stay_key in state.services:  # the same stay already paid
        outcome.denied = True
        level.add(CO, "18", claim.charge)
    elif primary:
        outcome.keys.append(stay_key)
        level.add(CO, "45", claim.charge - price.allowed)
        member.cost_share(b, None, price.allowed, level)
        member.save(state)
        outcome.accumulated = (member.applied, member.spent_here)
    else:
        prior_paid, prior_pr = (sum(amounts, ZERO) for amounts in _prior_from_837(claim))
        level.add(OA, "23", claim.charge - prior_pr)
        level.add(CO, "45", prior_pr - _secondary_pays(prior_pr, price.allowed, prior_paid))
    level.order()
    return outcome


def _prior_from_837(claim: AnyClaim) -> tuple[list[Decimal], list[Decimal]]:
    """What the prior payer paid and left to the patient, per line, from the 837's COB loops:
    line adjudications (2430) when present, else the claim-level amounts spread over the lines."""
    prior = next((o for o in claim.other_payers if o.responsibility == "P"), claim.other_payers[0])
    if any(line.adjudications for line in claim.lines):
        paid = [sum((a.paid_amount for a in line.adjudications if a.payer_id == prior.payer.id), ZERO)
                for line in claim.lines]
        pr = [sum((x.amount for a in line.adjudications if a.payer_id == prior.payer.id
                   for x in a.adjustments if x.group == "PR"), ZERO) for line in claim.lines]
        return paid, pr
    paid_left = prior.paid_amount or ZERO
    pr_left = sum((a.amount for a in prior.adjustments if a.group == "PR"), ZERO)
    paid_out: list[Decimal] = []
    pr_out: list[Decimal] = []
    for line in claim.lines:
        p = min(paid_left, line.charge)
        r = min(pr_left, line.charge - p)
        paid_left -= p
        pr_left -= r
        paid_out.append(p)
        pr_out.append(r)
    return paid_out, pr_out


def _secondary_pays(prior_pr: Decimal, allowed: Decimal, prior_paid: Decimal) -> Decimal:
    """The patient's share the prior payer left, up to this payer's allowed amount less what the prior payer paid."""
    return max(ZERO, min(prior_pr, allowed - prior_paid))


def _secondary_lines(
    claim: AnyClaim, payer: PayerConfig, prior_paid: Sequence[Decimal], prior_pr: Sequence[Decimal],
    state: SandboxState, member_id: str,
) -> _Outcome:
    """Pay the patient's share of the prior payer's adjudication, up to this payer's own
    allowed amount less what the prior payer paid. As payers show it: OA-23 on what the prior
    payer covered (paid and adjusted), CO-45 on what this payer reduces of the share it was left.
    The secondary applies its own rules to that share: a code it needs a prior authorization
    for (CO-197), one it does not cover (CO-96 / PR-96), a service it already paid for the member
    (CO-18, say billed again after a crossover) is denied while the primary paid."""
    b = payer.behaviour
    member = member_key(payer.payer_id, member_id)
    out: list[_Line] = []
    keys: list[str] = []
    for line, paid_before, pr_before in zip(billed_lines(claim), prior_paid, prior_pr, strict=True):
        result = _Line(line=line)
        out.append(result)
        code = line.code
        key = line.service_key(member)
        result.add(OA, "23", line.charge - pr_before)
        denial = None
        if code in b.auth_required and claim.prior_authorization is None:
            denial = (CO, "197")
        elif code in b.non_covered:
            denial = (PR if b.non_covered_patient_pays else CO, "96")
        elif key is not None and (key in state.services or key in keys):
            denial = (CO, "18")
        if denial is not None:
            result.denied = True
            result.add(*denial, pr_before)
            continue
        if key is not None:
            keys.append(key)
        allowed = _secondary_allowed(claim, payer, line)
        result.allowed = allowed
        result.add(CO, "45", pr_before - _secondary_pays(pr_before, allowed, paid_before))
    for result in out:
        result.order()
    return _Outcome(out, keys)


def _names(claim: AnyClaim, member_id: str) -> tuple[EntityName, EntityName | None]:
    if claim.patient is None:
        s = claim.subscriber
        return EntityName(entity="QC", last_name=s.last_name, first_name=s.first_name or "", id_qualifier="MI",
                          id=member_id), None
    p, s = claim.patient, claim.subscriber
    return (EntityName(entity="QC", last_name=p.last_name, first_name=p.first_name or ""),
            EntityName(entity="IL", last_name=s.last_name, first_name=s.first_name or "", id_qualifier="MI",
                       id=member_id))


def _service_line(result: _Line) -> ServiceLine:
    line = result.line
    ranged = line.service_date_end is not None
    return ServiceLine(
        procedure=Procedure(qualifier=line.qualifier, code=line.code, modifiers=line.modifiers),
        charge=line.charge, paid=result.paid, revenue_code=line.revenue_code if line.qualifier == "HC" else "",
        units_paid=line.units if line.units != 1 else None,
        service_date=None if ranged else line.service_date,
        service_start=line.service_date if ranged else None,
        service_end=line.service_date_end if ranged else None,
        adjustments=tuple(result.adjustments),
        line_control_number=line.line_control_number,
        amounts=(Amount("B6", result.allowed),) if result.allowed is not None and not result.denied else (),
    )


def _institutional_details(claim: AnyClaim, payer: PayerConfig, outcome: _Outcome, filing: str) -> dict[str, Any]:
    """CLP08 (place of service, or the type of bill), the statement period and MOA of an outpatient claim."""
    if isinstance(claim, Claim):
        return {"facility_code": claim.place_of_service}
    details: dict[str, Any] = {"facility_code": claim.type_of_bill, "statement_from": claim.statement_from,
                               "statement_to": claim.statement_through}
    if not institutional.is_inpatient(claim):
        details["outpatient"] = institutional.moa(payer.behaviour.institutional, institutional.appeal_remark(filing))
    return {**details, **outcome.details}


def _payment(
    claim: AnyClaim, payer: PayerConfig, outcome: _Outcome, pccn: str, today: date, *,
    crossover_to: PayerConfig | None = None, status: ClaimStatus | None = None, member_id: str | None = None,
    filing_indicator: str | None = None,
) -> ClaimPayment:
    lines = outcome.lines
    service_lines = tuple(_service_line(r) for r in lines)
    adjustments = (*outcome.claim_level.adjustments, *(a for s in service_lines for a in s.adjustments))
    paid = claim.charge - sum((a.amount for a in adjustments), ZERO)
    patient_share = sum((a.amount for a in adjustments if a.group == PR), ZERO)
    if status is None:
        if outcome.denied if outcome.denied is not None else all(r.denied for r in lines):
            status = ClaimStatus.DENIED
        elif crossover_to is not None:
            status = ClaimStatus.PROCESSED_AS_PRIMARY_FORWARDED
        elif claim.payer_responsibility == "S":
            status = ClaimStatus.PROCESSED_AS_SECONDARY
        elif claim.payer_responsibility == "T":
            status = ClaimStatus.PROCESSED_AS_TERTIARY
        else:
            status = ClaimStatus.PROCESSED_AS_PRIMARY
    patient, insured = _names(claim, member_id or claim.subscriber.member_id)
    tt = None
    if crossover_to is not None and status == ClaimStatus.PROCESSED_AS_PRIMARY_FORWARDED:
        tt = EntityName(entity="TT", entity_type="2", last_name=crossover_to.name, id_qualifier="PI",
                        id=crossover_to.payer_id)
    filing = clp06(filing_indicator or claim.claim_filing_indicator)
    return ClaimPayment(
        patient_control_number=claim.submission_id, status=status, charge=claim.charge, paid=paid,
        patient_responsibility=patient_share, filing_indicator=filing,
        payer_claim_control_number=pccn, frequency_code=claim.frequency, adjustments=tuple(
            outcome.claim_level.adjustments),
        patient=patient, insured=insured, crossover_carrier=tt, received=today, service_lines=service_lines,
        **_institutional_details(claim, payer, outcome, filing),
    )


def _interest(
    claim: AnyClaim, payer: PayerConfig, payment: ClaimPayment, seed: int, today: date
) -> list[ProviderAdjustment]:
    b = payer.behaviour
    if payment.paid <= ZERO or draw(seed, "interest", claim_key(claim)) >= b.interest_probability:
        return []
    amount = max(CENT, money(payment.paid * b.interest_percent / HUNDRED))
    return [ProviderAdjustment(provider_id=claim.billing_provider.npi, fiscal_period_date=date(today.year, 12, 31),
                               reason="L6", reference=claim.submission_id, amount=-amount)]


def _recoupment(
    claim: AnyClaim, payer: PayerConfig, state: SandboxState, payment: ClaimPayment, seed: int, today: date,
    pccn: str, batch: str,
) -> list[ProviderAdjustment]:
    """Occasionally recover part of an earlier payment to the same provider (PLB WO), never
    more than this claim pays, so the 835 total stays positive."""
    b = payer.behaviour
    if payment.paid <= ZERO or draw(seed, "recoup", claim_key(claim)) >= b.recoupment_probability:
        return []
    candidates = sorted(
        k for k, r in state.claims.items()
        if r["payer_id"] == payer.payer_id and r["payee_npi"] == claim.billing_provider.npi and k != pccn
        and r["batch"] != batch and not r["reversed"] and not r["recouped"] and Decimal(r["paid"]) > ZERO
    )
    if not candidates:
        return []
    pick = candidates[int(draw(seed, "recoup-pick", claim_key(claim)) * len(candidates))]
    earlier = state.claims[pick]
    amount = min(payment.paid, max(CENT, money(Decimal(earlier["paid"]) * b.recoupment_percent / HUNDRED)))
    earlier["recouped"] = True
    return [ProviderAdjustment(provider_id=claim.billing_provider.npi, fiscal_period_date=date(today.year, 12, 31),
                               reason="WO", reference=earlier["pcn"], amount=amount)]


# --- claim records and reversal -------------------------------------------------------------------


def _record(payer_id: str, claim: AnyClaim, payment: ClaimPayment, pccn: str, batch: str,
            accumulated: tuple[Decimal, Decimal], keys: Iterable[str]) -> dict[str, Any]:
    keys = list(keys)
    return {
        "payer_id": payer_id, "pcn": claim.submission_id, "payee_npi": claim.billing_provider.npi,
        "member_key": member_key(payer_id, claim.subscriber.member_id), "batch": batch,
        "status": payment.status.value, "paid": str(payment.paid), "deductible_applied": str(accumulated[0]),
        "out_of_pocket_applied": str(accumulated[1]),
        "service_keys": keys, "reversed": False, "recouped": False, "payment": payment_to_json(payment),
    }


def _reverse(state: SandboxState, original_pccn: str) -> ClaimPayment:
    record = state.claims[original_pccn]
    record["reversed"] = True
    met = state.deductible_met.get(record["member_key"], ZERO) - Decimal(record["deductible_applied"])
    state.deductible_met[record["member_key"]] = max(met, ZERO)
    spent = state.out_of_pocket.get(record["member_key"], ZERO) - Decimal(record.get("out_of_pocket_applied", "0"))
    state.out_of_pocket[record["member_key"]] = max(spent, ZERO)
    for key in record["service_keys"]:
        state.services.pop(key, None)
    return negate(payment_from_json(record["payment"]))


def negate(payment: ClaimPayment) -> ClaimPayment:
    """The CLP02 22 reversal of an earlier payment: every amount negated, same CLP01 and CLP07."""
    def adjs(items: Iterable[Adjustment]) -> tuple[Adjustment, ...]:
        return tuple(Adjustment(a.group, a.reason, -a.amount, a.quantity) for a in items)

    lines = tuple(
        ServiceLine(procedure=s.procedure, charge=-s.charge, paid=-s.paid, revenue_code=s.revenue_code,
                    units_paid=s.units_paid,
                    service_date=s.service_date, service_start=s.service_start, service_end=s.service_end,
                    adjustments=adjs(s.adjustments), line_control_number=s.line_control_number,
                    amounts=tuple(Amount(a.qualifier, -a.amount) for a in s.amounts))
        for s in payment.service_lines
    )
    inpatient = payment.inpatient
    if inpatient is not None:  # the amounts of the MIA; covered days stay a count
        inpatient = dataclasses.replace(inpatient, values=tuple((i, -v) for i, v in inpatient.values))
    return ClaimPayment(
        patient_control_number=payment.patient_control_number, status=ClaimStatus.REVERSAL,
        charge=-payment.charge, paid=-payment.paid,
        patient_responsibility=None if payment.patient_responsibility is None else -payment.patient_responsibility,
        filing_indicator=payment.filing_indicator, payer_claim_control_number=payment.payer_claim_control_number,
        facility_code=payment.facility_code, frequency_code=payment.frequency_code, drg_code=payment.drg_code,
        drg_weight=payment.drg_weight, adjustments=adjs(payment.adjustments),
        patient=payment.patient, insured=payment.insured, inpatient=inpatient, outpatient=payment.outpatient,
        statement_from=payment.statement_from, statement_to=payment.statement_to, received=payment.received,
        service_lines=lines,
    )


def _name_json(n: EntityName | None) -> dict[str, str] | None:
    if n is None:
        return None
    return {"entity": n.entity, "entity_type": n.entity_type, "last_name": n.last_name, "first_name": n.first_name,
            "id_qualifier": n.id_qualifier, "id": n.id}


def _adj_json(items: Iterable[Adjustment]) -> list[list[str]]:
    return [[a.group.value, a.reason, str(a.amount)] for a in items]


def _adj_from(items: Iterable[list[str]]) -> tuple[Adjustment, ...]:
    return tuple(Adjustment(AdjustmentGroup(g), r, Decimal(a)) for g, r, a in items)


def _d(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def payment_to_json(p: ClaimPayment) -> dict[str, Any]:
    """The parts of a ClaimPayment the sandbox writes, for its state file."""
    return {
        "pcn": p.patient_control_number, "status": p.status.value, "charge": str(p.charge), "paid": str(p.paid),
        "patient_responsibility": None if p.patient_responsibility is None else str(p.patient_responsibility),
        "filing": p.filing_indicator, "pccn": p.payer_claim_control_number, "facility": p.facility_code,
        "frequency": p.frequency_code, "adjustments": _adj_json(p.adjustments), "patient": _name_json(p.patient),
        "insured": _name_json(p.insured), "received": _d(p.received),
        "drg": p.drg_code, "drg_weight": None if p.drg_weight is None else str(p.drg_weight),
        "statement": [_d(p.statement_from), _d(p.statement_to)],
        "mia": None if p.inpatient is None else {
            "days": str(p.inpatient.covered_days), "remarks": list(p.inpatient.remark_codes),
            "values": [[i, str(v)] for i, v in p.inpatient.values]},
        "moa": None if p.outpatient is None else {
            "rate": None if p.outpatient.reimbursement_rate is None else str(p.outpatient.reimbursement_rate),
            "remarks": list(p.outpatient.remark_codes)},
        "lines": [
            {"qualifier": s.procedure.qualifier, "revenue": s.revenue_code, "code": s.procedure.code,
             "modifiers": list(s.procedure.modifiers), "charge": str(s.charge),
             "paid": str(s.paid), "units": None if s.units_paid is None else str(s.units_paid),
             "date": _d(s.service_date), "start": _d(s.service_start), "end": _d(s.service_end),
             "adjustments": _adj_json(s.adjustments), "lcn": s.line_control_number,
             "amounts": [[a.qualifier, str(a.amount)] for a in s.amounts]}
            for s in p.service_lines
        ],
    }


def payment_from_json(doc: Mapping[str, Any]) -> ClaimPayment:
    def name(d: Mapping[str, str] | None) -> EntityName | None:
        return None if d is None else EntityName(**d)

    patient = name(doc["patient"])
    assert patient is not None
    share = doc["patient_responsibility"]
    # State files written before institutional claims lack the keys below.
    mia, moa, weight = doc.get("mia"), doc.get("moa"), doc.get("drg_weight")
    statement = doc.get("statement") or [None, None]
    return ClaimPayment(
        patient_control_number=doc["pcn"], status=ClaimStatus(doc["status"]), charge=Decimal(doc["charge"]),
        paid=Decimal(doc["paid"]),
        patient_responsibility=None if share is None else Decimal(share),
        filing_indicator=doc["filing"], payer_claim_control_number=doc["pccn"], facility_code=doc["facility"],
        frequency_code=doc["frequency"], adjustments=_adj_from(doc["adjustments"]), patient=patient,
        insured=name(doc["insured"]), received=_date(doc["received"]), drg_code=doc.get("drg", ""),
        drg_weight=None if weight is None else Decimal(weight),
        statement_from=_date(statement[0]), statement_to=_date(statement[1]),
        inpatient=None if mia is None else InpatientAdjudication(
            covered_days=Decimal(mia["days"]), remark_codes=tuple(mia["remarks"]),
            values=tuple((int(i), Decimal(v)) for i, v in mia["values"])),
        outpatient=None if moa is None else OutpatientAdjudication(
            reimbursement_rate=None if moa["rate"] is None else Decimal(moa["rate"]),
            remark_codes=tuple(moa["remarks"])),
        service_lines=tuple(
            ServiceLine(procedure=Procedure(qualifier=s.get("qualifier", "HC"), code=s["code"],
                                            modifiers=tuple(s["modifiers"])),
                        charge=Decimal(s["charge"]), paid=Decimal(s["paid"]), revenue_code=s.get("revenue", ""),
                        units_paid=None if s["units"] is None else Decimal(s["units"]),
                        service_date=_date(s["date"]), service_start=_date(s["start"]), service_end=_date(s["end"]),
                        adjustments=_adj_from(s["adjustments"]), line_control_number=s["lcn"],
                        amounts=tuple(Amount(q, Decimal(a)) for q, a in s["amounts"]))
            for s in doc["lines"]
        ),
    )


# --- the 835 ------------------------------------------------------------------------------------


def build_835(
    payer: PayerConfig, payee: Payee, results: Sequence[ClaimResult], *, trace_number: str, today: date,
) -> RemittanceTransaction:
    """One payer's payment to one payee for a batch of adjudicated claims. A negative net
    (reversals larger than new payments) is carried forward with PLB FB so BPR02 is never
    negative."""
    claims = tuple(p for r in results for p in r.payments)
    plb = [a for r in results for a in r.provider_adjustments]
    total = sum((c.paid for c in claims), ZERO) - sum((a.amount for a in plb), ZERO)
    if total < ZERO:
        plb.append(ProviderAdjustment(provider_id=payee.id, fiscal_period_date=date(today.year, 12, 31), reason="FB",
                                      reference=trace_number, amount=total))
        total = ZERO
    b = payer.behaviour
    return RemittanceTransaction(
        handling_code=HandlingCode.PAYMENT_WITH_REMITTANCE if total > ZERO else HandlingCode.NOTIFICATION_ONLY,
        total_payment=total, payment_method=PaymentMethod.ACH if total > ZERO else PaymentMethod.NON,
        payment_date=today, trace_number=trace_number, trace_payer_id=b.trace_payer_id, production_date=today,
        payer=Payer(name=payer.name, address=Address(line1=b.address.line1, city=b.address.city, state=b.address.state,
                                                     postal_code=b.address.postal_code),
                    references=(Reference("2U", payer.payer_id),),
                    contacts=(Contact("BL", "EDI SUPPORT", (("TE", "8005550100"),)),)),
        payee=payee, header_numbers=(HeaderNumber(1, claims),) if claims else (), provider_adjustments=tuple(plb),
    )


def payee_of(claim: AnyClaim) -> Payee:
    bp = claim.billing_provider
    return Payee(name=bp.name, id_qualifier="XX", id=bp.npi, references=(Reference("TJ", bp.tax_id),))
