"""RCM_FAULT: the crash points of the crash and chaos tests, and when each fires."""

from __future__ import annotations

import pytest

from services.chassis import faults


@pytest.fixture(autouse=True)
def no_exit(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    exits: list[int] = []
    monkeypatch.setattr("services.chassis.faults.os._exit", exits.append)
    monkeypatch.setattr(faults, "_passes", {})
    return exits


def test_a_bare_point_crashes_at_its_first_pass(no_exit: list[int]) -> None:
    faults.maybe_crash(faults.CONSUMER_AFTER_COMMIT, faults.RELAY_AFTER_ACK)  # another point: nothing
    assert no_exit == []
    faults.maybe_crash(faults.CONSUMER_AFTER_COMMIT, faults.CONSUMER_AFTER_COMMIT)
    assert no_exit == [137]


def test_point_at_n_crashes_at_the_nth_pass_only(no_exit: list[int]) -> None:
    configured = f"{faults.HANDLER_BEFORE_COMMIT}@3"
    for _ in range(2):
        faults.maybe_crash(configured, faults.HANDLER_BEFORE_COMMIT)
    assert no_exit == []
    faults.maybe_crash(configured, faults.HANDLER_BEFORE_COMMIT)
    assert no_exit == [137]


def test_a_batch_passes_the_point_once_for_each_of_its_records(no_exit: list[int]) -> None:
    configured = f"{faults.CONSUMER_AFTER_COMMIT}@30"
    faults.maybe_crash(configured, faults.CONSUMER_AFTER_COMMIT, 20)
    assert no_exit == []
    faults.maybe_crash(configured, faults.CONSUMER_AFTER_COMMIT, 20)  # records 21-40: the 30th is among them
    assert no_exit == [137]


def test_unset_means_never_and_active_names_the_point() -> None:
    faults.maybe_crash(None, faults.RELAY_AFTER_ACK)
    assert faults.active(f"{faults.COMMIT_BEFORE_PROCESS}@25", faults.COMMIT_BEFORE_PROCESS)
    assert not faults.active(None, faults.COMMIT_BEFORE_PROCESS)
    assert not faults.active(faults.RELAY_AFTER_ACK, faults.COMMIT_BEFORE_PROCESS)


@pytest.mark.parametrize("configured", ["relay_after_akc", "relay_after_ack@x"])
def test_a_misspelt_fault_is_refused_by_name(configured: str) -> None:
    with pytest.raises(ValueError, match="RCM_FAULT"):
        faults.parse(configured)


def test_an_empty_pass_is_the_first() -> None:
    assert faults.parse("relay_after_ack@") == (faults.RELAY_AFTER_ACK, 1)
