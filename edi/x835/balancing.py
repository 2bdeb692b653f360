"""835 balancing, reported check by check instead of raised.

An 835 that fails any check is quarantined, not posted; the caller needs every failing check
(which claim, which line, by how much) to explain why, so nothing here raises.

* line:        SVC02 - sum(line CAS) = SVC03
* claim:       CLP03 - sum(claim CAS) - sum(line CAS) = CLP04
* transaction: BPR02 = sum(CLP04) - sum(PLB amounts)   (a positive PLB reduces the payment)

Messages name claims and lines by their ordinal and segment position, not by patient control
number, so they can be logged without carrying identifiers; the identifiers are in the fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from edi.x12 import Interchange, TransactionSet, X12Error
from edi.x12values import json_amount
from edi.x835.model import ClaimPayment, RemittanceTransaction
from edi.x835.reader import read_transaction_set

Level = Literal["line", "claim", "transaction"]


@dataclass(frozen=True, kw_only=True)
class BalanceCheck:
    level: Level
    claim_index: int | None  # 1-based ordinal of the claim in the transaction set
    patient_control_number: str | None  # CLP01 of that claim
    line_index: int | None  # 1-based ordinal of the service line in its claim
    expected: Decimal  # what the file states (SVC03, CLP04, BPR02)
    actual: Decimal  # what the other amounts add up to
    ok: bool
    message: str
    position: int | None = None  # segment holding ``expected`` (SVC, CLP, or ST for the transaction)

    @property
    def difference(self) -> Decimal:
        return self.expected - self.actual

    # The attributes below let edi.validate report a failed check like any other issue.
    @property
    def code(self) -> str:
        return f"balancing_{self.level}"

    @property
    def segment_id(self) -> str:
        return _SEGMENT[self.level]

    @property
    def element(self) -> str:
        return _ELEMENT[self.level]

    @property
    def severity(self) -> str:
        return "error"


_SEGMENT = {"line": "SVC", "claim": "CLP", "transaction": "BPR"}
_ELEMENT = {"line": "SVC03", "claim": "CLP04", "transaction": "BPR02"}


def check_835(transaction: RemittanceTransaction) -> list[BalanceCheck]:
    """Every line, claim and transaction check of one 835 transaction set, in file order."""
    checks: list[BalanceCheck] = []
    claims = transaction.claims
    for claim_index, claim in enumerate(claims, start=1):
        checks.extend(_line_checks(claim, claim_index))
        checks.append(_claim_check(claim, claim_index))
    paid = sum((c.paid for c in claims), Decimal(0))
    plb = sum((p.amount for p in transaction.provider_adjustments), Decimal(0))
    actual = paid - plb
    expected = transaction.total_payment
    ok = expected == actual
    where = "transaction set" + (f" {transaction.control_number}" if transaction.control_number else "")
    if ok:
        message = f"{where} balances: BPR02 {_m(expected)} = sum(CLP04) {_m(paid)} - sum(PLB) {_m(plb)}"
    else:
        message = (f"{where} does not balance: sum(CLP04) {_m(paid)} - sum(PLB) {_m(plb)} = {_m(actual)}"
                   f" but BPR02 is {_m(expected)} (off by {_m(expected - actual)})")
    checks.append(BalanceCheck(level="transaction", claim_index=None, patient_control_number=None,
                               line_index=None, expected=expected, actual=actual, ok=ok, message=message,
                               position=_bpr_position(transaction)))
    return checks


def balancing_issues(
    ts: TransactionSet, interchange: Interchange | None = None
) -> list[BalanceCheck | X12Error]:
    """The failing checks of a raw ST 835, shaped for ``edi.validate``'s per-transaction registry
    (``check(ts, interchange)``); a transaction set that cannot be read yields its read error."""
    try:
        transaction = read_transaction_set(ts)
    except X12Error as exc:
        return [exc]
    return [c for c in check_835(transaction) if not c.ok]


def _bpr_position(transaction: RemittanceTransaction) -> int | None:
    # The reader requires BPR right after ST, so the model keeps only the ST position.
    return None if transaction.position is None else transaction.position + 1


def is_balanced(item: RemittanceTransaction | Sequence[BalanceCheck]) -> bool:
    """True when every check passes; accepts a transaction set or the checks already run."""
    checks = item if isinstance(item, Sequence) else check_835(item)
    return all(c.ok for c in checks)


def _claim_name(claim: ClaimPayment, claim_index: int) -> str:
    at = f" (segment {claim.position})" if claim.position is not None else ""
    return f"claim {claim_index}{at}"


def _line_checks(claim: ClaimPayment, claim_index: int) -> list[BalanceCheck]:
    out: list[BalanceCheck] = []
    for line_index, line in enumerate(claim.service_lines, start=1):
        adjusted = sum((a.amount for a in line.adjustments), Decimal(0))
        actual = line.charge - adjusted
        ok = actual == line.paid
        at = f" (segment {line.position})" if line.position is not None else ""
        where = f"line {line_index}{at} of {_claim_name(claim, claim_index)}"
        if ok:
            message = (f"{where} balances: SVC02 {_m(line.charge)} - line CAS {_m(adjusted)}"
                       f" = SVC03 {_m(line.paid)}")
        else:
            message = (f"{where} does not balance: SVC02 {_m(line.charge)} - line CAS {_m(adjusted)}"
                       f" = {_m(actual)} but SVC03 is {_m(line.paid)} (off by {_m(line.paid - actual)})")
        out.append(BalanceCheck(level="line", claim_index=claim_index,
                                patient_control_number=claim.patient_control_number, line_index=line_index,
                                expected=line.paid, actual=actual, ok=ok, message=message,
                                position=line.position))
    return out


def _claim_check(claim: ClaimPayment, claim_index: int) -> BalanceCheck:
    claim_cas = sum((a.amount for a in claim.adjustments), Decimal(0))
    line_cas = sum((a.amount for a in claim.line_adjustments), Decimal(0))
    actual = claim.charge - claim_cas - line_cas
    ok = actual == claim.paid
    where = _claim_name(claim, claim_index)
    if ok:
        message = (f"{where} balances: CLP03 {_m(claim.charge)} - claim CAS {_m(claim_cas)}"
                   f" - line CAS {_m(line_cas)} = CLP04 {_m(claim.paid)}")
    else:
        message = (f"{where} does not balance: CLP03 {_m(claim.charge)} - claim CAS {_m(claim_cas)}"
                   f" - line CAS {_m(line_cas)} = {_m(actual)} but CLP04 is {_m(claim.paid)}"
                   f" (off by {_m(claim.paid - actual)})")
    return BalanceCheck(level="claim", claim_index=claim_index,
                        patient_control_number=claim.patient_control_number, line_index=None,
                        expected=claim.paid, actual=actual, ok=ok, message=message, position=claim.position)


def _m(value: Decimal) -> str:
    return json_amount(value)
