"""The X12 277 (005010X212) reader: ``read_277`` turns a file into ``StatusResponse`` values.

Receiver and provider level statuses (2200B/2200C) and service line loops (2220D/E) are read
past: we ask about claims, and the claim level STC says what happened."""

from __future__ import annotations

from edi.claimstatus import Parties, read_transaction
from edi.composites import read_status_code
from edi.envelope import read_interchanges, transaction_sets
from edi.x12 import Segment, TransactionSet
from edi.x12values import (
    Cursor,
    element_error,
    expect_code,
    optional_date,
    optional_decimal,
    parse_period,
    required,
    required_date,
    required_decimal,
    segment_error,
)
from edi.x277.model import FUNCTIONAL_ID, IMPLEMENTATION, Status, StatusResponse

_REFS = frozenset({"1K", "BLT", "EJ", "XZ", "VV", "D9"})


def read_277(text: str) -> list[StatusResponse]:
    """Every claim status response of every 277 (005010X212) transaction set in ``text``."""
    sets = transaction_sets(read_interchanges(text), FUNCTIONAL_ID, "277",
                            "a 277 claim status response (GS01 HN, ST01 277, 005010X212)", IMPLEMENTATION)
    return [response for ts in sets for response in read_transaction_set(ts)]


def read_transaction_set(ts: TransactionSet) -> list[StatusResponse]:
    return read_transaction(ts, purpose="08", demographics=False, level_statuses=_skip_level_statuses,
                            claim=_read_claim)


def _skip_level_statuses(cur: Cursor, loop: str) -> None:
    if cur.take("TRN") is not None:
        cur.expect("STC", what=f"loop {loop} status information")
        while cur.take("STC") is not None:
            pass


def read_stc(seg: Segment) -> Status:
    code = read_status_code(seg, 1)
    return Status(category_code=code.category, status_code=code.status, entity_code=code.entity or None,
                  effective_date=required_date(seg, 2), total_charge=required_decimal(seg, 4),
                  paid_amount=optional_decimal(seg, 5),
                  adjudication_date=optional_date(seg, 6), payment_date=optional_date(seg, 8),
                  check_number=seg.el(9) or None,
                  additional=tuple(read_status_code(seg, i) for i in (10, 11) if seg.el(i)))


def _read_claim(cur: Cursor, parties: Parties, loop: str) -> StatusResponse:
    trn = cur.next()
    expect_code(trn, 1, ("2",))
    statuses = [read_stc(cur.expect("STC", what=f"loop {loop} claim level status information"))]
    while cur.at("STC"):
        statuses.append(read_stc(cur.next()))
    refs: dict[str, str] = {}
    while (ref := cur.take("REF")) is not None:
        qualifier = required(ref, 1)
        if qualifier not in _REFS:
            raise element_error(ref, 1, f"is not a reference qualifier of loop {loop}")
        if qualifier in refs:
            raise segment_error(ref, f"REF*{qualifier} repeats in loop {loop}")
        refs[qualifier] = required(ref, 2)
    start = end = None
    if (dtp := cur.take("DTP", "472")) is not None:
        start, end = parse_period(dtp, 2, 3)
    while cur.at("SVC"):
        _skip_line(cur, f"2220{loop[-1]}")
    return StatusResponse(
        trace_number=required(trn, 2), **vars(parties), patient_control_number=refs.get("EJ", ""),
        payer_claim_control_number=refs.get("1K"), type_of_bill=refs.get("BLT"), service_date=start,
        service_end_date=end if end != start else None, statuses=tuple(statuses),
    )


def _skip_line(cur: Cursor, loop: str) -> None:
    cur.next()
    cur.expect("STC", what=f"loop {loop} service line status information")
    while cur.take("STC") is not None:
        pass
    cur.take("REF", "FJ")
    cur.expect("DTP", "472", f"loop {loop} service line date")
