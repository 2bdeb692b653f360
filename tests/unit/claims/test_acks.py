"""Acknowledgment codes and readable reasons."""

from __future__ import annotations

from datetime import date

from edi import x277ca, x999
from services.claims.domain import acks


def _claim(*codes: x277ca.StatusCode, message: str = "") -> x277ca.ClaimAck:
    statuses = tuple(x277ca.StatusInfo(code=c, message=message) for c in codes)
    return x277ca.ClaimAck(patient_control_number="S1", statuses=statuses, service_from=date(2026, 3, 2),
                           service_to=date(2026, 3, 2))


def test_277ca_rejection_reason_is_readable() -> None:
    claim = _claim(x277ca.StatusCode("A7", "562", "85"), message="NPI not on file")
    assert claim.rejected
    reason = acks.claim_reason(claim)
    assert "rejected for invalid information" in reason and "(NPI)" in reason and "billing provider" in reason
    assert "NPI not on file" in reason
    assert [c.code for c in acks.stc_codes(claim)] == ["A7:562:85"]


def test_only_a2_is_an_acceptance() -> None:
    assert acks.is_acceptance(_claim(x277ca.StatusCode("A2", "20", "PR")))
    assert not acks.is_acceptance(_claim(x277ca.StatusCode("A1", "19", "PR")))
    assert not acks.is_acceptance(_claim(x277ca.StatusCode("A2", "20", "PR"), x277ca.StatusCode("A3", "21", "")))


def test_999_codes_and_reason() -> None:
    ts = x999.TransactionSetAck(set_id="837", control_number="0001", code=x999.AckCode.REJECTED,
                                syntax_error_codes=("5",), segment_errors=(x999.SegmentError(
                                    segment_id="NM1", position=12, code="8",
                                    element_errors=(x999.ElementError(position=9, code="7"),)),))
    ack = x999.Ack999(functional_id="HC", group_control_number="5", transaction_sets=(ts,),
                      group_code=x999.GroupAckCode.REJECTED, included_count=1, received_count=1, accepted_count=0)
    codes = acks.set_codes(ts, ack)
    assert [(c.segment, c.code) for c in codes] == [("IK5", "R"), ("IK3", "NM1:8"), ("IK4", "9:7"), ("AK9", "R")]
    reason = acks.set_reason(ts)
    assert "NM109 invalid code value" in reason and "0001" in reason
    assert acks.kind_of("FA") == "999" and acks.kind_of("HN") == "277CA" and acks.kind_of("HC") is None
