"""Restart policies: whether a container that ended starts again, and after how long.

dockerd's rules (its restartmanager), which users and compose files rely on:

    no              never
    always          every exit, and at daemon start
    unless-stopped  every exit, and at daemon start, unless a client stopped or killed it
    on-failure[:N]  a non-zero exit, at most N times (0 = no limit)

A client's `stop` (or a `kill` with SIGKILL or the stop signal) cancels the restart of the
exit it causes, whatever the policy.

The delay before each restart starts at 100 ms and doubles up to a minute; a run of ten
seconds or more resets it. A client's start resets the count. This module decides; the
engine sleeps and starts.
"""

from __future__ import annotations

from dataclasses import dataclass

from estiba.engine.hostconfig import RestartPolicy

__all__ = ["Backoff", "should_restart"]

FIRST_DELAY = 0.1
MAX_DELAY = 60.0
STABLE_RUN = 10.0


def should_restart(
    policy: RestartPolicy, *, exit_code: int, manually_stopped: bool, restart_count: int
) -> bool:
    """Start again a container that is not running (`restart_count` restarts so far)?

    Asked after an exit the daemon saw, unless a client's stop or kill (with SIGKILL or
    the stop signal) cancelled restarts first, and at daemon start for every container
    that is not running.
    """
    if policy.name == "always":
        return True
    if policy.name == "unless-stopped":
        return not manually_stopped
    if policy.name == "on-failure":
        limit = policy.maximum_retry_count
        return exit_code != 0 and (limit == 0 or restart_count < limit)
    return False


@dataclass
class Backoff:
    """The delay before the next restart of one container."""

    delay: float = 0.0

    def next(self, ran_for: float) -> float:
        if ran_for >= STABLE_RUN:
            self.delay = 0.0
        self.delay = FIRST_DELAY if self.delay == 0.0 else min(self.delay * 2, MAX_DELAY)
        return self.delay
