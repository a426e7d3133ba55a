"""An in-memory engine for the API's tests: System, Container and Exec backends.

It keeps containers as dicts of state around FakeProcess, answers with canned documents
in Docker's shape, records every call in `calls` as (method, arguments), and publishes
events. It checks little on purpose: the API's own checks are what the tests are about.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from estiba.api.types import (
    Archive,
    AttachOptions,
    Change,
    ChangeKind,
    ContainerListOptions,
    CreatedContainer,
    Event,
    ExecConfig,
    ExecStartOptions,
    LogsOptions,
    Output,
    OutputChunk,
    PathStat,
    StreamKind,
    TopResult,
    VersionInfo,
    WaitCondition,
    WaitResult,
)
from estiba.errors import Conflict, InvalidArgument, NotFound, NotModified
from tests.unit.api.fake_process import FakeProcess, FakeSession

_ids = itertools.count(1)


def new_id() -> str:
    return f"{next(_ids):04x}".ljust(64, "c")


def rfc3339(time_ns: int) -> str:
    return datetime.fromtimestamp(time_ns / 1e9, tz=timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class FakeContainer:
    id: str
    name: str
    image: str
    cmd: list[str]
    tty: bool = False
    open_stdin: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    created_ns: int = field(default_factory=time.time_ns)
    process: FakeProcess | None = None
    next_process: FakeProcess | None = None
    log: list[OutputChunk] = field(default_factory=list)
    exit_code: int = 0
    paused: bool = False
    waiters: list[tuple[WaitCondition, asyncio.Future[WaitResult]]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=lambda: {"/etc/hostname": b"fake\n"})

    @property
    def status(self) -> str:
        if self.process is None:
            return "created"
        if self.paused:
            return "paused"
        return self.process.status


class FakeEngine:
    """SystemBackend + ContainerBackend + ExecBackend over in-memory state."""

    def __init__(self, *, uses_image: set[str] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.containers: dict[str, FakeContainer] = {}
        self.execs: dict[str, dict[str, Any]] = {}
        self.events_log: list[Event] = []
        self.sessions: list[FakeSession] = []
        self.archives_put: list[tuple[str, bytes]] = []
        self._event_queues: list[asyncio.Queue[Event]] = []
        self.images_in_use = uses_image if uses_image is not None else set()
        self.exec_start_delay = 0.05

    def record(self, method: str, **arguments: Any) -> None:
        self.calls.append((method, arguments))

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    def last(self, method: str) -> dict[str, Any]:
        return self.calls_of(method)[-1]

    def emit(self, type_: str, action: str, actor: str, **attributes: str) -> None:
        event = Event(type_, action, actor, time.time_ns(), attributes)
        self.events_log.append(event)
        for queue in self._event_queues:
            queue.put_nowait(event)

    def find(self, ref: str) -> FakeContainer:
        for c in self.containers.values():
            if ref in (c.id, c.name) or (len(ref) >= 3 and c.id.startswith(ref)):
                return c
        raise NotFound(f"No such container: {ref}")

    # --- system -------------------------------------------------------------------

    async def version(self) -> VersionInfo:
        self.record("version")
        return VersionInfo(version="0.1.0-fake", kernel_version="6.1.0", runtime_version="py3.11")

    async def info(self) -> dict[str, Any]:
        self.record("info")
        running = sum(c.status == "running" for c in self.containers.values())
        return {
            "ID": "FAKE",
            "Containers": len(self.containers),
            "ContainersRunning": running,
            "Images": 1,
            "ServerVersion": "0.1.0-fake",
            "OperatingSystem": "Fake OS",
            "OSType": "linux",
            "Swarm": {"LocalNodeState": "inactive", "ControlAvailable": False},
        }

    async def events(self, *, since_ns: int | None, until_ns: int | None) -> AsyncIterator[Event]:
        self.record("events", since_ns=since_ns, until_ns=until_ns)
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._event_queues.append(queue)
        replay = []
        if since_ns is not None or until_ns is not None:
            replay = [
                e
                for e in self.events_log
                if (since_ns is None or e.time_ns >= since_ns)
                and (until_ns is None or e.time_ns <= until_ns)
            ]
        return self._event_stream(queue, replay, until_ns)

    async def _event_stream(
        self, queue: asyncio.Queue[Event], replay: list[Event], until_ns: int | None
    ) -> AsyncIterator[Event]:
        try:
            for event in replay:
                yield event
            while until_ns is None or time.time_ns() < until_ns:
                timeout = None if until_ns is None else (until_ns - time.time_ns()) / 1e9
                try:
                    yield await asyncio.wait_for(queue.get(), timeout)
                except asyncio.TimeoutError:
                    return
        finally:
            self._event_queues.remove(queue)

    # --- containers: state --------------------------------------------------------

    async def create_container(
        self, config: dict[str, Any], *, name: str | None, platform: str | None
    ) -> CreatedContainer:
        self.record("create_container", config=config, name=name, platform=platform)
        image = config.get("Image") or ""
        if not image:
            raise InvalidArgument("config: Image is required")
        if image.startswith("missing"):
            raise NotFound(f"No such image: {image}")
        if name and any(c.name == name for c in self.containers.values()):
            raise Conflict(f'The container name "/{name}" is already in use')
        container = FakeContainer(
            id=new_id(),
            name=name or f"fake_{len(self.containers)}",
            image=image,
            cmd=list(config.get("Cmd") or ["sleep"]),
            tty=bool(config.get("Tty")),
            open_stdin=bool(config.get("OpenStdin")),
            labels=dict(config.get("Labels") or {}),
        )
        self.containers[container.id] = container
        self.emit("container", "create", container.id, name=container.name, image=image)
        return CreatedContainer(container.id)

    def _on_exit(self, container: FakeContainer, code: int) -> None:
        container.exit_code = code
        self.emit("container", "die", container.id, name=container.name, exitCode=str(code))
        for condition, future in container.waiters:
            if condition is not WaitCondition.REMOVED and not future.done():
                future.set_result(WaitResult(code))
        container.waiters = [(c, f) for c, f in container.waiters if not f.done()]

    def _new_process(self, container: FakeContainer) -> FakeProcess:
        return FakeProcess(
            container.cmd,
            tty=container.tty,
            on_output=container.log.append,
            on_exit=lambda code: self._on_exit(container, code),
        )

    async def start_container(self, ref: str) -> None:
        self.record("start_container", ref=ref)
        container = self.find(ref)
        if container.status in ("running", "paused"):
            raise NotModified("container already started")
        container.process = container.next_process or self._new_process(container)
        container.next_process = None
        self.emit("container", "start", container.id, name=container.name)
        container.process.start()

    def _process_to_attach(self, container: FakeContainer) -> FakeProcess:
        """The running process, or the one the next start will run (attach before start)."""
        if container.process is not None and container.process.status == "running":
            return container.process
        if container.next_process is None:
            container.next_process = self._new_process(container)
        return container.next_process

    async def stop_container(self, ref: str, *, timeout: int | None, signal: str | None) -> None:
        self.record("stop_container", ref=ref, timeout=timeout, signal=signal)
        container = self.find(ref)
        if container.status != "running":
            raise NotModified("container already stopped")
        assert container.process is not None
        container.process.exit(143 if signal in (None, "SIGTERM", "TERM") else 137)

    async def restart_container(self, ref: str, *, timeout: int | None, signal: str | None) -> None:
        self.record("restart_container", ref=ref, timeout=timeout, signal=signal)
        container = self.find(ref)
        if container.status == "running":
            assert container.process is not None
            container.process.exit(143)
        await self.start_container(ref)

    async def kill_container(self, ref: str, *, signal: str | None) -> None:
        self.record("kill_container", ref=ref, signal=signal)
        container = self.find(ref)
        if container.status != "running":
            raise Conflict(f"Container {container.id} is not running")
        assert container.process is not None
        container.process.exit(137)

    async def pause_container(self, ref: str) -> None:
        self.record("pause_container", ref=ref)
        container = self.find(ref)
        if container.status != "running":
            raise Conflict(f"Container {container.id} is not running")
        container.paused = True

    async def unpause_container(self, ref: str) -> None:
        self.record("unpause_container", ref=ref)
        container = self.find(ref)
        if not container.paused:
            raise Conflict(f"Container {container.id} is not paused")
        container.paused = False

    async def wait_container(self, ref: str, condition: WaitCondition) -> Awaitable[WaitResult]:
        self.record("wait_container", ref=ref, condition=condition)
        container = self.find(ref)
        future: asyncio.Future[WaitResult] = asyncio.get_running_loop().create_future()
        if condition is WaitCondition.NOT_RUNNING and container.status not in ("running", "paused"):
            future.set_result(WaitResult(container.exit_code))
        else:
            container.waiters.append((condition, future))
        return future

    async def remove_container(
        self, ref: str, *, force: bool, remove_volumes: bool, remove_link: bool
    ) -> None:
        self.record("remove_container", ref=ref, force=force, v=remove_volumes, link=remove_link)
        container = self.find(ref)
        if container.status in ("running", "paused"):
            if not force:
                raise Conflict(
                    f"You cannot remove a running container {container.id}. "
                    "Stop the container before attempting removal or force remove"
                )
            assert container.process is not None
            container.process.exit(137)
        del self.containers[container.id]
        for _condition, future in container.waiters:
            if not future.done():
                future.set_result(WaitResult(container.exit_code))
        self.emit("container", "destroy", container.id, name=container.name)

    async def rename_container(self, ref: str, new_name: str) -> None:
        self.record("rename_container", ref=ref, new_name=new_name)
        self.find(ref).name = new_name

    async def update_container(self, ref: str, update: dict[str, Any]) -> list[str]:
        self.record("update_container", ref=ref, update=update)
        self.find(ref)
        return ["fake warning"] if update.get("Memory") else []

    async def resize_container(self, ref: str, *, height: int, width: int) -> None:
        self.record("resize_container", ref=ref, height=height, width=width)
        self.find(ref)

    # --- containers: documents ----------------------------------------------------

    def _status_text(self, container: FakeContainer) -> str:
        if container.status == "created":
            return "Created"
        if container.status == "exited":
            return f"Exited ({container.exit_code}) 1 second ago"
        return "Up 1 second" + (" (Paused)" if container.paused else "")

    def summary(self, container: FakeContainer) -> dict[str, Any]:
        return {
            "Id": container.id,
            "Names": [f"/{container.name}"],
            "Image": container.image,
            "ImageID": "sha256:" + "b" * 64,
            "Command": " ".join(container.cmd),
            "Created": container.created_ns // 1_000_000_000,
            "Ports": [],
            "Labels": container.labels,
            "State": container.status,
            "Status": self._status_text(container),
            "HostConfig": {"NetworkMode": "default"},
            "NetworkSettings": {"Networks": {}},
            "Mounts": [],
        }

    async def list_containers(self, options: ContainerListOptions) -> list[dict[str, Any]]:
        self.record("list_containers", options=options)
        found = sorted(self.containers.values(), key=lambda c: c.created_ns, reverse=True)
        if not options.all and options.limit is None:
            found = [c for c in found if c.status in ("running", "paused")]
        if "status" in options.filters:
            found = [c for c in found if c.status in options.filters["status"]]
        if options.limit is not None:
            found = found[: options.limit]
        return [self.summary(c) for c in found]

    async def inspect_container(self, ref: str, *, size: bool) -> dict[str, Any]:
        self.record("inspect_container", ref=ref, size=size)
        c = self.find(ref)
        running = c.status in ("running", "paused")
        return {
            "Id": c.id,
            "Created": rfc3339(c.created_ns),
            "Path": c.cmd[0],
            "Args": c.cmd[1:],
            "State": {
                "Status": c.status,
                "Running": running,
                "Paused": c.paused,
                "Restarting": False,
                "OOMKilled": False,
                "Dead": False,
                "Pid": 4242 if running else 0,
                "ExitCode": c.exit_code,
                "Error": "",
                "StartedAt": "0001-01-01T00:00:00Z",
                "FinishedAt": "0001-01-01T00:00:00Z",
            },
            "Image": "sha256:" + "b" * 64,
            "Name": f"/{c.name}",
            "RestartCount": 0,
            "Driver": "overlay2",
            "Platform": "linux",
            "HostConfig": {
                "NetworkMode": "default",
                "AutoRemove": False,
                "LogConfig": {"Type": "json-file", "Config": {}},
            },
            "Config": {
                "Hostname": c.id[:12],
                "Image": c.image,
                "Cmd": c.cmd,
                "Tty": c.tty,
                "OpenStdin": c.open_stdin,
                "Labels": c.labels,
                "Env": [],
            },
            "NetworkSettings": {"Networks": {}},
            "Mounts": [],
        }

    async def top_container(self, ref: str, *, ps_args: str) -> TopResult:
        self.record("top_container", ref=ref, ps_args=ps_args)
        c = self.find(ref)
        if c.status != "running":
            raise Conflict(f"Container {c.id} is not running")
        return TopResult(("UID", "PID", "CMD"), (("root", "4242", " ".join(c.cmd)),))

    async def container_changes(self, ref: str) -> list[Change]:
        self.record("container_changes", ref=ref)
        self.find(ref)
        return [Change("/tmp", ChangeKind.MODIFIED), Change("/tmp/x", ChangeKind.ADDED)]

    # --- containers: streams ------------------------------------------------------

    async def container_logs(self, ref: str, options: LogsOptions) -> Output:
        self.record("container_logs", ref=ref, options=options)
        c = self.find(ref)
        kinds = {
            k
            for k, on in ((StreamKind.STDOUT, options.stdout), (StreamKind.STDERR, options.stderr))
            if on
        }
        past = [
            chunk
            for chunk in c.log
            if chunk.stream in kinds
            and (options.since_ns is None or (chunk.time_ns or 0) >= options.since_ns)
            and (options.until_ns is None or (chunk.time_ns or 0) <= options.until_ns)
        ]
        if options.tail is not None:
            past = past[len(past) - options.tail :] if options.tail else []
        process = c.process if options.follow and c.status == "running" else None
        session = FakeSession(
            process or FakeProcess([]),
            stdin=False,
            replay=past,
            follow=process is not None,
            streams=frozenset(kinds),
        )
        return Output(c.tty, session.output)

    async def attach_container(self, ref: str, options: AttachOptions) -> FakeSession:
        self.record("attach_container", ref=ref, options=options)
        c = self.find(ref)
        kinds = frozenset(
            k
            for k, on in ((StreamKind.STDOUT, options.stdout), (StreamKind.STDERR, options.stderr))
            if on
        )
        session = FakeSession(
            self._process_to_attach(c),
            stdin=options.stdin,
            detach_keys=options.detach_keys,
            replay=list(c.log) if options.logs else [],
            follow=options.stream,
            streams=kinds,
        )
        self.sessions.append(session)
        return session

    async def container_stats(
        self, ref: str, *, stream: bool, one_shot: bool
    ) -> AsyncIterator[dict[str, Any]]:
        self.record("container_stats", ref=ref, stream=stream, one_shot=one_shot)
        c = self.find(ref)

        async def samples() -> AsyncIterator[dict[str, Any]]:
            for n in itertools.count():
                yield {
                    "id": c.id,
                    "name": f"/{c.name}",
                    "read": rfc3339(time.time_ns()),
                    "memory_stats": {"usage": 1000 + n},
                }
                if not stream:
                    return
                await asyncio.sleep(0.05)

        return samples()

    async def export_container(self, ref: str) -> AsyncIterator[bytes]:
        self.record("export_container", ref=ref)
        self.find(ref)

        async def chunks() -> AsyncIterator[bytes]:
            yield b"fake-tar-"
            yield b"bytes"

        return chunks()

    def _stat(self, c: FakeContainer, path: str) -> PathStat:
        if path in ("/", "/tmp"):
            return PathStat(path.rsplit("/", 1)[-1], 4096, 0o41777, 1_700_000_000_000_000_000)
        if path not in c.files:
            raise NotFound(f"Could not find the file {path} in container {c.name}")
        return PathStat(
            path.rsplit("/", 1)[-1], len(c.files[path]), 0o100644, 1_700_000_000_500_000_000
        )

    async def stat_container_path(self, ref: str, path: str) -> PathStat:
        self.record("stat_container_path", ref=ref, path=path)
        return self._stat(self.find(ref), path)

    async def get_container_archive(self, ref: str, path: str) -> Archive:
        self.record("get_container_archive", ref=ref, path=path)
        c = self.find(ref)
        found = self._stat(c, path)

        async def data() -> AsyncIterator[bytes]:
            yield c.files[path]

        return Archive(found, data())

    async def put_container_archive(
        self,
        ref: str,
        path: str,
        data: AsyncIterator[bytes],
        *,
        no_overwrite_dir_non_dir: bool,
        copy_uid_gid: bool,
    ) -> None:
        self.record(
            "put_container_archive",
            ref=ref,
            path=path,
            no_overwrite_dir_non_dir=no_overwrite_dir_non_dir,
            copy_uid_gid=copy_uid_gid,
        )
        self.find(ref)
        received = b"".join([chunk async for chunk in data])
        self.archives_put.append((path, received))

    # --- exec ---------------------------------------------------------------------

    async def create_exec(self, ref: str, config: ExecConfig) -> str:
        self.record("create_exec", ref=ref, config=config)
        c = self.find(ref)
        if c.status != "running":
            raise Conflict(f"Container {c.id} is not running")
        exec_id = new_id()
        self.execs[exec_id] = {"config": config, "container": c, "process": None}
        return exec_id

    async def start_exec(self, exec_id: str, options: ExecStartOptions) -> FakeSession | None:
        self.record("start_exec", exec_id=exec_id, options=options)
        entry = self.execs.get(exec_id)
        if entry is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        if entry["process"] is not None:
            raise Conflict(f"Exec {exec_id} has already run")
        config: ExecConfig = entry["config"]
        process = FakeProcess(list(config.cmd), tty=config.tty)
        entry["process"] = process
        session = None
        if not options.detach:
            session = FakeSession(
                process, stdin=config.attach_stdin, detach_keys=config.detach_keys
            )
            self.sessions.append(session)
        # A real process takes a moment to start: the client has read the response
        # headers by then (docker-py loses output that arrives together with them).
        asyncio.get_running_loop().call_later(self.exec_start_delay, process.start)
        return session

    async def inspect_exec(self, exec_id: str) -> dict[str, Any]:
        self.record("inspect_exec", exec_id=exec_id)
        entry = self.execs.get(exec_id)
        if entry is None:
            raise NotFound(f"No such exec instance: {exec_id}")
        process: FakeProcess | None = entry["process"]
        config: ExecConfig = entry["config"]
        return {
            "ID": exec_id,
            "Running": process is not None and process.status == "running",
            "ExitCode": None if process is None else process.exit_code,
            "ProcessConfig": {
                "entrypoint": config.cmd[0],
                "arguments": list(config.cmd[1:]),
                "tty": config.tty,
            },
            "OpenStdin": config.attach_stdin,
            "ContainerID": entry["container"].id,
            "Pid": 4343,
        }

    async def resize_exec(self, exec_id: str, *, height: int, width: int) -> None:
        self.record("resize_exec", exec_id=exec_id, height=height, width=width)
        if exec_id not in self.execs:
            raise NotFound(f"No such exec instance: {exec_id}")
