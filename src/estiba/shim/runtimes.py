"""The two ways a shim drives an OCI runtime: the estiba.runtime library in its own process,
or a runtime binary with runc's command line.

Lifecycle, for both: `create(stdio)` -> container pid, with the process waiting for
`start()`; then `kill()`, `exec()` as often as asked; once the process has exited,
`oom_kill_count()` and finally `delete()`, which releases the cgroup and the state. The
shim is a child subreaper, so the container's process (and an exec'd one) is the shim's
to reap whichever runtime made it, and whichever process called the runtime: the shim
makes these calls in throwaway children (`run_isolated`) to keep its own memory small; an
exec with the built-in runtime is a fork of the shim that becomes the process itself
(`spawn_exec`: the child does the runtime's work, so the shim's memory stays as it was).
Failures are raised as estiba.errors kinds whose message is the runtime's own one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from estiba import errors
from estiba.errors import EstibaError, SystemFault
from estiba.shim.spec import ShimSpec
from estiba.shim.statedir import RUNTIME_LOG


@dataclass(frozen=True)
class ChildStdio:
    """The fds a new process gets as 0, 1 and 2, or the console socket that gets its pty."""

    stdin: int
    stdout: int
    stderr: int
    console: str | None = None


class ContainerRuntime(Protocol):
    def create(self, stdio: ChildStdio) -> int: ...

    def created(self, pid: int) -> None:
        """In the shim's own process, after `create` (which may have run in a child)."""

    def start(self) -> None: ...

    def kill(self, sig: int, all_processes: bool = False) -> None: ...

    def exec(self, process_file: str, pid_file: str, stdio: ChildStdio) -> int: ...

    def spawn_exec(self, process_file: str, stdio: ChildStdio, container_pid: int) -> int | None:
        """`exec` as a direct child of the shim, when the runtime can (None: it cannot)."""

    def oom_kill_count(self) -> int: ...

    def delete(self) -> None: ...


def for_spec(spec: ShimSpec) -> ContainerRuntime:
    if spec.in_process:
        return LibraryRuntime(spec.container_id, spec.bundle, spec.runtime_root)
    return BinaryRuntime(spec.runtime, spec.container_id, spec.bundle, spec.runtime_root, spec.state_dir)


def run_isolated(call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)` in a throwaway child, returning its (JSON-able) result or raising its error.

    The shim is forked from a server whose heap its pages share; whatever runtime work
    writes to (spec parsing, cgroups, subprocess) would become the shim's own memory for
    as long as the container runs. Done in a child, those pages go when it exits. The
    child's children (the container, an exec'd process) come back to the shim, which is
    their subreaper.

    The answer is one line on a pipe; the child is not waited for (tearing down its
    memory takes milliseconds): the shim's SIGCHLD handler reaps it like any child. The
    pipe may never reach EOF, since a container's process holds a copy of its end until
    it execs, so a child that dies without answering is noticed by polling for its exit.
    """
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        try:
            outcome = {"ok": True, "result": call(*args)}
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent
            if not isinstance(exc, EstibaError):
                traceback.print_exc()
            error = exc if isinstance(exc, EstibaError) else SystemFault(f"{type(exc).__name__}: {exc}")
            outcome = {"ok": False, "kind": type(error).__name__, "error": error.message, "hint": error.hint}
        try:
            os.write(write_end, json.dumps(outcome).encode() + b"\n")
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        data = _read_answer(read_end, pid)
    finally:
        os.close(read_end)
    if not data.endswith(b"\n"):
        raise SystemFault("the runtime call died without an answer")
    outcome = json.loads(data)
    if outcome["ok"]:
        return outcome["result"]
    kind = getattr(errors, outcome["kind"], SystemFault)
    raise kind(outcome["error"], hint=outcome.get("hint"))


def _read_answer(fd: int, pid: int) -> bytes:
    """The child's answer line, or what there is once it has exited without finishing it."""
    chunks: list[bytes] = []
    while not (chunks and chunks[-1].endswith(b"\n")):
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            continue
        try:
            gone, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # reaped by the SIGCHLD handler meanwhile
            gone = pid
        if gone:
            os.set_blocking(fd, False)
            with contextlib.suppress(BlockingIOError):
                while chunk := os.read(fd, 65536):
                    chunks.append(chunk)
            break
    return b"".join(chunks)


def start_failure_code(message: str) -> int:
    """The exit code Docker records when a container cannot start (moby's translation)."""
    text = message.lower()
    if "executable file not found" in text or "no such file or directory" in text:
        return 127
    if "permission denied" in text or "is a directory" in text:
        return 126
    return 128


def exit_code(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the killing signal."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


@contextlib.contextmanager
def _as_own_stdio(stdio: ChildStdio):
    """The library forks the process from us, and it inherits our 0, 1 and 2: lend them."""
    saved = [os.dup(fd) for fd in (0, 1, 2)]
    try:
        for fd, target in zip((stdio.stdin, stdio.stdout, stdio.stderr), (0, 1, 2)):
            os.dup2(fd, target)
        yield
    finally:
        for fd, target in zip(saved, (0, 1, 2)):
            os.dup2(fd, target)
            os.close(fd)


def _fault(action: str, exc: Exception) -> EstibaError:
    if isinstance(exc, EstibaError):
        return exc
    return SystemFault(f"{action}: {exc}")


class LibraryRuntime:
    """estiba.runtime, called in the shim's process (pre-imported by the fork server)."""

    def __init__(self, container_id: str, bundle: str, root: str) -> None:
        self.id = container_id
        self.bundle = bundle
        self.root = root

    def create(self, stdio: ChildStdio) -> int:
        from estiba.runtime import container

        try:
            with _as_own_stdio(stdio):
                state = container.create(self.id, self.bundle, root=self.root, console_socket=stdio.console)
        except Exception as exc:  # noqa: BLE001 - translated to our kinds at this edge
            raise _fault("create", exc) from exc
        return state.pid

    def created(self, pid: int) -> None:
        pass

    def start(self) -> None:
        from estiba.runtime import container

        try:
            container.start(self.id, root=self.root)
        except Exception as exc:  # noqa: BLE001
            raise _fault("start", exc) from exc

    def kill(self, sig: int, all_processes: bool = False) -> None:
        from estiba.runtime import container

        container.kill(self.id, sig, all_processes=all_processes, root=self.root)

    def spawn_exec(self, process_file: str, stdio: ChildStdio, container_pid: int) -> int | None:
        """The process as a child of this one (see estiba.runtime.execute.spawn), or None
        when the container needs `exec` (which the shim then runs in a throwaway child)."""
        from estiba.runtime.execute import spawn

        try:
            return spawn(self.id, process_file, root=self.root, container_pid=container_pid,
                         stdio=(stdio.stdin, stdio.stdout, stdio.stderr), console_socket=stdio.console)
        except Exception as exc:  # noqa: BLE001 - translated to our kinds at this edge
            raise _fault("exec", exc) from exc

    def exec(self, process_file: str, pid_file: str, stdio: ChildStdio) -> int:
        from estiba.runtime.execute import ExecOptions, exec_process

        try:
            with _as_own_stdio(stdio):
                exec_process(self.id, ExecOptions(process_file=process_file), root=self.root,
                             console_socket=stdio.console, pid_file=pid_file, detach=True)
            with open(pid_file, "rb") as handle:
                return int(handle.read())
        except Exception as exc:  # noqa: BLE001
            raise _fault("exec", exc) from exc

    def oom_kill_count(self) -> int:
        from estiba.runtime import container
        from estiba.runtime.state import StateStore

        state = StateStore(self.root).load(self.id)
        return container.load_manager(state).oom_kill_count()

    def delete(self) -> None:
        from estiba.runtime import container

        container.delete(self.id, force=True, root=self.root)


class BinaryRuntime:
    """An OCI runtime binary (runc, crun, estiba-runtime), run as a child of the shim."""

    def __init__(self, binary: str, container_id: str, bundle: str, root: str, state_dir: str) -> None:
        self.binary = binary
        self.id = container_id
        self.bundle = bundle
        self.root = root
        self.log = os.path.join(state_dir, RUNTIME_LOG)
        self.pid_file = os.path.join(state_dir, "runtime.pid")
        self.cgroup_paths: dict[str, str] = {}

    def _run(self, *args: str, stdio: ChildStdio | None = None, timeout: float = 60) -> None:
        argv = [self.binary, "--root", self.root, "--log", self.log, "--log-format", "json", *args]
        try:
            offset = os.path.getsize(self.log)
        except OSError:
            offset = 0
        null = subprocess.DEVNULL
        try:
            result = subprocess.run(
                argv,
                stdin=stdio.stdin if stdio else null,
                stdout=stdio.stdout if stdio else null,
                stderr=stdio.stderr if stdio else null,
                timeout=timeout,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SystemFault(f"{os.path.basename(self.binary)} {args[0]}: {exc}") from exc
        if result.returncode != 0:
            raise SystemFault(self._last_error(offset) or f"{os.path.basename(self.binary)} {args[0]} exited {result.returncode}")

    def _last_error(self, offset: int) -> str:
        message = ""
        with contextlib.suppress(OSError), open(self.log, "rb") as handle:
            handle.seek(offset)
            for line in handle:
                with contextlib.suppress(ValueError, AttributeError):
                    entry = json.loads(line)
                    if entry.get("level") in ("error", "fatal"):
                        message = str(entry.get("msg", ""))
        return message

    def create(self, stdio: ChildStdio) -> int:
        console = ("--console-socket", stdio.console) if stdio.console else ()
        self._run("create", "--bundle", self.bundle, "--pid-file", self.pid_file, *console, self.id, stdio=stdio)
        with open(self.pid_file, "rb") as handle:
            pid = int(handle.read())
        os.unlink(self.pid_file)
        return pid

    def created(self, pid: int) -> None:
        self.cgroup_paths = _cgroup_paths_of(pid)

    def start(self) -> None:
        self._run("start", self.id)

    def kill(self, sig: int, all_processes: bool = False) -> None:
        self._run("kill", *(["--all"] if all_processes else []), self.id, str(sig))

    def spawn_exec(self, process_file: str, stdio: ChildStdio, container_pid: int) -> int | None:
        return None  # a binary runtime's exec is its own process anyway

    def exec(self, process_file: str, pid_file: str, stdio: ChildStdio) -> int:
        console = ("--console-socket", stdio.console) if stdio.console else ()
        self._run("exec", "--detach", "--pid-file", pid_file, "--process", process_file, *console, self.id,
                  stdio=stdio)
        with open(pid_file, "rb") as handle:
            return int(handle.read())

    def oom_kill_count(self) -> int:
        from estiba.runtime import cgroups

        paths = self._cgroup_paths_from_state() or self.cgroup_paths
        return cgroups.load(paths).oom_kill_count() if paths else 0

    def _cgroup_paths_from_state(self) -> dict[str, str]:
        """runc keeps each hierarchy's path in its state.json ("" for the unified one)."""
        try:
            with open(os.path.join(self.root, self.id, "state.json"), "rb") as handle:
                saved = json.loads(handle.read()).get("cgroup_paths") or {}
        except (OSError, ValueError, AttributeError):
            return {}
        if "memory" in saved:
            return {"memory": saved["memory"]}
        return {"unified": saved[""]} if saved.get("") and os.path.isfile("/sys/fs/cgroup/cgroup.controllers") else {}

    def delete(self) -> None:
        self._run("delete", "--force", self.id)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.log)


def _cgroup_paths_of(pid: int, root: str = "/sys/fs/cgroup") -> dict[str, str]:
    """The memory cgroup of a process, as the paths estiba.runtime.cgroups.load takes."""
    try:
        with open(f"/proc/{pid}/cgroup") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return {}
    unified = os.path.isfile(os.path.join(root, "cgroup.controllers"))
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if unified and controllers == "":
            return {"unified": os.path.join(root, path.lstrip("/"))}
        if not unified and "memory" in controllers.split(","):
            return {"memory": os.path.join(root, "memory", path.lstrip("/"))}
    return {}
