"""The API's ExecBackend: processes started in running containers through their shims.

The exec'd process is the container's own process object (from its bundle's config.json:
capabilities, rlimits, no_new_privs) with the exec's argv, env, cwd, user and terminal.
Its exit is read from the shim's exec-<id>.json; an attached session records it before
its output ends, so the client's inspect right after sees the exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from dataclasses import asdict
from typing import Any

from estiba.api.types import ExecConfig, ExecStartOptions, JSONObject, Session
from estiba.daemon.containers_backend import EngineContainers, in_daemon_thread
from estiba.daemon.sessions import SocketSession, StartOnFirstUse
from estiba.engine.names import new_id
from estiba.engine.store import ExecRecord, rfc3339_now
from estiba.errors import Conflict, EstibaError, NotFound
from estiba.shim.attach import AttachRequest

__all__ = ["EngineExecs", "exec_process"]

EXIT_RECORD_TIMEOUT = 10.0


def exec_process(base: dict[str, Any], config: ExecConfig, *, user: dict[str, Any] | None) -> dict[str, Any]:
    """The OCI process for an exec, from the container's process `base` (pure)."""
    process = {k: v for k, v in base.items() if k not in ("consoleSize", "terminal")}
    process["args"] = list(config.cmd)
    env = list(base.get("env") or [])
    names = {e.split("=", 1)[0]: i for i, e in enumerate(env)}
    if config.tty and "TERM" not in names:
        # dockerd's CreateDaemonEnvironment gives an exec with a TTY TERM=xterm even when
        # the container has none; without it bash and less fall back to a dumb terminal.
        env.insert(names.get("HOSTNAME", len(env) - 1) + 1, "TERM=xterm")
        names = {e.split("=", 1)[0]: i for i, e in enumerate(env)}
    for entry in config.env:
        name = entry.split("=", 1)[0]
        if name in names:
            env[names[name]] = entry
        else:
            env.append(entry)
    process["env"] = env
    if config.working_dir:
        process["cwd"] = config.working_dir
    if user is not None:
        process["user"] = user
    if config.tty:
        process["terminal"] = True
        if config.console_size:
            process["consoleSize"] = {"height": config.console_size[0], "width": config.console_size[1]}
    return process


class EngineExecs:
    def __init__(self, containers: EngineContainers) -> None:
        self.containers = containers
        self.store = containers.store

    async def create_exec(self, ref: str, config: ExecConfig) -> str:
        await self.containers._restore()
        exec_id = new_id()

        def add() -> Any:  # one worker hop for both
            record = self.store.get(ref)
            if not config.cmd:
                from estiba.errors import InvalidArgument

                raise InvalidArgument("No exec command specified")
            self.store.add_exec(ExecRecord(id=exec_id, container_id=record.id, created=rfc3339_now(),
                                           config=asdict(config)))
            return record

        record = await asyncio.to_thread(add)
        self.containers._publish("exec_create: " + " ".join(config.cmd), record, execID=exec_id)
        return exec_id

    def _config(self, record: ExecRecord) -> ExecConfig:
        raw = dict(record.config)
        raw["cmd"] = tuple(raw.get("cmd") or ())
        raw["env"] = tuple(raw.get("env") or ())
        if raw.get("console_size"):
            raw["console_size"] = tuple(raw["console_size"])
        return ExecConfig(**raw)

    async def start_exec(self, exec_id: str, options: ExecStartOptions) -> Session | None:
        await self.containers._restore()
        # Each step is one hop to a worker thread: on this path (docker exec) a hop costs
        # as much as the work in it.
        container, config, process = await asyncio.to_thread(self._prepare_start, exec_id, options)
        client = self.containers.shim(container.id)

        def start_and_record(attach: AttachRequest | None) -> socket.socket | None:
            try:
                pid, sock = client.exec(exec_id, process, open_stdin=config.attach_stdin, stdin_once=True,
                                        attach=attach)
            except Exception:
                # dockerd's code for a command that could not be run; without an exit
                # code the exec would read as never started.
                with contextlib.suppress(EstibaError):
                    self.store.update_exec(exec_id, running=False, exit_code=126)
                raise
            self.store.update_exec(exec_id, running=True, pid=pid)
            return sock

        async def start(attach: AttachRequest | None) -> socket.socket | None:
            sock = await asyncio.to_thread(start_and_record, attach)
            self.containers._publish("exec_start: " + " ".join(config.cmd), container, execID=exec_id)
            return sock

        def wait_and_record(timeout: float | None) -> int:
            try:
                code = int(client.wait_exec(exec_id, timeout).get("exit_code") or 0)
            except EstibaError:
                code = 126 if client.exec_status(exec_id) is None else 0
            with contextlib.suppress(EstibaError):
                self.store.update_exec(exec_id, running=False, exit_code=code)
            return code

        async def record_exit(attached: bool) -> None:
            code = await in_daemon_thread(wait_and_record, EXIT_RECORD_TIMEOUT if attached else None)
            self.containers._publish("exec_die", container, execID=exec_id, exitCode=str(code))

        if options.detach:
            await start(None)
            self.containers._spawn_task(record_exit(False))
            return None

        async def start_attached() -> SocketSession:
            attach = AttachRequest(config.attach_stdin, config.attach_stdout, config.attach_stderr)
            sock = await start(attach)
            assert sock is not None
            return SocketSession(sock, tty=config.tty, stdin=config.attach_stdin,
                                 detach_keys=config.detach_keys, on_end=lambda: record_exit(True))

        # The process starts once the API has sent the status line, as dockerd's does: a
        # client that reads the headers through a buffer and the stream from the socket
        # (docker-py) loses output that arrives in the same read as the headers.
        return StartOnFirstUse(start_attached, tty=config.tty, stdin=config.attach_stdin,
                               detach_keys=config.detach_keys)

    def _prepare_start(self, exec_id: str, options: ExecStartOptions) -> tuple[Any, ExecConfig, dict[str, Any]]:
        record = self._get(exec_id)
        if record.running or record.exit_code is not None:
            raise Conflict(f"Error: Exec command {exec_id} has already run")
        container = self.store.get(record.container_id)
        if container.state.value != "running":
            raise Conflict(f"Container {container.id} is not running")
        config = self._config(record)
        if options.tty:
            config = ExecConfig(**{**asdict(config), "tty": True})
        if options.console_size:
            config = ExecConfig(**{**asdict(config), "console_size": options.console_size})
        paths = self.containers.paths(container.id)
        return container, config, self._process(str(paths.bundle), str(paths.rootfs), config)

    def _get(self, exec_id: str) -> ExecRecord:
        try:
            return self.store.get_exec(exec_id)
        except NotFound:
            raise NotFound(f"No such exec instance: {exec_id}") from None

    def _process(self, bundle: str, rootfs: str, config: ExecConfig) -> dict[str, Any]:
        with open(f"{bundle}/config.json", "rb") as handle:
            base = json.load(handle)["process"]
        user = None
        if config.user:
            from estiba.engine.users import resolve_user

            user = resolve_user(rootfs, config.user).oci()
        return exec_process(base, config, user=user)

    async def inspect_exec(self, exec_id: str) -> JSONObject:
        record = await asyncio.to_thread(self._get, exec_id)
        config = self._config(record)
        running, exit_code = record.running, record.exit_code
        if running:
            status = await asyncio.to_thread(self.containers.shim(record.container_id).exec_status, exec_id)
            if status is not None:
                running, exit_code = False, int(status.get("exit_code") or 0)
        return {
            "ID": record.id,
            "Running": running,
            "ExitCode": exit_code,
            "ProcessConfig": {
                "tty": config.tty,
                "entrypoint": config.cmd[0],
                "arguments": list(config.cmd[1:]),
                "privileged": config.privileged,
                "user": config.user,
            },
            "OpenStdin": config.attach_stdin,
            "OpenStderr": config.attach_stderr,
            "OpenStdout": config.attach_stdout,
            "CanRemove": False,
            "ContainerID": record.container_id,
            "DetachKeys": config.detach_keys,
            "Pid": record.pid,
        }

    async def resize_exec(self, exec_id: str, *, height: int, width: int) -> None:
        record = await asyncio.to_thread(self._get, exec_id)
        await asyncio.to_thread(
            self.containers.shim(record.container_id).resize, height, width, exec_id=exec_id
        )
