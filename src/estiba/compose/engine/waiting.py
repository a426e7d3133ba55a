"""Waiting on containers: a service's dependencies' conditions before it starts
(service_started, service_healthy, service_completed_successfully), and `up --wait`.

State is polled with GET /containers/{id}/json, as compose does; messages are compose's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from estiba.cli.client import quote_ref
from estiba.compose import labels
from estiba.compose.engine.progress import Progress
from estiba.errors import Conflict, EstibaError, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["DependencyFailed", "wait_dependencies", "wait_running_or_healthy"]

POLL_SECONDS = 0.25


class DependencyFailed(Conflict):
    """A dependency did not reach its condition."""


def _name(document: dict) -> str:
    return document.get("Name", "").lstrip("/")


def has_healthcheck(document: dict) -> bool:
    test = ((document.get("Config") or {}).get("Healthcheck") or {}).get("Test") or []
    return bool(test) and test[0] != "NONE"


def _healthy_now(document: dict) -> bool:
    """True once healthy; raises when it cannot become so."""
    state = document.get("State") or {}
    name = _name(document)
    if not has_healthcheck(document):
        raise DependencyFailed(f"container {name} has no healthcheck configured")
    if state.get("Status") in ("exited", "dead"):
        raise DependencyFailed(
            f"dependency failed to start: container {name} exited ({state.get('ExitCode', 0)})"
        )
    status = (state.get("Health") or {}).get("Status")
    if status == "healthy":
        return True
    if status == "unhealthy":
        raise DependencyFailed(f"dependency failed to start: container {name} is unhealthy")
    return False


def _completed_now(document: dict, service: str) -> bool:
    state = document.get("State") or {}
    if state.get("Status") not in ("exited", "dead"):
        return False
    code = int(state.get("ExitCode") or 0)
    if code != 0:
        raise DependencyFailed(f'service "{service}" didn\'t complete successfully: exit {code}')
    return True


def _poll(
    client: Any, container_id: str, check: Callable[[dict], bool], deadline: float | None
) -> dict:
    while True:
        document = client.get(f"/containers/{quote_ref(container_id)}/json")
        if check(document):
            return document
        if deadline is not None and time.monotonic() > deadline:
            raise Unavailable(f"container {_name(document)} did not become ready in time")
        time.sleep(POLL_SECONDS)


def wait_dependencies(client: Any, project_name: str, service: dict, progress: Progress) -> None:
    """Hold until each of `service`'s depends_on conditions holds. A dependency marked
    `required: false` that fails is a warning; a required one fails the caller."""
    for dependency, config in sorted((service.get("depends_on") or {}).items()):
        condition = (config or {}).get("condition", "service_started")
        required = (config or {}).get("required", True)
        if condition == "service_started":
            continue
        containers = labels.list_containers(client, project_name, services=[dependency])
        if not containers and required:
            raise DependencyFailed(
                f"dependency failed to start: service {dependency} has no container"
            )
        try:
            for container in containers:
                name = container["Names"][0].lstrip("/")
                progress.container(name, "Waiting")
                if condition == "service_healthy":
                    _poll(client, container["Id"], _healthy_now, None)
                    progress.container(name, "Healthy")
                else:
                    _poll(client, container["Id"], lambda d: _completed_now(d, dependency), None)
                    progress.container(name, "Exited")
        except EstibaError as exc:
            if required:
                progress.container(name, "Error")
                raise
            progress.warn(f"optional dependency {dependency!r} failed: {exc}")


def wait_running_or_healthy(
    client: Any, containers: list[dict], progress: Progress, timeout: float | None
) -> None:
    """`up --wait`: every container running, and healthy when it has a healthcheck."""
    deadline = None if timeout is None else time.monotonic() + timeout

    def ready(document: dict) -> bool:
        state = document.get("State") or {}
        name = _name(document)
        if state.get("Status") in ("exited", "dead"):
            raise DependencyFailed(f"container {name} exited ({state.get('ExitCode', 0)})")
        if not state.get("Running"):
            return False
        if not has_healthcheck(document):
            return True
        status = (state.get("Health") or {}).get("Status")
        if status == "unhealthy":
            raise DependencyFailed(f"container {name} is unhealthy")
        return status == "healthy"

    for container in containers:
        name = container["Names"][0].lstrip("/")
        progress.container(name, "Waiting")
        try:
            document = _poll(client, container["Id"], ready, deadline)
        except Unavailable as exc:
            progress.container(name, "Error")
            raise Unavailable(
                f"container {name} is not running and healthy after {timeout:g}s",
                hint="raise --wait-timeout or look at `estiba compose logs`",
            ) from exc
        except DependencyFailed:
            progress.container(name, "Error")
            raise
        progress.container(name, "Healthy" if has_healthcheck(document) else "Running")
