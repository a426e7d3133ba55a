"""The lifecycle commands over what the engine has: stop, restart, kill, pause, unpause,
rm and down. They read the project's containers from their labels, so they work with
`-p NAME` and no file; with the model at hand, stop and down go in reverse dependency
order (dependents first) and restart in dependency order."""

from __future__ import annotations

from collections.abc import Callable

from estiba.cli.client import quote_ref
from estiba.compose import labels, specs
from estiba.compose.engine import objects
from estiba.compose.engine.converge import stop_timeout
from estiba.compose.engine.graph import Graph, parallel
from estiba.compose.engine.progress import Progress
from estiba.compose.model import Project
from estiba.errors import Conflict, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Lifecycle"]

_ACTIVE = ("running", "paused", "restarting")


def _label_dependencies(containers: list[dict]) -> set[str]:
    found: set[str] = set()
    for container in containers:
        text = (container.get("Labels") or {}).get(labels.DEPENDS_ON) or ""
        found.update(item.split(":")[0] for item in text.split(",") if item)
    return found


def _name(container: dict) -> str:
    return container["Names"][0].lstrip("/")


class Lifecycle:
    def __init__(
        self, client: Any, project_name: str, project: Project | None, progress: Progress, *, workers: int = 8
    ) -> None:
        self.client = client
        self.name = project_name
        self.project = project
        self.progress = progress
        self.workers = workers if workers > 0 else 8

    def containers(
        self, services: list[str] | None = None, *, stopped: bool = True, oneoff: bool | None = False
    ) -> list[dict]:
        return labels.list_containers(self.client, self.name, services=services, stopped=stopped, oneoff=oneoff)

    def check_services(self, services: list[str] | None) -> None:
        if not services:
            return
        known = set(self.project.services) if self.project is not None else {
            labels.service_of(c) for c in self.containers()
        }
        for name in services:
            if name not in known:
                raise NotFound(f"no such service: {name}")

    def _by_service(
        self, services: list[str] | None, *, stopped: bool = True, oneoff: bool | None = False
    ) -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for container in self.containers(services or None, stopped=stopped, oneoff=oneoff):
            found.setdefault(labels.service_of(container), []).append(container)
        return found

    def _walk(
        self, groups: dict[str, list[dict]], action: Callable[[str, dict], None], *, reverse: bool
    ) -> None:
        """Each service's containers through `action`, services in (reverse) dependency
        order when the model is known, all together otherwise."""
        if self.project is not None:
            model = self.project.services
            graph = Graph({s: set((model.get(s) or {}).get("depends_on") or {}) for s in groups})
        else:  # no file: the depends_on label the containers carry ("db:condition:restart,...")
            graph = Graph({s: _label_dependencies(cs) for s, cs in groups.items()})

        def run(service: str) -> None:
            parallel(groups[service], lambda c: action(service, c), workers=self.workers)

        graph.walk(run, reverse=reverse, workers=self.workers)

    def _timeout(self, service: str, override: int | None) -> int | None:
        model = self.project.services.get(service) if self.project is not None else None
        return stop_timeout(model or {}, override)

    # --- commands --------------------------------------------------------------------

    def stop(self, services: list[str] | None, timeout: int | None) -> None:
        self.check_services(services)

        def stop_one(service: str, container: dict) -> None:
            if container.get("State") not in _ACTIVE:
                return
            self.progress.container(_name(container), "Stopping")
            self.client.post(f"/containers/{container['Id']}/stop", t=self._timeout(service, timeout))
            self.progress.container(_name(container), "Stopped")

        self._walk(self._by_service(services), stop_one, reverse=True)

    def restart(self, services: list[str] | None, timeout: int | None, *, dependents: bool = True) -> None:
        """In dependency order; services that depend on those named restart too, unless
        `dependents` is False (--no-deps)."""
        self.check_services(services)
        if services and dependents and self.project is not None:
            services = self._with_dependents(services)

        def restart_one(service: str, container: dict) -> None:
            self.progress.container(_name(container), "Restarting")
            self.client.post(f"/containers/{container['Id']}/restart", t=self._timeout(service, timeout))
            self.progress.container(_name(container), "Started")

        self._walk(self._by_service(services), restart_one, reverse=False)

    def _with_dependents(self, services: list[str]) -> list[str]:
        assert self.project is not None
        chosen = list(services)
        for name in chosen:  # grows while it is walked
            for other, service in sorted(self.project.services.items()):
                if name in (service.get("depends_on") or {}) and other not in chosen:
                    chosen.append(other)
        return chosen

    def kill(self, services: list[str] | None, signal: str | None) -> None:
        self.check_services(services)
        running = self.containers(services or None, stopped=False)
        if not running:
            self.progress.write("no container to kill\n", always=True)
            return
        for container in running:
            self.progress.container(_name(container), "Killing")
            self.client.post(f"/containers/{container['Id']}/kill", signal=signal)
            self.progress.container(_name(container), "Killed")

    def pause(self, services: list[str] | None, *, pause: bool) -> None:
        self.check_services(services)
        for container in self.containers(services or None, stopped=False):
            state = container.get("State")
            if (state == "paused") == pause:
                continue
            verb = "pause" if pause else "unpause"
            self.progress.container(_name(container), "Pausing" if pause else "Unpausing")
            self.client.post(f"/containers/{container['Id']}/{verb}")
            self.progress.container(_name(container), "Paused" if pause else "Unpaused")

    def removable(self, services: list[str] | None, *, stop_first: bool) -> list[dict]:
        self.check_services(services)
        found = self.containers(services or None)
        return found if stop_first else [c for c in found if c.get("State") not in _ACTIVE]

    def remove(self, containers: list[dict], *, stop_first: bool, timeout: int | None, volumes: bool) -> None:
        for container in containers:
            if stop_first and container.get("State") in _ACTIVE:
                self.progress.container(_name(container), "Stopping")
                wait = self._timeout(labels.service_of(container), timeout)
                self.client.post(f"/containers/{container['Id']}/stop", t=wait)
                self.progress.container(_name(container), "Stopped")
            self.progress.container(_name(container), "Removing")
            try:
                self.client.call(
                    "DELETE", f"/containers/{container['Id']}", {"v": volumes, "force": stop_first}
                )
            except NotFound:
                pass
            self.progress.container(_name(container), "Removed")

    def down(
        self,
        *,
        remove_orphans: bool,
        volumes: bool,
        rmi: str | None,
        timeout: int | None,
        services: list[str] | None = None,
    ) -> None:
        """Stop and remove the project's containers (dependents first), then its networks,
        with -v its volumes, with --rmi its images. `services` limits it to those.

        As compose v2 (down.go), a service's containers include `run`'s one-off ones:
        they go with it; those of services gone from the model are orphans."""
        self.check_services(services)
        known = None
        if self.project is not None:
            known = set(self.project.services) | set(self.project.disabled or {})
        groups = self._by_service(services, oneoff=None)
        if known is not None:
            orphans = {s: cs for s, cs in groups.items() if s not in known}
            if orphans and not remove_orphans:
                names = ", ".join(_name(c) for cs in orphans.values() for c in cs)
                from estiba.compose.engine.converge import ORPHANS_WARNING

                self.progress.warn(ORPHANS_WARNING.format(names=names))
                groups = {s: cs for s, cs in groups.items() if s in known}
        images = self._images(groups, rmi)

        def remove_one(service: str, container: dict) -> None:
            self.remove([container], stop_first=True, timeout=timeout, volumes=volumes)

        self._walk(groups, remove_one, reverse=True)
        if services:
            return
        objects.remove_networks(self.client, self.name, self.project, self.progress)
        if volumes:
            objects.remove_volumes(self.client, self.name, self.project, self.progress)
        for image in images:
            self.progress.event("Image", image, "Removing")
            try:
                self.client.call("DELETE", f"/images/{quote_ref(image)}")
            except NotFound:
                pass
            except Conflict as exc:
                self.progress.warn(f"image {image} not removed: {exc}")
                continue
            self.progress.event("Image", image, "Removed")

    def _images(self, groups: dict[str, list[dict]], rmi: str | None) -> list[str]:
        """--rmi local: the images built for services without `image:`; all: every one."""
        if not rmi:
            return []
        found: set[str] = set()
        if self.project is not None:
            for name, service in self.project.services.items():
                if rmi == "all" or not service.get("image"):
                    found.add(specs.image_name(self.project, name))
        else:
            for containers in groups.values():
                for container in containers:
                    image = container.get("Image", "")
                    if rmi == "all" or image.startswith(f"{self.name}-"):
                        found.add(image)
        return sorted(found)
