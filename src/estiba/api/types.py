"""The typed values that cross the API/engine boundary: request options and results.

Everything the API interprets or renders field by field is a dataclass here. Documents
that the spec defines field by field and that the API passes through unchanged (container
and image inspect, list entries, info, stats samples, image history) travel as
`JSONObject`s in the spec's shape: the engine composes them, the API does not read them.

Times are integers, nanoseconds since the Unix epoch (`*_ns`), because Docker's log and
event times carry nanoseconds and a `datetime` would drop three digits.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "Archive",
    "AttachOptions",
    "Change",
    "ChangeKind",
    "CommitOptions",
    "ContainerListOptions",
    "ContainerPruneReport",
    "CreatedContainer",
    "Event",
    "ExecConfig",
    "ExecStartOptions",
    "Filters",
    "ImageDeleteItem",
    "ImageListOptions",
    "ImportOptions",
    "JSONObject",
    "LogsOptions",
    "Output",
    "OutputChunk",
    "PathStat",
    "Progress",
    "PruneReport",
    "PullOptions",
    "RegistryAuth",
    "Session",
    "StreamKind",
    "TopResult",
    "VersionInfo",
    "VolumeCreateOptions",
    "WaitCondition",
    "WaitResult",
]

JSONObject = dict[str, Any]

# Docker's filter arguments: key -> accepted values, e.g. {"status": ("running",)}.
# The API has checked the keys against the route's accepted set before the backend sees them.
Filters = Mapping[str, tuple[str, ...]]


# --- process output and input ---------------------------------------------------------


class StreamKind(enum.IntEnum):
    """The stream byte of Docker's 8-byte frame header."""

    STDIN = 0
    STDOUT = 1
    STDERR = 2


@dataclass(frozen=True)
class OutputChunk:
    """Bytes a process wrote, with where and (for logs) when it wrote them."""

    stream: StreamKind
    data: bytes
    time_ns: int | None = None


@dataclass(frozen=True)
class Output:
    """A container's output as a stream: logs, or what an attach replays and follows.

    `tty` decides the wire format: raw bytes with a TTY, 8-byte frames without one.
    The API closes `chunks` (`aclose()`, when it has one) as soon as it stops reading.
    """

    tty: bool
    chunks: AsyncIterator[OutputChunk]


class Session(Protocol):
    """A live connection to a process's stdio, opened by attach or by exec start.

    Lifecycle: the API reads `output` until it ends (the process exited, or the session
    was closed); meanwhile it passes the client's bytes to `write_stdin` and calls
    `close_stdin` once when the client half-closes its side. It always ends with `close`,
    also when the client went away or typed the detach keys: `close` drops this
    connection only, it never stops the process.
    """

    @property
    def tty(self) -> bool: ...

    @property
    def stdin(self) -> bool:
        """Whether the process takes the client's stdin."""
        ...

    @property
    def detach_keys(self) -> str:
        """The keys that detach, as the client gave them ("ctrl-p,ctrl-q"); "": Docker's."""
        ...

    @property
    def output(self) -> AsyncIterator[OutputChunk]: ...

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None:
        """The client half-closed: close the process's stdin if it was opened StdinOnce
        (`docker run -i`) without a TTY, keep it open for later attaches otherwise."""
        ...

    async def close(self) -> None: ...


# --- containers -----------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedContainer:
    id: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContainerListOptions:
    all: bool = False
    limit: int | None = None  # the n most recently created, whatever their state
    size: bool = False
    filters: Filters = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerPruneReport:
    """`POST /containers/prune`: the ids of the removed containers and the bytes freed."""

    deleted: tuple[str, ...] = ()
    space_reclaimed: int = 0


class WaitCondition(enum.Enum):
    NOT_RUNNING = "not-running"
    NEXT_EXIT = "next-exit"
    REMOVED = "removed"


@dataclass(frozen=True)
class WaitResult:
    status_code: int
    error: str | None = None


@dataclass(frozen=True)
class LogsOptions:
    stdout: bool = False
    stderr: bool = False
    follow: bool = False
    since_ns: int | None = None
    until_ns: int | None = None
    tail: int | None = None  # None: every line


@dataclass(frozen=True)
class AttachOptions:
    stream: bool = False  # follow live output (and take stdin)
    logs: bool = False  # replay the log first
    stdin: bool = False
    stdout: bool = False
    stderr: bool = False
    detach_keys: str = ""  # already checked by the API


@dataclass(frozen=True)
class TopResult:
    titles: tuple[str, ...]
    processes: tuple[tuple[str, ...], ...]


class ChangeKind(enum.IntEnum):
    MODIFIED = 0
    ADDED = 1
    DELETED = 2


@dataclass(frozen=True)
class Change:
    path: str
    kind: ChangeKind


@dataclass(frozen=True)
class PathStat:
    """A path inside a container; `mode` is a unix st_mode (the API converts it to Go's)."""

    name: str
    size: int
    mode: int
    mtime_ns: int
    link_target: str = ""


@dataclass(frozen=True)
class Archive:
    """A tar stream of a path in a container, with the stat of that path."""

    stat: PathStat
    data: AsyncIterator[bytes]


# --- exec -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ExecConfig:
    cmd: tuple[str, ...]
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    tty: bool = False
    env: tuple[str, ...] = ()
    user: str = ""
    working_dir: str = ""
    privileged: bool = False
    detach_keys: str = ""
    console_size: tuple[int, int] | None = None  # (height, width)


@dataclass(frozen=True)
class ExecStartOptions:
    detach: bool = False
    tty: bool = False
    console_size: tuple[int, int] | None = None


# --- images ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageListOptions:
    all: bool = False
    digests: bool = False
    filters: Filters = field(default_factory=dict)


@dataclass(frozen=True)
class RegistryAuth:
    """Credentials from the X-Registry-Auth header; empty when the client sent none."""

    username: str = ""
    password: str = ""
    server_address: str = ""
    identity_token: str = ""
    registry_token: str = ""


@dataclass(frozen=True)
class PullOptions:
    image: str
    tag: str = ""
    platform: str = ""
    auth: RegistryAuth = field(default_factory=RegistryAuth)


@dataclass(frozen=True)
class ImportOptions:
    repo: str = ""
    tag: str = ""
    message: str = ""
    changes: tuple[str, ...] = ()  # Dockerfile instructions: "CMD ["sh"]", "ENV A=b"
    platform: str = ""


@dataclass(frozen=True)
class Progress:
    """One message of a pull, import or load stream (Docker's JSONMessage)."""

    status: str = ""
    id: str = ""
    progress: str = ""
    current: int | None = None
    total: int | None = None
    stream: str = ""  # a line of text, e.g. "Loaded image: busybox:latest\n"
    aux: JSONObject | None = None


@dataclass(frozen=True)
class ImageDeleteItem:
    untagged: str = ""
    deleted: str = ""


@dataclass(frozen=True)
class PruneReport:
    deleted: tuple[ImageDeleteItem, ...] = ()
    space_reclaimed: int = 0


# --- system ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionInfo:
    """The engine's side of /version; the API adds the API versions it speaks."""

    version: str
    os: str = "linux"
    arch: str = "amd64"
    kernel_version: str = ""
    git_commit: str = ""
    build_time: str = ""
    runtime_version: str = ""  # the language runtime, shown where dockerd shows GoVersion
    experimental: bool = False
    components: tuple[tuple[str, str], ...] = ()  # (name, version), e.g. ("runc", "1.1.5")


@dataclass(frozen=True)
class Event:
    """Something that happened to an object: a container started, an image was tagged."""

    type: str  # "container", "image", "network", "volume", "daemon", ...
    action: str  # "create", "start", "die", "exec_start: sh", "tag", ...
    actor_id: str
    time_ns: int
    attributes: Mapping[str, str] = field(default_factory=dict)
    scope: str = "local"


# --- volumes and commit -----------------------------------------------------------------


@dataclass(frozen=True)
class VolumeCreateOptions:
    """The body of POST /volumes/create."""

    name: str = ""
    driver: str = "local"
    driver_opts: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CommitOptions:
    """The parameters of POST /commit (`config`: the body, a ContainerConfig or None)."""

    repo: str = ""
    tag: str = ""
    comment: str = ""
    author: str = ""
    pause: bool = True
    changes: tuple[str, ...] = ()
    config: JSONObject | None = None


# --- build ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildOptions:
    """The query of POST /build (the classic builder's), typed."""

    dockerfile: str = "Dockerfile"
    tags: tuple[str, ...] = ()
    build_args: Mapping[str, str | None] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    pull: bool = False
    quiet: bool = False
    network_mode: str = ""
    extra_hosts: tuple[str, ...] = ()
    platform: str = ""


@dataclass(frozen=True)
class BuildCachePruneReport:
    deleted: tuple[str, ...] = ()
    space_reclaimed: int = 0
