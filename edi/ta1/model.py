"""The TA1 interchange acknowledgment (X12.56): whether a whole interchange was accepted.

A TA1 sits between the ISA and the first GS of the interchange that answers, or alone in an
interchange without functional groups. TA101 names the acknowledged interchange (its ISA13).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class InterchangeAckCode(StrEnum):
    """TA104 (I17)."""

    ACCEPTED = "A"
    ACCEPTED_WITH_ERRORS = "E"
    REJECTED = "R"


NOTE_TEXT: dict[str, str] = {
    "000": "No error",
    "001": "The Interchange Control Number in the Header and Trailer Do Not Match",
    "002": "This Standard as Noted in the Control Standards Identifier is Not Supported",
    "003": "This Version of the Controls is Not Supported",
    "004": "The Segment Terminator is Invalid",
    "005": "Invalid Interchange ID Qualifier for Sender",
    "006": "Invalid Interchange Sender ID",
    "007": "Invalid Interchange ID Qualifier for Receiver",
    "008": "Invalid Interchange Receiver ID",
    "009": "Unknown Interchange Receiver ID",
    "010": "Invalid Authorization Information Qualifier Value",
    "011": "Invalid Authorization Information Value",
    "012": "Invalid Security Information Qualifier Value",
    "013": "Invalid Security Information Value",
    "014": "Invalid Interchange Date Value",
    "015": "Invalid Interchange Time Value",
    "016": "Invalid Interchange Standards Identifier Value",
    "017": "Invalid Interchange Version ID Value",
    "018": "Invalid Interchange Control Number Value",
    "019": "Invalid Acknowledgment Requested Value",
    "020": "Invalid Test Indicator Value",
    "021": "Invalid Number of Included Groups Value",
    "022": "Invalid Control Structure",
    "023": "Improper (Premature) End-of-File (Transmission)",
    "024": "Invalid Interchange Content",
    "025": "Duplicate Interchange Control Number",
    "026": "Invalid Data Element Separator",
    "027": "Invalid Component Element Separator",
    "028": "Invalid Delivery Date in Deferred Delivery Request",
    "029": "Invalid Delivery Time in Deferred Delivery Request",
    "030": "Invalid Delivery Time Code in Deferred Delivery Request",
    "031": "Invalid Grade of Service Code",
}
"""TA105 interchange note codes (I18) and their X12 texts."""


@dataclass(frozen=True)
class InterchangeAck:
    """One TA1 segment."""

    control_number: str  # TA101: ISA13 of the acknowledged interchange (leading zeros may be missing)
    date: str  # TA102 YYMMDD of the acknowledged interchange
    time: str  # TA103 HHMM
    code: InterchangeAckCode  # TA104
    note_code: str  # TA105
    position: int = 0  # segment number in the file that carried it

    @property
    def rejected(self) -> bool:
        return self.code is InterchangeAckCode.REJECTED

    @property
    def note(self) -> str:
        return NOTE_TEXT[self.note_code]

    @property
    def reason(self) -> str:
        """E.g. ``TA1 R 024: Invalid Interchange Content``."""
        return f"TA1 {self.code.value} {self.note_code}: {self.note}"
