"""Check parts shared by the 837P and 837I checks: NPI check digits and the claim walk that sums
line charges against CLM02 and looks for REF*F8 on corrections."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from edi.envelope import TransactionSet
from edi.issues import X12Issue
from edi.npi import is_valid_npi
from edi.segments import Segment


def decimal(seg: Segment, i: int) -> Decimal | None:
    try:
        value = Decimal(seg.el(i))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def issue(seg: Segment, code: str, element: str, message: str) -> X12Issue:
    return X12Issue(code=code, message=message, position=seg.position, segment_id=seg.tag, element=element)


def check_npi(seg: Segment) -> Iterator[X12Issue]:
    if seg.tag == "NM1" and seg.el(8) == "XX" and not is_valid_npi(seg.el(9)):
        yield issue(seg, "npi_check_digit", "NM109", "NM109 is not a valid NPI (check digit or shape)")


class ClaimTotals:
    """Accumulates one CLM with its service lines (``LINE`` segment, charge in ``CHARGE``);
    reports when the claim closes. A variant extends ``see`` and ``finish`` for its own rules."""

    LINE = "SV1"
    CHARGE = 2

    def __init__(self, clm: Segment) -> None:
        self.clm = clm
        self.lines = Decimal(0)
        self.bad_line = False
        self.f8 = False
        self.in_cob = False  # after a 2320 SBR, REF*F8 belongs to the other payer (2330B)

    def see(self, seg: Segment) -> Iterator[X12Issue]:
        """One segment of the claim after its CLM."""
        if seg.tag == self.LINE:
            charge = decimal(seg, self.CHARGE)
            element = seg.name(self.CHARGE)
            if charge is None:
                self.bad_line = True
                yield issue(seg, f"{element.lower()}_amount", element, f"{element} is not a decimal amount")
            else:
                self.lines += charge
        elif seg.tag == "SBR":
            self.in_cob = True
        elif seg.tag == "LX":
            self.in_cob = False
        elif seg.tag == "REF" and seg.el(1) == "F8" and seg.el(2) and not self.in_cob:
            self.f8 = True

    def finish(self) -> Iterator[X12Issue]:
        stated = decimal(self.clm, 2)
        if stated is None:
            yield issue(self.clm, "clm02_amount", "CLM02", "CLM02 is not a decimal amount")
        elif not self.bad_line and stated != self.lines:
            line_charge = f"{self.LINE}{self.CHARGE:02d}"
            yield issue(self.clm, "clm02_sum", "CLM02", f"CLM02 does not equal the sum of {line_charge} line charges")
        frequency = self.clm.comp(5, 3)
        if frequency in {"7", "8"} and not self.f8:
            yield issue(
                self.clm,
                "ref_f8_missing",
                "CLM05-3",
                f"frequency {frequency} claim has no REF*F8 payer claim control number",
            )


def walk_claims(ts: TransactionSet, totals: type[ClaimTotals]) -> Iterator[tuple[Segment, ClaimTotals | None]]:
    """Each body segment with the claim it belongs to (None before the first CLM, after an HL)."""
    current: ClaimTotals | None = None
    for seg in ts.body:
        if seg.tag in {"CLM", "HL"}:
            current = totals(seg) if seg.tag == "CLM" else None
        yield seg, current


def check_claims(ts: TransactionSet, totals: type[ClaimTotals]) -> Iterator[X12Issue]:
    """NPI of every NM1, and each claim's totals and corrections."""
    previous: ClaimTotals | None = None
    for seg, current in walk_claims(ts, totals):
        yield from check_npi(seg)
        if previous is not None and current is not previous:
            yield from previous.finish()
        if current is not None and seg is not current.clm:
            yield from current.see(seg)
        previous = current
    if previous is not None:
        yield from previous.finish()
