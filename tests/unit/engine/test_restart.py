"""Restart policy decisions and the back-off, as dockerd's restart manager makes them."""

from __future__ import annotations

import pytest

from estiba.engine.hostconfig import RestartPolicy
from estiba.engine.restart import FIRST_DELAY, MAX_DELAY, Backoff, should_restart


def decide(name: str, code: int, *, stopped: bool = False, count: int = 0, limit: int = 0) -> bool:
    policy = RestartPolicy(name=name, maximum_retry_count=limit)
    return should_restart(policy, exit_code=code, manually_stopped=stopped, restart_count=count)


@pytest.mark.parametrize("name", ["", "no"])
def test_no_policy_never_restarts(name: str) -> None:
    assert not decide(name, 1)
    assert not decide(name, 0)


def test_always_restarts_every_exit_even_after_a_client_stop() -> None:
    assert decide("always", 0)
    assert decide("always", 137, stopped=True)


def test_unless_stopped_honours_a_client_stop() -> None:
    assert decide("unless-stopped", 0)
    assert not decide("unless-stopped", 0, stopped=True)


def test_on_failure_only_for_non_zero_and_up_to_the_limit() -> None:
    assert not decide("on-failure", 0)
    assert decide("on-failure", 3)
    assert decide("on-failure", 3, count=1, limit=2)
    assert not decide("on-failure", 3, count=2, limit=2)
    assert decide("on-failure", 3, count=1000, limit=0)


def test_backoff_doubles_from_100ms_up_to_a_minute() -> None:
    backoff = Backoff()
    delays = [backoff.next(0.5) for _ in range(12)]
    assert delays[:4] == [FIRST_DELAY, 0.2, 0.4, 0.8]
    assert delays[-1] == MAX_DELAY
    assert all(later >= earlier for earlier, later in zip(delays, delays[1:]))


def test_backoff_resets_after_a_stable_run() -> None:
    backoff = Backoff()
    for _ in range(5):
        backoff.next(1.0)
    assert backoff.next(10.0) == FIRST_DELAY
