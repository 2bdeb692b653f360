"""The arithmetic of `rcm bench`: percentiles, rates and a steady pace. Pure, no clock of its own."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between the closest ranks (numpy's
    default), so p50 of an even count is the mean of the middle two."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Latency:
    """Latencies of one measurement, in milliseconds."""

    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ms = [s * 1000 for s in seconds]
        return cls(len(ms), percentile(ms, 50), percentile(ms, 95), percentile(ms, 99), max(ms))


def rate(count: int, seconds: float) -> float:
    """Events per second; 0 when nothing was timed (a run too short to measure says so as 0)."""
    return count / seconds if seconds > 0 else 0.0


@dataclass(frozen=True)
class Throughput:
    """`events` handled in `seconds` by what `name` says."""

    name: str
    events: int
    seconds: float

    @property
    def per_s(self) -> float:
        return rate(self.events, self.seconds)


@dataclass
class Pacer:
    """Sends at a steady `per_s`: the i-th send is due at start + i / per_s, whatever the previous
    sends cost, so a slow send is caught up on instead of lowering the rate."""

    per_s: float
    clock: Callable[[], float] = time.monotonic
    start: float | None = None

    def __post_init__(self) -> None:
        if self.per_s <= 0:
            raise ValueError("the rate must be positive")

    def due(self, i: int) -> float:
        if self.start is None:
            self.start = self.clock()
        return self.start + i / self.per_s

    def wait_s(self, i: int) -> float:
        """Seconds to wait before send i (0 when it is due or late)."""
        return max(0.0, self.due(i) - self.clock())

    async def wait(self, i: int) -> None:
        delay = self.wait_s(i)
        if delay > 0:
            await asyncio.sleep(delay)
