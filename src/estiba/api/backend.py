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
from dataclasses import dataclass
from typing import Protocol

from estiba.api.types import (
    Archive,
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
    Session,
    TopResult,
    VersionInfo,
    WaitCondition,
    WaitResult,
)

__all__ = ["Backends", "ContainerBackend", "ExecBackend", "ImageBackend", "SystemBackend"]


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

    async def start_container(self, ref: str) -> None:
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

    async def prune_images(self, filters: Filters) -> PruneReport: ...


@dataclass(frozen=True)
class Backends:
    """The four backends the API serves; one object may implement all of them."""

    system: SystemBackend
    containers: ContainerBackend
    execs: ExecBackend
    images: ImageBackend

    @classmethod
    def of(cls, engine: object) -> Backends:
        """All four from one object that implements every Protocol."""
        return cls(engine, engine, engine, engine)  # type: ignore[arg-type]
