"""Health check rules (estiba.engine.health): the probe a Healthcheck asks for with
dockerd's defaults, the State.Health after each result, and the text `docker ps` shows."""

from __future__ import annotations

import pytest

from estiba.engine.config import HealthConfig
from estiba.engine.health import Health, HealthPolicy, ProbeResult, health_text, limited_output, timeout_output

S = 1_000_000_000


def result(code: int, output: str = "", start: str = "2024-01-01T00:00:00Z") -> ProbeResult:
    return ProbeResult(start, start, code, output)


@pytest.mark.parametrize(
    ("test", "argv"),
    [
        (("CMD", "curl", "-f", "x"), ("curl", "-f", "x")),
        (("CMD-SHELL", "curl -f x || exit 1"), ("/bin/sh", "-c", "curl -f x || exit 1")),
        (("NONE",), None),
        ((), None),
        (("CMD",), None),
        (("HTTP", "x"), None),
    ],
)
def test_the_probe_of_each_test_type(test: tuple[str, ...], argv: tuple[str, ...] | None) -> None:
    policy = HealthPolicy.of(HealthConfig(test=test))
    assert (policy.argv if policy else None) == argv


def test_defaults_are_dockerds_and_a_shell_can_replace_sh() -> None:
    policy = HealthPolicy.of(HealthConfig(test=("CMD-SHELL", "true")), ("/bin/bash", "-lc"))
    assert policy == HealthPolicy(("/bin/bash", "-lc", "true"), 30 * S, 30 * S, 0, 5 * S, 3)
    given = HealthPolicy.of(HealthConfig(test=("CMD", "true"), interval=S, timeout=2 * S, retries=1,
                                         start_period=9 * S, start_interval=S // 2))
    assert (given.interval, given.timeout, given.retries, given.start_period, given.start_interval) == (
        S, 2 * S, 1, 9 * S, S // 2)
    assert HealthPolicy.of(None) is None


def test_the_next_probe_waits_for_the_interval_or_the_start_periods_end() -> None:
    policy = HealthPolicy(("true",), interval=10 * S, start_period=60 * S, start_interval=2 * S)
    assert policy.next_delay(0, "starting") == 2 * S  # starting, inside the start period
    assert policy.next_delay(0, "healthy") == 10 * S
    assert policy.next_delay(55 * S, "starting") == 5 * S  # the start period ends first
    assert policy.next_delay(61 * S, "starting") == 10 * S
    assert HealthPolicy(("true",), interval=S).next_delay(0, "starting") == S


def test_a_success_is_healthy_and_clears_the_streak() -> None:
    policy = HealthPolicy(("true",))
    health = Health("unhealthy", 4, ()).after(result(0, "ok\n"), policy, in_start_period=False)
    assert health == Health("healthy", 0, (result(0, "ok\n"),))


def test_unhealthy_after_retries_failures_in_a_row() -> None:
    policy = HealthPolicy(("false",), retries=2)
    health = Health()
    health = health.after(result(1), policy, in_start_period=False)
    assert (health.status, health.failing_streak) == ("starting", 1)
    health = health.after(result(1), policy, in_start_period=False)
    assert (health.status, health.failing_streak) == ("unhealthy", 2)
    healthy = Health("healthy", 0, ()).after(result(1), policy, in_start_period=False)
    assert (healthy.status, healthy.failing_streak) == ("healthy", 1)  # one failure: still healthy


def test_failures_in_the_start_period_count_only_after_a_success() -> None:
    policy = HealthPolicy(("false",), retries=1, start_period=60 * S)
    starting = Health().after(result(1), policy, in_start_period=True)
    assert (starting.status, starting.failing_streak, len(starting.log)) == ("starting", 0, 1)
    healthy = starting.after(result(0), policy, in_start_period=True)
    failed = healthy.after(result(1), policy, in_start_period=True)
    assert (failed.status, failed.failing_streak) == ("unhealthy", 1)


def test_the_log_keeps_the_last_five_oldest_first() -> None:
    policy = HealthPolicy(("false",))
    health = Health()
    for n in range(8):
        health = health.after(result(n), policy, in_start_period=False)
    assert [r.exit_code for r in health.log] == [3, 4, 5, 6, 7]


def test_api_round_trip_and_an_empty_log_is_a_list() -> None:
    assert Health().to_api() == {"Status": "starting", "FailingStreak": 0, "Log": []}
    health = Health("healthy", 0, (result(0, "ok"),))
    assert Health.from_api(health.to_api()) == health
    assert Health.from_api(None) is None


def test_ps_text() -> None:
    assert health_text(Health("starting")) == " (health: starting)"
    assert health_text(Health("healthy")) == " (healthy)"
    assert health_text(Health("unhealthy")) == " (unhealthy)"
    assert health_text(None) == ""


def test_output_is_cut_at_4096_bytes_and_timeouts_read_as_dockerd_words_them() -> None:
    assert limited_output(b"x" * 4096) == "x" * 4096
    assert limited_output(b"x" * 4097) == "x" * 4096 + "..."
    assert limited_output(b"\xff") == "\ufffd"
    assert timeout_output(30 * S, "") == "Health check exceeded timeout (30s)"
    assert timeout_output(1500 * 1_000_000, "half\n") == "Health check exceeded timeout (1.5s): half\n"
