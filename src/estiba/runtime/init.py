"""The child side of create and exec: one linear sequence, in the order the kernel needs.

Runs in a forked copy of the runtime and never returns: it ends in execve of the user's
program, or in `_exit(1)` after telling the parent what failed. Every step that can fail
reports through the sync channel, so the parent can print one line and clean up.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable
from typing import NamedTuple

from estiba.runtime import console, process, rootfs
from estiba.runtime import syscalls as sc
from estiba.runtime.capabilities import CapabilityMasks
from estiba.runtime.hooks import run_hooks
from estiba.runtime.spec import NAMESPACE_FLAGS, NAMESPACE_PROC_NAMES, Process, Spec
from estiba.runtime.state import EXEC_FIFO
from estiba.runtime.sync import Channel, Msg

# setns(2) order for existing namespaces: the user namespace first, so that we hold
# capabilities over the others; the mount namespace after those whose files we open.
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


class InitContext(NamedTuple):
    calls: sc.Syscalls
    channel: Channel
    process: Process
    masks: CapabilityMasks | None
    top_cap: int
    seccomp: object  # SeccompConfig or None
    console: socket.socket | None
    # create only
    spec: Spec | None = None
    state_dir_fd: int = -1
    no_pivot: bool = False
    # exec only: namespace type -> fd of the container's namespace to join
    join_fds: dict[str, int] | None = None
    preserve_fds: int = 0
    # where compiled seccomp programs are kept (see seccomp.compile_filter), or None
    seccomp_cache: str | None = None
    # the parent put us in the pid namespace already: we are its pid 1 (or, for an exec,
    # inside it), so there is no fork into it and no pid namespace to make or join
    pid_namespace_ready: bool = False


def default_signals() -> None:
    """Signals as a new program should find them, first thing in a forked child."""
    # Python ignores SIGPIPE and SIGXFSZ for itself; an ignored signal survives execve,
    # so the container's program would inherit that. Give it the defaults, as runc does.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    # `run` catches the signals it forwards (and Python SIGINT); those handlers belong to
    # the parent and must not swallow a signal sent to us before execve.
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1,
                   signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT):
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())


def child_main(ctx: InitContext) -> None:
    """Entry point in the forked child; never returns."""
    default_signals()
    try:
        if ctx.join_fds is None:
            _create_sequence(ctx)
        else:
            _exec_sequence(ctx)
    except BaseException as exc:  # noqa: BLE001 - every failure must reach the parent
        message = describe(exc)
        try:
            ctx.channel.send(Msg.ERROR, message)
        except OSError:
            print(f"estiba-runtime: {message}", file=sys.stderr, flush=True)
        os._exit(1)
    os._exit(1)  # not reached: the sequences end in execve


def describe(exc: BaseException) -> str:
    """An exception as the one line a runtime reports."""
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror if ": " in exc.strerror else f"{exc.strerror}"
        if exc.filename and str(exc.filename) not in text:
            text = f"{exc.filename}: {text}"
        return text
    return str(exc) or type(exc).__name__


def _enter_user_namespace(ctx: InitContext, spec: Spec) -> None:
    user = spec.linux.namespace("user")
    if user is None:
        return
    if user.path:
        fd = os.open(user.path, os.O_RDONLY | os.O_CLOEXEC)
        ctx.calls.setns(fd, sc.CLONE_NEWUSER)
        os.close(fd)
    else:
        ctx.calls.unshare(sc.CLONE_NEWUSER)
        ctx.channel.send(Msg.MAP_IDS)
        ctx.channel.expect(Msg.IDS_MAPPED)
    # Become root of the new namespace (we were an unmapped id there).
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)


def _fork_into_pid_namespace(ctx: InitContext, needed: bool) -> None:
    """unshare/setns of a pid namespace applies to children only: fork, and let the
    child carry on as the container's process while this one reports its pid and exits."""
    if not needed:
        # Our pid as the parent sees it; 0 when the parent forked us into the namespace
        # (getpid() says 1 there), meaning the pid it got from fork.
        ctx.channel.send(Msg.PID, 0 if ctx.pid_namespace_ready else os.getpid())
        return
    # The child shares our end of the channel: it waits until PID is sent, or its next
    # message could reach the parent first. Closing the pipe says so at once (waiting for
    # our exit would add the teardown of this process's memory, milliseconds).
    sent_r, sent_w = os.pipe()
    pid = os.fork()
    if pid:
        ctx.channel.send(Msg.PID, pid)
        os.close(sent_w)
        os._exit(0)
    os.close(sent_w)
    os.read(sent_r, 1)
    os.close(sent_r)


def _create_sequence(ctx: InitContext) -> None:
    spec = ctx.spec
    calls = ctx.calls
    channel = ctx.channel
    channel.expect(Msg.GO)  # the parent has put us in the container's cgroup
    # Our cgroup paths as the host names them: read before a cgroup namespace would
    # rename them to "/" (binding "/" would show the host's whole hierarchy).
    cgroup_mounts = (
        rootfs.host_cgroup_mounts(cgroup_namespace=spec.linux.namespace("cgroup") is not None)
        if any(m.type == "cgroup" for m in spec.mounts)
        else []
    )

    # 1. Namespaces: the user namespace first, since it owns the ones made after it.
    _enter_user_namespace(ctx, spec)
    new_flags = 0
    for ns_type in JOIN_ORDER:
        namespace = spec.linux.namespace(ns_type)
        if namespace is None or ns_type == "user" or (ns_type == "pid" and ctx.pid_namespace_ready):
            continue
        if namespace.path:
            fd = os.open(namespace.path, os.O_RDONLY | os.O_CLOEXEC)
            calls.setns(fd, NAMESPACE_FLAGS[ns_type])
            os.close(fd)
        else:
            new_flags |= NAMESPACE_FLAGS[ns_type]
    if new_flags:
        calls.unshare(new_flags)
    needs_fork = spec.linux.namespace("pid") is not None or spec.linux.namespace("time") is not None
    _fork_into_pid_namespace(ctx, needs_fork and not ctx.pid_namespace_ready)
    os.setsid()

    network = spec.linux.namespace("network")
    if network is not None and not network.path:
        calls.set_interface_up("lo")

    # 2. The root filesystem, still seeing the host so that bind sources resolve.
    rootfs.prepare_root(calls, spec)
    rootfs.mount_all(calls, spec, cgroup_mounts)
    dev_is_bind = any(m.destination == "/dev" and rootfs.plan_mount(m).kind == "bind" for m in spec.mounts)
    if not dev_is_bind:
        rootfs.create_devices(calls, spec)
        rootfs.setup_dev_symlinks(spec)

    # 3. Hooks that must see the container's namespaces but the host's filesystem.
    channel.send(Msg.RUN_HOOKS)
    state = channel.expect(Msg.HOOKS_DONE)
    run_hooks("createContainer", spec.hooks.create_container, state)

    # The filter is compiled (or read from the cache) now: after pivot_root the host's
    # libraries and the cache are out of reach.
    seccomp_filter = _build_seccomp(ctx)

    # 4. Into the new root.
    if ctx.no_pivot:
        rootfs.move_root(calls, spec.root_path)
    else:
        rootfs.pivot_root(calls, spec.root_path)
    if ctx.process.terminal:
        console.setup(calls, ctx.console, ctx.process.console_size, mount_console=True)
    elif ctx.console is not None:
        ctx.console.close()
    # Like runc, a missing cwd is created: inside the new root (it cannot escape), and
    # before the read-only remounts.
    try:
        os.makedirs(ctx.process.cwd, mode=0o755, exist_ok=True)
    except FileExistsError as exc:  # it exists, and is not a directory
        raise NotADirectoryError(f"cwd {ctx.process.cwd!r} is not a directory") from exc
    # Sysctls before the read-only paths: the default spec makes /proc/sys read-only.
    rootfs.write_sysctls(spec.linux.sysctl)
    rootfs.finalize(calls, spec)
    if spec.linux.namespace("uts") is not None:
        if spec.hostname:
            calls.sethostname(spec.hostname)
        if spec.domainname:
            calls.setdomainname(spec.domainname)

    # 5. The parent sets rlimits and oom_score_adj from outside while we are root.
    channel.send(Msg.READY)
    channel.expect(Msg.CONTINUE)
    process.mark_fds_cloexec(3 + ctx.preserve_fds)
    program, env = process.finalize(calls, ctx.process, ctx.masks, seccomp_filter, ctx.top_cap)
    channel.send(Msg.DONE)
    channel.close()

    # 6. Wait for `start`: opening the fifo blocks until it opens the other end. The
    # fifo stays open (close-on-exec) so that `start` sees EOF only once the program
    # runs, and runs poststart hooks after startContainer ones, as the spec orders.
    fifo = os.open(EXEC_FIFO, os.O_WRONLY | os.O_CLOEXEC, dir_fd=ctx.state_dir_fd)
    os.write(fifo, b"0")
    os.close(ctx.state_dir_fd)
    if spec.hooks.start_container:
        # Still "created": the user program has not run yet (runc reports the same).
        started = dict(state, status="created", pid=os.getpid())
        run_hooks("startContainer", spec.hooks.start_container, started)
    process.exec_program(program, ctx.process, env)


def _exec_sequence(ctx: InitContext) -> None:
    channel = ctx.channel
    # Before joining the container's mount namespace: the seccomp cache is the host's.
    # Before GO too: reading it overlaps the parent's cgroup writes. But a fork into the
    # pid namespace must wait, or the process it makes would miss the cgroups.
    seccomp_filter = _build_seccomp(ctx)
    needs_fork = ("pid" in ctx.join_fds or "time" in ctx.join_fds) and not ctx.pid_namespace_ready
    _join_namespaces(ctx)
    if needs_fork:
        channel.expect(Msg.GO)
    _fork_into_pid_namespace(ctx, needs_fork)
    if not needs_fork:
        channel.expect(Msg.GO)
    _own_session_and_terminal(ctx)
    channel.send(Msg.READY)
    channel.expect(Msg.CONTINUE)
    process.mark_fds_cloexec(3 + ctx.preserve_fds)
    program, env = process.finalize(ctx.calls, ctx.process, ctx.masks, seccomp_filter, ctx.top_cap)
    channel.send(Msg.DONE)
    channel.close()
    process.exec_program(program, ctx.process, env)


def exec_forked(ctx: InitContext, apply_limits: Callable[[], None]) -> None:
    """The exec'd process's own set-up, without a sync channel: in a child its caller
    forked straight into the container's pid namespace, which is already in the
    container's cgroups (`apply_limits` has set rlimits and oom_score_adj on it). Never
    returns: it execs, or raises to the caller's handler, which reports and exits."""
    seccomp_filter = _build_seccomp(ctx)
    apply_limits()  # from outside every namespace, as the parent would
    _join_namespaces(ctx)
    _own_session_and_terminal(ctx)
    process.mark_fds_cloexec(3 + ctx.preserve_fds)
    program, env = process.finalize(ctx.calls, ctx.process, ctx.masks, seccomp_filter, ctx.top_cap)
    process.exec_program(program, ctx.process, env)


def _join_namespaces(ctx: InitContext) -> None:
    for ns_type in JOIN_ORDER:
        if ns_type in ctx.join_fds:
            if not (ns_type == "pid" and ctx.pid_namespace_ready):
                ctx.calls.setns(ctx.join_fds[ns_type], NAMESPACE_FLAGS[ns_type])
            os.close(ctx.join_fds[ns_type])
            if ns_type == "user":
                os.setresgid(0, 0, 0)
                os.setresuid(0, 0, 0)


def _own_session_and_terminal(ctx: InitContext) -> None:
    os.setsid()
    if ctx.process.terminal:
        console.setup(ctx.calls, ctx.console, ctx.process.console_size, mount_console=False)
    elif ctx.console is not None:
        ctx.console.close()


def _build_seccomp(ctx: InitContext):
    if ctx.seccomp is None:
        return None
    from estiba.runtime import seccomp

    return seccomp.compile_filter(ctx.seccomp, ctx.seccomp_cache, ctx.calls)


def namespace_fds_of(pid: int, wanted: tuple[str, ...] = tuple(NAMESPACE_PROC_NAMES)) -> dict[str, int]:
    """Open the namespaces of `pid` that differ from ours (for exec to join)."""
    fds = {}
    for ns_type in wanted:
        name = NAMESPACE_PROC_NAMES[ns_type]
        theirs = f"/proc/{pid}/ns/{name}"
        try:
            if os.stat(theirs).st_ino == os.stat(f"/proc/self/ns/{name}").st_ino:
                continue
            fds[ns_type] = os.open(theirs, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
    return fds
