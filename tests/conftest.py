from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import HealthCheck, settings

from devstack import stack
from services.chassis.settings import Settings, get_settings
from tests.support import infra as infra_support

settings.register_profile("ci", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session", autouse=True)
def mllp_on_a_free_port() -> Iterator[None]:
    """In-process charges runtimes listen for HL7 on a free port, never on a running stack's 2575."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RCM_CHARGES_MLLP_PORT", os.environ.get("RCM_CHARGES_MLLP_PORT", "0"))
        yield


@pytest.fixture(scope="session", autouse=True)
def one_replica_per_topic() -> Iterator[None]:
    """The tests' brokers (the local stack's, a container) are one node each: topics get one
    replica, in this process and every process a test starts (RCM_TOPIC_REPLICATION_FACTOR)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RCM_TOPIC_REPLICATION_FACTOR", os.environ.get("RCM_TOPIC_REPLICATION_FACTOR", "1"))
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def eligibility_checks_off() -> Iterator[None]:
    """In-process claims runtimes send no 270s: no sandbox answers them there, and each claim would
    wait RCM_CLAIMS_ELIGIBILITY_WAIT_S for its 271. Eligibility tests switch them on (and the
    e2e stack keeps them on, as the dev stack does)."""
    from services.claims.settings import claims_settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RCM_CLAIMS_ELIGIBILITY_CHECKS", "false")
        claims_settings.cache_clear()
        yield
    claims_settings.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def codesets_of_the_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """ICD-10-CM editions loaded by tests go to a folder of the session, never the stack's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RCM_CODESETS_DIR", str(tmp_path_factory.mktemp("codesets")))
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
async def infra() -> AsyncIterator[infra_support.Infra]:
    got = infra_support.obtain()
    # Once for the session: each module's platform then only provisions.
    await infra_support.wait_ready(infra_support.isolated_settings(got))
    yield got
    for container in got.containers:
        container.stop()


@pytest.fixture(scope="module")
async def platform(infra: infra_support.Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Settings]:
    """A provisioned platform of its own: topic prefix, database, clearinghouse folder."""
    settings_ = infra_support.isolated_settings(
        infra, clearinghouse_root=tmp_path_factory.mktemp("clearinghouse"), outbox_poll_interval_s=0.5,
        retry_base_delay_s=0.05, retry_max_delay_s=0.2,
    )
    await stack.provision_all(settings_)
    yield settings_
    await infra_support.teardown_isolated(settings_)


@pytest.fixture
def cli_env(platform: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the `rcm` command at this module's platform (prefix, database, broker, folders)."""
    monkeypatch.setenv("RCM_KAFKA_BOOTSTRAP", platform.bootstrap)
    monkeypatch.setenv("RCM_ADMIN_DATABASE_URL", platform.admin_url)
    monkeypatch.setenv("RCM_DATABASE_NAME", platform.database_name)
    monkeypatch.setenv("RCM_TOPIC_PREFIX", platform.topic_prefix)
    monkeypatch.setenv("RCM_CLEARINGHOUSE_ROOT", str(platform.clearinghouse))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
