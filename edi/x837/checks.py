"""Our 837P checks beyond pyx12: NPI check digits, CLM02 totals, REF*F8 on corrections, the
shapes of an NDC (LIN*N4) and a CLIA number (REF*X4).

``check_837p`` is listed for ST 837 in ``edi.validate.CHECKS``; the NPI, totals and REF*F8 walk
is ``edi.x837common.checks``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from edi.envelope import Interchange, TransactionSet
from edi.issues import X12Issue
from edi.x837common.checks import ClaimTotals, check_claims, issue

_NDC11 = re.compile(r"\d{11}", re.ASCII)
_CLIA = re.compile(r"\d{2}D\d{7}", re.ASCII)


class _Totals(ClaimTotals):
    LINE = "SV1"
    CHARGE = 2


def check_837p(ts: TransactionSet, interchange: Interchange) -> Iterator[X12Issue]:
    del interchange
    yield from check_claims(ts, _Totals)
    # pyx12 checks only the length of these: payers reject any other shape.
    for seg in ts.body:
        if seg.tag == "LIN" and seg.el(2) == "N4" and not _NDC11.fullmatch(seg.el(3)):
            yield issue(seg, "ndc_format", "LIN03", "LIN03 is not an 11-digit NDC (5-4-2, no hyphens)")
        if seg.tag == "REF" and seg.el(1) == "X4" and not _CLIA.fullmatch(seg.el(2)):
            yield issue(seg, "clia_format", "REF02", "REF02 is not a CLIA number (2 digits, D, 7 digits)")
