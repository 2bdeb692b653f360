"""Our checks of a 277 claim status response (005010X212), beside pyx12's (``edi.validate``
runs pyx12 with the fixed X212 map): the reader's first error, the HL numbering and child codes,
the provider NPI."""

from __future__ import annotations

from collections.abc import Iterator

from edi.claimstatus import structure_issues
from edi.envelope import Interchange, TransactionSet
from edi.errors import X12Error
from edi.issues import X12Issue
from edi.x277.reader import read_transaction_set
from edi.x837common.checks import check_npi


def check_277(ts: TransactionSet, interchange: Interchange) -> Iterator[X12Issue | X12Error]:
    del interchange
    yield from structure_issues(ts, read_transaction_set)
    for seg in ts.body:
        if seg.tag == "NM1" and seg.el(1) == "1P":
            yield from check_npi(seg)
