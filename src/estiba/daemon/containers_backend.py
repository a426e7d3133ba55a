"""The API's ContainerBackend on the engine: records in the container store, roots from the
snapshotter, processes in shims spawned by the fork server.

    create  parse, resolve the image, unpack its layers once, prepare the snapshot (key =
            container id), add the record                      (undone on failure)
    start   mount the root, write etc files and the bundle, spawn the shim, record the pid;
            a monitor task per running container awaits the exit, releases the root,
            records the exit and honours AutoRemove             (undone on failure)
    remove  kill when forced, drop the snapshot, the directories and the record

Network: container_network.py (over estiba.network) sets up the netns, veths and
published ports in `_spawn` and releases them when the container stops (`_release`);
host shares the host's, none is the runtime's fresh netns with lo only.
Blocking work (SQLite, mounts, shim sockets) runs in threads; the waiters, exit futures
and monitor tasks live on the daemon's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal as signals
import socket
import threading
import time
from collections.abc import Awaitable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from estiba.api.types import (
    AttachOptions,
    ContainerListOptions,
    CreatedContainer,
    JSONObject,
    LogsOptions,
    Output,
    Session,
    WaitCondition,
    WaitResult,
)
from estiba.daemon import rootfs
from estiba.daemon.container_documents import inspect_document, summary_document
from estiba.daemon.container_files import ContainerFiles
from estiba.daemon.container_logs import log_chunks
from estiba.daemon.container_namespaces import joined_namespaces
from estiba.daemon.container_network import ContainerNetwork
from estiba.daemon.container_ops import ContainerOps
from estiba.daemon.pidwait import shim_exit
from estiba.daemon.rootfs import ContainerPaths
from estiba.daemon.container_setup import log_limits, runtime_path, stored_config
from estiba.daemon.health import HealthChecks, health_at_start
from estiba.daemon.sessions import LogOnlySession, SocketSession
from estiba.engine.config import ContainerConfig, ImageConfig, parse_signal
from estiba.engine.events import EventBus
from estiba.engine.names import new_id
from estiba.engine.restart import STABLE_RUN, Backoff, should_restart
from estiba.engine.states import Event, State, transition
from estiba.engine.store import ContainerRecord, ContainerStore, ListFilters, rfc3339_now
from estiba.errors import Conflict, EstibaError, InvalidArgument, NotFound, Unsupported

__all__ = ["EngineContainers"]

log = logging.getLogger(__name__)

DEFAULT_STOP_TIMEOUT = 10
RELEASE_TIMEOUT = 30.0


class EngineContainers(ContainerOps, ContainerFiles):
    """ContainerBackend over the container store, the image store, the snapshotter and shims."""

    def __init__(
        self,
        *,
        containers: ContainerStore,
        images: Any,
        snapshotter: Any,
        events: EventBus,
        exec_root: Path,
        data_root: Path,
        runtime: str = "estiba",
    ) -> None:
        self.store = containers
        self.images = images
        self.snapshots = snapshotter
        self.bus = events
        self.exec_root = Path(exec_root)
        self.data_root = Path(data_root)
        self.runtime_name = runtime
        self.runtime = runtime_path(runtime)
        self.runtime_root = str(self.exec_root / "runtime")
        # The daemon sets one over its NetworkManager; without, every mode but host is lo only.
        self.network = ContainerNetwork()
        self._fork_server: Any = None
        self._fork_lock = threading.Lock()
        self._exits: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._waiters: list[tuple[str, WaitCondition, asyncio.Future[WaitResult]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._created_shims: set[str] = set()  # spawned with start=False, not started yet
        # An attach before start whose create failed (a missing binary): start reports it.
        self._failed_creates: dict[str, EstibaError] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._restored = False
        # Restart policies: the pending restart of each container in state restarting, the
        # containers whose next exit a client caused (not restarted), each one's back-off,
        # and when each started (monotonic), for the back-off's reset after a stable run.
        self._restarts: dict[str, asyncio.Task[None]] = {}
        self._cancelled: set[str] = set()
        self._backoff: dict[str, Backoff] = {}
        self._started: dict[str, float] = {}
        self.health = HealthChecks(self)  # one probing task per running checked container

    # --- plumbing ---------------------------------------------------------------------

    def close(self) -> None:
        if self._fork_server is not None:
            with contextlib.suppress(Exception):
                self._fork_server.stop()
            self._fork_server = None

    def paths(self, container_id: str) -> ContainerPaths:
        return ContainerPaths(self.exec_root, self.data_root, container_id)

    def shim(self, container_id: str) -> Any:
        from estiba.shim import ShimClient

        return ShimClient(str(self.paths(container_id).state_dir))

    def _forkserver(self) -> Any:
        with self._fork_lock:
            if self._fork_server is None:
                from estiba.shim import ForkServer

                self._fork_server = ForkServer.start()
            return self._fork_server

    def runtime_for(self, record: ContainerRecord) -> str:
        """The OCI runtime binary of a container ("estiba" for the built-in one)."""
        name = record.host_config.get("Runtime") or self.runtime_name
        return self.runtime if name == self.runtime_name else runtime_path(name)

    def _lock(self, container_id: str) -> asyncio.Lock:
        return self._locks.setdefault(container_id, asyncio.Lock())

    async def _get(self, ref: str) -> ContainerRecord:
        await self._restore()
        return await asyncio.to_thread(self.store.get, ref)

    def _publish(self, action: str, record: ContainerRecord, **extra: str) -> None:
        attributes = {"image": record.image_ref, "name": record.name, **record.labels, **extra}
        self.bus.publish("container", action, record.id, attributes)

    def _spawn_task(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def restore(self) -> None:
        """At daemon start: adopt running containers' shims (live restore; exits that
        happened while no daemon watched are recorded by their monitor), then start the
        containers whose restart policy says so, and finish interrupted removals."""
        await self._restore()

    async def _restore(self) -> None:
        if self._restored:
            return
        self._restored = True
        records = await asyncio.to_thread(self.store.list, all=True)
        boot: list[ContainerRecord] = []
        for record in records:
            if record.state in (State.CREATED, State.EXITED):
                await asyncio.to_thread(self._discard_created_shim, record.id)
            if record.state in (State.RUNNING, State.PAUSED):
                self._exits[record.id] = asyncio.get_running_loop().create_future()
                self._spawn_task(self._monitor(record.id))
                if record.state is State.RUNNING:
                    await self.health.adopt(record)
            elif record.state is State.REMOVING:
                with contextlib.suppress(EstibaError):
                    await asyncio.to_thread(self._destroy, record)
            elif record.state is State.RESTARTING or (
                record.state is State.EXITED and _policy_restarts(record)
            ):
                boot.append(record)
        for record in boot:
            self._restarts[record.id] = asyncio.ensure_future(self._restart_later(record.id, 0))

    def _discard_created_shim(self, container_id: str) -> None:
        """A shim spawned for an attach before start, whose daemon died before the start:
        a new start makes a new one."""
        client = self.shim(container_id)
        if client.alive():
            with contextlib.suppress(EstibaError):
                client.kill(signals.SIGKILL)
            self._release(container_id, client)

    # --- create -----------------------------------------------------------------------

    async def create_container(
        self, config: JSONObject, *, name: str | None, platform: str | None
    ) -> CreatedContainer:
        await self._restore()
        record = await asyncio.to_thread(self._create, config, name, platform or "")
        self._publish("create", record)
        return CreatedContainer(record.id)

    def _create(self, body: JSONObject, name: str | None, platform: str = "") -> ContainerRecord:
        from estiba.distribution.platforms import check_image_platform
        from estiba.images.layers import open_layer
        from estiba.snapshots import unpack_image_layers

        parsed = ContainerConfig.from_api(body)
        if not parsed.image:
            raise InvalidArgument("Config.Image: an image is required")
        image = self.images.get(parsed.image)  # NotFound: "No such image: x"
        oci_config = self.images.config(image.id)
        check_image_platform(oci_config.platform, platform, parsed.image)
        image_config = ImageConfig.from_oci(oci_config.to_json().get("config"))
        merged = parsed.merged_with(image_config)
        host_config = dict(body.get("HostConfig") or {})
        host_config["Runtime"] = check_runtime(host_config.get("Runtime") or self.runtime_name)
        if (host_config.get("Memory") or 0) > 0 and not host_config.get("MemorySwap"):
            host_config["MemorySwap"] = host_config["Memory"] * 2  # dockerd's default
        self.network.check(body)  # NotFound: the network named does not exist
        container_id = new_id()
        layers = [
            (diff_id, partial(open_layer, self.images.content, descriptor))
            for diff_id, descriptor in self.images.layers(image.id)
        ]
        with ExitStack() as undo:
            chain = unpack_image_layers(self.snapshots, layers)
            self.snapshots.prepare(container_id, chain)
            undo.callback(self.snapshots.remove, container_id)
            self._attach_volumes(container_id, body, merged, undo)  # storage: -v, --mount, VOLUME
            self.network.remember(container_id, body)  # --ip, --network-alias
            undo.callback(self.network.forget, container_id)
            record = self.store.add(
                ContainerRecord(
                    id=container_id,
                    name=name or "",
                    image_id=image.id,
                    image_ref=parsed.image,
                    created=rfc3339_now(),
                    config=stored_config(body, merged),
                    host_config=host_config,
                    labels=dict(merged.labels),
                    state_dir=str(self.paths(container_id).state_dir),
                )
            )
            undo.pop_all()
        return record

    # --- start and the exit -----------------------------------------------------------

    async def start_container(self, ref: str, *, defer_ports: bool = False) -> None:
        record = await self._get(ref)
        async with self._lock(record.id):
            record = await asyncio.to_thread(self.store.get, record.id)
            transition(record.state, Event.START, container_id=record.id, name=record.name)
            if defer_ports:
                self.network.defer_ports(record)
            # A client's start: restart policies count and back off from zero again.
            self._cancelled.discard(record.id)
            self._backoff.pop(record.id, None)
            await self._start(record, Event.START, manually_stopped=False, restart_count=0)

    async def _start(self, record: ContainerRecord, event: Event, **changes: Any) -> None:
        """Run the container (under its lock): a client's start, a restart policy's or a
        boot start."""
        self._exits[record.id] = asyncio.get_running_loop().create_future()
        try:
            if record.id in self._failed_creates:
                raise self._failed_creates.pop(record.id)
            if record.id in self._created_shims:
                self._created_shims.discard(record.id)
                pid = await asyncio.to_thread(self._start_created, record)
            else:
                pid = await asyncio.to_thread(self._spawn, record, True)
        except EstibaError as exc:
            self._exits.pop(record.id, None)
            await self._start_failed(record, exc)
            raise
        record = await asyncio.to_thread(
            self.store.update_state, record.id, event, pid=pid, started_at=rfc3339_now(),
            exit_code=0, error="", oom_killed=False, health=health_at_start(record), **changes,
        )
        self._started[record.id] = time.monotonic()
        self._publish("start", record)
        self.health.watch(record)
        self._spawn_task(self._monitor(record.id))

    def _start_created(self, record: ContainerRecord) -> int:
        client = self.shim(record.id)
        try:
            return client.start()
        except BaseException:
            self._release(record.id, client)
            raise

    def _spawn(self, record: ContainerRecord, start: bool) -> int:
        """Mount the root, write the bundle, spawn the shim; undo it all on failure."""
        from estiba.engine.ocispec import build_spec
        from estiba.runtime.specgen import write_bundle
        from estiba.shim import ShimClient, ShimSpec

        paths = self.paths(record.id)
        config = record.container_config()
        host = config.host_config
        with ExitStack() as undo:
            paths.run_dir.mkdir(mode=0o711, parents=True, exist_ok=True)
            paths.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            rootfs.mount_rootfs(self.snapshots.mounts(record.id), paths.rootfs)
            undo.callback(rootfs.unmount_rootfs, paths.rootfs)
            # dockerd's default hostname: the short id, the host's own name with --network host.
            hostname = socket.gethostname() if host.network_mode == "host" else record.short_id
            # The other container whose PID or IPC namespace this one joins must be running.
            joined = joined_namespaces(host, self.store)
            # The netns, veths and published ports before the shim starts (estiba.network).
            network = self.network.prepare(record, hostname)
            undo.callback(self.network.release, record.id)
            files = rootfs.etc_files(
                config.hostname or hostname, host.network_mode,
                host_hosts=rootfs.read_host_file("/etc/hosts"),
                host_resolv=rootfs.read_host_file("/etc/resolv.conf"),
                extra_hosts=list(host.extra_hosts or ()),
            )
            files.update(network.etc_files)
            etc = rootfs.write_etc_files(paths, files)
            spec = build_spec(
                ImageConfig(), config, host, rootfs=str(paths.rootfs), container_id=record.id,
                hostname=hostname, etc_files=etc, init_path=None,
                extra_mounts=self._volume_mounts(record),  # storage: volumes and binds
                namespace_paths={**network.namespace_paths, **joined},
            )
            write_bundle(paths.bundle, spec)
            log_config = host.log_config if hasattr(host, "log_config") else None
            shim_spec = ShimSpec(
                container_id=record.id,
                bundle=str(paths.bundle),
                state_dir=str(paths.state_dir),
                runtime=self.runtime_for(record),
                runtime_root=self.runtime_root,
                tty=config.tty,
                open_stdin=config.open_stdin,
                stdin_once=config.stdin_once,
                log_path=str(paths.log_path),
                **log_limits(log_config),
            )
            # A failed spawn has written exit.json; its shim cleans up, then the root goes.
            undo.callback(_await_release, ShimClient(str(paths.state_dir)))
            handle = self._forkserver().spawn(shim_spec, start=start)
            undo.pop_all()
        return handle.container_pid

    async def _start_failed(self, record: ContainerRecord, exc: EstibaError) -> None:
        """dockerd's start failure: exit code 127/126/128, the error kept, the state left
        as it was; AutoRemove removes the container."""
        message = str(exc)
        code = 128
        if "not found" in message or "no such file" in message.lower():
            code = 127
        elif "permission denied" in message.lower() or "is a directory" in message.lower():
            code = 126
        # A restart policy's start that fails leaves the container exited, as dockerd.
        event = Event.DIE if record.state is State.RESTARTING else None
        with contextlib.suppress(EstibaError):
            await asyncio.to_thread(self.store.update_state, record.id, event, exit_code=code, error=message)
        if record.host_config.get("AutoRemove"):
            # After start_container has let go of the container's lock.
            self._spawn_task(self._auto_remove(record.id, code))

    async def _auto_remove(self, container_id: str, code: int) -> None:
        with contextlib.suppress(EstibaError):
            await self._remove(container_id, force=True, exit_code=code)

    def _release(self, container_id: str, client: Any) -> None:
        """Wait for the shim to end, then unmount the container's root."""
        _await_release(client)
        rootfs.unmount_rootfs(self.paths(container_id).rootfs)
        self._volumes_stopped(container_id)  # storage: device volumes unmounted when unused
        self.network.release(container_id)

    async def _monitor(self, container_id: str) -> None:
        """Await the shim's report of the exit; release the root; record it; AutoRemove."""
        client = self.shim(container_id)
        try:
            status = await shim_exit(client.state_dir)
        except EstibaError as exc:
            status = {"exit_code": 255, "oom_killed": False, "finished_at": rfc3339_now(), "error": str(exc)}
        await self.health.unwatch(container_id)  # probes end with the container
        await asyncio.to_thread(self._release, container_id, client)
        started = self._started.pop(container_id, None)
        ran_for = STABLE_RUN if started is None else time.monotonic() - started
        code = int(status.get("exit_code") or 0)
        try:
            record, delay = await asyncio.to_thread(self._record_exit, container_id, status, ran_for)
        except EstibaError as exc:
            log.warning("recording the exit of %s: %s", container_id, exc)
            return
        finally:
            future = self._exits.pop(container_id, None)
            if future is not None and not future.done():
                future.set_result(status)
        self._publish("die", record, exitCode=str(code))
        self._resolve(container_id, (WaitCondition.NOT_RUNNING, WaitCondition.NEXT_EXIT), code)
        if delay is not None:
            self._restarts[container_id] = asyncio.ensure_future(self._restart_later(container_id, delay))
        elif record.host_config.get("AutoRemove"):
            with contextlib.suppress(EstibaError):
                await self._remove(container_id, force=False, exit_code=code)

    def _record_exit(
        self, container_id: str, status: dict[str, Any], ran_for: float
    ) -> tuple[ContainerRecord, float | None]:
        """Record the exit and, in the same transaction, whether the restart policy
        brings the container back (state restarting) and after what delay."""
        with self.store.batch() as tx:
            record = tx.update_state(
                container_id, Event.DIE, pid=0, exit_code=int(status.get("exit_code") or 0),
                oom_killed=bool(status.get("oom_killed")),
                finished_at=status.get("finished_at") or rfc3339_now(),
                error=status.get("error") or "",
            )
            if container_id in self._cancelled or not _policy_restarts(record):
                return record, None
            record = tx.update_state(
                container_id, Event.SCHEDULE_RESTART, restart_count=record.restart_count + 1
            )
        return record, self._backoff.setdefault(container_id, Backoff()).next(ran_for)

    async def _restart_later(self, container_id: str, delay: float) -> None:
        """A restart policy's start, after the back-off, unless cancelled meanwhile by a
        client's stop, kill or remove (which take the container's lock to cancel)."""
        await asyncio.sleep(delay)
        async with self._lock(container_id):
            if self._restarts.get(container_id) is asyncio.current_task():
                del self._restarts[container_id]
            try:
                record = await asyncio.to_thread(self.store.get, container_id)
            except NotFound:
                return
            if record.state not in (State.RESTARTING, State.EXITED):
                return
            event = Event.RESTART if record.state is State.RESTARTING else Event.START
            try:
                await self._start(record, event)
            except EstibaError as exc:
                log.warning("restarting %s: %s", record.short_id, exc)

    async def _cancel_restart(self, record: ContainerRecord) -> ContainerRecord:
        """Under the container's lock: a pending restart is dropped and the container,
        if it was waiting to restart, is exited and marked stopped by a client."""
        task = self._restarts.pop(record.id, None)
        if task is not None:
            task.cancel()
        if record.state is State.RESTARTING:
            record = await asyncio.to_thread(
                self.store.update_state, record.id, Event.STOP, manually_stopped=True
            )
        return record

    async def _stop_restarting(self, record: ContainerRecord) -> bool:
        """A stop or kill of a container waiting to restart; False if it is running
        again by the time the lock is ours (then it is stopped like any other)."""
        async with self._lock(record.id):
            current = await asyncio.to_thread(self.store.get, record.id)
            if current.state is not State.RESTARTING:
                return False
            await self._cancel_restart(current)
            return True

    # --- wait -------------------------------------------------------------------------

    def _resolve(self, container_id: str, conditions: tuple[WaitCondition, ...], code: int) -> None:
        kept = []
        for waiter in self._waiters:
            cid, condition, future = waiter
            if cid == container_id and condition in conditions:
                if not future.done():
                    future.set_result(WaitResult(code))
            else:
                kept.append(waiter)
        self._waiters = kept

    async def wait_container(self, ref: str, condition: WaitCondition) -> Awaitable[WaitResult]:
        record = await self._get(ref)
        future: asyncio.Future[WaitResult] = asyncio.get_running_loop().create_future()
        if condition is WaitCondition.NOT_RUNNING and not record.running:
            future.set_result(WaitResult(record.exit_code))
        else:
            self._waiters.append((record.id, condition, future))
        return future

    # --- stop, kill, restart ------------------------------------------------------------

    async def stop_container(self, ref: str, *, timeout: int | None, signal: str | None) -> None:
        record = await self._get(ref)
        transition(record.state, Event.STOP, container_id=record.id, name=record.name)
        if record.state is State.RESTARTING and await self._stop_restarting(record):
            return
        config = record.container_config()
        sig = parse_signal(signal or config.stop_signal or "SIGTERM")
        if timeout is None:
            timeout = config.stop_timeout if config.stop_timeout is not None else DEFAULT_STOP_TIMEOUT
        await self.health.unwatch(record.id)  # a probe the stop kills is no failure
        await self._mark_stopped(record.id, cancel=True)
        client = self.shim(record.id)
        with contextlib.suppress(Conflict):
            await asyncio.to_thread(client.kill, sig)
            self._publish("kill", record, signal=str(int(sig)))
        if record.state is State.PAUSED:
            with contextlib.suppress(EstibaError):
                await asyncio.to_thread(self._freeze, record, False)
        if timeout < 0 or not await self._await_exit(record.id, timeout):
            with contextlib.suppress(Conflict):
                await asyncio.to_thread(client.kill, signals.SIGKILL, all_processes=True)
                self._publish("kill", record, signal=str(int(signals.SIGKILL)))
            await self._await_exit(record.id, RELEASE_TIMEOUT)
        # dockerd's order, which `docker-compose events` and log followers see:
        # kill (signal), die, stop.
        self._publish("stop", record)

    async def _mark_stopped(self, container_id: str, *, cancel: bool) -> None:
        if cancel:
            self._cancelled.add(container_id)
        with contextlib.suppress(NotFound):
            await asyncio.to_thread(self.store.update_state, container_id, None, manually_stopped=True)

    async def _await_exit(self, container_id: str, timeout: float | None) -> bool:
        future = self._exits.get(container_id)
        if future is None:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def kill_container(self, ref: str, *, signal: str | None) -> None:
        record = await self._get(ref)
        transition(record.state, Event.KILL, container_id=record.id, name=record.name)
        if record.state is State.RESTARTING and await self._stop_restarting(record):
            return
        sig = parse_signal(signal or "KILL")
        # dockerd: any kill marks the container stopped by a client (unless-stopped then
        # stays down); SIGKILL or the stop signal also cancels the restart of this exit.
        stop_signal = parse_signal(record.container_config().stop_signal or "SIGTERM")
        await self._mark_stopped(record.id, cancel=sig in (signals.SIGKILL, stop_signal))
        if sig == signals.SIGKILL:
            await self.health.unwatch(record.id)  # a probe the kill takes is no failure
        await asyncio.to_thread(self.shim(record.id).kill, sig)
        self._publish("kill", record, signal=str(int(sig)))
        if sig == signals.SIGKILL:
            await self._await_exit(record.id, RELEASE_TIMEOUT)

    async def restart_container(self, ref: str, *, timeout: int | None, signal: str | None) -> None:
        record = await self._get(ref)
        if record.running:
            await self.stop_container(record.id, timeout=timeout, signal=signal)
        await self.start_container(record.id)
        self._publish("restart", await self._get(record.id))

    # --- pause ------------------------------------------------------------------------

    def _freeze(self, record: ContainerRecord, frozen: bool) -> None:
        container_id, binary = record.id, self.runtime_for(record)
        if binary == "estiba":
            from estiba import runtime

            (runtime.pause if frozen else runtime.resume)(container_id, root=self.runtime_root)
            return
        import subprocess

        verb = "pause" if frozen else "resume"
        result = subprocess.run([binary, "--root", self.runtime_root, verb, container_id],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise Conflict(f"{verb} {container_id}: {result.stderr.strip()}")

    async def pause_container(self, ref: str) -> None:
        record = await self._get(ref)
        transition(record.state, Event.PAUSE, container_id=record.id, name=record.name)
        await self.health.unwatch(record.id)  # no probe frozen halfway: paused, none runs
        try:
            await asyncio.to_thread(self._freeze, record, True)
        except EstibaError:
            self.health.watch(record)
            raise
        record = await asyncio.to_thread(self.store.update_state, record.id, Event.PAUSE)
        self._publish("pause", record)

    async def unpause_container(self, ref: str) -> None:
        record = await self._get(ref)
        transition(record.state, Event.UNPAUSE, container_id=record.id, name=record.name)
        await asyncio.to_thread(self._freeze, record, False)
        record = await asyncio.to_thread(self.store.update_state, record.id, Event.UNPAUSE)
        self._publish("unpause", record)
        self.health.watch(record)

    # --- remove -----------------------------------------------------------------------

    async def remove_container(
        self, ref: str, *, force: bool, remove_volumes: bool, remove_link: bool
    ) -> None:
        if remove_link:
            raise Unsupported("links are not supported")
        record = await self._get(ref)
        if remove_volumes:
            self._remove_volumes_with(record.id)  # storage: rm -v takes anonymous volumes
        await self._remove(record.id, force=force, exit_code=record.exit_code)

    async def _remove(self, container_id: str, *, force: bool, exit_code: int) -> None:
        async with self._lock(container_id):
            record = await asyncio.to_thread(self.store.get, container_id)
            if record.running and not force:
                transition(record.state, Event.REMOVE, container_id=record.id, name=record.name)
            self._cancelled.add(container_id)
            record = await self._cancel_restart(record)
            if record.running:
                await self.health.unwatch(record.id)
                with contextlib.suppress(Conflict):
                    await asyncio.to_thread(self.shim(record.id).kill, signals.SIGKILL, all_processes=True)
                if record.state is State.PAUSED:
                    with contextlib.suppress(EstibaError):
                        await asyncio.to_thread(self._freeze, record, False)
                await self._await_exit(record.id, RELEASE_TIMEOUT)
                record = await asyncio.to_thread(self.store.get, container_id)
                exit_code = record.exit_code
            record = await asyncio.to_thread(self.store.update_state, record.id, Event.REMOVE)
            self._failed_creates.pop(record.id, None)
            if record.id in self._created_shims:
                self._created_shims.discard(record.id)
                client = self.shim(record.id)
                with contextlib.suppress(EstibaError):
                    await asyncio.to_thread(client.kill, signals.SIGKILL)
                await asyncio.to_thread(self._release, record.id, client)
            try:
                await asyncio.to_thread(self._destroy, record)
            except EstibaError:
                with contextlib.suppress(EstibaError):
                    await asyncio.to_thread(self.store.update_state, record.id, Event.REMOVE_FAILED)
                raise
        self._locks.pop(container_id, None)
        self._cancelled.discard(container_id)
        self._backoff.pop(container_id, None)
        self._publish("destroy", record)
        self._resolve(container_id, tuple(WaitCondition), exit_code)

    def _destroy(self, record: ContainerRecord) -> None:
        self.network.forget(record.id)
        paths = self.paths(record.id)
        rootfs.unmount_rootfs(paths.rootfs)
        with contextlib.suppress(NotFound):
            self.snapshots.remove(record.id)
        rootfs.remove_dirs(paths)
        self._forget_storage(record)  # storage: volumes released, snapshots deleted
        self.store.remove(record.id)

    # --- prune ------------------------------------------------------------------------

    async def prune_containers(self, filters: Any) -> Any:
        """`docker container prune`: remove the stopped containers (created, exited, dead)
        that match `until` and `label`/`label!`; one "prune" event with the bytes freed."""
        from estiba.api.types import ContainerPruneReport
        from estiba.engine.events import parse_event_time

        await self._restore()
        until = [parse_event_time(v) for v in filters.get("until", ())]

        def labelled(labels: dict[str, str], want: str) -> bool:
            key, eq, value = want.partition("=")
            return key in labels and (not eq or labels[key] == value)

        def matches(record: ContainerRecord) -> bool:
            if any(parse_event_time(record.created) >= limit for limit in until):
                return False
            if not all(labelled(record.labels, w) for w in filters.get("label", ())):
                return False
            return not any(labelled(record.labels, w) for w in filters.get("label!", ()))

        records = await asyncio.to_thread(self.store.list, all=True)
        deleted: list[str] = []
        reclaimed = 0
        for record in records:
            stopped = record.state in (State.CREATED, State.EXITED, State.DEAD)
            if not stopped or not matches(record):
                continue
            try:
                size = (await asyncio.to_thread(self.snapshots.usage, record.id)).size
            except EstibaError:
                size = 0
            try:
                await self._remove(record.id, force=False, exit_code=record.exit_code)
            except EstibaError as exc:  # started or removed meanwhile: dockerd goes on
                log.warning("prune: cannot remove container %s: %s", record.short_id, exc)
                continue
            deleted.append(record.id)
            reclaimed += size
        self.bus.publish("container", "prune", "", {"reclaimed": str(reclaimed)})
        return ContainerPruneReport(deleted=tuple(deleted), space_reclaimed=reclaimed)

    # --- reading ----------------------------------------------------------------------

    async def list_containers(self, options: ContainerListOptions) -> list[JSONObject]:
        await self._restore()
        filters = ListFilters.from_api(options.filters)
        records = await asyncio.to_thread(
            self.store.list, filters, all=options.all, limit=options.limit or -1
        )
        documents = [summary_document(r) for r in records]
        documents = await asyncio.to_thread(
            lambda: [self.network.summary(r, d) for r, d in zip(records, documents)]
        )
        return await self._with_sizes(records, documents) if options.size else documents

    async def inspect_container(self, ref: str, *, size: bool) -> JSONObject:
        await self._restore()
        record, document = await asyncio.to_thread(self._inspect, ref)  # one hop: docker exec asks first
        return (await self._with_sizes([record], [document]))[0] if size else document

    def _inspect(self, ref: str) -> tuple[ContainerRecord, JSONObject]:
        record = self.store.get(ref)
        paths = self.paths(record.id)
        document = inspect_document(
            record, log_path=str(paths.log_path), resolv_conf=str(paths.etc_path("resolv.conf")),
            hostname_path=str(paths.etc_path("hostname")), hosts_path=str(paths.etc_path("hosts")),
            runtime=record.host_config.get("Runtime") or self.runtime_name,
        )
        # As dockerd: the execs not finished yet; ended ones stay inspectable by their id.
        document["ExecIDs"] = [e.id for e in self.store.execs(record.id, unfinished=True)] or None
        document["Mounts"] = self._inspect_mounts(record.id)  # storage
        document["NetworkSettings"] = self.network.settings(record)
        return record, document

    async def container_logs(self, ref: str, options: LogsOptions) -> Output:
        record = await self._get(ref)
        config = record.container_config()
        log_config = (record.host_config.get("LogConfig") or {}).get("Type") or "json-file"
        if log_config not in ("json-file", "local"):
            raise InvalidArgument(f'configured logging driver "{log_config}" does not support reading')

        def running() -> bool:
            # dockerd ends a follow with the run it followed, even when a restart policy
            # starts the container again: docker-compose then prints "exited with code".
            try:
                current = self.store.get(record.id)
            except NotFound:
                return False
            return current.state in (State.RUNNING, State.PAUSED) and current.started_at == record.started_at

        chunks = log_chunks(str(self.paths(record.id).log_path), options, running)
        return Output(tty=config.tty, chunks=chunks)

    # --- attach and resize ------------------------------------------------------------

    async def attach_container(self, ref: str, options: AttachOptions) -> Session:
        record = await self._get(ref)
        config = record.container_config()
        # An exited container is attached to before a start (`start -a`), as a created one.
        attachable = (State.CREATED, State.EXITED, State.RUNNING, State.PAUSED)
        if record.state not in attachable:
            if not options.logs:
                if record.state is State.RESTARTING:
                    raise Conflict("You cannot attach to a restarting container, wait until it is running")
                raise Conflict("You cannot attach to a stopped container, start it first")
        before = None
        if options.logs:
            before = log_chunks(str(self.paths(record.id).log_path),
                                LogsOptions(stdout=options.stdout, stderr=options.stderr),
                                lambda: False)
        if not options.stream or record.state not in attachable:
            return LogOnlySession(config.tty, before)
        async with self._lock(record.id):
            record = await asyncio.to_thread(self.store.get, record.id)
            pending = record.state in (State.CREATED, State.EXITED)
            if pending and record.id not in self._created_shims:
                try:
                    await asyncio.to_thread(self._spawn, record, False)
                except EstibaError as exc:
                    # dockerd creates the process at start: the error belongs to start.
                    self._failed_creates[record.id] = exc
                    return LogOnlySession(config.tty, None)
                self._created_shims.add(record.id)
        stdin = options.stdin and config.open_stdin
        sock = await asyncio.to_thread(
            self.shim(record.id).attach, stdin=stdin, stdout=options.stdout, stderr=options.stderr
        )
        self._publish("attach", record)
        return SocketSession(sock, tty=config.tty, stdin=stdin, detach_keys=options.detach_keys,
                             before=before)

    async def resize_container(self, ref: str, *, height: int, width: int) -> None:
        record = await self._get(ref)
        if record.state not in (State.RUNNING, State.PAUSED) and record.id not in self._created_shims:
            raise Conflict(f"Container {record.id} is not running")
        await asyncio.to_thread(self.shim(record.id).resize, height, width)


def check_runtime(name: str) -> str:
    """A runtime a container may ask for: estiba's own, or an OCI runtime binary by name
    or absolute path (runc's CLI); dockerd's error otherwise."""
    try:
        runtime_path(name)
    except InvalidArgument:
        raise InvalidArgument(f"Unknown runtime specified {name}") from None
    return name


def _policy_restarts(record: ContainerRecord) -> bool:
    return should_restart(
        record.container_config().host_config.restart_policy,
        exit_code=record.exit_code,
        manually_stopped=record.manually_stopped,
        restart_count=record.restart_count,
    )


def in_daemon_thread(function: Any, *args: Any) -> asyncio.Future[Any]:
    """Run a long wait (a container's or an exec's end) in a daemon thread rather than
    the loop's executor, which asyncio.run joins at shutdown: a stopping daemon must not
    wait for its containers (they outlive it)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        try:
            result, error = function(*args), None
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            result, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="estiba-wait", daemon=True).start()
    return future


def _await_release(client: Any) -> None:
    with contextlib.suppress(EstibaError):
        client.wait_released(RELEASE_TIMEOUT)
