"""Hypothesis profiles and the corpus/round-trip counters for the edi tests."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

from tests.unit.edi.corpus import CORPUS
from tests.unit.edi.roundtrip import ROUND_TRIPS

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
# Each example costs a pyx12 run (~0.3 s), so CI skips shrinking: a failure prints the raw
# example, which `HYPOTHESIS_PROFILE=dev` then shrinks.
settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    suppress_health_check=_QUIET,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
)
settings.register_profile("dev", max_examples=300, deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ROUND_TRIPS["batches"]:
        terminalreporter.write_line(
            f"edi: 837P/837I write-then-read round trips: {ROUND_TRIPS['batches']} interchanges, "
            f"{ROUND_TRIPS['claims']} claims, {ROUND_TRIPS['lines']} service lines"
        )
    if CORPUS["validated"]:
        terminalreporter.write_line(
            f"edi: pyx12 validated {CORPUS['validated']} files written by our 837P/837I writers "
            f"({CORPUS['clean']} with zero errors)"
        )
