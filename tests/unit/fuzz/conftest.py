"""The fuzz tests run each door thousands of times: the doors' per-record log lines (every
refusal, every dead letter) would double their run time, so those loggers are off here."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

_CHATTY = ("services.charges.hl7.mllp", "services.chassis.consumer")


@pytest.fixture(autouse=True, scope="module")
def quiet_doors() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _CHATTY]
    for logger in loggers:
        logger.disabled = True
    yield
    for logger in loggers:
        logger.disabled = False
