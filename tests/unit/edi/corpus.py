"""Counts the 837P/837I files our tests have validated with pyx12 (reported in the terminal summary)."""

from __future__ import annotations

from edi.issues import X12Issue
from edi.validate import pyx12_validate

CORPUS = {"validated": 0, "clean": 0}


def pyx12_counted(text: str) -> list[X12Issue]:
    issues = pyx12_validate(text)
    CORPUS["validated"] += 1
    if not issues:
        CORPUS["clean"] += 1
    return issues
