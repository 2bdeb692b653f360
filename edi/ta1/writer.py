"""The TA1 writer: an interchange holding only TA1 segments (what a clearinghouse returns when it
answers the interchange itself, e.g. to reject it)."""

from __future__ import annotations

from collections.abc import Sequence

from edi.envelope import EnvelopeParams, SegmentWriter, isa_segment
from edi.ta1.model import InterchangeAck


def write_ta1(acks: InterchangeAck | Sequence[InterchangeAck], params: EnvelopeParams, *,
              line_breaks: bool = False) -> str:
    items = [acks] if isinstance(acks, InterchangeAck) else list(acks)
    d = params.delimiters
    writer = SegmentWriter(d)
    lines = [isa_segment(params)]
    lines += [writer.join(["TA1", a.control_number, a.date, a.time, a.code.value, a.note_code], n)
              for n, a in enumerate(items, start=2)]
    lines.append(writer.join(["IEA", "0", f"{params.interchange_control_number:09d}"], len(items) + 2))
    terminator = d.segment + ("\n" if line_breaks and d.segment != "\n" else "")
    return terminator.join(lines) + terminator
