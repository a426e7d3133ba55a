"""Zero-downtime replacement of a running container (beyond compose: docker/compose#1786),
the recreate strategy of `up --wait`.

The new container runs beside the old one before the old one stops:

1. rename the old one aside (`<id12>_<name>`, compose's name for a container being
   replaced) and create the new one under the canonical name;
2. start it with its ports deferred (estiba-defer-ports=1): it joins its networks, with
   the service's aliases, but publishes nothing while the old one holds the host ports;
3. wait until it is healthy (running, when it has no healthcheck), within --wait-timeout;
4. take the old one's host ports over in one ruleset change
   (POST /estiba/containers/{new}/ports/takeover?from={old}): new connections reach the
   new container, established ones stay with the old;
5. let the old one drain its in-flight requests a moment, then stop it (its
   stop_grace_period) and remove it: its network alias goes with it.

When the new one fails before the switch (it exits, turns unhealthy, or the timeout
passes), it is removed, the old one gets its name back and keeps serving: the service
never went down, and `up` fails naming the container.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from estiba.compose import labels
from estiba.compose.engine.progress import Progress
from estiba.compose.engine.waiting import has_healthcheck
from estiba.errors import Conflict, EstibaError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ReplacementFailed", "RollingReplace", "can_roll"]

POLL_SECONDS = 0.25
DRAIN_SECONDS = 1.0  # at most: a shorter stop_grace_period shortens it


class ReplacementFailed(Conflict):
    """The new container did not become ready; the old one still serves."""


def can_roll(service: dict, container: dict) -> bool:
    """Whether a container can be replaced without downtime: it runs, and the service has
    a network of its own (host or container:/service: namespaces have no ports to move,
    and two containers cannot hold one namespace's ports at once)."""
    if container.get("State") != "running":
        return False
    mode = service.get("network_mode") or ""
    return not (mode == "host" or mode == "none" or mode.startswith(("service:", "container:")))


@dataclass
class RollingReplace:
    """One container's replacement. `create(number, inherit)` makes the new container
    (under the canonical name, the old one's inspect document to inherit from) and returns
    its ID (it takes the old one's anonymous volumes over unless -V); `wait_timeout` is --wait-timeout (None: as long as it takes)."""

    client: Any
    progress: Progress
    create: Callable[[int, dict], str]
    stop_timeout: int | None
    wait_timeout: float | None
    sleep: Callable[[float], None] = time.sleep  # tests pass their own

    def __call__(self, old: dict) -> str:
        name = old["Names"][0].lstrip("/")
        aside = f"{old['Id'][:12]}_{name}"
        document = self.client.get(f"/containers/{old['Id']}/json")
        self.progress.container(name, "Recreate")
        self.client.post(f"/containers/{old['Id']}/rename", name=aside)
        new_id: str | None = None
        try:
            new_id = self.create(labels.number_of(old), document)
            self.client.post(f"/containers/{new_id}/start", **{"estiba-defer-ports": "1"})
            self.progress.container(name, "Waiting")
            ready = self._wait_ready(new_id, name)
            self.progress.container(name, "Healthy" if has_healthcheck(ready) else "Running")
            self.client.post(f"/estiba/containers/{new_id}/ports/takeover", **{"from": old["Id"]})
        except BaseException as exc:
            self._roll_back(new_id, old["Id"], name)
            if isinstance(exc, ReplacementFailed):
                raise
            if isinstance(exc, EstibaError):
                raise ReplacementFailed(
                    f"container {name} was not replaced: {exc}; the old container keeps serving"
                ) from exc
            raise
        self.progress.container(name, "Switched")
        self.sleep(self._drain_seconds())
        self.client.post(f"/containers/{old['Id']}/stop", t=self.stop_timeout)
        # v: the anonymous volumes the new one took over stay (in use), the others go
        self.client.call("DELETE", f"/containers/{old['Id']}", {"force": True, "v": True})
        self.progress.container(name, "Recreated")
        return new_id

    def _drain_seconds(self) -> float:
        if self.stop_timeout is None:
            return DRAIN_SECONDS
        return min(DRAIN_SECONDS, max(self.stop_timeout, 0) / 2)

    def _wait_ready(self, new_id: str, name: str) -> dict:
        """The new container's inspect document once it is healthy (running without a
        healthcheck); ReplacementFailed when it exits, turns unhealthy or runs out of time."""
        deadline = None if self.wait_timeout is None else time.monotonic() + self.wait_timeout
        while True:
            document = self.client.get(f"/containers/{new_id}/json")
            state = document.get("State") or {}
            if state.get("Status") in ("exited", "dead"):
                raise ReplacementFailed(
                    f"container {name} was not replaced: the new container exited "
                    f"({state.get('ExitCode', 0)}); the old container keeps serving",
                    hint="look at the service's command and image",
                )
            if not state.get("Running"):
                pass  # restarting: not ready yet
            elif not has_healthcheck(document):
                return document
            else:
                health = state.get("Health") or {}
                if health.get("Status") == "healthy":
                    return document
                if health.get("Status") == "unhealthy":
                    raise ReplacementFailed(
                        f"container {name} was not replaced: the new container is unhealthy"
                        f"{_last_check(health)}; the old container keeps serving",
                        hint="fix the service's healthcheck or what it checks",
                    )
            if deadline is not None and time.monotonic() > deadline:
                raise ReplacementFailed(
                    f"container {name} was not replaced: the new container was not "
                    f"{'healthy' if has_healthcheck(document) else 'running'} after "
                    f"{self.wait_timeout:g}s; the old container keeps serving",
                    hint="raise --wait-timeout or look at the service's healthcheck",
                )
            self.sleep(POLL_SECONDS)

    def _roll_back(self, new_id: str | None, old_id: str, name: str) -> None:
        """The new one gone, the old one under its name again (still running)."""
        self.progress.container(name, "Error")
        if new_id is not None:
            try:
                # its own anonymous volumes go; those it took over are named, and stay
                self.client.call("DELETE", f"/containers/{new_id}", {"force": True, "v": True})
            except NotFound:
                pass
        self.client.post(f"/containers/{old_id}/rename", name=name)


def _last_check(health: dict) -> str:
    log = health.get("Log") or []
    output = (log[-1].get("Output") or "").strip() if log else ""
    if not output:
        return ""
    line = output.splitlines()[-1]
    return f" (last check: {line[:200]})"
