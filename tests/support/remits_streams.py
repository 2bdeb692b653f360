"""Hypothesis builders for whole-service remits streams (tests/integration/test_remits_invariants.py).

A `Stream` is pure data drawn up front: 1-3 encounters of one patient account, each with its
primary submission, the primary payer's adjudication (CO-45, PR-1/2/3, CO-253, CO denials, whole
claim denials CLP02 4, or a crossover CLP02 19), maybe a reversal (CLP02 22, exact) and a corrected
claim, maybe the secondary payer's adjudication (CLP02 2: a crossover echoing the primary's CLP01,
or the claim the claims service sent to the secondary as its own submission), PLBs (L6, WO, FB,
72), and the patient-side operations (payments, write-offs, refunds) as abstract choices that the
test resolves against the database when it runs them. The module also holds the model the test
checks the service against: the patient share of the last payer, BPR02 per transaction set, and
which events each claim payment must produce.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from itertools import pairwise
from typing import Any, Literal

from hypothesis import strategies as st

from edi.x835 import (
    Address,
    Adjustment,
    ClaimPayment,
    ClaimStatus,
    Contact,
    EntityName,
    Payer,
    ProviderAdjustment,
    RemittanceTransaction,
    ServiceLine,
)
from services.remits.service.patient_payments import WriteOffReason
from tests.unit.remits.builders import adj, claim, line, plb, remittance

D = Decimal
ZERO = D("0.00")
ACCOUNT = "PA-INV-1"
PRIMARY_ID = "ACME01"  # tests.unit.remits.builders.PAYER
SECONDARY = Payer(name="MEDI CAL", address=Address(line1="2 STATE ST", city="SACRAMENTO", state="CA",
                                                   postal_code="95814"), id_qualifier="XV", id="610442",
                  contacts=(Contact("BL", "EDI", (("TE", "8005550000"),)),))
DENIAL_CARCS = ("97", "197", "50", "16")
SECONDARY_DENIALS = True
"""Let the generator draw a secondary payer's whole-claim denial (CLP02 4): posted at the next
payer's rank (a crossover too); a CO denial is the provider's, so the patient owes nothing of it."""
WRITE_OFF_REASONS: tuple[WriteOffReason, ...] = ("small_balance", "charity", "bad_debt", "administrative", "other")


def cents(n: int) -> Decimal:
    return (D(n) / 100).quantize(D("0.01"))


def pr(c: ClaimPayment) -> Decimal:
    """CLP05 as the PR adjustments say (claim and line level)."""
    return sum((a.amount for a in c.all_adjustments if a.group.value == "PR"), ZERO)


def whole_denial(c: ClaimPayment) -> bool:
    """DOMAIN.md: CLP02 4, or nothing paid, no patient share and a non-contractual CARC."""
    denied = any(a.group.value != "PR" and a.reason in DENIAL_CARCS and a.amount != 0 for a in c.all_adjustments)
    return c.status.value == "4" or (c.paid == 0 and pr(c) == 0 and denied)


def line_denials(c: ClaimPayment) -> bool:
    """A line paid 0 with a denial CARC (the claim itself not wholly denied)."""
    return not whole_denial(c) and any(
        ln.paid == 0 and any(a.reason in DENIAL_CARCS and a.amount != 0 for a in ln.adjustments)
        for ln in c.service_lines)


def negate(c: ClaimPayment) -> ClaimPayment:
    """The payer takes back exactly what it posted (CLP02 22, same CLP07)."""
    lines = tuple(line(str(-ln.charge), str(-ln.paid), *(adj(a.group.value, a.reason, str(-a.amount))
                                                         for a in ln.adjustments), lcn=ln.line_control_number)
                  for ln in c.service_lines)
    return claim(c.patient_control_number, "22", str(-c.charge), str(-c.paid), *lines,
                 pccn=c.payer_claim_control_number)


def _split(draw: st.DrawFn, total: int, parts: int) -> list[int]:
    """`total` cents cut into `parts` non-negative parts (many of them zero, as real CAS are)."""
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=parts - 1, max_size=parts - 1)))
    edges = [0, *cuts, total]
    return [b - a for a, b in pairwise(edges)]


def _adjs(*triplets: tuple[str, str, int]) -> list[Adjustment]:
    return [adj(g, r, str(cents(n))) for g, r, n in triplets if n]


@st.composite
def primary_line(draw: st.DrawFn, charge: int, lcn: str, kind: str) -> ServiceLine:
    """One line of a primary adjudication: paid (CO-45, PR-1/2/3, CO-253), denied (a CO denial
    CARC for the whole charge) or deductible-only (CO-45 + PR-1, nothing paid)."""
    if kind == "denied":
        return line(str(cents(charge)), "0.00", *_adjs(("CO", draw(st.sampled_from(DENIAL_CARCS)), charge)), lcn=lcn)
    if kind == "deductible":
        co45, pr1 = _split(draw, charge, 2)
        return line(str(cents(charge)), "0.00", *_adjs(("CO", "45", co45), ("PR", "1", pr1)), lcn=lcn)
    paid, co45, pr1, pr2, pr3, co253 = _split(draw, charge, 6)
    return line(str(cents(charge)), str(cents(paid)),
                *_adjs(("CO", "45", co45), ("PR", "1", pr1), ("PR", "2", pr2), ("PR", "3", pr3),
                       ("CO", "253", co253)), lcn=lcn)


@st.composite
def primary_claim(draw: st.DrawFn, sub: str, charges: tuple[int, ...], status: str, pccn: str) -> ClaimPayment:
    if status == "4":
        kinds = ["denied"] * len(charges)
    else:
        kinds = [draw(st.sampled_from(["paid", "paid", "deductible", "denied"])) for _ in charges]
    lines = [draw(primary_line(c, f"{sub}-{i}", k)) for i, (c, k) in enumerate(zip(charges, kinds, strict=True), 1)]
    return claim(sub, status, str(cents(sum(charges))), str(sum((ln.paid for ln in lines), ZERO)), *lines,
                 pccn=pccn)


@st.composite
def secondary_claim(draw: st.DrawFn, primary: ClaimPayment, clp01: str, lcn_prefix: str,
                    pccn: str) -> ClaimPayment:
    """The secondary payer's CLP02 2: per line, the prior payer's effect (OA-23), then what is left
    of the primary's patient share split into paid, PR-2 and CO-45."""
    lines = []
    for i, ln in enumerate(primary.service_lines, 1):
        share = sum((a.amount for a in ln.adjustments if a.group.value == "PR"), ZERO)
        share_cents = int(share * 100)
        prior = int(ln.charge * 100) - share_cents
        paid, pr2, co45 = _split(draw, share_cents, 3)
        lines.append(line(str(ln.charge), str(cents(paid)),
                          *_adjs(("OA", "23", prior), ("PR", "2", pr2), ("CO", "45", co45)),
                          lcn=f"{lcn_prefix}-{i}"))
    out = claim(clp01, "2", str(primary.charge), str(sum((ln.paid for ln in lines), ZERO)), *lines, pccn=pccn)
    return out


def brief(c: ClaimPayment | None) -> str:
    """A claim payment in one line (hypothesis prints failing streams with it)."""
    if c is None:
        return "-"
    lines = "; ".join(f"{ln.line_control_number} {ln.charge}/{ln.paid} "
                      + " ".join(f"{a.group.value}-{a.reason}:{a.amount}" for a in ln.adjustments)
                      for ln in c.service_lines)
    return (f"CLP {c.patient_control_number}*{c.status.value}*{c.charge}*{c.paid}"
            f" CLP07 {c.payer_claim_control_number} [{lines}]")


def secondary_denial(primary: ClaimPayment, clp01: str, lcn_prefix: str, pccn: str) -> ClaimPayment:
    """The secondary payer denies (CLP02 4): the prior payer's effect (OA-23), the rest CO-16."""
    lines = []
    for i, ln in enumerate(primary.service_lines, 1):
        share = int(sum((a.amount for a in ln.adjustments if a.group.value == "PR"), ZERO) * 100)
        lines.append(line(str(ln.charge), "0.00", *_adjs(("OA", "23", int(ln.charge * 100) - share),
                                                          ("CO", "16", share)), lcn=f"{lcn_prefix}-{i}"))
    return claim(clp01, "4", str(primary.charge), "0.00", *lines, pccn=pccn)


@dataclass(frozen=True, repr=False)
class Encounter:
    k: int
    charges: tuple[int, ...]  # cents, per submitted line
    next_payer: bool
    primary: ClaimPayment
    reversal: ClaimPayment | None = None
    correction: ClaimPayment | None = None
    secondary: ClaimPayment | None = None
    secondary_submission: bool = False  # the claims service sent the secondary its own claim
    late: bool = False  # its ClaimSubmitted arrives after the primary 835 (suspense, then the late match)

    @property
    def sub(self) -> str:
        return f"SINV{self.k}"

    @property
    def sub2(self) -> str:
        return f"SINV{self.k}B"

    @property
    def encounter_id(self) -> str:
        return f"enc_inv{self.k}"

    @property
    def claim_id(self) -> str:
        return f"clm_inv{self.k}"

    def __repr__(self) -> str:
        return (f"Encounter({self.k}, next_payer={self.next_payer}, secondary_submission={self.secondary_submission},"
                f" late={self.late},"
                f" primary={brief(self.primary)}, reversal={brief(self.reversal)},"
                f" correction={brief(self.correction)}, secondary={brief(self.secondary)})")

    def expected_share(self) -> Decimal | None:
        """The patient share of the last payer's adjudication (after reversals and corrections);
        None while held for a next payer that has not remitted. The secondary was billed the
        primary's PR and its own PR replaces it, never more than it left unpaid of what it was
        billed; its CO denial is the provider's (an open denial, nothing for the patient)."""
        if self.next_payer and self.secondary is None:
            return None
        if self.secondary is not None:
            return min(pr(self.secondary), max(pr(self.primary) - self.secondary.paid, ZERO))
        if self.correction is not None:
            return pr(self.correction)
        if self.reversal is not None:
            return ZERO
        return pr(self.primary)

    def submitted(self, secondary: bool = False) -> dict[str, Any]:
        """ClaimSubmitted overrides (JSON types) for the contract example."""
        sub = self.sub2 if secondary else self.sub
        lines = [{"line_number": i, "line_control_number": f"{sub}-{i}", "charge_id": f"chg_inv{self.k}_{i}",
                  "procedure_code": "99213", "modifiers": [], "description": "Office visit", "revenue_code": None,
                  "service_date": "2026-03-02", "service_end_date": None, "units": "1", "charge": str(cents(c)),
                  "diagnosis_pointers": [1], "expected_allowed": str(cents(c * 6 // 10))}
                 for i, c in enumerate(self.charges, 1)]
        payer = ({"payer_id": SECONDARY.id, "payer_name": "Medi-Cal"} if secondary else
                 {"payer_id": PRIMARY_ID, "payer_name": "Acme Health"})
        return {"claim_id": f"{self.claim_id}b" if secondary else self.claim_id,
                "claim_family_id": f"fam_inv{self.k}", "encounter_id": self.encounter_id, "submission_id": sub,
                "patient_account_id": ACCOUNT, "coverage_rank": 2 if secondary else 1, "payer": payer,
                "frequency": "1", "payer_claim_control_number": None, "total_charge": str(cents(sum(self.charges))),
                "lines": lines, "next_payer": ({"payer_id": SECONDARY.id, "payer_name": "Medi-Cal", "coverage_rank": 2}
                                               if self.next_payer and not secondary else None),
                "submitted_at": "2026-03-05T10:45:00Z"}


@st.composite
def encounters(draw: st.DrawFn, k: int) -> Encounter:
    charges = tuple(draw(st.lists(st.integers(50, 50_000), min_size=1, max_size=2)))
    sub = f"SINV{k}"
    next_payer = draw(st.booleans())
    if next_payer:
        crossover = draw(st.booleans())
        status = "19" if crossover else "1"
        primary = draw(primary_claim(sub, charges, status, f"P{k}A"))
        if crossover:
            primary = replace(primary, crossover_carrier=EntityName(entity="TT", entity_type="2", last_name="MEDI CAL",
                                                                    id_qualifier="PI", id=SECONDARY.id))
        secondary = None
        if draw(st.booleans()):  # the secondary has remitted (else the balance stays held)
            clp01, prefix = (sub, sub) if crossover else (f"{sub}B", f"{sub}B")
            if SECONDARY_DENIALS and draw(st.booleans()):
                secondary = secondary_denial(primary, clp01, prefix, f"M{k}A")
            else:
                secondary = draw(secondary_claim(primary, clp01, prefix, f"M{k}A"))
        return Encounter(k, charges, True, primary, secondary=secondary, secondary_submission=not crossover,
                         late=draw(st.booleans()))
    primary = draw(primary_claim(sub, charges, draw(st.sampled_from(["1", "1", "4"])), f"P{k}A"))
    reversal = correction = None
    if draw(st.booleans()):  # reversed, then corrected (or not)
        reversal = negate(primary)
        if draw(st.booleans()):
            correction = draw(primary_claim(sub, charges, "1", f"P{k}B"))
    return Encounter(k, charges, False, primary, reversal=reversal, correction=correction, late=draw(st.booleans()))


PatientOp = tuple[Literal["pay", "writeoff", "refund", "apply_credit"], int, int]
"""(kind, a, b): pay (cents, encounter index or -1), writeoff (balance index, percent of what is due),
refund (credit index, percent of what remains; above 100 asks for more than remains), apply_credit."""


def patient_ops(max_size: int) -> st.SearchStrategy[list[PatientOp]]:
    return st.lists(st.one_of(
        st.tuples(st.just("pay"), st.integers(1, 40_000), st.integers(-1, 2)),
        st.tuples(st.just("writeoff"), st.integers(0, 3), st.integers(1, 100)),
        st.tuples(st.just("refund"), st.integers(0, 3), st.integers(1, 120)),
        st.tuples(st.just("apply_credit"), st.integers(0, 3), st.just(0)),
    ), max_size=max_size)


@dataclass(frozen=True, repr=False)
class Stream:
    encounters: tuple[Encounter, ...]
    plbs: tuple[ProviderAdjustment, ...]
    secondary_plbs: tuple[ProviderAdjustment, ...]
    early_ops: list[PatientOp]  # between the primary 835 and the later ones
    late_ops: list[PatientOp]  # after every 835
    one_file: bool  # the reversal/correction and secondary transaction sets in one interchange

    def __repr__(self) -> str:
        plbs = [(a.reason, str(a.amount), a.reference) for a in self.plbs]
        plbs2 = [(a.reason, str(a.amount), a.reference) for a in self.secondary_plbs]
        return (f"Stream(encounters={list(self.encounters)}, plbs={plbs}, secondary_plbs={plbs2},"
                f" early_ops={self.early_ops}, late_ops={self.late_ops}, one_file={self.one_file})")

    def files(self, run: int) -> list[tuple[str, list[RemittanceTransaction]]]:
        """(name, transaction sets) in arrival order; each transaction set has its own trace."""
        first = remittance(f"INV{run}A", *(e.primary for e in self.encounters), plbs=self.plbs)
        later = [c for e in self.encounters for c in (e.reversal, e.correction) if c is not None]
        seconds = [e.secondary for e in self.encounters if e.secondary is not None]
        rest = []
        if later:
            rest.append(remittance(f"INV{run}B", *later))
        if seconds or self.secondary_plbs:
            rest.append(remittance(f"INV{run}C", *seconds, plbs=self.secondary_plbs, payer=SECONDARY))
        files = [(f"inv{run}-1.835", [first])]
        if self.one_file and rest:
            files.append((f"inv{run}-2.835", rest))
        else:
            files += [(f"inv{run}-{i}.835", [t]) for i, t in enumerate(rest, 2)]
        return files


@st.composite
def _plbs(draw: st.DrawFn, references: list[str]) -> tuple[ProviderAdjustment, ...]:
    out = []
    for reason in draw(st.lists(st.sampled_from(["L6", "WO", "FB", "72"]), max_size=3)):
        amount = draw(st.integers(1, 5_000)) * draw(st.sampled_from([1, -1]))
        reference = draw(st.sampled_from(references)) if reason in ("WO", "72") and references else ""
        out.append(plb(reason, str(cents(amount)), reference))
    return tuple(out)


@st.composite
def streams(draw: st.DrawFn) -> Stream:
    encs = tuple(draw(encounters(k)) for k in range(1, draw(st.integers(1, 3)) + 1))
    # A recoupment names a claim whose payment stands: a payer does not take back by PLB what it also
    # reverses (the books would show that payment taken back twice, which `rcm audit` reports).
    standing = [e for e in encs if e.reversal is None]
    plbs = draw(_plbs([e.primary.payer_claim_control_number for e in standing] + [e.sub for e in standing]))
    secondary_plbs = draw(_plbs([])) if any(e.secondary for e in encs) else ()
    early = draw(patient_ops(2))
    if draw(st.booleans()):  # a payment before the reversals and secondary remittances, more often than not
        early = [("pay", draw(st.integers(1, 20_000)), -1), *early]
    return Stream(encs, plbs, secondary_plbs, early, draw(patient_ops(4)), draw(st.booleans()))


def _encounter(k: int, copay: str, *, reversal: bool = False, correction_copay: str | None = None) -> Encounter:
    """A one-line 100.00 claim: CO-45 20.00, PR-3 copay, the rest paid; maybe reversed (and corrected)."""
    def paid(c: str, pccn: str) -> ClaimPayment:
        pay = D("80.00") - D(c)
        return claim(f"SINV{k}", "1", "100.00", str(pay), line("100.00", str(pay), adj("CO", "45", "20.00"),
                                                                  adj("PR", "3", c), lcn=f"SINV{k}-1"), pccn=pccn)

    primary = paid(copay, f"P{k}A")
    return Encounter(k, (10_000,), False, primary, reversal=negate(primary) if reversal else None,
                     correction=paid(correction_copay, f"P{k}B") if correction_copay is not None else None)


def _crossover(k: int) -> Encounter:
    """Medicare-like primary CLP02 19 (deductible 30.00), then the secondary's CLP02 2 (PR-2 10.00)."""
    sub = f"SINV{k}"
    primary = replace(claim(sub, "19", "100.00", "60.00", line("100.00", "60.00", adj("CO", "45", "10.00"),
                                                               adj("PR", "1", "30.00"), lcn=f"{sub}-1"), pccn=f"P{k}A"),
                      crossover_carrier=EntityName(entity="TT", entity_type="2", last_name="MEDI CAL",
                                                   id_qualifier="PI", id=SECONDARY.id))
    secondary = claim(sub, "2", "100.00", "20.00", line("100.00", "20.00", adj("OA", "23", "70.00"),
                                                        adj("PR", "2", "10.00"), lcn=f"{sub}-1"), pccn=f"M{k}A")
    return Encounter(k, (10_000,), True, primary, secondary=secondary)


LOWERED_AFTER_PAYMENT = Stream(
    (_encounter(1, "30.00", reversal=True, correction_copay="10.00"),), (plb("L6", "-1.25"),), (),
    early_ops=[("pay", 3_000, 0)], late_ops=[("refund", 0, 50), ("refund", 0, 101), ("apply_credit", 0, 0)],
    one_file=False)
"""30.00 paid, then the copay corrected to 10.00: 20.00 becomes a credit, half refunded, too much refused."""

CREDIT_PAYS_NEW_BALANCE = Stream(
    (_crossover(1), _encounter(2, "15.00")), (plb("WO", "5.00", "P2A"),), (plb("FB", "2.00"),),
    early_ops=[("pay", 4_000, -1)], late_ops=[("pay", 500, 0), ("writeoff", 0, 100)], one_file=True)
"""40.00 pays encounter 2's 15.00, 25.00 is a credit; the secondary's 10.00 balance takes it at once."""

WRITE_OFF_THEN_LOWERED = Stream(
    (_encounter(1, "40.00", reversal=True, correction_copay="10.00"),), (), (),
    early_ops=[("writeoff", 0, 50)], late_ops=[], one_file=False)
"""20.00 of a 40.00 copay written off, then the copay corrected to 10.00: the write-off shrinks to 10.00."""


def secondary_denies(own_submission: bool) -> Stream:
    """Primary: deductible 30.00 (crossed over, CLP02 19, or CLP02 1 with the secondary billed by
    us); then the secondary payer denies the claim (CLP02 4, CO-16). The 30.00 it was billed stays
    open as its denial (missing information: correct and resubmit); the patient owes nothing."""
    enc = _crossover(1)
    clp01 = "SINV1B" if own_submission else "SINV1"
    primary = replace(enc.primary, status=ClaimStatus("1"), crossover_carrier=None) if own_submission else enc.primary
    return Stream((replace(enc, primary=primary, secondary=secondary_denial(primary, clp01, clp01, "M1A"),
                           secondary_submission=own_submission),), (), (), early_ops=[], late_ops=[], one_file=False)
