"""X12 TA1 interchange acknowledgment: ``model``, ``reader`` (``read_ta1``, ``interchange_acks``),
``writer`` (``write_ta1``) and ``json`` (``to_json_dict``)."""

from edi.ta1.json import to_json_dict
from edi.ta1.model import NOTE_TEXT, InterchangeAck, InterchangeAckCode
from edi.ta1.reader import interchange_acks, read_segment, read_ta1
from edi.ta1.writer import write_ta1

__all__ = [
    "NOTE_TEXT",
    "InterchangeAck",
    "InterchangeAckCode",
    "interchange_acks",
    "read_segment",
    "read_ta1",
    "to_json_dict",
    "write_ta1",
]
