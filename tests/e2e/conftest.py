"""The real stack for end-to-end tests: `rcm up` starts every process (four services, the sandbox
clearinghouse and payers, the mail catcher) on a platform of the module's own (topic prefix,
database, clearinghouse and state folders, free ports). A module adds environment for the stack
by overriding the ``stack_env`` fixture."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
        "RCM_SANDBOX_REMIT_DELAY_S": "3",
        "RCM_CLAIMS_ACKS_INTERVAL_S": "0.5",
        # Every hop polls (batcher, clearinghouse, poller, sender): poll often, so a visit takes
        # about its payers' delays and not one wait per hop per second.
        "RCM_CLAIMS_SUBMIT_INTERVAL_S": "0.5",
        # The stack checks eligibility as the dev stack does (the session's in-process runtimes do not).
        "RCM_CLAIMS_ELIGIBILITY_CHECKS": "true",
        "RCM_CLAIMS_ELIGIBILITY_INTERVAL_S": "0.5",
        "RCM_SANDBOX_POLL_S": "0.25",
        "RCM_REMITS_POLL_INTERVAL_S": "0.25",
        "RCM_NOTIFICATIONS_SEND_POLL_INTERVAL_S": "0.25",
        **{f"RCM_{p.name.upper()}_HTTP_PORT": str(free_port()) for p in PROCESSES},
        **stack_env,
    }

    def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run([RCM, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False)

    with reaping(stack_state / "run"):
        up = run("up")
        try:
            assert up.returncode == 0, up.stdout + up.stderr
            yield run
        finally:
            down = run("down", "--keep-infra")
            assert down.returncode == 0, down.stderr


PR_SET_CHILD_SUBREAPER = 36


@contextmanager
def reaping(pid_folder: Path) -> Iterator[None]:
    """Adopt the stack's processes and reap each as soon as it exits.

    `rcm up` starts them in sessions of their own and exits, so they are orphans: one that `rcm down`
    stopped stays a zombie until PID 1 reaps it, and `rcm down` waits until it is gone (where PID 1
    reaps every two seconds or so, that was 2 s per process). As a subreaper this process adopts
    them instead. Only the pids of the stack's pid files are reaped: a `subprocess` child reaped
    behind its back would report exit code 0 whatever it returned."""
    libc = ctypes.CDLL(None, use_errno=True)
    if not sys.platform.startswith("linux") or libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        yield
        return
    done = threading.Event()

    def reap() -> None:
        while not done.wait(0.05):
            for pid_file in pid_folder.glob("*.pid"):
                with suppress(OSError, ValueError):  # not (or no longer) our child; a file half written
                    os.waitpid(int(pid_file.read_text()), os.WNOHANG)

    thread = threading.Thread(target=reap, name="e2e-reaper", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
