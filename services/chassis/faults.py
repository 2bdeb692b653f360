"""Named failure points for the crash tests (RCM_FAULT). Unset in every real run.

A fault kills the process on the spot (like SIGKILL: no cleanup, no offset commit, no
outbox mark), which is the only honest way to prove what survives a crash.
"""

from __future__ import annotations

import os

RELAY_AFTER_ACK = "relay_after_ack"  # broker acked the event, outbox row not yet marked
CONSUMER_AFTER_COMMIT = "consumer_after_commit"  # database committed, Kafka offset not yet


def maybe_crash(configured: str | None, point: str) -> None:
    if configured == point:
        os._exit(137)
