"""The container lifecycle as the OCI runtime spec tells it: create, start, state, kill, delete.

These are library functions; the `estiba-runtime` command is a thin layer over them, and
the engine calls them in a forked process. A create that fails part way undoes every
step it made (process, cgroup, state directory), in reverse order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

from typing import TYPE_CHECKING

from estiba.errors import Conflict, InvalidArgument, NotFound, SystemFault
from estiba.runtime import capabilities as caps
from estiba.runtime import syscalls as sc
from estiba.runtime.hooks import run_hooks
from estiba.runtime.init import InitContext, child_main
from estiba.runtime.spec import Hooks, Process, Spec, load_bundle, parse_hooks
from estiba.runtime.state import (
    CREATED,
    DEFAULT_ROOT,
    EXEC_FIFO,
    PAUSED,
    RUNNING,
    STOPPED,
    ContainerState,
    StateStore,
    atomic_write,
    is_alive,
    process_start_time,
    status_of,
)
from estiba.runtime.sync import Channel, Msg

if TYPE_CHECKING:
    import socket


def _cgroups():
    from estiba.runtime import cgroups

    return cgroups


def _now() -> str:
    """RFC 3339 UTC with nanoseconds, as runc writes `created` (without importing datetime)."""
    nanos = time.time_ns()
    seconds, fraction = divmod(nanos, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


def _owner() -> str:
    import pwd

    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


# Sysctls that belong to a namespace, and which namespace must be private to set them.
_SYSCTL_NAMESPACES = (
    ("kernel.msgmax", "ipc"), ("kernel.msgmnb", "ipc"), ("kernel.msgmni", "ipc"),
    ("kernel.sem", "ipc"), ("kernel.shmall", "ipc"), ("kernel.shmmax", "ipc"),
    ("kernel.shmmni", "ipc"), ("kernel.shm_rmid_forced", "ipc"), ("fs.mqueue.", "ipc"),
    ("net.", "network"), ("kernel.hostname", "uts"), ("kernel.domainname", "uts"),
)


def validate(spec: Spec) -> None:
    """Checks runc makes before it touches anything."""
    if spec.process is None:
        raise InvalidArgument("config.json: process: is required to create a container")
    for key in spec.linux.sysctl:
        needed = next((ns for prefix, ns in _SYSCTL_NAMESPACES if key == prefix or key.startswith(prefix)
                       and prefix.endswith(".")), None)
        if needed is None:
            raise InvalidArgument(f'config.json: linux.sysctl: "{key}" is not allowed in a container')
        namespace = spec.linux.namespace(needed)
        if namespace is None:
            raise InvalidArgument(
                f'config.json: linux.sysctl: "{key}" needs a private {needed} namespace'
            )
    if (spec.hostname or spec.domainname) and spec.linux.namespace("uts") is None:
        raise InvalidArgument("config.json: hostname: setting it needs a private uts namespace")
    for name in ("uid_mappings", "gid_mappings"):
        if getattr(spec.linux, name) and spec.linux.namespace("user") is None:
            raise InvalidArgument(f"config.json: linux.{name}: mappings need a user namespace")


def cgroup_resources(spec: Spec):
    """The spec's resources with the device rules runc adds: its always-allowed devices
    (/dev/null, /dev/pts/*...) and every device the spec itself creates."""
    cgroups = _cgroups()
    resources = spec.linux.resources or cgroups.Resources()
    created = tuple(
        cgroups.DeviceRule(True, "c" if d.type == "u" else d.type, d.major, d.minor, "rwm")
        for d in spec.linux.devices
        if d.type != "p"
    )
    rules = (*(resources.devices or ()), *cgroups.DEFAULT_DEVICE_RULES, *created)
    return resources._replace(devices=rules)


def spec_state(container_id: str, status: str, pid: int, bundle: str, annotations: dict) -> dict:
    return {
        "ociVersion": "1.0.2",
        "id": container_id,
        "status": status,
        "pid": pid,
        "bundle": bundle,
        "annotations": annotations,
    }


def _write_id_maps(pid: int, spec: Spec) -> None:
    for name, mappings in (("uid_map", spec.linux.uid_mappings), ("gid_map", spec.linux.gid_mappings)):
        text = "".join(f"{m.container_id} {m.host_id} {m.size}\n" for m in mappings)
        try:
            with open(f"/proc/{pid}/{name}", "w") as handle:
                handle.write(text)
        except OSError as exc:
            raise SystemFault(f"writing {name} for the user namespace: {exc.strerror}") from exc


def apply_rlimits(pid: int, process: Process) -> None:
    import resource

    for limit in process.rlimits:
        number = getattr(resource, limit.type)
        try:
            resource.prlimit(pid, number, (limit.soft, limit.hard))
        except (OSError, ValueError) as exc:
            current = resource.prlimit(pid, number)
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            hint = ""
            if limit.hard > current[1] and current[1] != resource.RLIM_INFINITY:
                hint = f" (above the current hard limit {current[1]}; raising it needs CAP_SYS_RESOURCE)"
            raise SystemFault(
                f"cannot set {limit.type} to soft={limit.soft} hard={limit.hard}: {why}{hint}"
            ) from exc


def apply_oom_score_adj(pid: int | str, value: int | None) -> None:
    if value is None:
        return
    try:
        with open(f"/proc/{pid}/oom_score_adj", "w") as handle:
            handle.write(str(value))
    except OSError as exc:
        hint = " (lowering it needs CAP_SYS_RESOURCE)" if exc.errno == 13 else ""
        raise SystemFault(f"cannot set oomScoreAdj to {value}: {exc.strerror}{hint}") from exc


def kill_and_reap(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def wait_gone(pid: int, start_time: int | None, timeout: float = 10.0) -> None:
    """Wait until `pid` (with that start time) has exited, reaping it if it is our child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        current = process_start_time(pid)
        if current is None or (start_time is not None and current != start_time):
            return
        time.sleep(0.005)
    raise SystemFault(f"process {pid} did not exit within {timeout:.0f}s")


def seccomp_cache_dir(root: str) -> str:
    """Compiled seccomp programs, beside the containers' state (not a container: no state.json)."""
    return os.path.join(root, ".seccomp-cache")


def start_child(
    *,
    calls: sc.Syscalls,
    process: Process,
    masks,
    seccomp,
    console: socket.socket | None,
    manager,
    spec: Spec | None = None,
    state_dir_fd: int = -1,
    no_pivot: bool = False,
    join_fds: dict[str, int] | None = None,
    preserve_fds: int = 0,
    seccomp_cache: str | None = None,
) -> tuple[int, Channel]:
    parent_end, child_end = Channel.pair()
    sys.stdout.flush()
    sys.stderr.flush()
    restore = _enter_pid_namespace_for_child(calls, spec, join_fds)
    try:
        pid = os.fork()
    except BaseException:
        _restore_pid_namespace(calls, restore)
        raise
    if pid == 0:
        parent_end.close()
        if restore is not None:
            os.close(restore)
        child_main(
            InitContext(
                calls=calls,
                channel=child_end,
                process=process,
                masks=masks,
                top_cap=caps.last_cap(),
                seccomp=seccomp,
                console=console,
                spec=spec,
                state_dir_fd=state_dir_fd,
                no_pivot=no_pivot,
                join_fds=join_fds,
                preserve_fds=preserve_fds,
                seccomp_cache=seccomp_cache,
                pid_namespace_ready=restore is not None,
            )
        )
    _restore_pid_namespace(calls, restore)
    child_end.close()
    if console is not None:
        console.close()
    try:
        manager.add(pid)
        parent_end.send(Msg.GO)
    except BaseException:
        kill_and_reap(pid)
        parent_end.close()
        raise
    return pid, parent_end


def _enter_pid_namespace_for_child(calls: sc.Syscalls, spec: Spec | None,
                                   join_fds: dict[str, int] | None) -> int | None:
    """Put the next child straight into its pid namespace, sparing the init a second fork.

    unshare/setns of a pid namespace apply to the caller's children only, so the init
    would fork again to get in; a fork of this process costs milliseconds here. When no
    user or time namespace is involved (they must come first, from inside the child),
    the parent does it before forking: the child is then the namespace's pid 1 (or the
    exec'd process inside it). Returns the fd of our own pid namespace, to go back to
    right after the fork, or None when the child must do it itself.
    """
    if join_fds is not None:
        if "pid" not in join_fds or "user" in join_fds or "time" in join_fds:
            return None
        target: int | None = join_fds["pid"]
    else:
        if spec is None or spec.linux.namespace("user") is not None or spec.linux.namespace("time") is not None:
            return None
        namespace = spec.linux.namespace("pid")
        if namespace is None:
            return None
        target = None
        if namespace.path:
            target = os.open(namespace.path, os.O_RDONLY | os.O_CLOEXEC)
    own = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if target is None:
            calls.unshare(sc.CLONE_NEWPID)
        else:
            calls.setns(target, sc.CLONE_NEWPID)
    except BaseException:
        os.close(own)
        raise
    finally:
        if target is not None and join_fds is None:
            os.close(target)
    return own


def _restore_pid_namespace(calls: sc.Syscalls, own: int | None) -> None:
    """Back to our own pid namespace for our next children (hooks run in the host's)."""
    if own is None:
        return
    try:
        calls.setns(own, sc.CLONE_NEWPID)
    finally:
        os.close(own)


def drive_child(channel: Channel, pid: int, process: Process, undo: contextlib.ExitStack, *,
                map_ids=None, hooks=None) -> int:
    """Answer the child's set-up messages until it is done; returns the container process's pid.

    `map_ids()` writes a new user namespace's maps; `hooks(pid)` runs the runtime-side
    hooks and returns the state handed to the createContainer hooks. A process made along
    the way is added to `undo`, so a failure kills it.
    """
    container_pid = pid
    while True:
        kind, data = channel.recv()
        if kind is Msg.ERROR:
            raise SystemFault(str(data))
        if kind is Msg.MAP_IDS and map_ids is not None:
            map_ids()
            channel.send(Msg.IDS_MAPPED)
        elif kind is Msg.PID:
            container_pid = int(data) or pid  # 0: the child itself (see start_child)
            if container_pid != pid:
                undo.callback(kill_and_reap, container_pid)
                os.waitpid(pid, 0)  # the intermediate process exits at once
        elif kind is Msg.RUN_HOOKS and hooks is not None:
            channel.send(Msg.HOOKS_DONE, hooks(container_pid))
        elif kind is Msg.READY:
            apply_rlimits(container_pid, process)
            apply_oom_score_adj(container_pid, process.oom_score_adj)
            channel.send(Msg.CONTINUE)
        elif kind is Msg.DONE:
            return container_pid
        else:
            raise SystemFault(f"set-up out of step: unexpected {kind.value}")


def create(
    container_id: str,
    bundle: str,
    *,
    root: str = DEFAULT_ROOT,
    console_socket: str | socket.socket | None = None,
    pid_file: str | None = None,
    no_pivot: bool = False,
    preserve_fds: int = 0,
    subreaper: bool = False,
    calls: sc.Syscalls | None = None,
    loaded: tuple[Spec, dict] | None = None,
) -> ContainerState:
    """Make the container and leave its process waiting for `start`."""
    calls = calls or sc.Syscalls()
    store = StateStore(root)
    store.dir_of(container_id)  # validates the id before anything else
    bundle = os.path.abspath(bundle)
    spec, raw = loaded or load_bundle(bundle)
    validate(spec)
    process = spec.process
    if process.terminal and console_socket is None:
        raise InvalidArgument(
            "process.terminal is true but no console socket was given",
            hint="pass --console-socket, or set terminal to false",
        )
    masks = caps.masks(process.capabilities) if process.capabilities is not None else None
    cgroups = _cgroups()

    with contextlib.ExitStack() as undo:
        state_dir = store.make_dir(container_id)
        undo.callback(store.remove, container_id)
        fifo_path = os.path.join(state_dir, EXEC_FIFO)
        os.mkfifo(fifo_path, 0o622)
        os.chmod(fifo_path, 0o622)  # mkfifo honours the umask; the container user must write it
        state_dir_fd = os.open(state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        undo.callback(os.close, state_dir_fd)

        manager = cgroups.manager_for(spec.linux.cgroups_path or cgroups.default_path(container_id))
        manager.create()
        undo.callback(manager.destroy)
        manager.set(cgroup_resources(spec))

        console = None
        if process.terminal:
            # A connected socket object (from `run` or the engine), or a path to connect to.
            console = console_socket if not isinstance(console_socket, str) else None
            if console is None:
                from estiba.runtime import console as console_mod

                console = console_mod.connect(console_socket)
        if subreaper:
            calls.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)

        pid, channel = start_child(
            calls=calls,
            process=process,
            masks=masks,
            seccomp=spec.linux.seccomp,
            console=console,
            manager=manager,
            spec=spec,
            state_dir_fd=state_dir_fd,
            no_pivot=no_pivot,
            preserve_fds=preserve_fds,
            seccomp_cache=seccomp_cache_dir(root),
        )
        undo.callback(kill_and_reap, pid)
        undo.callback(channel.close)

        def hooks(container_pid: int) -> dict:
            state = spec_state(container_id, "creating", container_pid, bundle, spec.annotations)
            run_hooks("prestart", spec.hooks.prestart, state)
            run_hooks("createRuntime", spec.hooks.create_runtime, state)
            return state

        try:
            container_pid = drive_child(
                channel, pid, process, undo, map_ids=lambda: _write_id_maps(pid, spec), hooks=hooks
            )
        except OSError as exc:
            raise SystemFault(f"creating container {container_id}: {exc.strerror or exc}") from exc

        start_time = process_start_time(container_pid)
        if start_time is None:
            raise SystemFault(f"container {container_id}: its process exited during create")
        state = ContainerState(
            id=container_id,
            pid=container_pid,
            bundle=bundle,
            rootfs=spec.root_path,
            created=_now(),
            owner=_owner(),
            init_start_time=start_time,
            cgroup_paths=manager.paths,
            cgroup_mode=getattr(manager, "mode", ""),
            config=raw,
            annotations=spec.annotations,
        )
        store.save(state)
        if pid_file:
            atomic_write(os.path.abspath(pid_file), f"{container_pid}".encode(), 0o644, durable=False)
        undo.pop_all()
    channel.close()
    os.close(state_dir_fd)
    return state


def load_manager(state: ContainerState):
    return _cgroups().load(state.cgroup_paths)


def start(container_id: str, *, root: str = DEFAULT_ROOT) -> ContainerState:
    """Release a created container's process into the user's program."""
    store = StateStore(root)
    state = store.load(container_id)
    status = status_of(store, state)
    if status == STOPPED:
        raise Conflict("cannot start a container that has stopped")
    if status != CREATED:
        raise Conflict(f"cannot start an already {status} container")
    fifo_path = os.path.join(store.dir_of(container_id), EXEC_FIFO)
    _release_fifo(fifo_path, state)
    os.unlink(fifo_path)
    live = spec_state(state.id, RUNNING, state.pid, state.bundle, state.annotations)
    _run_hooks_or_warn("poststart", _hooks_of(state).poststart, live)
    return state


def _release_fifo(fifo_path: str, state: ContainerState) -> None:
    import select

    fd = os.open(fifo_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        released = False
        while True:
            if poller.poll(50):
                data = os.read(fd, 1)
                if data:
                    released = True
                    continue
                if released:
                    return  # EOF: the fifo closed on exec of the user's program
                raise SystemFault(f"container {state.id}: its process went away before start")
            if not released and not is_alive(state):
                raise SystemFault(f"container {state.id}: its process exited before start")
    finally:
        os.close(fd)


def _hooks_of(state: ContainerState) -> Hooks:
    """The hooks of a created container: only that section of its (validated) config."""
    return parse_hooks(state.config.get("hooks"))


def _run_hooks_or_warn(stage: str, hooks: tuple, state: dict) -> None:
    """poststart and poststop: the spec says a failure is a warning, and the rest goes on."""
    try:
        run_hooks(stage, hooks, state)
    except SystemFault as exc:
        print(f"estiba-runtime: warning: {exc}", file=sys.stderr)


def state_of(container_id: str, *, root: str = DEFAULT_ROOT) -> dict:
    """The OCI state of a container (as `runc state` prints it)."""
    store = StateStore(root)
    state = store.load(container_id)
    return _describe(store, state)


def _describe(store: StateStore, state: ContainerState) -> dict:
    status = status_of(store, state, frozen=lambda: _frozen(state))
    return {
        "ociVersion": state.oci_version,
        "id": state.id,
        "pid": state.pid if status != STOPPED else 0,
        "status": status,
        "bundle": state.bundle,
        "rootfs": state.rootfs,
        "created": state.created,
        "owner": state.owner,
        "annotations": state.annotations,
    }


def _frozen(state: ContainerState) -> bool:
    try:
        return load_manager(state).frozen()
    except Exception:  # noqa: BLE001 - no freezer means never paused
        return False


def list_states(*, root: str = DEFAULT_ROOT) -> list[dict]:
    store = StateStore(root)
    result = []
    for container_id in store.ids():
        with contextlib.suppress(NotFound, InvalidArgument):
            result.append(_describe(store, store.load(container_id)))
    return result


def parse_signal(value: str | int) -> int:
    if isinstance(value, int):
        return value
    text = value.strip().upper()
    if text.isdigit():
        return int(text)
    name = text if text.startswith("SIG") else "SIG" + text
    number = getattr(signal.Signals, name, None) if name in signal.Signals.__members__ else None
    if number is None:
        raise InvalidArgument(f'unknown signal "{value}"', hint="use a name like TERM or a number")
    return int(number)


def kill(container_id: str, sig: str | int = "SIGTERM", *, all_processes: bool = False, root: str = DEFAULT_ROOT) -> None:
    store = StateStore(root)
    state = store.load(container_id)
    number = parse_signal(sig)
    if status_of(store, state) == STOPPED:
        raise Conflict("container not running")
    if all_processes:
        load_manager(state).kill_all(number)
        return
    try:
        os.kill(state.pid, number)
    except ProcessLookupError as exc:
        raise Conflict("container not running") from exc


def delete(container_id: str, *, force: bool = False, root: str = DEFAULT_ROOT) -> None:
    """Remove a stopped (or, with force, any) container: process, cgroup, state, then poststop hooks."""
    store = StateStore(root)
    try:
        state = store.load(container_id)
    except NotFound:
        if force:
            return
        raise
    status = status_of(store, state, frozen=lambda: _frozen(state))
    manager = load_manager(state)
    if status in (RUNNING, PAUSED) and not force:
        raise Conflict(f"cannot delete container {container_id} that is not stopped: {status}",
                       hint="stop it first or use --force")
    if status != STOPPED:
        if status == PAUSED:
            manager.thaw()
        with contextlib.suppress(ProcessLookupError):
            os.kill(state.pid, signal.SIGKILL)
        manager.kill_all(signal.SIGKILL)
        wait_gone(state.pid, state.init_start_time)
    manager.destroy()
    store.remove(container_id)
    stopped = spec_state(state.id, STOPPED, 0, state.bundle, state.annotations)
    _run_hooks_or_warn("poststop", _hooks_of(state).poststop, stopped)


def pause(container_id: str, *, root: str = DEFAULT_ROOT) -> None:
    """Freeze every process of a running container (cgroup freezer)."""
    manager = _manager_if(container_id, root, RUNNING, "container not running")
    manager.freeze()


def resume(container_id: str, *, root: str = DEFAULT_ROOT) -> None:
    """Thaw a paused container."""
    manager = _manager_if(container_id, root, PAUSED, "container not paused")
    manager.thaw()


def update(container_id: str, resources: dict, *, root: str = DEFAULT_ROOT) -> None:
    """Write new cgroup limits for a running or paused container, as `runc update
    --resources` does: `resources` is OCI `linux.resources` with only the fields to
    change (absent or zero fields keep their values)."""
    parsed = _cgroups().Resources.from_spec(resources)
    store = StateStore(root)
    state = store.load(container_id)
    if status_of(store, state) == STOPPED:
        raise Conflict(f"container {container_id} is not running")
    load_manager(state).set(parsed)


def _manager_if(container_id: str, root: str, wanted: str, refusal: str):
    store = StateStore(root)
    state = store.load(container_id)
    status = status_of(store, state, frozen=lambda: _frozen(state))
    if status != wanted:
        raise Conflict(f"{refusal}: {status}")
    return load_manager(state)


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the killing signal."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)
