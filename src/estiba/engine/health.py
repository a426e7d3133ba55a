"""Container health checks as dockerd keeps them (daemon/health.go): the probe a
container's Healthcheck asks for, and the State.Health a probe's result leads to.

Pure: `HealthPolicy.of(config)` reads the check with dockerd's defaults, `Health` is the
value `docker inspect` shows under State.Health, and `Health.after(result, ...)` is the
state after one probe. The daemon (estiba.daemon.health) runs the probes and stores what
these functions return.

    no Health           a container without a check (Test empty or ["NONE"])
    starting            set at every start (and live restore); no success yet
    healthy             after a successful probe (exit 0)
    unhealthy           after Retries failures in a row; failures in the start period
                        count only once a probe has succeeded
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from estiba.engine.config import HealthConfig
from estiba.units import go_duration

__all__ = [
    "HEALTH_STATUSES",
    "Health",
    "HealthPolicy",
    "ProbeResult",
    "health_text",
    "limited_output",
    "timeout_output",
]

STARTING, HEALTHY, UNHEALTHY, NONE = "starting", "healthy", "unhealthy", "none"
# The values of `docker ps --filter health=`.
HEALTH_STATUSES = (STARTING, HEALTHY, UNHEALTHY, NONE)

SECOND = 1_000_000_000
DEFAULT_INTERVAL = 30 * SECOND
DEFAULT_TIMEOUT = 30 * SECOND
DEFAULT_START_INTERVAL = 5 * SECOND
DEFAULT_RETRIES = 3
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096


@dataclass(frozen=True)
class HealthPolicy:
    """A container's check with dockerd's defaults applied (durations in nanoseconds)."""

    argv: tuple[str, ...]
    interval: int = DEFAULT_INTERVAL
    timeout: int = DEFAULT_TIMEOUT
    start_period: int = 0
    start_interval: int = DEFAULT_START_INTERVAL
    retries: int = DEFAULT_RETRIES

    @classmethod
    def of(cls, check: HealthConfig | None, shell: tuple[str, ...] = ()) -> HealthPolicy | None:
        """The policy of a container's (merged) Healthcheck; None when nothing is probed:
        no check, an empty Test, ["NONE"], or a type dockerd does not know."""
        if check is None or not check.test:
            return None
        kind, command = check.test[0], tuple(check.test[1:])
        if kind == "CMD":
            argv = command
        elif kind == "CMD-SHELL":
            argv = (*(shell or ("/bin/sh", "-c")), *command)
        else:
            return None
        if not argv:
            return None
        return cls(
            argv=argv,
            interval=check.interval or DEFAULT_INTERVAL,
            timeout=check.timeout or DEFAULT_TIMEOUT,
            start_period=check.start_period,
            start_interval=check.start_interval or DEFAULT_START_INTERVAL,
            retries=check.retries if check.retries > 0 else DEFAULT_RETRIES,
        )

    def next_delay(self, since_start: int, status: str) -> int:
        """Nanoseconds until the next probe, `since_start` after the container started:
        the interval, the start interval while starting in the start period, or what is
        left of the start period when that ends first."""
        if since_start >= self.start_period:
            return self.interval
        remaining = self.start_period - since_start
        if remaining < self.interval:
            return remaining
        return self.start_interval if status == STARTING else self.interval


@dataclass(frozen=True)
class ProbeResult:
    """One probe run: times as RFC 3339 (nanoseconds), the exit code (-1 when the probe
    timed out or could not run) and the first 4096 bytes of its output."""

    start: str
    end: str
    exit_code: int
    output: str

    def to_api(self) -> dict[str, Any]:
        return {"Start": self.start, "End": self.end, "ExitCode": self.exit_code, "Output": self.output}

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ProbeResult:
        return cls(str(data.get("Start") or ""), str(data.get("End") or ""),
                   int(data.get("ExitCode") or 0), str(data.get("Output") or ""))


@dataclass(frozen=True)
class Health:
    """State.Health: Status, FailingStreak and the last five results (oldest first)."""

    status: str = STARTING
    failing_streak: int = 0
    log: tuple[ProbeResult, ...] = field(default_factory=tuple)

    def to_api(self) -> dict[str, Any]:
        return {"Status": self.status, "FailingStreak": self.failing_streak,
                "Log": [r.to_api() for r in self.log]}

    @classmethod
    def from_api(cls, data: dict[str, Any] | None) -> Health | None:
        if not data:
            return None
        return cls(
            status=str(data.get("Status") or UNHEALTHY),  # dockerd: no status yet reads unhealthy
            failing_streak=int(data.get("FailingStreak") or 0),
            log=tuple(ProbeResult.from_api(r) for r in data.get("Log") or ()),
        )

    def restarted(self) -> Health:
        """dockerd's initHealthMonitor: starting again with no failures; the log stays."""
        return replace(self, status=STARTING, failing_streak=0)

    def after(self, result: ProbeResult, policy: HealthPolicy, *, in_start_period: bool) -> Health:
        """dockerd's handleProbeResult. `in_start_period`: the probe began within the start
        period of the container's start."""
        log = (*self.log, result)[-MAX_LOG_ENTRIES:]
        if result.exit_code == 0:
            return Health(HEALTHY, 0, log)
        if self.status == STARTING and in_start_period:
            return Health(self.status, self.failing_streak, log)
        streak = self.failing_streak + 1
        return Health(UNHEALTHY if streak >= policy.retries else self.status, streak, log)


def health_text(health: Health | None) -> str:
    """What `docker ps` adds to "Up 3 seconds": "(health: starting)", "(healthy)"..."""
    if health is None:
        return ""
    return " (health: starting)" if health.status == STARTING else f" ({health.status})"


def limited_output(data: bytes) -> str:
    """dockerd's limitedBuffer: the first 4096 bytes, "..." after them if there was more."""
    text = data[:MAX_OUTPUT].decode("utf-8", errors="replace")
    return text + "..." if len(data) > MAX_OUTPUT else text


def timeout_output(timeout: int, output: str) -> str:
    """The Output of a probe killed at its timeout, as dockerd words it."""
    message = f"Health check exceeded timeout ({go_duration(timeout)})"
    return f"{message}: {output}" if output else message
