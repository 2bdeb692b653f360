"""The X12 276 reader: ``read_276`` turns a file into ``StatusInquiry`` values (005010X212)."""

from __future__ import annotations

from edi.claimstatus import Parties, read_transaction
from edi.envelope import read_interchanges, transaction_sets
from edi.x12 import TransactionSet
from edi.x12values import Cursor, expect_code, parse_period, required, required_decimal, segment_error
from edi.x276.model import FUNCTIONAL_ID, IMPLEMENTATION, StatusInquiry

_REFS = {"1K": "payer_claim_control_number", "BLT": "type_of_bill", "EJ": "patient_control_number"}
# Allowed in 2200D/E by the guide, not used by us: read past, not refused.
_OTHER_REFS = frozenset({"LU", "6P", "XZ", "D9"})


def read_276(text: str) -> list[StatusInquiry]:
    """Every claim status inquiry of every 276 transaction set in ``text``, in document order."""
    sets = transaction_sets(read_interchanges(text), FUNCTIONAL_ID, "276", "a 276 (GS01 HR, ST01 276, 005010X212)",
                            IMPLEMENTATION)
    return [inquiry for ts in sets for inquiry in read_transaction_set(ts)]


def read_transaction_set(ts: TransactionSet) -> list[StatusInquiry]:
    return read_transaction(ts, purpose="13", demographics=True, level_statuses=None, claim=_read_claim)


def _read_claim(cur: Cursor, parties: Parties, loop: str) -> StatusInquiry:
    trn = cur.next()
    expect_code(trn, 1, ("1",))
    refs: dict[str, str] = {}
    while (ref := cur.take("REF")) is not None:
        qualifier = required(ref, 1)
        key = _REFS.get(qualifier)
        if key is None and qualifier not in _OTHER_REFS:
            raise segment_error(ref, f"REF01 is not a reference qualifier of loop {loop}")
        if qualifier in refs:
            raise segment_error(ref, f"REF*{qualifier} repeats in loop {loop}")
        refs[qualifier] = required(ref, 2)
    if "EJ" not in refs:
        raise segment_error(trn, f"loop {loop} has no REF*EJ patient control number (our claims always send one)")
    amt = cur.expect("AMT", "T3", f"loop {loop} claim submitted charges")
    dtp = cur.expect("DTP", "472", f"loop {loop} claim service date")
    start, end = parse_period(dtp, 2, 3)
    if cur.at("SVC"):
        raise segment_error(cur.next(), f"service line loops (2210{loop[-1]}) are not supported in a 276")
    return StatusInquiry(
        trace_number=required(trn, 2), **vars(parties), patient_control_number=refs["EJ"],
        payer_claim_control_number=refs.get("1K"), type_of_bill=refs.get("BLT"),
        total_charge=required_decimal(amt, 2), service_date=start, service_end_date=end if end != start else None,
    )
