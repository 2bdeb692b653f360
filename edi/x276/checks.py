"""Our structural checks of a 276 (005010X212), from the guide's segment tables: pyx12 4.0 has
only a 4010 map for the 276, so this is the 276's whole validation.

The reader enforces the loop order and each loop's required segments and qualifiers (BHT*0010*13,
HL 20/21/19/22/23 with NM1*PR/41/1P/IL/QC, TRN*1, REF*1K/BLT/EJ, AMT*T3, DTP*472 in D8/RD8) and
its first error is reported; then come the findings it reads past: the HL numbering and child
codes, the provider NPI, DMG on the patient's level and a negative AMT*T3.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import takewhile

from edi.claimstatus import structure_issues
from edi.envelope import Interchange, TransactionSet
from edi.errors import X12Error
from edi.issues import X12Issue
from edi.x12values import optional_decimal
from edi.x276.reader import read_transaction_set
from edi.x837common.checks import check_npi, issue


def check_276(ts: TransactionSet, interchange: Interchange) -> Iterator[X12Issue | X12Error]:
    del interchange
    body = ts.body
    yield from structure_issues(ts, read_transaction_set)
    for n, seg in enumerate(body):
        if seg.tag == "NM1" and seg.el(1) == "1P":
            yield from check_npi(seg)
        if seg.tag == "AMT" and seg.el(1) == "T3":
            try:
                amount = optional_decimal(seg, 2)
            except X12Error:
                continue  # the reader's error
            if amount is not None and amount < 0:
                yield issue(seg, "amount_negative", "AMT02", "AMT02 (loop 2200D/E claim submitted charges) is negative")
        if seg.tag == "HL" and seg.el(3) in {"22", "23"}:
            level = body[n + 1:]
            has_claims = any(s.tag == "TRN" for s in takewhile(lambda s: s.tag != "HL", level))
            has_dmg = bool(level) and level[0].tag == "DMG"
            if seg.el(3) == "23" and not has_dmg:
                yield issue(seg, "dmg_missing", "DMG", "loop 2000E dependent level has no DMG (required)")
            elif seg.el(3) == "22" and has_claims and not has_dmg:
                yield issue(seg, "dmg_missing", "DMG", "loop 2000D subscriber level has no DMG (required when "
                                                       "the subscriber is the patient)")

