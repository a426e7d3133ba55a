"""`exec`: run another process in a running container's namespaces and cgroup.

The process gets the container's namespaces (joined through /proc/<pid>/ns), its cgroup,
and the privileges its own process spec asks for: by default those of the container's
first process, as runc does.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from typing import NamedTuple

from estiba.errors import Conflict, InvalidArgument, NotFound, SystemFault
from estiba.runtime import capabilities as caps
from estiba.runtime import container
from estiba.runtime import syscalls as sc
from estiba.runtime.init import namespace_fds_of
from estiba.runtime.run import SignalForwarder, wait_for_exit
from estiba.runtime.spec import Process, parse_process, parse_spec
from estiba.runtime.state import (
    CREATED,
    DEFAULT_ROOT,
    PAUSED,
    RUNNING,
    StateStore,
    atomic_write,
    status_of,
)


class ExecOptions(NamedTuple):
    """What `exec` was asked for on its command line (all optional)."""

    process_file: str | None = None
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    cwd: str | None = None
    user: str | None = None  # "uid[:gid]"
    additional_gids: tuple[int, ...] = ()
    tty: bool = False
    cap: tuple[str, ...] = ()
    no_new_privs: bool = False


def build_process(base: Process, options: ExecOptions) -> Process:
    """The exec'd process: a --process file, or the container's process with the flags applied."""
    if options.process_file:
        try:
            with open(options.process_file, "rb") as handle:
                raw = json.loads(handle.read())
        except FileNotFoundError as exc:
            raise NotFound(f"process file {options.process_file} does not exist") from exc
        except ValueError as exc:
            raise InvalidArgument(f"process file {options.process_file}: invalid JSON: {exc}") from exc
        return parse_process(raw, where="process file")
    if not options.args:
        raise InvalidArgument("exec needs a command", hint="give it after the container id, or use --process")
    # As runc: --user replaces the uid (and the gid when given); --additional-gids adds
    # to the container's own supplementary groups.
    user = base.user._replace(
        additional_gids=tuple(base.user.additional_gids) + tuple(options.additional_gids)
    )
    if options.user:
        uid_text, _, gid_text = options.user.partition(":")
        try:
            user = user._replace(uid=int(uid_text), gid=int(gid_text) if gid_text else user.gid)
        except ValueError as exc:
            raise InvalidArgument(f'--user "{options.user}": use numeric uid[:gid]') from exc
    capabilities = base.capabilities
    if options.cap and capabilities is not None:
        extra = tuple(options.cap)
        # Never into the inheritable set (runc's fix for CVE-2022-29162); ambient only when
        # the spec already has inheritable capabilities, since ambient needs them.
        capabilities = capabilities._replace(
            bounding=capabilities.bounding + extra,
            effective=capabilities.effective + extra,
            permitted=capabilities.permitted + extra,
            ambient=capabilities.ambient + extra if capabilities.inheritable else capabilities.ambient,
        )
    return base._replace(
        args=tuple(options.args),
        env=base.env + tuple(options.env),
        cwd=options.cwd or base.cwd,
        terminal=options.tty,
        user=user,
        capabilities=capabilities,
        no_new_privileges=base.no_new_privileges or options.no_new_privs,
    )


def exec_process(
    container_id: str,
    options: ExecOptions,
    *,
    root: str = DEFAULT_ROOT,
    console_socket: str | None = None,
    pid_file: str | None = None,
    detach: bool = False,
    preserve_fds: int = 0,
    calls: sc.Syscalls | None = None,
) -> int:
    """Start a process in the container; waits and returns its exit code unless detached."""
    calls = calls or sc.Syscalls()
    store = StateStore(root)
    state = store.load(container_id)
    # As runc: a created container takes processes too; a frozen one would freeze them.
    status = status_of(store, state, frozen=lambda: container._frozen(state))
    if status == PAUSED:
        raise Conflict("cannot exec in a paused container", hint="resume it first")
    if status not in (CREATED, RUNNING):
        raise Conflict(f"cannot exec in a {status} container")
    spec = parse_spec(state.config, state.bundle)
    process = build_process(spec.process, options)
    if process.terminal and console_socket is None and detach:
        raise InvalidArgument("cannot allocate a terminal for a detached process without --console-socket")
    masks = caps.masks(process.capabilities) if process.capabilities is not None else None
    manager = container.load_manager(state)

    own_terminal = process.terminal and console_socket is None
    ours = None
    console = None
    if own_terminal:
        ours, console = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    elif process.terminal:
        from estiba.runtime.console import connect

        console = connect(console_socket)

    join_fds = namespace_fds_of(state.pid)
    if not detach:
        calls.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
    # As `run` does: signals are caught before the process exists and forwarded to it.
    forwarder = None if detach else SignalForwarder()
    with contextlib.ExitStack() as undo:
        if forwarder is not None:
            undo.callback(forwarder.restore)
        for fd in join_fds.values():
            undo.callback(_close_quietly, fd)
        pid, channel = container.start_child(
            calls=calls,
            process=process,
            masks=masks,
            seccomp=spec.linux.seccomp,
            console=console,
            manager=manager,
            join_fds=join_fds,
            preserve_fds=preserve_fds,
            seccomp_cache=container.seccomp_cache_dir(root),
        )
        undo.callback(channel.close)
        undo.callback(container.kill_and_reap, pid)
        try:
            exec_pid = container.drive_child(channel, pid, process, undo)
        except OSError as exc:
            raise SystemFault(f"exec in container {container_id}: {exc.strerror or exc}") from exc
        undo.pop_all()
    channel.close()
    for fd in join_fds.values():
        _close_quietly(fd)
    if pid_file:
        atomic_write(os.path.abspath(pid_file), str(exec_pid).encode(), 0o644, durable=False)
    if detach:
        return 0
    master = None
    if own_terminal:
        from estiba.runtime.console import receive_master

        master = receive_master(ours)
        ours.close()
    try:
        forwarder.target(exec_pid, master)
        status = wait_for_exit(exec_pid, master)
    finally:
        forwarder.restore()
        if master is not None:
            os.close(master)
    return container.exit_code(status)


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
