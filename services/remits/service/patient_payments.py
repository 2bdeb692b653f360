"""Patient money: balances, payments (and the statements they name), credits, refunds and
write-offs (state + ledger + outbox, one transaction: the caller holds it open)."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import asyncpg
from opentelemetry import trace

from schemas.common import PatientShare
from schemas.intake import PaymentMethod
from schemas.notifications import NotificationSent
from schemas.remits import (
    BalanceItem,
    BalanceWrittenOff,
    CreditBalanceCreated,
    PatientBalanceCreated,
    PatientBalanceUpdated,
    PatientPaymentPosted,
    PaymentApplication,
)
from services.chassis import outbox
from services.chassis.ids import new_id
from services.chassis.logs import ids
from services.chassis.telemetry import continued
from services.remits import store
from services.remits.domain.balances import (
    IgnoredReason,
    PostedLine,
    Reconciled,
    RefundRefusal,
    apply_payment,
    check_refund,
    credits_to_apply,
    items_for,
    reconcile,
    resolve_encounter,
    resolve_statement,
    write_offs_given_back,
)
from services.remits.domain.books import EncounterBook
from services.remits.domain.posting import ZERO, ExpectedLine, LedgerRow
from services.remits.rows import BalanceRow, CreditOrigin, CreditRow, Json, PaymentRow, RefundRejectionRow

log = logging.getLogger(__name__)
DUE_DAYS = 30
UpdateReason = Literal["remittance", "payment_reversal", "patient_payment", "write_off", "charge_correction",
                       "next_payer_remittance"]
WriteOffReason = Literal["small_balance", "charity", "bad_debt", "administrative", "other"]
"""Why a patient balance is written off (BalanceWrittenOff.reason; the ledger account patient_writeoff_<reason>)."""


Events = list[outbox.Traced]
"""Events for outbox.enqueue_many, in their order: a list a caller hands on, so that those of one
transaction go to the outbox together (whoever enqueues them empties the list); each with the
trace it was emitted in (the 835 poller emits each claim's and balance's in the encounter's)."""


class PatientError(ValueError):
    """An operator or sender asked for something the balances do not allow (no PHI in the text)."""


def _items_json(items: list[BalanceItem]) -> tuple[Json, ...]:
    return tuple(i.model_dump(mode="json") for i in items)


def _balance_fields(row: BalanceRow, items: list[BalanceItem] | None = None) -> dict[str, Any]:
    """The fields of a balance event: `items` are the row's items as models when the caller has them."""
    if items is None:
        items = [BalanceItem.model_validate_json(json.dumps(i)) for i in row.items]
    return {
        "patient_account_id": row.patient_account_id, "balance_id": row.balance_id,
        "encounter_id": row.encounter_id, "claim_ids": list(row.claim_ids), "items": items,
        # `or ZERO`: the one zero, never "-0.00" (as validation makes it: the events built unvalidated).
        "total_patient_responsibility": row.total or ZERO, "patient_paid": row.patient_paid or ZERO,
        "written_off": row.written_off or ZERO, "amount_due": row.amount_due or ZERO, "due_date": row.due_date,
    }


async def _emit_update(conn: asyncpg.Connection, balance_id: str, previous_due: Decimal, reason: UpdateReason,
                       at: datetime) -> None:
    row = await store.balance(conn, balance_id)
    assert row is not None
    await outbox.enqueue(conn, PatientBalanceUpdated(**_balance_fields(row), revision=row.revision, reason=reason,
                                                     previous_amount_due=previous_due, updated_at=at), occurred_at=at)


def _zeroed(items: Sequence[Json]) -> list[BalanceItem]:
    """A balance's last known lines with nothing left for the patient (the share moved to a next
    payer, or was reversed or protected): the statement keeps what the patient was billed for."""
    out = []
    for i in items:
        item = BalanceItem.model_validate_json(json.dumps(i))
        zero = PatientShare(deductible=ZERO, coinsurance=ZERO, copay=ZERO, other=ZERO)
        out.append(item.model_copy(update={"patient_share": zero, "patient_responsibility": ZERO,
                                           "adjustments": item.charge - item.insurance_paid}))
    return out


def _balance_lines(book: EncounterBook, expected: dict[str, ExpectedLine], governing: list[PostedLine],
                   at: datetime) -> tuple[list[BalanceItem], list[str]]:
    """The balance's lines as its books say, and its claims. Built without validation: every value
    is ours, already valid (amounts in cents from the books, ids and codes from a ClaimSubmitted
    validated when it arrived); tests/unit/remits/test_balance_events.py proves the JSON the same as
    validated models'. A zero is the one zero (never "-0.00"), as validation would make it."""
    lines = items_for(book, governing, {charge_id: ln.charge for charge_id, ln in expected.items()})
    items = []
    for i in lines:
        line = expected.get(i.charge_id)
        share = i.share
        items.append(BalanceItem.model_construct(
            charge_id=i.charge_id, claim_id=i.claim_id, service_date=line.service_date if line else at.date(),
            procedure_code=line.procedure_code if line else "99499", revenue_code=line.revenue_code if line else None,
            description=line.description if line else None,
            charge=i.charge or ZERO, insurance_paid=i.insurance_paid or ZERO, adjustments=i.adjustments or ZERO,
            patient_share=PatientShare.model_construct(
                deductible=share.deductible or ZERO, coinsurance=share.coinsurance or ZERO, copay=share.copay or ZERO,
                other=share.other or ZERO),
            patient_responsibility=i.patient_responsibility or ZERO))
    return items, sorted({i.claim_id for i in lines})


@dataclass
class _BalanceWrites:
    """New balances and plain updates (no patient money moves) in encounter order, written in a few
    statements, then their events in the same order (after the caller's events not yet enqueued)."""

    events: Events
    created: list[BalanceRow] = field(default_factory=list)
    updated: list[BalanceRow] = field(default_factory=list)

    def create(self, row: BalanceRow, items: list[BalanceItem], at: datetime) -> None:
        self.created.append(row)
        # Not validated again: the row's values and `items` are ours (see _balance_lines).
        self.events.append(outbox.traced(
            PatientBalanceCreated.model_construct(**_balance_fields(row, items), created_at=at), at))
        log.info("patient balance created", extra=ids(encounter_id=row.encounter_id))

    def update(self, row: BalanceRow, items: list[BalanceItem], previous_due: Decimal, reason: UpdateReason,
               at: datetime) -> None:
        """`row` as read (locked) with its new values: stored, its revision is one up."""
        self.updated.append(row)
        self.events.append(outbox.traced(PatientBalanceUpdated.model_construct(
            **_balance_fields(row, items), revision=row.revision + 1, reason=reason,
            previous_amount_due=previous_due or ZERO, updated_at=at), at))

    async def flush(self, conn: asyncpg.Connection, at: datetime) -> None:
        if self.created:
            await store.insert_balances(conn, self.created)
        if self.updated:
            await store.update_balances(conn, self.updated, at)
        await outbox.enqueue_many(conn, self.events)
        for rows in (self.created, self.updated, self.events):
            rows.clear()


async def refresh_balances(conn: asyncpg.Connection, changed: Sequence[tuple[EncounterBook, str, UpdateReason]],
                           at: datetime, events: Events | None = None,
                           traces: Mapping[str, str | None] | None = None) -> None:
    """Bring each encounter's patient balance (in the order given) to what its books say the patient
    owes: created the first time that is above zero, then updated whenever it changes (down to zero
    too, while a next payer answers for it); a balance lowered below what was paid and written off
    gives those back. What they need is read in a few statements, and new balances and plain
    updates are written together; one that moves patient money (write-offs given back, a credit,
    open credits to apply) is written on its own at its place in the order, after those before it,
    so each account's events keep the encounters' order. `events`: the caller's events not yet
    enqueued, which go to the outbox before the balances' (it is emptied when they do); `traces`:
    the trace each encounter's balance events go in (else the current one)."""
    encounter_ids = [book.encounter_id for book, _, _ in changed]
    if not encounter_ids:
        return
    existing = await store.balances_for_encounters(conn, encounter_ids)
    # An encounter with no balance and nothing the patient owes (its first claim, as a rule) has
    # nothing to write: its lines are not read, and without a total above zero no balance is new or
    # grows, so no account's credits are asked for either.
    owing = {book.encounter_id for book, _, _ in changed if book.patient.total() > 0}
    lined = [e for e in encounter_ids if e in existing or e in owing]
    expected = await store.encounter_lines(conn, lined) if lined else {}
    governing = await store.governing_lines(conn, lined) if lined else {}
    accounts = {account for _, account, _ in changed} | {b.patient_account_id for b in existing.values()}
    # Accounts that may have credit to apply: a balance of theirs that is new or grows takes the slow path.
    with_credit = await store.accounts_with_open_credits(conn, sorted(accounts)) if owing else set()
    writes = _BalanceWrites([] if events is None else events)
    for book, patient_account_id, reason in changed:
        # In the encounter's trace when the caller knows it (the 835 poller), linked to the current span.
        with continued((traces or {}).get(book.encounter_id), "encounter balance",
                       links=[trace.get_current_span()], or_current=True):
            encounter_id = book.encounter_id
            total = book.patient.total()
            current = existing.get(encounter_id)
            if current is None and total <= 0:
                continue
            items, claim_ids = _balance_lines(book, expected[encounter_id], governing[encounter_id], at)
            if current is None:
                if not items:
                    continue
                row = BalanceRow(
                    balance_id=new_id("bal"), encounter_id=encounter_id, patient_account_id=patient_account_id,
                    claim_ids=tuple(claim_ids), items=_items_json(items), total=total, patient_paid=ZERO,
                    written_off=ZERO, due_date=(at + timedelta(days=DUE_DAYS)).date(), revision=1, created_at=at,
                    updated_at=at)
                writes.create(row, items, at)
                if patient_account_id in with_credit:
                    await writes.flush(conn, at)
                    await apply_open_credits(conn, row.balance_id, at)
                continue
            if not items:
                items = _zeroed(current.items)
                claim_ids = list(current.claim_ids)
            stored = _items_json(items)
            if total == current.total and stored == current.items:
                continue
            fixed = reconcile(total, current.patient_paid, current.written_off)
            updated = replace(current, claim_ids=tuple(claim_ids), items=stored, total=total,
                              patient_paid=fixed.patient_paid, written_off=fixed.written_off)
            grows = total - fixed.patient_paid - fixed.written_off > current.amount_due
            if fixed.written_off_back > 0 or fixed.credit > 0 or (grows and current.patient_account_id in with_credit):
                await writes.flush(conn, at)
                await _update_moving_money(conn, current, updated, fixed, reason, at)
                with_credit.add(current.patient_account_id)  # it may have made a credit the next balances take
                continue
            writes.update(updated, items, current.amount_due, reason, at)
    await writes.flush(conn, at)


async def _update_moving_money(conn: asyncpg.Connection, existing: BalanceRow, updated: BalanceRow,
                               fixed: Reconciled, reason: UpdateReason, at: datetime) -> None:
    """A balance update that moves patient money: write-offs given back, what was paid beyond the
    new balance to a credit (which pays the account's other open balances first), open credits
    applied to a balance that grew."""
    previous_due = existing.amount_due
    await store.update_balance(conn, updated, at)
    if fixed.written_off_back > 0:
        await _give_back_write_offs(conn, existing.balance_id, existing.patient_account_id,
                                    fixed.written_off_back, at)
    credit_id = None
    if fixed.credit > 0:
        credit_id = await _credit(conn, existing.patient_account_id, fixed.credit, "balance_reduced_after_payment",
                                  at, balance_id=existing.balance_id, move_from_ar=True)
    await _emit_update(conn, existing.balance_id, previous_due, reason, at)
    if credit_id is not None:
        # What the patient paid toward this balance pays their other open balances first (oldest
        # first); only what is left waits as a credit to refund.
        await apply_credit(conn, credit_balance_id=credit_id, at=at)
    if updated.total - fixed.patient_paid - fixed.written_off > previous_due:
        await apply_open_credits(conn, existing.balance_id, at)


async def _give_back_write_offs(conn: asyncpg.Connection, balance_id: str, account: str, amount: Decimal,
                                at: datetime) -> None:
    """A lowered balance no longer needs `amount` of its write-offs: one reversing journal
    (append-only: the write-off journals stay as they were), the most recent reason first."""
    back = write_offs_given_back(amount, await store.written_off_by_reason(conn, balance_id))
    if sum((take for _, take in back), ZERO) != amount:  # the row and the ledger disagree: `rcm audit` shows it
        log.warning("the ledger holds less write-off than the balance gives back", extra=ids(balance_id=balance_id))
    if not back:
        return
    rows = [row for reason, take in back for row in (LedgerRow(f"patient_writeoff_{reason}", -take),
                                                     LedgerRow("patient_writeoffs_applied", take))]
    await store.journal(conn, new_id("jnl"), "write_off_reversal", rows, at, balance_id=balance_id,
                        patient_account_id=account)
    log.info("write-off given back: the balance was lowered", extra=ids(balance_id=balance_id))


async def apply_open_credits(conn: asyncpg.Connection, balance_id: str, at: datetime) -> Decimal:
    """A balance was created or grew: the account's open credits pay it at once, oldest credit
    first, each through apply_credit (same journal and events as `rcm payments apply-credit`).
    Returns the amount applied."""
    row = await store.balance(conn, balance_id)
    assert row is not None
    applied = ZERO
    for credit, _ in credits_to_apply(row.amount_due, await store.open_credits(conn, row.patient_account_id)):
        applied += await apply_credit(conn, credit_balance_id=credit.credit_balance_id, at=at,
                                      only_balance_id=balance_id)
    if applied > 0:
        log.info("open credit applied to a new or grown balance",
                 extra=ids(patient_account_id=row.patient_account_id, encounter_id=row.encounter_id))
    return applied


async def _credit(conn: asyncpg.Connection, account: str, amount: Decimal,
                  origin: CreditOrigin, at: datetime, *, payment_id: str | None = None,
                  balance_id: str | None = None, move_from_ar: bool = False) -> str:
    credit_id = new_id("crd")
    await store.insert_credit(conn, CreditRow(credit_balance_id=credit_id, patient_account_id=account, amount=amount,
                                              remaining=amount, origin=origin, created_at=at, payment_id=payment_id,
                                              balance_id=balance_id))
    if move_from_ar:
        await store.journal(conn, new_id("jnl"), "credit",
                            [LedgerRow("patient_payments_applied", amount), LedgerRow("patient_credit", -amount)],
                            at, balance_id=balance_id, patient_account_id=account)
    await outbox.enqueue(conn, CreditBalanceCreated(patient_account_id=account, credit_balance_id=credit_id,
                                                    amount=amount, origin=origin, payment_id=payment_id,
                                                    balance_id=balance_id, created_at=at), occurred_at=at)
    return credit_id


async def post_payment(conn: asyncpg.Connection, *, idempotency_key: str, patient_account_id: str, amount: Decimal,
                       method: PaymentMethod, received_on: date, encounter_id: str | None, at: datetime,
                       statement_id: str | None = None) -> str:
    """Apply a patient payment: the balance its statement was about first, then the named
    encounter's, then the oldest open balances of the account; excess -> credit. A reference that
    is unknown or belongs to another account is ignored (logged, stored on the payment): the
    payment is then applied as if it named nothing."""
    existing = await store.payment_by_key(conn, idempotency_key)
    if existing:
        return existing
    target_balance: str | None = None
    target_encounter: str | None = None
    ignored: list[IgnoredReason] = []
    if statement_id is not None:
        target_balance, why = resolve_statement(patient_account_id, await store.statement_reference(conn,
                                                                                                     statement_id))
        if why:
            ignored.append(why)
    if encounter_id is not None:
        target_encounter, why = resolve_encounter(patient_account_id, encounter_id,
                                                  await store.encounter_owner(conn, encounter_id))
        if why:
            ignored.append(why)
    payment_id = new_id("pmt")
    applied, left = apply_payment(amount, await store.open_balances(conn, patient_account_id), target_encounter,
                                  balance_id=target_balance)
    rows = [LedgerRow("patient_cash", amount)]
    applications = []
    for b, take in applied:
        rows.append(LedgerRow("patient_payments_applied", -take, b.balance_id))
        applications.append(PaymentApplication(balance_id=b.balance_id, encounter_id=b.encounter_id, amount=take))
    if left > 0:
        rows.append(LedgerRow("patient_credit", -left))
    await store.journal(conn, new_id("jnl"), "patient_payment", rows, at, patient_account_id=patient_account_id)
    credit_id = None
    if left > 0:
        credit_id = await _credit(conn, patient_account_id, left, "patient_overpayment", at, payment_id=payment_id)
    await store.insert_payment(conn, PaymentRow(
        payment_id=payment_id, idempotency_key=idempotency_key, patient_account_id=patient_account_id, amount=amount,
        method=method, received_on=received_on, applications=tuple(a.model_dump(mode="json") for a in applications),
        unapplied=left, credit_balance_id=credit_id, posted_at=at))
    await store.set_payment_reference(conn, payment_id, statement_id, encounter_id, ",".join(ignored) or None)
    await outbox.enqueue(conn, PatientPaymentPosted(
        patient_account_id=patient_account_id, payment_id=payment_id, idempotency_key=idempotency_key, amount=amount,
        method=method, received_on=received_on, applications=applications, unapplied_amount=left,
        credit_balance_id=credit_id, posted_at=at), occurred_at=at)
    for b, take in applied:
        row = await store.balance(conn, b.balance_id)
        assert row is not None
        await store.update_balance(conn, replace(row, patient_paid=row.patient_paid + take), at)
        await _emit_update(conn, b.balance_id, b.amount_due, "patient_payment", at)
    if ignored:
        log.warning("payment reference ignored: applied to the oldest open balances (payments.reference_ignored)",
                    extra=ids(patient_account_id=patient_account_id, encounter_id=encounter_id,
                              reason=",".join(ignored)))
    log.info("patient payment posted", extra=ids(patient_account_id=patient_account_id))
    return payment_id


async def issue_refund(conn: asyncpg.Connection, *, idempotency_key: str, credit_balance_id: str, amount: Decimal,
                       at: datetime, patient_account_id: str) -> RefundRefusal | None:
    """A refund closes (part of) a credit balance (ledger patient_credit / patient_cash). Refused,
    and recorded in refund_rejections with the reason, when the credit is unknown, belongs to
    another account or has less left than the refund (already applied or refunded): a credit never
    goes below zero. Returns the refusal reason, None when the refund is (or already was) posted."""
    credit = await store.credit(conn, credit_balance_id)  # locked: a concurrent redelivery waits here
    if await store.refund_issued(conn, idempotency_key):
        return None
    remaining = None if credit is None else credit.remaining
    refusal = check_refund(patient_account_id, None if credit is None else credit.patient_account_id,
                           remaining if remaining is not None else ZERO, amount)
    if refusal is not None:
        await store.reject_refund(conn, RefundRejectionRow(
            idempotency_key=idempotency_key, credit_balance_id=credit_balance_id,
            patient_account_id=patient_account_id, amount=amount, remaining=remaining, reason=refusal,
            rejected_at=at))
        log.warning("refund rejected (refund_rejections)", extra=ids(patient_account_id=patient_account_id,
                                                                      reason=refusal))
        return refusal
    assert credit is not None
    if await store.refund(conn, idempotency_key, credit_balance_id, amount, at):
        await store.journal(conn, new_id("jnl"), "refund",
                            [LedgerRow("patient_credit", amount), LedgerRow("patient_cash", -amount)], at,
                            patient_account_id=credit.patient_account_id)
    return None


async def write_off(conn: asyncpg.Connection, *, balance_id: str, amount: Decimal, reason: WriteOffReason,
                    operator_id: str | None, at: datetime) -> Decimal:
    row = await store.balance(conn, balance_id)
    if row is None:
        raise PatientError("no balance has that id")
    due = row.amount_due
    if amount <= 0 or amount > due:
        raise PatientError(f"the write-off must be positive and at most the amount due ({due})")
    await store.insert_writeoff(conn, new_id("wof"), balance_id, amount, reason, operator_id, at)
    await store.journal(conn, new_id("jnl"), "write_off",
                        [LedgerRow(f"patient_writeoff_{reason}", amount), LedgerRow("patient_writeoffs_applied",
                                                                                   -amount)],
                        at, balance_id=balance_id, patient_account_id=row.patient_account_id)
    await store.update_balance(conn, replace(row, written_off=row.written_off + amount), at)
    await outbox.enqueue(conn, BalanceWrittenOff(
        patient_account_id=row.patient_account_id, balance_id=balance_id, encounter_id=row.encounter_id,
        amount=amount, reason=reason, operator_id=operator_id, remaining_amount_due=due - amount,
        written_off_at=at), occurred_at=at)
    await _emit_update(conn, balance_id, due, "write_off", at)
    remaining: Decimal = due - amount
    return remaining


async def apply_credit(conn: asyncpg.Connection, *, credit_balance_id: str, at: datetime,
                       encounter_id: str | None = None, only_balance_id: str | None = None) -> Decimal:
    """Apply what remains of a credit balance to the patient's open balances (the named encounter
    first, then the oldest; only `only_balance_id` when given). Returns the amount applied."""
    credit = await store.credit(conn, credit_balance_id)
    if credit is None:
        raise PatientError("no credit balance has that id")
    targets = await store.open_balances(conn, credit.patient_account_id)
    if only_balance_id is not None:
        targets = [b for b in targets if b.balance_id == only_balance_id]
    applied, _ = apply_payment(credit.remaining, targets, encounter_id)
    total = sum((take for _, take in applied), ZERO)
    if total == 0:
        return total
    rows = [LedgerRow("patient_credit", total)] + [LedgerRow("patient_payments_applied", -take, b.balance_id)
                                                   for b, take in applied]
    await store.journal(conn, new_id("jnl"), "credit_applied", rows, at,
                        patient_account_id=credit.patient_account_id)
    await store.use_credit(conn, credit_balance_id, total)
    for b, take in applied:
        row = await store.balance(conn, b.balance_id)
        assert row is not None
        await store.update_balance(conn, replace(row, patient_paid=row.patient_paid + take), at)
        await _emit_update(conn, b.balance_id, b.amount_due, "patient_payment", at)
    return total


async def record_statement(conn: asyncpg.Connection, e: NotificationSent) -> None:
    """Keep statement id -> balance id, so a payment naming the statement pays that balance.
    Notifications that are not statements (no statement_id or no balance_id) are ignored."""
    if e.related.statement_id is None or e.related.balance_id is None:
        return
    await store.save_statement(conn, e.related.statement_id, e.related.balance_id, e.related.patient_account_id,
                               e.notification_id, e.sent_at)
