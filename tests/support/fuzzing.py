"""Inputs drawn from a fuzzer's strategy for the tests that send them through real
infrastructure (a socket, the broker, Postgres) in one go rather than one example at a time."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

T = TypeVar("T")


def drawn(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """`count` values of `strategy`, generated fresh (no shrinking, no example database)."""
    found: list[T] = []

    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(value=strategy)
    def collect(value: T) -> None:
        found.append(value)

    collect()
    return found
