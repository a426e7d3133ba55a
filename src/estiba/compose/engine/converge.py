"""`up` and `create`: bring the engine's containers to the model, service by service in
dependency order (independent services together), then start them, each service once
its dependencies' conditions hold.

The plan for each service is computed first (plan.py). A changed container is swapped
for a new one in one of two ways: compose's (`replace_container`: stop the old one, then
create the new one, during the create phase), or, with `up --wait`, without downtime
(rolling.py: the new one runs and is healthy before it takes the old one's ports over),
during the start phase, once the service's dependencies' conditions hold.

A recreated container takes the old one's anonymous volumes over (inherit.py) unless
-V/--renew-anon-volumes; a service in another one's network namespace
(`network_mode: service:X`) is recreated when X's container was.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from estiba.cli.client import quote_ref
from estiba.compose import labels
from estiba.compose import specs
from estiba.compose.engine import objects
from estiba.compose.engine.graph import Graph, parallel
from estiba.compose.engine.inherit import inherit_anonymous_volumes
from estiba.compose.engine.plan import Recreate, desired_scale, plan_service
from estiba.compose.engine.progress import Progress
from estiba.compose.engine.rolling import RollingReplace, can_roll
from estiba.compose.engine.waiting import wait_dependencies, wait_running_or_healthy
from estiba.compose.model import Project, duration_seconds
from estiba.errors import InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["ConvergeOptions", "Engine", "select_services"]

ORPHANS_WARNING = (
    "Found orphan containers ({names}) for this project. If you removed or renamed this "
    "service in your compose file, you can run this command with the --remove-orphans "
    "flag to clean it up."
)


@dataclass
class ConvergeOptions:
    recreate: str = Recreate.DIVERGED
    scale: dict[str, int] = field(default_factory=dict)
    remove_orphans: bool = False
    timeout: int | None = None  # -t: seconds to stop old containers
    wait: bool = False  # also: replace running containers without downtime (rolling.py)
    wait_timeout: float | None = None
    renew_anon_volumes: bool = False  # -V: recreated containers get new anonymous volumes


def select_services(
    project: Project, names: list[str] | None, *, with_dependencies: bool = True
) -> list[str]:
    """The services a command acts on: those named (all when none), with their
    dependencies unless --no-deps. An unknown name is an error."""
    if not names:
        return sorted(project.services)
    chosen: list[str] = []
    todo = list(names)
    while todo:
        name = todo.pop(0)
        if name in chosen:
            continue
        if name not in project.services:
            raise NotFound(f"no such service: {name}")
        chosen.append(name)
        if with_dependencies:
            todo.extend(d for d, c in (project.services[name].get("depends_on") or {}).items()
                        if d in project.services or (c or {}).get("required", True))
    return sorted(chosen)


def namespace_service(service: dict) -> str | None:
    """X for `network_mode: service:X`."""
    mode = service.get("network_mode") or ""
    return mode[len("service:"):] if mode.startswith("service:") else None


def stop_timeout(service: dict, override: int | None) -> int | None:
    if override is not None:
        return override
    if service.get("stop_grace_period"):
        return int(duration_seconds(service["stop_grace_period"]))
    return None


class Engine:
    """One project against one engine endpoint."""

    def __init__(self, client: Any, project: Project, progress: Progress, *, workers: int = 8) -> None:
        self.client = client
        self.project = project
        self.progress = progress
        self.workers = workers if workers > 0 else 8
        self._lock = threading.Lock()
        self.replaced: set[str] = set()  # services with a container recreated by this run
        self.options = ConvergeOptions()
        # up --wait: running containers to replace without downtime when their service
        # starts (after its dependencies), by service.
        self.rolling: dict[str, list[dict]] = {}

    # --- reading the engine's state ------------------------------------------------

    def containers(self, services: list[str] | None = None, *, stopped: bool = True) -> list[dict]:
        return labels.list_containers(self.client, self.project.name, services=services, stopped=stopped)

    def orphans(self) -> list[dict]:
        known = set(self.project.services) | set(self.project.disabled or {})
        return [c for c in self.containers() if labels.service_of(c) not in known]

    # --- up / create ---------------------------------------------------------------

    def create(self, services: list[str], options: ConvergeOptions) -> None:
        """Networks, volumes and containers for `services`; nothing is started."""
        graph = Graph.of(self.project.services, services)  # a cycle fails before any change
        self.options = options
        self.handle_orphans(options)
        objects.ensure_networks(self.client, self.project, self.progress)
        objects.ensure_volumes(self.client, self.project, self.progress)
        for name, count in options.scale.items():
            if name not in self.project.services:
                raise NotFound(f"no such service: {name}")
            if count < 0:
                raise InvalidArgument(f"invalid --scale {name}={count}: use a number >= 0")
        for name in services:
            service = self.project.services[name]
            if service.get("container_name") and desired_scale(service, options.scale.get(name)) > 1:
                raise InvalidArgument(
                    f'service "{name}" has container_name set and cannot be scaled beyond 1',
                    hint="remove container_name or use --scale 1",
                )
        graph.walk(lambda name: self.converge_service(name, options), workers=self.workers)

    def up(self, services: list[str], options: ConvergeOptions, *, start: bool = True) -> list[dict]:
        """create, then start in dependency order; returns the started containers."""
        self.create(services, options)
        if not start:
            return []
        self.start(services)
        started = self.containers(services)
        if options.wait:
            wait_running_or_healthy(self.client, started, self.progress, options.wait_timeout)
        return started

    def handle_orphans(self, options: ConvergeOptions) -> None:
        orphans = self.orphans()
        if not orphans:
            return
        if not options.remove_orphans:
            names = ", ".join(c["Names"][0].lstrip("/") for c in orphans)
            self.progress.warn(ORPHANS_WARNING.format(names=names))
            return
        for container in orphans:
            self.remove_container(container, stop=True, timeout=options.timeout)

    def converge_service(self, name: str, options: ConvergeOptions) -> None:
        service = self.project.services[name]
        image_id = objects.image_id(self.client, specs.image_name(self.project, name))
        policy = options.recreate
        if policy == Recreate.DIVERGED and namespace_service(service) in self.replaced:
            policy = Recreate.FORCE  # its namespace's container is gone: compose recreates it too
        plan = plan_service(
            name,
            self.containers([name]),
            scale=desired_scale(service, options.scale.get(name)),
            config_hash=specs.config_hash(self.project, name),
            image_id=image_id,
            policy=policy,
        )
        timeout = stop_timeout(service, options.timeout)
        parallel(
            plan.remove,
            lambda c: self.remove_container(c, stop=True, timeout=timeout),
            workers=self.workers,
        )
        rolling = [c for c in plan.recreate if options.wait and can_roll(service, c)]
        stopping = [c for c in plan.recreate if c not in rolling]
        parallel(
            stopping,
            lambda c: self.replace_container(name, c, timeout, image_id=image_id),
            workers=self.workers,
        )
        with self._lock:
            if stopping:
                self.replaced.add(name)
            if rolling:
                self.rolling[name] = rolling
        for container in plan.keep:
            if container.get("State") == "running":
                self.progress.container(container["Names"][0].lstrip("/"), "Running")
        for number in plan.create:
            self.create_container(name, number, image_id=image_id)

    def create_container(
        self,
        service: str,
        number: int,
        *,
        image_id: str | None = None,
        quiet: bool = False,
        inherit: dict | None = None,
    ) -> str:
        """`inherit`: the inspect document of the container this one replaces, whose
        anonymous volumes it takes over (unless -V)."""
        name, body = specs.container_body(
            self.project, service, number, client=self.client, image_id=image_id
        )
        if inherit is not None and not self.options.renew_anon_volumes:
            inherit_anonymous_volumes(body, inherit, self._image_volumes(body["Image"]))
        if not quiet:
            self.progress.container(name, "Creating")
        created = self.client.post("/containers/create", body, name=name)
        container_id = created["Id"]
        for network, endpoint in specs.extra_networks(self.project, service, number):
            self.client.post(
                f"/networks/{quote_ref(network)}/connect",
                {"Container": container_id, "EndpointConfig": endpoint},
            )
        if not quiet:
            self.progress.container(name, "Created")
        return container_id

    def _image_volumes(self, image: str) -> dict:
        try:
            document = self.client.get(f"/images/{quote_ref(image)}/json")
        except NotFound:
            return {}
        return (document.get("Config") or {}).get("Volumes") or {}

    def replace_container(
        self, service: str, old: dict, timeout: int | None, *, image_id: str | None = None
    ) -> str:
        """compose's recreate: stop the old one, rename it aside, create the new one, then
        remove the old one (a failure on the way leaves one of the two)."""
        old_name = old["Names"][0].lstrip("/")
        self.progress.container(old_name, "Recreate")
        document = self.client.get(f"/containers/{old['Id']}/json")
        if old.get("State") in ("running", "paused", "restarting"):
            self.client.post(f"/containers/{old['Id']}/stop", t=timeout)
        self.client.post(f"/containers/{old['Id']}/rename", name=f"{old['Id'][:12]}_{old_name}")
        new_id = self.create_container(
            service, labels.number_of(old), image_id=image_id, quiet=True, inherit=document
        )
        # v: the anonymous volumes the new one took over stay (in use), the others go
        self.client.call("DELETE", f"/containers/{old['Id']}", {"force": True, "v": True})
        self.progress.container(old_name, "Recreated")
        return new_id

    def roll(self, service: str) -> None:
        """up --wait: the service's changed running containers replaced without downtime,
        one at a time (the others keep serving meanwhile)."""
        model = self.project.services[service]
        image_id = objects.image_id(self.client, specs.image_name(self.project, service))
        replace = RollingReplace(
            self.client,
            self.progress,
            lambda number, old: self.create_container(
                service, number, image_id=image_id, quiet=True, inherit=old
            ),
            stop_timeout(model, self.options.timeout),
            self.options.wait_timeout,
        )
        with self._lock:
            pending = self.rolling.pop(service, [])
        for old in pending:
            replace(old)
            with self._lock:
                self.replaced.add(service)

    def rejoin_namespace(self, service: str) -> None:
        """`network_mode: service:X`: containers still in the namespace of a container of
        X that was replaced (rolled during this start) are recreated in the new one's."""
        other = namespace_service(self.project.services[service])
        if other is None:
            return
        current: set[str] = set()
        for container in self.containers([other]):
            current.add(container["Id"])
            current.update(n.lstrip("/") for n in container.get("Names") or [])
        timeout = stop_timeout(self.project.services[service], self.options.timeout)
        image_id = objects.image_id(self.client, specs.image_name(self.project, service))
        for container in self.containers([service]):
            mode = (container.get("HostConfig") or {}).get("NetworkMode") or ""
            if mode.startswith("container:") and mode[len("container:"):] not in current:
                self.replace_container(service, container, timeout, image_id=image_id)
                with self._lock:
                    self.replaced.add(service)

    def remove_container(
        self, container: dict, *, stop: bool, timeout: int | None, volumes: bool = False
    ) -> None:
        name = container["Names"][0].lstrip("/")
        if stop and container.get("State") in ("running", "paused", "restarting"):
            self.progress.container(name, "Stopping")
            self.client.post(f"/containers/{container['Id']}/stop", t=timeout)
            self.progress.container(name, "Stopped")
        self.progress.container(name, "Removing")
        try:
            self.client.call("DELETE", f"/containers/{container['Id']}", {"force": True, "v": volumes})
        except NotFound:
            pass
        self.progress.container(name, "Removed")

    # --- start ---------------------------------------------------------------------

    def start(self, services: list[str], *, strict: bool = False) -> None:
        """Start the services' containers in dependency order, each service once its
        dependencies' conditions hold. `strict` (the start command): a service without
        any container is an error."""
        if strict and not self.containers(services):
            raise NotFound(
                "no containers to start",
                hint="create them with `estiba compose up` or `estiba compose create`",
            )
        Graph.of(self.project.services, services).walk(self.start_service, workers=self.workers)

    def start_service(self, name: str) -> None:
        wait_dependencies(self.client, self.project.name, self.project.services[name], self.progress)
        self.roll(name)
        self.rejoin_namespace(name)
        def start_one(container: dict) -> None:
            container_name = container["Names"][0].lstrip("/")
            self.progress.container(container_name, "Starting")
            self.client.post(f"/containers/{container['Id']}/start")
            self.progress.container(container_name, "Started")

        def restart_one(container: dict) -> None:
            container_name = container["Names"][0].lstrip("/")
            self.progress.container(container_name, "Restarting")
            self.client.post(f"/containers/{container['Id']}/restart")
            self.progress.container(container_name, "Restarted")

        containers = self.containers([name])
        idle = [c for c in containers if c.get("State") not in ("running", "paused", "restarting")]
        parallel(idle, start_one, workers=self.workers)
        # depends_on.restart: a kept container restarts when a dependency was recreated.
        depends_on = self.project.services[name].get("depends_on") or {}
        if any((depends_on[d] or {}).get("restart") for d in depends_on if d in self.replaced):
            running = [c for c in containers if c.get("State") == "running"]
            parallel(running, restart_one, workers=self.workers)
