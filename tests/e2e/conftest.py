"""The real stack for end-to-end tests: `rcm up` starts every process (four services, the sandbox
clearinghouse and payers, the mail catcher) on a platform of the module's own (topic prefix,
database, clearinghouse and state folders, free ports). A module adds environment for the stack
by overriding the ``stack_env`` fixture."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import PROCESSES
from services.chassis.settings import Settings
from tests.e2e.support import Rcm

RCM = str(Path(sys.executable).with_name("rcm"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    return {}


@pytest.fixture(scope="module")
def stack_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="module")
def rcm(platform: Settings, stack_state: Path, stack_env: dict[str, str]) -> Iterator[Rcm]:
    smtp = str(free_port())
    env = {
        **os.environ,
        "RCM_KAFKA_BOOTSTRAP": platform.bootstrap,
        "RCM_ADMIN_DATABASE_URL": platform.admin_url,
        "RCM_DATABASE_NAME": platform.database_name,
        "RCM_TOPIC_PREFIX": platform.topic_prefix,
        "RCM_STATE_DIR": str(stack_state),
        "RCM_CLEARINGHOUSE_ROOT": str(stack_state / "clearinghouse"),
        "RCM_MAILCATCHER_SMTP_PORT": smtp,
        "RCM_NOTIFICATIONS_SMTP_PORT": smtp,
        "RCM_CHARGES_MLLP_PORT": "0",
        "RCM_SANDBOX_SEED": "7",
        # As with real payers, acknowledgments come well before remittances (a 277CA after the
        # claim was paid is refused as a late transition, which these tests must not provoke).
        "RCM_SANDBOX_ACK_DELAY_S": "0.2",
        "RCM_SANDBOX_REMIT_DELAY_S": "5",
        "RCM_CLAIMS_ACKS_INTERVAL_S": "1",
        **{f"RCM_{p.name.upper()}_HTTP_PORT": str(free_port()) for p in PROCESSES},
        **stack_env,
    }

    def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([RCM, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)

    up = run("up")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield run
    finally:
        down = run("down", "--keep-infra")
        assert down.returncode == 0, down.stderr
