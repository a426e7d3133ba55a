"""Project snapshots: `estiba compose snapshot` and `estiba compose restore`, LXD's
snapshots over a whole compose project, through the API only.

A project snapshot NAME is not an object of its own: it is read back from the engine,
as everything compose knows is, and is made of

- a container snapshot NAME on each of the project's service containers (one-off `run`
  containers are left out): its files and its configuration, the daemon's
  /estiba/containers/{id}/snapshots (`estiba snapshot ls CONTAINER` shows them too);
- a copy of each of the project's named volumes (the volumes carrying the project's
  label; external ones belong to no project and are left out), a volume named
  `<volume>.<NAME>` labelled estiba.compose.snapshot=NAME,
  estiba.compose.snapshot.volume=<volume> and com.docker.compose.project=<project>.

How it behaves, and why:

- Consistency: the project's running containers (`run`'s one-off ones too, which are
  not snapshotted but may write to the volumes) are paused (not stopped: nothing
  restarts, nothing is lost from memory) while every container snapshot and volume copy
  is made, so all of them hold one moment across services; then they are unpaused. A
  failure on the way removes whatever part was made and unpauses.
- Names: NAME as `estiba snapshot create` takes them; without one, LXD's snap0, snap1,
  ... (the first not taken in the project).
- The volume copies are no project volumes: commands that act on volumes tell them
  apart by their estiba.compose.snapshot label. They carry the project's label so that
  `compose down -v`, which removes the project's data, removes them too, as deleting an
  LXD instance deletes its snapshots; `compose down` without -v keeps them with the
  volumes. The container snapshots go with their containers: `down`, `rm`, or `up`
  recreating a service whose configuration changed remove them, so `snapshot ls` then
  shows a snapshot with fewer containers (or none).
- Restore NAME: every service container must have the snapshot (a container made
  after it, or recreated since, is refused by name: remove it, restore, `up` again).
  A snapshot whose containers were all removed (`down`) holds only its volume copies:
  restore then puts the volumes back (with a warning) and leaves the containers' files,
  whether the project has containers again or none.
  Running containers are only stopped with --force, as `estiba snapshot restore` does;
  a running container outside the project's services that uses one of the volumes is
  refused by name before anything stops. The running ones are stopped dependents
  first, the volumes get the copies' data back exactly (a volume removed since is made
  again with its labels), each container gets its snapshot's files and configuration
  back, and those that were running (or paused: they come back running) are started
  again, dependencies first. A failure part way leaves them stopped and says so.
  The files are the truth for compose: a later `up` recreates a restored container
  whose configuration differs from the file's.
- Anonymous volumes and bind mounts are not part of a project snapshot.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from estiba.cli.client import quote, quote_ref
from estiba.compose import labels
from estiba.compose.engine.graph import Graph
from estiba.compose.engine.progress import Progress
from estiba.errors import Conflict, EstibaError, InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "ContainerPart",
    "ProjectSnapshot",
    "ProjectSnapshots",
    "VolumePart",
    "copy_name",
    "gather",
    "next_name",
    "validate_name",
]

# The original volume's labels and driver options, kept on its copy to make it again if
# it was removed.
ORIGINAL_LABELS = "estiba.compose.snapshot.labels"
ORIGINAL_OPTIONS = "estiba.compose.snapshot.options"

_ACTIVE = ("running", "paused", "restarting")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class ContainerPart:
    """A container snapshot that belongs to a project snapshot."""

    container: str  # the container's name
    id: str
    service: str
    created: str
    size: int


@dataclass(frozen=True)
class VolumePart:
    """A volume copy that belongs to a project snapshot."""

    copy: str  # the copy's volume name
    volume: str  # the project volume it copies
    created: str
    original_labels: dict[str, str] = field(default_factory=dict)
    original_options: dict[str, str] = field(default_factory=dict)
    size: int | None = None


@dataclass
class ProjectSnapshot:
    name: str
    containers: list[ContainerPart] = field(default_factory=list)
    volumes: list[VolumePart] = field(default_factory=list)

    @property
    def created(self) -> str:
        times = [p.created for p in self.containers] + [p.created for p in self.volumes]
        return min((t for t in times if t), default="")

    @property
    def size(self) -> int:
        return sum(p.size for p in self.containers) + sum(p.size or 0 for p in self.volumes)


# --- the pure parts ------------------------------------------------------------------


def validate_name(name: str) -> str:
    """A name that both the container snapshots and the volume copies' names accept."""
    if not _NAME.fullmatch(name) or len(name) > 128:
        raise InvalidArgument(
            f"invalid snapshot name {name!r}", hint="use letters, digits, '_', '.' and '-'"
        )
    return name


def next_name(taken: Iterable[str]) -> str:
    """LXD's automatic names: the first of snap0, snap1, ... not taken."""
    used = set(taken)
    index = 0
    while f"snap{index}" in used:
        index += 1
    return f"snap{index}"


def copy_name(volume: str, snapshot: str) -> str:
    return f"{volume}.{snapshot}"


def gather(
    container_snapshots: Iterable[tuple[dict, list[dict]]],
    copies: Iterable[dict],
    sizes: dict[str, int] | None = None,
) -> dict[str, ProjectSnapshot]:
    """The project's snapshots by name, from each container (as GET /containers/json
    lists it) with its snapshot documents, and the volume copies (GET /volumes);
    `sizes` maps volume names to their size when known."""
    found: dict[str, ProjectSnapshot] = {}
    for container, snapshots in container_snapshots:
        for snapshot in snapshots:
            part = ContainerPart(
                container=container["Names"][0].lstrip("/"), id=container["Id"],
                service=labels.service_of(container), created=snapshot.get("Created") or "",
                size=int(snapshot.get("Size") or 0),
            )  # fmt: skip
            found.setdefault(snapshot["Name"], ProjectSnapshot(snapshot["Name"])).containers.append(part)
    for volume in copies:
        volume_labels = volume.get("Labels") or {}
        name = volume_labels.get(labels.SNAPSHOT)
        if not name:
            continue
        part = VolumePart(
            copy=volume["Name"], volume=volume_labels.get(labels.SNAPSHOT_VOLUME, ""),
            created=volume.get("CreatedAt") or "",
            original_labels=_json_map(volume_labels.get(ORIGINAL_LABELS)),
            original_options=_json_map(volume_labels.get(ORIGINAL_OPTIONS)),
            size=(sizes or {}).get(volume["Name"]),
        )  # fmt: skip
        found.setdefault(name, ProjectSnapshot(name)).volumes.append(part)
    return dict(sorted(found.items(), key=lambda item: (item[1].created, item[0])))


def _json_map(text: str | None) -> dict[str, str]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def service_order(containers: list[dict]) -> list[str]:
    """The services of `containers` in dependency order, from the depends_on label the
    containers carry ("db:service_healthy:true,...")."""
    edges: dict[str, set[str]] = {}
    for container in containers:
        text = (container.get("Labels") or {}).get(labels.DEPENDS_ON) or ""
        needs = edges.setdefault(labels.service_of(container), set())
        needs.update(item.split(":")[0] for item in text.split(",") if item)
    return Graph(edges).order()


def _names(containers: Iterable[dict]) -> str:
    return ", ".join(sorted(c["Names"][0].lstrip("/") for c in containers))


# --- applying them through the API ----------------------------------------------------


class ProjectSnapshots:
    """The snapshots of one project, created, listed, removed and restored through the
    Engine API (`client` is the CLI's Client, or anything with get/post/call)."""

    def __init__(self, client: Any, project: str, progress: Progress) -> None:
        self.client = client
        self.project = project
        self.progress = progress

    # --- reading ----------------------------------------------------------------------

    def containers(self) -> list[dict]:
        """The project's service containers; refused when it has none."""
        found = labels.list_containers(self.client, self.project)
        if not found:
            raise NotFound(
                f"project {self.project} has no containers",
                hint="create them with `estiba compose up -d` first",
            )
        return found

    def volumes(self) -> list[dict]:
        """The project's own volumes (not its snapshots' copies)."""
        return [v for v in labels.list_volumes(self.client, self.project) if not labels.is_snapshot_copy(v)]

    def snapshots(self, *, sizes: bool = False) -> dict[str, ProjectSnapshot]:
        containers = labels.list_containers(self.client, self.project)
        pairs = [
            (c, self.client.get(f"/estiba/containers/{c['Id']}/snapshots") or []) for c in containers
        ]
        copies = [v for v in labels.list_volumes(self.client, self.project) if labels.is_snapshot_copy(v)]
        return gather(pairs, copies, self._volume_sizes() if sizes and copies else None)

    def get(self, name: str, snapshots: dict[str, ProjectSnapshot] | None = None) -> ProjectSnapshot:
        snapshot = (self.snapshots() if snapshots is None else snapshots).get(name)
        if snapshot is None:
            raise NotFound(
                f"no snapshot {name} in project {self.project}",
                hint="list them with `estiba compose snapshot ls`",
            )
        return snapshot

    def _volume_sizes(self) -> dict[str, int]:
        usage = self.client.get("/system/df") or {}
        sizes = {}
        for volume in usage.get("Volumes") or []:
            size = (volume.get("UsageData") or {}).get("Size")
            if isinstance(size, int) and size >= 0:  # -1: not computed
                sizes[volume["Name"]] = size
        return sizes

    # --- create -----------------------------------------------------------------------

    def create(self, name: str | None = None) -> ProjectSnapshot:
        """Snapshot every service container and copy every project volume, with the
        running containers paused meanwhile; all or nothing."""
        containers = self.containers()
        existing = self.snapshots()
        if name:
            validate_name(name)
            if name in existing:
                raise Conflict(
                    f"snapshot {name} already exists in project {self.project}",
                    hint="choose another name, or remove it with `estiba compose snapshot rm`",
                )
        else:
            name = next_name(existing)
        volumes = self.volumes()
        for volume in volumes:
            self._check_free(copy_name(volume["Name"], name))
        with contextlib.ExitStack() as undo:
            with contextlib.ExitStack() as paused:
                # `run`'s one-off containers too: they may write to the volumes.
                for container in labels.list_containers(self.client, self.project, stopped=False, oneoff=None):
                    if container.get("State") == "running":
                        self._pause(container)
                        paused.callback(self._unpause, container)
                for container in containers:
                    self.progress.container(_name(container), "Snapshotting")
                    self.client.post(f"/estiba/containers/{container['Id']}/snapshots", name=name)
                    undo.callback(self._quietly, self._remove_container_snapshot, container["Id"], name)
                    self.progress.container(_name(container), "Snapshotted")
                for volume in volumes:
                    copy = copy_name(volume["Name"], name)
                    self.progress.event("Volume", volume["Name"], f"Copying to {copy}")
                    self._make_copy(volume, copy, name)
                    undo.callback(self._quietly, self._remove_volume, copy)
                    self.client.post(f"/estiba/volumes/{quote(copy)}/replace", **{"from": volume["Name"]})
                    self.progress.event("Volume", volume["Name"], f"Copied to {copy}")
            undo.pop_all()
        return self.get(name)

    def _check_free(self, volume: str) -> None:
        try:
            self.client.get(f"/volumes/{quote_ref(volume)}")
        except NotFound:
            return
        raise Conflict(
            f"volume {volume} already exists: it would hold a copy of the snapshot",
            hint="choose another snapshot name",
        )

    def _make_copy(self, volume: dict, copy: str, snapshot: str) -> None:
        copy_labels = {
            labels.PROJECT: self.project,
            labels.SNAPSHOT: snapshot,
            labels.SNAPSHOT_VOLUME: volume["Name"],
            ORIGINAL_LABELS: json.dumps(volume.get("Labels") or {}, sort_keys=True),
        }
        if volume.get("Options"):
            copy_labels[ORIGINAL_OPTIONS] = json.dumps(volume["Options"], sort_keys=True)
        # A plain local volume whatever the original's options: a copy of a tmpfs volume
        # must outlive its mount, one of a device or bind volume must not be that device.
        self.client.post("/volumes/create", {"Name": copy, "Labels": copy_labels})

    def _pause(self, container: dict) -> None:
        self.progress.container(_name(container), "Pausing")
        self.client.post(f"/containers/{container['Id']}/pause")
        self.progress.container(_name(container), "Paused")

    def _unpause(self, container: dict) -> None:
        """A failure here is a warning: the snapshot itself is good."""
        self.progress.container(_name(container), "Unpausing")
        try:
            self.client.post(f"/containers/{container['Id']}/unpause")
        except EstibaError as exc:
            self.progress.warn(
                f"could not unpause {_name(container)}: {exc}: unpause it with `estiba compose unpause`"
            )
            return
        self.progress.container(_name(container), "Unpaused")

    # --- remove -----------------------------------------------------------------------

    def remove(self, name: str) -> None:
        """Every container snapshot and volume copy of snapshot `name`."""
        snapshot = self.get(name)
        for part in snapshot.containers:
            self.progress.container(part.container, f"Removing snapshot {name}")
            self._remove_container_snapshot(part.id, name)
        for volume in snapshot.volumes:
            self.progress.event("Volume", volume.copy, "Removing")
            self._remove_volume(volume.copy)
            self.progress.event("Volume", volume.copy, "Removed")

    def _remove_container_snapshot(self, container_id: str, name: str) -> None:
        with contextlib.suppress(NotFound):
            self.client.call("DELETE", f"/estiba/containers/{container_id}/snapshots/{quote(name)}")

    def _remove_volume(self, name: str) -> None:
        with contextlib.suppress(NotFound):
            self.client.call("DELETE", f"/volumes/{quote_ref(name)}")

    @staticmethod
    def _quietly(action: Callable[..., object], *args: object) -> None:
        """An undo step: a failure there must not hide the error being unwound."""
        with contextlib.suppress(EstibaError):
            action(*args)

    # --- restore ----------------------------------------------------------------------

    def restore(self, name: str, *, force: bool = False) -> ProjectSnapshot:
        containers = labels.list_containers(self.client, self.project)
        snapshots = self.snapshots()
        if not containers and not snapshots:
            raise NotFound(
                f"project {self.project} has no containers and no snapshots",
                hint="make one with `estiba compose snapshot` once the project is up",
            )
        snapshot = self.get(name, snapshots)
        if snapshot.containers:
            having = {part.id for part in snapshot.containers}
            newer = [c for c in containers if c["Id"] not in having]
            if newer:
                raise Conflict(
                    f"snapshot {name} has no {_names(newer)}: created or recreated after it",
                    hint="remove them first (`estiba compose rm -s -f SERVICE`), restore, then `estiba compose up -d`",
                )
            restoring = containers
        else:  # its containers were removed (`down`), and their snapshots with them
            self.progress.warn(
                f"snapshot {name} holds no container any more (removed since): restoring its volumes only"
            )
            restoring = []
        active = [c for c in containers if c.get("State") in _ACTIVE]
        if active and not force:
            raise Conflict(
                f"project {self.project} is running ({_names(active)})",
                hint="stop the project first (`estiba compose stop`), or restore with --force (stopped, restored, started again)",
            )
        self._check_other_users([part.volume for part in snapshot.volumes], containers)
        order = service_order(containers)
        by_service: dict[str, list[dict]] = {}
        for container in containers:
            by_service.setdefault(labels.service_of(container), []).append(container)
        active_ids = {c["Id"] for c in active}
        for service in reversed(order):
            for container in by_service.get(service, []):
                if container["Id"] in active_ids:
                    self._stop(container)
        try:
            for volume in snapshot.volumes:
                self._restore_volume(volume)
            for container in restoring:
                self.progress.container(_name(container), f"Restoring {name}")
                self.client.post(
                    f"/estiba/containers/{container['Id']}/snapshots/{quote(name)}/restore"
                )
                self.progress.container(_name(container), "Restored")
        except EstibaError as exc:
            left = f"; {_names(active)} left stopped" if active else ""
            message = f"restoring snapshot {name} of project {self.project} failed: {exc.message}{left}"
            try:
                wrapped = type(exc)(message, hint=exc.hint)
            except TypeError:  # a kind with a constructor of its own
                raise exc from None
            raise wrapped from exc
        for service in order:
            for container in by_service.get(service, []):
                if container["Id"] in active_ids:
                    self.progress.container(_name(container), "Starting")
                    self.client.post(f"/containers/{container['Id']}/start")
                    self.progress.container(_name(container), "Started")
        return snapshot

    def _check_other_users(self, volumes: list[str], containers: list[dict]) -> None:
        """Refuse before anything stops when a running container other than the project's
        services (a `run` one-off, another project's) uses one of the volumes."""
        if not volumes:
            return
        ours = {c["Id"] for c in containers}
        wanted = set(volumes)
        for other in self.client.get("/containers/json") or []:
            if other["Id"] in ours:
                continue
            try:
                mounts = self.client.get(f"/containers/{other['Id']}/json").get("Mounts") or []
            except NotFound:
                continue
            used = sorted({m.get("Name") for m in mounts if m.get("Type") == "volume"} & wanted)
            if used:
                raise Conflict(
                    f"volume {', '.join(used)} is in use by running container {_name(other)}, not one of the project's services",
                    hint="stop it first, then restore",
                )

    def _stop(self, container: dict) -> None:
        self.progress.container(_name(container), "Stopping")
        if container.get("State") == "paused":
            self.client.post(f"/containers/{container['Id']}/unpause")
        self.client.post(f"/containers/{container['Id']}/stop")
        self.progress.container(_name(container), "Stopped")

    def _restore_volume(self, part: VolumePart) -> None:
        self.progress.event("Volume", part.volume, f"Restoring from {part.copy}")
        try:
            self.client.get(f"/volumes/{quote_ref(part.volume)}")
        except NotFound:  # removed since: made again as it was
            body: dict[str, Any] = {"Name": part.volume, "Labels": part.original_labels}
            if part.original_options:
                body["DriverOpts"] = part.original_options
            self.client.post("/volumes/create", body)
        self.client.post(f"/estiba/volumes/{quote(part.volume)}/replace", **{"from": part.copy})
        self.progress.event("Volume", part.volume, "Restored")


def _name(container: dict) -> str:
    return container["Names"][0].lstrip("/")
