"""Fixtures shared by integration test modules (the platform itself comes from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from devstack.mailcatcher import MailCatcher
from services.chassis.clock import FixedClock
from services.chassis.runtime import Runtime
from services.chassis.settings import Settings
from services.remits.app import DEFINITION as REMITS
from services.remits.settings import remits_settings
from tests.integration.test_claims_flow import REPO, TODAY, claims_running
from tests.integration.test_notifications_helpers import free_port
from tests.support.remits_io import NOW
from tests.support.runtimes import running


@pytest.fixture(scope="module")
def catcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailCatcher]:
    """A local SMTP mail catcher on a free port, storing what it receives in the module's folder."""
    c = MailCatcher(tmp_path_factory.mktemp("mail"), port=free_port())
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def remits_poll() -> Iterator[None]:
    """The remits poller of inbound/ every 0.1 s instead of every second: a test that drops an
    835 waits for the posting, not for the next pass. Settings are read once per process."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RCM_REMITS_POLL_INTERVAL_S", "0.1")
        remits_settings.cache_clear()
        yield
    remits_settings.cache_clear()


@pytest.fixture(scope="module")
async def remits(platform: Settings, remits_poll: None) -> AsyncIterator[Runtime]:
    """The remits service in-process on the module's platform, its clock fixed at NOW."""
    async with running(REMITS, platform, clock=FixedClock(NOW)) as runtime:
        yield runtime


@pytest.fixture(scope="module")
async def claims(platform: Settings) -> AsyncIterator[Runtime]:
    """The claims service in-process on the module's platform (test_claims_flow.claims_running)."""
    async with claims_running(platform) as runtime:
        yield runtime


@pytest.fixture(scope="module")
async def payers(claims: Runtime) -> None:
    """deploy/local/payers.yaml and its fee schedules loaded into the claims service."""
    from services.claims.service import operator
    from services.claims.store import ClaimsStore

    loaded, fees = operator.read_payer_master(REPO / "deploy" / "local" / "payers.yaml")
    async with claims.db.acquire() as conn, conn.transaction():
        await operator.load_payers(ClaimsStore(conn), loaded, fees, "payers.yaml", "pytest", "test setup", TODAY)
