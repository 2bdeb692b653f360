from __future__ import annotations

import pytest

from tests.unit.sandbox.support import PYX12_CLEAN, PYX12_FILES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if PYX12_FILES:
        done = ", ".join(f"{k}: {PYX12_CLEAN[k]}/{n}" for k, n in sorted(PYX12_FILES.items()))
        terminalreporter.write_line(f"sandbox: files pyx12-clean and balanced / checked: {done}")
