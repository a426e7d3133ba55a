"""What the API needs from the engine: one Protocol per resource, as moby's routers do.

The API parses and validates every request parameter into the typed values of
`estiba.api.types`, calls one of these methods, and renders the result in Docker's JSON.
Implementations raise the kinds of `estiba.errors` (NotFound, Conflict, NotModified...);
the API turns them into HTTP statuses in one place.

Conventions shared by every Protocol:

* `ref` is what the client typed: a full id, an unambiguous id prefix or a name.
* Streaming methods are coroutines that check their arguments and raise *before* they
  return the stream: the API sends the status line only afterwards, so a missing
  container is a 404 rather than a broken stream. An error raised while the stream is
  being read ends it (pull, import and load report it in the stream as `errorDetail`).
* The API closes every async iterator it was given (`aclose()`) when it stops reading,
  early when the client goes away; implementations release subscriptions there.
* A client that disconnects ends the streams it was reading, but never cancels a state
  change halfway: the API lets a create, start or remove run to its end.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from estiba.api.types import (
    Archive,
    BuildCachePruneReport,
    BuildOptions,
    CommitOptions,
    AttachOptions,
    Change,
    ContainerListOptions,
    ContainerPruneReport,
    CreatedContainer,
    Event,
    ExecConfig,
    ExecStartOptions,
    Filters,
    ImageDeleteItem,
    ImageListOptions,
    ImportOptions,
    JSONObject,
    LogsOptions,
    Output,
    PathStat,
    Progress,
    PruneReport,
    PullOptions,
    RegistryAuth,
    Session,
    TopResult,
    VersionInfo,
    VolumeCreateOptions,
    WaitCondition,
    WaitResult,
)

__all__ = [
    "BuildBackend",
    "CommitBackend",
    "ContainerSnapshotBackend",
    "VolumeBackend",
    "Backends",
    "ContainerBackend",
    "ExecBackend",
    "ImageBackend",
    "NetworkBackend",
    "SystemBackend",
]


class SystemBackend(Protocol):
    """The daemon as a whole: /version, /info and /events."""

    async def version(self) -> VersionInfo: ...

    async def info(self) -> JSONObject:
        """The spec's SystemInfo document, with real figures."""
        ...

    async def events(self, *, since_ns: int | None, until_ns: int | None) -> AsyncIterator[Event]:
        """The kept past events from `since_ns` (from the oldest kept when only `until_ns`
        is given; none when neither is), then live ones; the stream ends at `until_ns`
        (never when None), right away when that is past. Subscribe before returning so
        that nothing is missed; the API applies the client's filters."""
        ...

    async def disk_usage(self) -> JSONObject:
        """The spec's SystemDataUsageResponse (`docker system df`): LayersSize, Images with
        Size, SharedSize and Containers, Containers with SizeRw and SizeRootFs, Volumes and
        BuildCache."""
        ...


class ContainerBackend(Protocol):
    """Containers: lifecycle, inspection, I/O and files (the /containers routes)."""

    async def create_container(
        self, config: JSONObject, *, name: str | None, platform: str | None
    ) -> CreatedContainer:
        """`config` is the request body as sent (ContainerConfig with HostConfig and
        NetworkingConfig inside); the engine parses it. `name` is already validated."""
        ...

    async def list_containers(self, options: ContainerListOptions) -> list[JSONObject]:
        """ContainerSummary documents, newest first."""
        ...

    async def inspect_container(self, ref: str, *, size: bool) -> JSONObject: ...

    async def start_container(self, ref: str, *, defer_ports: bool = False) -> None:
        """Raises NotModified when it is already running."""
        ...

    async def stop_container(self, ref: str, *, timeout: int | None, signal: str | None) -> None:
        """The stop signal, then SIGKILL after `timeout` seconds (None: the container's
        own StopTimeout); NotModified when it is not running."""
        ...

    async def restart_container(
        self, ref: str, *, timeout: int | None, signal: str | None
    ) -> None: ...

    async def kill_container(self, ref: str, *, signal: str | None) -> None:
        """`signal` as the client wrote it ("KILL", "SIGHUP", "9"); None means SIGKILL."""
        ...

    async def pause_container(self, ref: str) -> None: ...

    async def unpause_container(self, ref: str) -> None: ...

    async def wait_container(self, ref: str, condition: WaitCondition) -> Awaitable[WaitResult]:
        """Register the wait and return what resolves when the condition is met.

        Two steps, because clients send `wait` before `start` and need the response
        headers as the sign that the wait is registered."""
        ...

    async def remove_container(
        self, ref: str, *, force: bool, remove_volumes: bool, remove_link: bool
    ) -> None: ...

    async def prune_containers(self, filters: Filters) -> ContainerPruneReport:
        """Remove every stopped container matching `filters` (until, label, label!); a
        running, paused or restarting one is kept. Publishes one "prune" event."""
        ...

    async def container_logs(self, ref: str, options: LogsOptions) -> Output: ...

    async def attach_container(self, ref: str, options: AttachOptions) -> Session: ...

    async def resize_container(self, ref: str, *, height: int, width: int) -> None: ...

    async def top_container(self, ref: str, *, ps_args: str) -> TopResult: ...

    async def rename_container(self, ref: str, new_name: str) -> None: ...

    async def update_container(self, ref: str, update: JSONObject) -> list[str]:
        """`update` is the body as sent (resources and RestartPolicy); returns warnings."""
        ...

    async def container_changes(self, ref: str) -> list[Change]: ...

    async def container_stats(
        self, ref: str, *, stream: bool, one_shot: bool
    ) -> AsyncIterator[JSONObject]:
        """Stats documents, one a second while `stream`; a single one otherwise (without
        the one-second priming sample when `one_shot`)."""
        ...

    async def export_container(self, ref: str) -> AsyncIterator[bytes]:
        """The container's filesystem as a tar stream."""
        ...

    async def stat_container_path(self, ref: str, path: str) -> PathStat: ...

    async def get_container_archive(self, ref: str, path: str) -> Archive: ...

    async def put_container_archive(
        self,
        ref: str,
        path: str,
        data: AsyncIterator[bytes],
        *,
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> None:
        """Extract the tar stream `data` into the directory `path` of the container."""
        ...


class ExecBackend(Protocol):
    """Processes started inside running containers (the /exec routes)."""

    async def create_exec(self, ref: str, config: ExecConfig) -> str:
        """Returns the new exec id."""
        ...

    async def start_exec(self, exec_id: str, options: ExecStartOptions) -> Session | None:
        """Start it; None when `options.detach`, else the session to its stdio."""
        ...

    async def inspect_exec(self, exec_id: str) -> JSONObject: ...

    async def resize_exec(self, exec_id: str, *, height: int, width: int) -> None: ...


class ImageBackend(Protocol):
    """Images: the local store, pulls, imports, save and load (the /images routes)."""

    async def list_images(self, options: ImageListOptions) -> list[JSONObject]: ...

    async def inspect_image(self, ref: str) -> JSONObject: ...

    async def image_history(self, ref: str) -> list[JSONObject]: ...

    async def tag_image(self, ref: str, *, repo: str, tag: str) -> None: ...

    async def remove_image(self, ref: str, *, force: bool, prune: bool) -> list[ImageDeleteItem]:
        """Conflict while a container uses it, unless `force`."""
        ...

    async def pull_image(self, options: PullOptions) -> AsyncIterator[Progress]: ...

    async def import_image(
        self, source: AsyncIterator[bytes] | str, options: ImportOptions
    ) -> AsyncIterator[Progress]:
        """`source` is the request body (a tar, possibly compressed) or a URL to fetch."""
        ...

    async def save_images(self, refs: list[str]) -> AsyncIterator[bytes]:
        """A docker-archive tar of the images (with their tags when named by tag)."""
        ...

    async def load_images(
        self, data: AsyncIterator[bytes], *, quiet: bool
    ) -> AsyncIterator[Progress]:
        """Read a docker-archive (or OCI layout) tar; one "Loaded image: ..." per image."""
        ...

    async def prune_images(self, filters: Filters) -> PruneReport:
        """`keep=N` (estiba's) keeps the N newest images of each repository."""
        ...

    async def push_image(
        self, ref: str, *, tag: str, auth: RegistryAuth
    ) -> AsyncIterator[Progress]:
        """Docker's push progress; without `tag`, every local tag of the repository."""
        ...

    async def search_images(
        self, term: str, *, limit: int, auth: RegistryAuth
    ) -> list[JSONObject]:
        """ImageSearchResponseItem documents; Unsupported where the registry cannot search."""
        ...

    async def authenticate(self, auth: RegistryAuth) -> JSONObject:
        """`POST /auth`: {"Status": "Login Succeeded", "IdentityToken": ...}; Unauthorized
        with the registry's message when it refuses the credentials."""
        ...


class VolumeBackend(Protocol):
    """Volumes (the /volumes routes and Estiba's /estiba/volumes extensions).

    Documents are the spec's Volume objects. `remove_volume` raises Conflict while a
    container uses the volume, with `force` too; `force` only makes a missing one fine.
    `prune_volumes` removes unused volumes matching the filters (label, label!), only
    anonymous ones unless the filter `all` is true; the API sets `all` for clients
    older than API 1.42, which pruned every unused volume."""

    async def list_volumes(self, filters: Filters) -> list[JSONObject]: ...

    async def create_volume(self, options: VolumeCreateOptions) -> JSONObject: ...

    async def inspect_volume(self, name: str) -> JSONObject: ...

    async def remove_volume(self, name: str, *, force: bool) -> None: ...

    async def prune_volumes(self, filters: Filters) -> PruneReport:
        """`deleted` lists the volume names (as ImageDeleteItem.deleted)."""
        ...

    async def clone_volume(self, name: str, new_name: str) -> JSONObject: ...

    async def rename_volume(self, name: str, new_name: str) -> JSONObject: ...

    async def replace_volume_data(self, name: str, source: str) -> JSONObject:
        """Volume `name`'s data becomes a copy of volume `source`'s; Conflict while a
        running container uses `name`."""
        ...

    async def export_volume(self, name: str) -> AsyncIterator[bytes]:
        """The volume's data as a tar stream (NotFound raised before it starts)."""
        ...

    async def import_volume(self, name: str, data: AsyncIterator[bytes]) -> JSONObject:
        """Unpack a tar into the volume, made when missing; nothing lands outside it."""
        ...


@runtime_checkable
class CommitBackend(Protocol):
    """POST /commit: a container's changes as a new image."""

    async def commit_container(self, ref: str, options: CommitOptions) -> str:
        """The new image's id. `options.changes` are Dockerfile instructions."""
        ...


@runtime_checkable
class ContainerSnapshotBackend(Protocol):
    """LXD-style snapshots and copies (the /estiba/containers routes)."""

    async def create_snapshot(self, ref: str, name: str, *, include_volumes: bool) -> JSONObject:
        """`name` "" picks snap0, snap1...; returns {Name, Created, Size, Volumes}."""
        ...

    async def list_snapshots(self, ref: str) -> list[JSONObject]: ...

    async def restore_snapshot(self, ref: str, name: str, *, force: bool) -> None:
        """Conflict for a running container unless `force` (then stopped and started)."""
        ...

    async def remove_snapshot(self, ref: str, name: str) -> None: ...

    async def copy_container(
        self, ref: str, new_name: str, *, snapshot: str, include_volumes: bool
    ) -> CreatedContainer:
        """A new stopped container with the configuration and files of `ref` (or of its
        snapshot `snapshot`)."""
        ...


class NetworkBackend(Protocol):
    """Networks (the /networks routes). `ref` is a full id, an id prefix or a name; the
    predefined bridge, host and none networks are always listed and cannot be removed
    (Forbidden). Documents are the spec's Network objects."""

    async def list_networks(self, filters: Filters) -> list[JSONObject]: ...

    async def inspect_network(self, ref: str, *, verbose: bool) -> JSONObject: ...

    async def create_network(self, body: JSONObject) -> JSONObject:
        """`body` is NetworkCreateRequest as sent; returns {"Id": ..., "Warning": ...}.
        Conflict when the name is taken."""
        ...

    async def remove_network(self, ref: str) -> None:
        """Conflict while containers are attached."""
        ...

    async def connect_network(self, ref: str, body: JSONObject) -> None:
        """`body`: {"Container": ref, "EndpointConfig": {...}} as sent."""
        ...

    async def disconnect_network(self, ref: str, container: str, *, force: bool) -> None: ...

    async def prune_networks(self, filters: Filters) -> list[str]:
        """Remove unused user networks (until, label, label!); returns their names."""
        ...

    async def publish_port(self, container: str, port: JSONObject) -> JSONObject:
        """Beyond Docker: publish one more port of a running container. `port` is a Port
        document (PrivatePort, Type, IP, PublicPort: 0 for any); returns it as made."""
        ...

    async def take_over_ports(self, container: str, old: str) -> list[JSONObject]:
        """Beyond Docker: a running container started with estiba-defer-ports publishes its
        ports, taking the same host ports from the running `old` in one ruleset change;
        returns its Port documents."""
        ...

    async def unpublish_port(self, container: str, public_port: int, proto: str) -> None: ...


class NoNetworks:
    """The NetworkBackend of an engine without networking: the predefined networks are
    not there, and changing anything is Unsupported."""

    async def list_networks(self, filters: Filters) -> list[JSONObject]:
        return []

    async def inspect_network(self, ref: str, *, verbose: bool) -> JSONObject:
        from estiba.errors import NotFound

        raise NotFound(f"network {ref} not found")

    async def create_network(self, body: JSONObject) -> JSONObject:
        raise _no_networking()

    async def remove_network(self, ref: str) -> None:
        raise _no_networking()

    async def connect_network(self, ref: str, body: JSONObject) -> None:
        raise _no_networking()

    async def disconnect_network(self, ref: str, container: str, *, force: bool) -> None:
        raise _no_networking()

    async def prune_networks(self, filters: Filters) -> list[str]:
        return []

    async def publish_port(self, container: str, port: JSONObject) -> JSONObject:
        raise _no_networking()

    async def unpublish_port(self, container: str, public_port: int, proto: str) -> None:
        raise _no_networking()

    async def take_over_ports(self, container: str, old: str) -> list[JSONObject]:
        raise _no_networking()


def _no_networking() -> Exception:
    from estiba.errors import Unsupported

    return Unsupported("this engine has no networking")


class BuildBackend(Protocol):
    """The classic builder: POST /build and POST /build/prune."""

    async def build(self, context: AsyncIterator[bytes], options: BuildOptions) -> AsyncIterator[Progress]:
        """Read the context (a tar, maybe compressed, or a Dockerfile alone) and check the
        Dockerfile before returning; the stream is the build's output (`stream` lines and
        the image id as `aux`); a failure ends it (the error may carry `exit_code`)."""
        ...

    async def prune_cache(self, *, all: bool, filters: Filters) -> BuildCachePruneReport: ...


@dataclass(frozen=True)
class Backends:
    """The backends the API serves; one object may implement all of them."""

    system: SystemBackend
    containers: ContainerBackend
    execs: ExecBackend
    images: ImageBackend
    networks: NetworkBackend = field(default_factory=NoNetworks)
    # Optional: without it the volume routes answer 501.
    volumes: VolumeBackend | None = None
    # Optional: without it POST /build answers 501 and /build/prune removes nothing.
    build: BuildBackend | None = None

    @classmethod
    def of(cls, engine: object) -> Backends:
        """All four from one object that implements every Protocol."""
        return cls(engine, engine, engine, engine)  # type: ignore[arg-type]
