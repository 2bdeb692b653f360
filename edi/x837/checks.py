"""Our 837P checks beyond pyx12: NPI check digits, CLM02 totals, REF*F8 on corrections, the
shapes of an NDC (LIN*N4) and a CLIA number (REF*X4).

``check_837p`` is listed for ST 837 in ``edi.validate.CHECKS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from edi.envelope import Interchange, TransactionSet
from edi.issues import X12Issue
from edi.npi import is_valid_npi
from edi.segments import Segment


def _decimal(seg: Segment, i: int) -> Decimal | None:
    try:
        value = Decimal(seg.el(i))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _issue(seg: Segment, code: str, element: str, message: str) -> X12Issue:
    return X12Issue(code=code, message=message, position=seg.position, segment_id=seg.tag, element=element)


def _check_npi(seg: Segment) -> Iterator[X12Issue]:
    if seg.tag == "NM1" and seg.el(8) == "XX" and not is_valid_npi(seg.el(9)):
        yield _issue(seg, "npi_check_digit", "NM109", "NM109 is not a valid NPI (check digit or shape)")


_NDC11 = re.compile(r"\d{11}", re.ASCII)
_CLIA = re.compile(r"\d{2}D\d{7}", re.ASCII)


def _check_codes(seg: Segment) -> Iterator[X12Issue]:
    # pyx12 checks only the length of these: payers reject any other shape.
    if seg.tag == "LIN" and seg.el(2) == "N4" and not _NDC11.fullmatch(seg.el(3)):
        yield _issue(seg, "ndc_format", "LIN03", "LIN03 is not an 11-digit NDC (5-4-2, no hyphens)")
    if seg.tag == "REF" and seg.el(1) == "X4" and not _CLIA.fullmatch(seg.el(2)):
        yield _issue(seg, "clia_format", "REF02", "REF02 is not a CLIA number (2 digits, D, 7 digits)")


class _ClaimTotals:
    """Accumulates one CLM with its SV1 lines; reports when the claim closes."""

    def __init__(self, clm: Segment) -> None:
        self.clm = clm
        self.lines = Decimal(0)
        self.bad_line = False
        self.f8 = False
        self.in_cob = False  # after a 2320 SBR, REF*F8 belongs to the other payer (2330B)

    def finish(self) -> Iterator[X12Issue]:
        stated = _decimal(self.clm, 2)
        if stated is None:
            yield _issue(self.clm, "clm02_amount", "CLM02", "CLM02 is not a decimal amount")
        elif not self.bad_line and stated != self.lines:
            yield _issue(self.clm, "clm02_sum", "CLM02", "CLM02 does not equal the sum of SV102 line charges")
        frequency = self.clm.comp(5, 3)
        if frequency in {"7", "8"} and not self.f8:
            yield _issue(
                self.clm,
                "ref_f8_missing",
                "CLM05-3",
                f"frequency {frequency} claim has no REF*F8 payer claim control number",
            )


def check_837p(ts: TransactionSet, interchange: Interchange) -> Iterator[X12Issue]:
    del interchange
    current: _ClaimTotals | None = None
    for seg in ts.body:
        yield from _check_npi(seg)
        yield from _check_codes(seg)
        if seg.tag in {"CLM", "HL"} and current is not None:
            yield from current.finish()
            current = None
        if seg.tag == "CLM":
            current = _ClaimTotals(seg)
        elif current is None:
            continue
        elif seg.tag == "SV1":
            charge = _decimal(seg, 2)
            if charge is None:
                current.bad_line = True
                yield _issue(seg, "sv102_amount", "SV102", "SV102 is not a decimal amount")
            else:
                current.lines += charge
        elif seg.tag == "SBR":
            current.in_cob = True
        elif seg.tag == "LX":
            current.in_cob = False
        elif seg.tag == "REF" and seg.el(1) == "F8" and seg.el(2) and not current.in_cob:
            current.f8 = True
    if current is not None:
        yield from current.finish()
