"""Our 837I checks beyond pyx12: NPI check digits, CLM02 = sum of SV203, REF*F8 on corrections
(``edi.x837common.checks``), and the institutional shapes pyx12 checks only by length: the type
of bill in CLM05, the statement period (DTP*434) holding every line date (DTP*472), the admission
date/hour (DTP*435) and the discharge hour (DTP*096).

``edi.validate.CHECKS`` runs it on the ST 837 sets whose ST03 is the 837I's, ``check_837p`` on the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime

from edi.envelope import Interchange, TransactionSet
from edi.issues import X12Issue
from edi.segments import Segment
from edi.x837common.checks import ClaimTotals, check_claims, issue

_FACILITY = re.compile(r"[1-8][1-9]", re.ASCII)
_FREQUENCY = re.compile(r"[0-9A-Z]", re.ASCII)
_HHMM = re.compile(r"([01]\d|2[0-3])[0-5]\d", re.ASCII)


def _date(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%Y%m%d").date() if len(text) == 8 and text.isdigit() else None
    except ValueError:
        return None


class _Totals(ClaimTotals):
    LINE = "SV2"
    CHARGE = 3

    def __init__(self, clm: Segment) -> None:
        super().__init__(clm)
        self.statement: tuple[date, date] | None = None
        self.line_dates: list[tuple[Segment, date, date]] = []

    def see(self, seg: Segment) -> Iterator[X12Issue]:
        yield from super().see(seg)
        if seg.tag != "DTP" or self.in_cob:
            return
        qualifier, value = seg.el(1), seg.el(3)
        if qualifier == "434":
            start, end = (_date(part) for part in value.partition("-")[::2])
            if start is None or end is None or end < start:
                yield issue(seg, "statement_period", "DTP03", "2300 DTP*434 is not a CCYYMMDD-CCYYMMDD period")
            else:
                self.statement = (start, end)
        elif qualifier == "472":
            first, last = (_date(part) for part in value.partition("-")[::2])
            if first is not None:
                self.line_dates.append((seg, first, last or first))
        elif qualifier == "435":
            yield from _admission(seg)
        elif qualifier == "096" and not _HHMM.fullmatch(value):
            yield issue(seg, "discharge_hour", "DTP03", "2300 DTP*096 discharge hour is not HHMM")

    def finish(self) -> Iterator[X12Issue]:
        yield from super().finish()
        facility, qualifier, frequency = (self.clm.comp(5, j) for j in (1, 2, 3))
        if not (_FACILITY.fullmatch(facility) and qualifier == "A" and _FREQUENCY.fullmatch(frequency)):
            yield issue(
                self.clm,
                "type_of_bill",
                "CLM05",
                "2300 CLM05 is not a type of bill (facility type and classification digits, A, frequency code)",
            )
        if self.statement is None:
            return
        start, end = self.statement
        for seg, first, last in self.line_dates:
            if first < start or last > end:
                yield issue(
                    seg,
                    "line_outside_statement",
                    "DTP03",
                    "2400 DTP*472 service date is outside the 2300 DTP*434 statement period",
                )


def _admission(seg: Segment) -> Iterator[X12Issue]:
    form, value = seg.el(2), seg.el(3)
    ok = (form == "D8" and _date(value) is not None) or (
        form == "DT" and len(value) == 12 and _date(value[:8]) is not None and _HHMM.fullmatch(value[8:]) is not None
    )
    if not ok:
        yield issue(seg, "admission_date", "DTP03", "2300 DTP*435 admission is not CCYYMMDD (D8) or CCYYMMDDHHMM (DT)")


def check_837i(ts: TransactionSet, interchange: Interchange) -> Iterator[X12Issue]:
    del interchange
    yield from check_claims(ts, _Totals)
