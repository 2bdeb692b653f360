"""Named failure points for the crash and chaos tests (RCM_FAULT). Unset in every real run.

A fault kills the process on the spot (like SIGKILL: no cleanup, no offset commit, no
outbox mark), which is the only honest way to prove what survives a crash.

RCM_FAULT is a point's name, crashing the first time the process passes it, or
``<point>@<n>``, crashing the n-th time: the chaos suite draws n from its seed, so a crash
lands at a random but reproducible moment of the workload instead of on its first record.
This module is the one registry of the points; each is hooked where its comment says.
"""

from __future__ import annotations

import os

RELAY_AFTER_ACK = "relay_after_ack"  # broker acked the event, outbox row not yet marked
CONSUMER_AFTER_COMMIT = "consumer_after_commit"  # database committed, Kafka offset not yet
# The handler wrote its effects and outbox rows, the transaction is not committed yet.
HANDLER_BEFORE_COMMIT = "handler_before_commit"
# Negative control only: a consumer that commits the offset BEFORE processing (at-most-once,
# the bug the delivery rules exist to prevent), crashing right after that commit. Enabling it
# must make the chaos suite report lost records; nothing else ever enables it.
COMMIT_BEFORE_PROCESS = "commit_before_process"

POINTS = (RELAY_AFTER_ACK, CONSUMER_AFTER_COMMIT, HANDLER_BEFORE_COMMIT, COMMIT_BEFORE_PROCESS)

_passes: dict[str, int] = {}


def parse(configured: str | None) -> tuple[str | None, int]:
    """(point, n): the point named by RCM_FAULT and the pass that crashes (1-based)."""
    if not configured:
        return None, 0
    point, _, nth = configured.partition("@")
    if point not in POINTS:
        raise ValueError(f"RCM_FAULT names no fault point: {point!r} (known: {', '.join(POINTS)})")
    try:
        n = int(nth) if nth else 1
    except ValueError:
        raise ValueError(f"RCM_FAULT {configured!r}: the pass after '@' must be a whole number") from None
    return point, max(n, 1)


def active(configured: str | None, point: str) -> bool:
    return bool(configured) and parse(configured)[0] == point


def maybe_crash(configured: str | None, point: str, records: int = 1) -> None:
    """`records`: how many records pass the point at once. A consumer passes it once per batch
    with the whole batch, so `@n` still means about the n-th record, as before batching (the
    chaos suite draws n for a workload of records, and a restarted consumer may see few batches)."""
    name, nth = parse(configured)
    if name != point:
        return
    _passes[point] = _passes.get(point, 0) + records
    if _passes[point] >= nth:
        os._exit(137)
