"""Which containers a compose command acts on: the project (by -p alone when no file is
there), the services named (an unknown one is an error), and for exec/port/run the one
container of a service (`--index`), read back from the engine by label."""

from __future__ import annotations

from typing import Any

from estiba.compose import labels as L
from estiba.errors import Conflict, EstibaError, NotFound

__all__ = ["Scope", "file_project", "scope", "service_container"]


class Scope:
    """A project name, its model when a compose file could be read, and its containers."""

    def __init__(self, client: Any, name: str, project: Any) -> None:
        self.client = client
        self.name = name
        self.project = project

    def check_services(self, services: list[str] | None) -> None:
        if not services:
            return
        if self.project is not None:
            known = set(self.project.services)
        else:
            known = {L.service_of(c) for c in self.containers(oneoff=None)}
        for service in services:
            if service not in known:
                raise NotFound(f"no such service: {service}")

    def containers(self, services: list[str] | None = None, *, stopped: bool = True,
                   oneoff: bool | None = False) -> list[dict]:
        return L.list_containers(self.client, self.name, services=services or None,
                                 stopped=stopped, oneoff=oneoff)


def scope(ctx: Any, services: list[str] | None = None) -> Scope:
    """The command's project: the file's when there is one; with -p (or
    COMPOSE_PROJECT_NAME) and no readable file, just that name."""
    try:
        project = ctx.project(services or None)
    except EstibaError:
        if not ctx.options.project_name or ctx.options.file:
            raise
        project = None
    name = ctx.project_name() if ctx.options.project_name else project.name
    found = Scope(ctx.client, name, project)
    found.check_services(services)
    return found


def file_project(ctx: Any, services: list[str] | None, verb: str) -> Any:
    """The project's model for a command that needs its file (build, pull, push): with -p
    alone there is nothing to `verb` from."""
    project = scope(ctx, services).project
    if project is None:
        raise NotFound(f"no compose file to {verb} from", hint="run it in the project's directory or give -f")
    return project


def service_container(found: Scope, service: str, index: int | None = None) -> dict:
    """The running container `index` of a service (the first one when no index), with
    compose's messages when there is none."""
    found.check_services([service])
    running = found.containers([service], stopped=False)
    if not running:
        raise Conflict(f'service "{service}" is not running',
                       hint=f"start it with `estiba compose up -d {service}`")
    if index is None:
        return running[0]
    for container in running:
        if L.number_of(container) == index:
            return container
    raise Conflict(f'service "{service}" is not running container #{index}')
