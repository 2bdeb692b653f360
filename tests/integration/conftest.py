"""Fixtures shared by integration test modules (the platform itself comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.mailcatcher import MailCatcher
from tests.integration.test_notifications_helpers import free_port


@pytest.fixture(scope="module")
def catcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailCatcher]:
    """A local SMTP mail catcher on a free port, storing what it receives in the module's folder."""
    c = MailCatcher(tmp_path_factory.mktemp("mail"), port=free_port())
    c.start()
    yield c
    c.stop()
