"""--health-* and --no-healthcheck of `run`/`create`: Config.Healthcheck as docker 28 sends it."""

from __future__ import annotations

import pytest

from estiba.errors import InvalidArgument
from tests.unit.cli.test_container_options import body_for


def test_no_flag_sends_no_healthcheck() -> None:
    assert "Healthcheck" not in body_for("busybox")


def test_every_flag() -> None:
    body = body_for("--health-cmd", "curl -f x", "--health-interval", "1m30s", "--health-timeout", "5s",
                    "--health-retries", "4", "--health-start-period", "500ms",
                    "--health-start-interval", "1s", "busybox")
    assert body["Healthcheck"] == {
        "Test": ["CMD-SHELL", "curl -f x"], "Interval": 90_000_000_000, "Timeout": 5_000_000_000,
        "StartPeriod": 500_000_000, "StartInterval": 1_000_000_000, "Retries": 4,
    }


def test_timings_without_a_command_leave_the_test_to_the_image() -> None:
    assert body_for("--health-interval", "2s", "busybox")["Healthcheck"] == {"Interval": 2_000_000_000}


def test_no_healthcheck() -> None:
    assert body_for("--no-healthcheck", "busybox")["Healthcheck"] == {"Test": ["NONE"]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--no-healthcheck", "--health-cmd", "true"], "--no-healthcheck conflicts with --health-\\* options"),
        (["--health-interval=-1s"], "--health-interval cannot be negative"),
        (["--health-retries", "-1"], "--health-retries cannot be negative"),
        (["--health-timeout", "5"], 'invalid argument "5" for "--health-timeout" flag: time: missing unit'),
    ],
)
def test_bad_flags_are_one_clear_error(argv: list[str], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        body_for(*argv, "busybox")
