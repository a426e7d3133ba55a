"""Health checks in the daemon: one asyncio task per running container with a check, each
probe an exec through the container's shim (dockerd's daemon/health.go).

    start, restart, live restore   State.Health reset to starting (`health_at_start`), watch
    pause                          unwatch: no probe while frozen
    unpause                        watch again, Health kept
    stop, kill -9, rm -f, exit     unwatch (a probe in flight is killed, its result dropped)

A probe is the exec dockerd makes: the Test argv (CMD-SHELL through /bin/sh -c) with the
container's env, user and working directory, stdout and stderr captured (4096 bytes kept).
It gets exec_create/exec_start/exec_die events as any exec, but no exec record: it never
shows in ExecIDs, and its exit file is removed once read. A probe still running at its
timeout is killed (SIGKILL) and reads as exit -1, "Health check exceeded timeout (30s)".
Each result is stored with the container (its Health column) in the transaction that
checks the container still runs; a change of status is a `health_status: <status>` event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from typing import TYPE_CHECKING, Any

from estiba.daemon.container_documents import go_time, parse_rfc3339_ns
from estiba.engine.health import (
    MAX_OUTPUT,
    Health,
    HealthPolicy,
    ProbeResult,
    limited_output,
    timeout_output,
)
from estiba.engine.names import new_id
from estiba.engine.states import State
from estiba.engine.store import ContainerRecord
from estiba.errors import EstibaError, NotFound

if TYPE_CHECKING:
    from estiba.daemon.containers_backend import EngineContainers

__all__ = ["HealthChecks", "health_at_start", "policy_of"]

log = logging.getLogger(__name__)

# How long a killed probe (timeout, stop) may take to be reaped and report its exit.
KILL_GRACE = 10.0
CANCEL_GRACE = 2.0  # the container is stopping: its shim reaps what is left
_READ_SIZE = 65536


def policy_of(record: ContainerRecord) -> HealthPolicy | None:
    """The container's check with dockerd's defaults; None when nothing is to be probed."""
    shell = tuple(record.config.get("Shell") or ())
    return HealthPolicy.of(record.container_config().healthcheck, shell)


def health_at_start(record: ContainerRecord) -> dict[str, Any] | None:
    """State.Health to store as the container starts: starting, no failures, the log of
    earlier runs kept (dockerd's initHealthMonitor); unchanged without a check."""
    if policy_of(record) is None:
        return record.health
    return (Health.from_api(record.health) or Health()).restarted().to_api()


class HealthChecks:
    """The probing tasks of one daemon, keyed by container id."""

    def __init__(self, containers: EngineContainers) -> None:
        self.containers = containers
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def watch(self, record: ContainerRecord) -> None:
        """Probe a running container from now on (no-op without a check or if watched)."""
        policy = policy_of(record)
        if policy is None or record.id in self._tasks:
            return
        task = asyncio.ensure_future(self._monitor(record.id, policy, parse_rfc3339_ns(record.started_at)))
        self._tasks[record.id] = task
        task.add_done_callback(lambda done, cid=record.id: self._forget(cid, done))

    def _forget(self, container_id: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(container_id) is task:
            del self._tasks[container_id]
        if not task.cancelled() and task.exception() is not None:
            log.warning("health check of %s ended: %s", container_id[:12], task.exception())

    async def unwatch(self, container_id: str) -> None:
        """Stop probing; returns once a probe in flight has been killed and reaped."""
        task = self._tasks.pop(container_id, None)
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def adopt(self, record: ContainerRecord) -> None:
        """A running container found at daemon start (live restore): dockerd starts its
        check over (starting, no failures, the log kept) and probes it again."""
        if policy_of(record) is None:
            return
        record = await asyncio.to_thread(
            self.containers.store.update_state, record.id, None, health=health_at_start(record)
        )
        self.watch(record)

    async def close(self) -> None:
        for container_id in list(self._tasks):
            await self.unwatch(container_id)

    # --- the loop -----------------------------------------------------------------------

    async def _monitor(self, container_id: str, policy: HealthPolicy, started_ns: int) -> None:
        """dockerd's monitor(): wait the interval (counted from the end of the previous
        probe), probe, record; until cancelled."""
        store = self.containers.store
        while True:
            try:
                record = await asyncio.to_thread(store.get, container_id)
                health = Health.from_api(record.health) or Health()
                delay = policy.next_delay(time.time_ns() - started_ns, health.status)
                await asyncio.sleep(delay / 1e9)
                record = await asyncio.to_thread(store.get, container_id)
            except NotFound:
                return  # removed meanwhile: nothing left to watch
            if record.state is not State.RUNNING:
                return
            result = await self._probe(record, policy)
            in_start_period = parse_rfc3339_ns(result.start) - started_ns < policy.start_period
            before, after = await asyncio.to_thread(
                self._record, container_id, result, policy, in_start_period
            )
            if after is not None and after.status != before:
                self.containers._publish(f"health_status: {after.status}", record)

    def _record(
        self, container_id: str, result: ProbeResult, policy: HealthPolicy, in_start_period: bool
    ) -> tuple[str, Health | None]:
        """Store the result if the container still runs (one transaction); the status
        before and the Health after (None when dropped)."""
        with self.containers.store.batch() as tx:
            record = tx.get(container_id)
            if record.state is not State.RUNNING:
                return "", None
            health = Health.from_api(record.health) or Health()
            after = health.after(result, policy, in_start_period=in_start_period)
            tx.update_state(container_id, None, health=after.to_api())
        return health.status, after

    # --- one probe ----------------------------------------------------------------------

    async def _probe(self, record: ContainerRecord, policy: HealthPolicy) -> ProbeResult:
        """Run the check once in the container (dockerd's cmdProbe.run)."""
        start = go_time(time.time_ns())
        try:
            return await self._exec(record, policy, start)
        except EstibaError as exc:
            # dockerd: a probe that could not run is a failure with the error as output.
            return ProbeResult(start, go_time(time.time_ns()), -1, exc.message)

    async def _exec(self, record: ContainerRecord, policy: HealthPolicy, start: str) -> ProbeResult:
        from estiba.api.types import ExecConfig
        from estiba.daemon.exec_backend import exec_process
        from estiba.shim.attach import AttachRequest, FrameReader

        containers = self.containers
        client = containers.shim(record.id)
        exec_id = new_id()
        command = f"{policy.argv[0]} {' '.join(policy.argv[1:])}"  # dockerd's, space and all
        config = ExecConfig(cmd=policy.argv, attach_stdout=True, attach_stderr=True)
        process = await asyncio.to_thread(self._process, record, config, exec_process)
        containers._publish("exec_create: " + command, record, execID=exec_id)
        output = bytearray()
        frames = FrameReader()
        loop = asyncio.get_running_loop()
        sock = None

        async def drain() -> None:
            while chunk := await loop.sock_recv(sock, _READ_SIZE):
                for _stream, payload in frames.feed(chunk):
                    room = MAX_OUTPUT + 1 - len(output)  # one byte more tells "truncated"
                    if room > 0:
                        output.extend(payload[:room])

        timed_out = False
        try:
            _, sock = await asyncio.to_thread(
                client.exec, exec_id, process, attach=AttachRequest(stdin=False, stdout=True, stderr=True)
            )
            containers._publish("exec_start: " + command, record, execID=exec_id)
            sock.setblocking(False)
            try:
                await asyncio.wait_for(drain(), policy.timeout / 1e9)
            except TimeoutError:
                timed_out = True
                await self._kill(client, exec_id)
                with contextlib.suppress(TimeoutError, OSError):
                    await asyncio.wait_for(drain(), KILL_GRACE)
            status = await asyncio.to_thread(_exit_status, client, exec_id, KILL_GRACE)
        except asyncio.CancelledError:
            # Stopped or paused while probing: the probe goes too, and no result counts.
            await asyncio.shield(self._kill(client, exec_id))
            await asyncio.shield(asyncio.to_thread(_exit_status, client, exec_id, CANCEL_GRACE))
            raise
        except EstibaError:
            await asyncio.to_thread(_exit_status, client, exec_id, 0)  # a failed start's record
            raise
        finally:
            if sock is not None:
                sock.close()
        end = go_time(time.time_ns())
        code = -1 if status is None else int(status.get("exit_code") or 0)
        if status is not None:
            containers._publish("exec_die", record, execID=exec_id, exitCode=str(code))
        text = limited_output(bytes(output))
        if timed_out:
            return ProbeResult(start, end, -1, timeout_output(policy.timeout, text))
        if status is None:
            return ProbeResult(start, end, -1, f"healthcheck for container {record.id} has no exit code")
        return ProbeResult(start, end, code, text)

    def _process(self, record: ContainerRecord, config: Any, exec_process: Any) -> dict[str, Any]:
        """The probe's OCI process: the container's own (env, user, cwd) with the Test argv."""
        bundle = self.containers.paths(record.id).bundle
        try:
            with open(os.path.join(bundle, "config.json"), "rb") as handle:
                base = json.load(handle)["process"]
        except (OSError, ValueError, KeyError) as exc:
            raise NotFound(f"container {record.id} has no readable bundle: {exc}") from exc
        return exec_process(base, config, user=None)

    @staticmethod
    async def _kill(client: Any, exec_id: str) -> None:
        with contextlib.suppress(EstibaError, OSError):
            await asyncio.to_thread(client.kill, signal.SIGKILL, exec_id=exec_id)


def _exit_status(client: Any, exec_id: str, grace: float) -> dict[str, Any] | None:
    """The probe's exit as the shim recorded it, its file then removed (no exec record
    outlives a probe); None if the shim never recorded one."""
    from estiba.shim import statedir

    try:
        status = client.wait_exec(exec_id, grace)
    except EstibaError:
        status = None
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(client.state_dir, statedir.exec_file(exec_id, "json")))
    return status
