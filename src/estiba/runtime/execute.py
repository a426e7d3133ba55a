"""`exec`: run another process in a running container's namespaces and cgroup.

The process gets the container's namespaces (joined through /proc/<pid>/ns), its cgroup,
and the privileges its own process spec asks for: by default those of the container's
first process, as runc does.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import socket
from typing import Any, NamedTuple

from estiba import errors
from estiba.errors import Conflict, InvalidArgument, NotFound, SystemFault
from estiba.runtime import capabilities as caps
from estiba.runtime import container
from estiba.runtime import syscalls as sc
from estiba.runtime.init import namespace_fds_of
from estiba.runtime.run import SignalForwarder, wait_for_exit
from estiba.runtime.spec import Process, parse_process, parse_seccomp
from estiba.runtime.state import (
    CREATED,
    DEFAULT_ROOT,
    PAUSED,
    RUNNING,
    ContainerState,
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
    state, seccomp, process = _prepare(container_id, options, root)
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
            seccomp=seccomp,
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


def _prepare(container_id: str, options: ExecOptions, root: str) -> tuple[ContainerState, Any, Process]:
    """The container's state, its seccomp config and the process to run. Only what exec
    needs is read from the config (validated whole at create): a process file replaces
    the container's process, and the whole spec's parse was a third of a spawn's work."""
    store = StateStore(root)
    state = store.load(container_id)
    # As runc: a created container takes processes too; a frozen one would freeze them.
    status = status_of(store, state, frozen=lambda: container._frozen(state))
    if status == PAUSED:
        raise Conflict("cannot exec in a paused container", hint="resume it first")
    if status not in (CREATED, RUNNING):
        raise Conflict(f"cannot exec in a {status} container")
    base = None
    if not options.process_file and state.config.get("process") is not None:
        base = parse_process(state.config["process"])
    return state, parse_seccomp(state.config.get("linux")), build_process(base, options)


def spawn(container_id: str, process_file: str, *, root: str, container_pid: int, stdio: tuple[int, int, int],
          console_socket: str | None = None) -> int | None:
    """`exec --detach` as a child of the caller: returns its pid, or None when it cannot be
    done this way (a container with a user or time namespace of its own: the caller uses
    `exec_process`).

    For a caller that reaps the process itself and has a pid namespace to spare (the shim):
    one fork, straight into the container's pid namespace, and the child prepares, joins
    and execs on its own; no sync channel, no second process. The caller waits on a
    close-on-exec pipe: EOF means the program runs, a line is the error (raised here as
    its kind). The work happens in the child, so the caller's memory stays as it was.
    """
    for name in ("user", "time"):
        with contextlib.suppress(FileNotFoundError):
            if os.stat(f"/proc/{container_pid}/ns/{name}").st_ino != os.stat(f"/proc/self/ns/{name}").st_ino:
                return None
    calls = sc.Syscalls()
    own = None
    try:
        theirs = os.open(f"/proc/{container_pid}/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError as exc:
        raise Conflict(f"cannot exec in container {container_id}: it is not running") from exc
    try:
        if os.fstat(theirs).st_ino != os.stat("/proc/self/ns/pid").st_ino:
            own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
            calls.setns(theirs, sc.CLONE_NEWPID)  # for our next child only
    except BaseException:
        if own is not None:
            os.close(own)
        raise
    finally:
        os.close(theirs)
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    try:
        pid = os.fork()
    except BaseException:
        if own is not None:
            container._restore_pid_namespace(calls, own)
        raise
    if pid == 0:
        os.close(read_end)
        # Never back into the caller's code from here: the child execs or exits.
        _exec_in_child(container_id, process_file, root, stdio, console_socket, write_end)
    if own is not None:
        container._restore_pid_namespace(calls, own)
    os.close(write_end)
    try:
        report = _read_all(read_end)
    finally:
        os.close(read_end)
    if report:
        container.kill_and_reap(pid)
        error = json.loads(report)
        kind = getattr(errors, error["kind"], SystemFault)
        raise kind(error["message"], hint=error.get("hint"))
    return pid


def _exec_in_child(container_id: str, process_file: str, root: str, stdio: tuple[int, int, int],
                   console_socket: str | None, report_fd: int) -> None:
    """The child of `spawn`: never returns. What fails before the process is in the
    container keeps its kind (not running, paused, a bad process file); what fails after
    is a SystemFault with the runtime's one line, as `exec_process` reports it."""
    from estiba.runtime import init

    gc.disable()  # a collection would write to objects shared with the caller (copies of pages)
    joined = False
    try:
        init.default_signals()
        for fd, target in zip(stdio, (0, 1, 2)):
            if fd != target:
                os.dup2(fd, target)
        calls = sc.Syscalls()
        state, seccomp, process = _prepare(container_id, ExecOptions(process_file=process_file), root)
        masks = caps.masks(process.capabilities) if process.capabilities is not None else None
        container.load_manager(state).add(os.getpid())
        console = None
        if process.terminal:
            from estiba.runtime.console import connect

            console = connect(console_socket) if console_socket else None
            if console is None:
                raise InvalidArgument("cannot allocate a terminal for a detached process without a console socket")
        joined = True
        init.exec_forked(
            init.InitContext(
                calls=calls, channel=None, process=process, masks=masks, top_cap=caps.last_cap(),
                seccomp=seccomp, console=console, join_fds=namespace_fds_of(state.pid),
                seccomp_cache=container.seccomp_cache_dir(root), pid_namespace_ready=True,
            ),
            # Ourselves, by the names that mean the caller in any pid namespace (our pid
            # here is the container's numbering; the host's /proc would read it otherwise).
            lambda: (container.apply_rlimits(0, process),
                     container.apply_oom_score_adj("self", process.oom_score_adj)),
        )
    except BaseException as exc:  # noqa: BLE001 - every failure goes to the caller
        if isinstance(exc, errors.EstibaError) and not joined:
            report = {"kind": type(exc).__name__, "message": exc.message, "hint": exc.hint}
        else:
            report = {"kind": "SystemFault", "message": init.describe(exc), "hint": None}
        with contextlib.suppress(OSError):
            os.write(report_fd, json.dumps(report).encode())
    os._exit(1)


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
