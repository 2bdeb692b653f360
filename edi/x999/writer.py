"""The X12 999 writer: ``write_999`` renders one or more ``Ack999`` in one interchange (no IK404)."""

from __future__ import annotations

from collections.abc import Sequence

from edi.x12 import EnvelopeParams, SegmentSpec, write_interchange
from edi.x999.model import FUNCTIONAL_ID, IMPLEMENTATION, Ack999


def write_999(acks: Ack999 | Sequence[Ack999], params: EnvelopeParams, *, line_breaks: bool = False) -> str:
    """Render one or more 999 transaction sets in one 005010X231A1 interchange."""
    items = [acks] if isinstance(acks, Ack999) else list(acks)
    return write_interchange(params, FUNCTIONAL_ID, IMPLEMENTATION, [_specs(a) for a in items],
                             line_breaks=line_breaks)


def _specs(ack: Ack999) -> list[SegmentSpec]:
    out: list[SegmentSpec] = [["AK1", ack.functional_id, ack.group_control_number, ack.version]]
    for ts in ack.transaction_sets:
        out.append(["AK2", ts.set_id, ts.control_number, ts.implementation])
        for err in ts.segment_errors:
            out.append(["IK3", err.segment_id, str(err.position), err.loop_id, err.code])
            if err.business_unit:
                out.append(["CTX", list(err.business_unit)])
            for ele in err.element_errors:
                position = [str(ele.position), _opt(ele.component), _opt(ele.repetition)]
                out.append(["IK4", position, ele.reference_number, ele.code])
        out.append(["IK5", ts.code.value, *ts.syntax_error_codes[:5]])
    out.append(["AK9", ack.group_code.value, str(ack.included_count), str(ack.received_count),
                str(ack.accepted_count), *ack.group_error_codes[:5]])
    return out


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)
