"""Starting shims: from a fork server that has the runtime imported, or as a new interpreter.

`ForkServer.start()` starts a fresh interpreter (fork + exec, not a bare fork of the
daemon: a daemon has threads and open state that a forked child must not inherit). It
imports estiba.runtime and the shim, freezes the heap so that children share those pages,
and serves requests on a socketpair. For `spawn(spec)` it forks once; the child calls
setsid and becomes the shim, in its own session. The server ignores SIGCHLD, so the
kernel reaps shims that end; when the server and the daemon die, shims are reparented
to init and they and their containers go on. The server exits when the daemon's end of
the socketpair closes.

`spawn_direct(spec)` does the same with `python -m estiba.shim`, for comparison and as a
fallback. Both wait on a ready pipe until the shim has started the container (or, with
`start=False`, created it), and return a `ShimHandle`; a container that could not be
created or started is raised as its error kind, its exit.json already written.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from estiba.errors import InvalidArgument, SystemFault, Unavailable
from estiba.shim import launch, statedir
from estiba.shim.client import ShimHandle
from estiba.shim.spec import SPEC_FILE, ShimSpec

PRELOAD = (
    "estiba.shim.monitor",
    "estiba.shim.runtimes",
    "estiba.runtime.container",
    "estiba.runtime.execute",
    "estiba.runtime.init",
    "estiba.runtime.console",
    "estiba.runtime.seccomp",
    "estiba.runtime._libseccomp",
    "estiba.runtime.cgroups.factory",
    "estiba.runtime.cgroups.bpf_devices",
    "subprocess",
    "resource",
)
MAX_MESSAGE = 65536


def _prepare(spec: ShimSpec) -> None:
    if not os.path.isfile(os.path.join(spec.bundle, "config.json")):
        raise InvalidArgument(f"bundle {spec.bundle} has no config.json")
    statedir.prepare(spec.state_dir)
    statedir.atomic_write(os.path.join(spec.state_dir, SPEC_FILE), spec.dumps().encode(), 0o600)


def _await_ready(read_fd: int, spec: ShimSpec, timeout: float) -> ShimHandle:
    """Read the shim's one report line; raise its error when set-up failed."""
    deadline = time.monotonic() + timeout
    data = b""
    try:
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
                raise Unavailable(f"shim for {spec.container_id} did not report within {timeout:.0f}s",
                                  hint=f"see {os.path.join(spec.state_dir, statedir.SHIM_LOG)}")
            chunk = os.read(read_fd, 4096)
            if not chunk:
                raise SystemFault(f"shim for {spec.container_id} died during set-up",
                                  hint=f"see {os.path.join(spec.state_dir, statedir.SHIM_LOG)}")
            data += chunk
    finally:
        os.close(read_fd)
    report = json.loads(data)
    if report["state"] == "failed":
        from estiba.shim.control import decode_answer

        decode_answer(json.dumps({"ok": False, "kind": report.get("kind"), "error": report["error"]}).encode())
    return ShimHandle(spec.state_dir, shim_pid=report["shim_pid"], container_pid=report["pid"])


class ForkServer:
    """A pre-loaded process that forks shims on request. Thread-safe."""

    def __init__(self, process: subprocess.Popen, sock: socket.socket) -> None:
        self.process = process
        self.sock = sock
        self.lock = threading.Lock()

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(cls, *, python: str = sys.executable, timeout: float = 30.0) -> "ForkServer":
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = subprocess.Popen(
                [python, "-m", "estiba.shim.forkserver", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, close_fds=True,
            )
        except OSError as exc:
            ours.close()
            raise Unavailable(f"cannot start the shim fork server: {exc}") from exc
        finally:
            theirs.close()
        server = cls(process, ours)
        ours.settimeout(timeout)
        try:
            hello = json.loads(ours.recv(MAX_MESSAGE) or b"{}")
        except (OSError, ValueError) as exc:
            server.stop()
            raise Unavailable(f"the shim fork server did not start: {exc}") from exc
        if not hello.get("ready"):
            server.stop()
            raise Unavailable(f"the shim fork server did not start: {hello.get('error', 'it exited')}")
        ours.settimeout(None)
        return server

    def spawn(self, spec: ShimSpec, *, start: bool = True, timeout: float = 60.0) -> ShimHandle:
        _prepare(spec)
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        request = json.dumps({"op": "spawn", "state_dir": spec.state_dir, "start": start}).encode()
        try:
            with self.lock:
                socket.send_fds(self.sock, [request], [write_fd])
                reply = json.loads(self.sock.recv(MAX_MESSAGE) or b'{"error": "the fork server is gone"}')
        except OSError as exc:
            os.close(read_fd)
            raise Unavailable(f"the shim fork server is gone: {exc}", hint="start a new one") from exc
        finally:
            os.close(write_fd)
        if not reply.get("ok"):
            os.close(read_fd)
            raise Unavailable(f"the shim fork server could not fork: {reply.get('error')}")
        return _await_ready(read_fd, spec, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the socketpair; the server exits. Shims it started go on."""
        with contextlib.suppress(OSError):
            self.sock.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    @staticmethod
    def spawn_direct(spec: ShimSpec, *, start: bool = True, timeout: float = 60.0) -> ShimHandle:
        """A shim without any fork server (see the module-level `spawn_direct`)."""
        return spawn_direct(spec, start=start, timeout=timeout)

    def __enter__(self) -> "ForkServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def spawn_direct(spec: ShimSpec, *, start: bool = True, python: str = sys.executable,
                 timeout: float = 60.0) -> ShimHandle:
    """Start a shim as a new interpreter: `python -m estiba.shim`, which detaches itself."""
    _prepare(spec)
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    argv = [python, "-m", "estiba.shim", "--ready-fd", str(write_fd), *([] if start else ["--no-start"]),
            spec.state_dir]
    try:
        launcher = subprocess.Popen(argv, pass_fds=[write_fd], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL)
    except OSError as exc:
        os.close(read_fd)
        raise Unavailable(f"cannot start a shim: {exc}") from exc
    finally:
        os.close(write_fd)
    launcher.wait()
    return _await_ready(read_fd, spec, timeout)


# ---- the server's side ------------------------------------------------------------------


def serve(fd: int) -> None:
    """The fork server: pre-load, then fork one shim per request until the daemon goes."""
    import importlib

    sock = socket.socket(fileno=fd)
    try:
        for name in PRELOAD:
            importlib.import_module(name)
        with contextlib.suppress(Exception):
            sys.modules["estiba.runtime._libseccomp"].library()
    except Exception as exc:  # noqa: BLE001 - reported to the daemon, which refuses to go on
        sock.send(json.dumps({"ready": False, "error": str(exc)}).encode())
        return
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # shims are reaped by the kernel
    gc.collect()
    gc.freeze()  # pages of the pre-loaded heap stay shared with every shim
    sock.send(json.dumps({"ready": True, "pid": os.getpid()}).encode())
    while True:
        try:
            raw, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 4)
        except (ConnectionError, InterruptedError):
            return
        if not raw:
            return
        try:
            request = json.loads(raw)
            if request.get("op") != "spawn" or len(fds) != 1:
                raise InvalidArgument("fork server: expected a spawn request with one ready fd")
            # One fork, no intermediate: SIGCHLD is ignored here, so the kernel reaps the
            # shims when they end and nobody waits for them (a fork of this process costs
            # milliseconds on a VM; the double fork paid it twice).
            child = os.fork()
            if child == 0:
                launch.detach_and_run(request["state_dir"], bool(request.get("start", True)), fds[0],
                                      (sock.fileno(),), fork_again=False)
            reply = {"ok": True}
        except Exception as exc:  # noqa: BLE001 - the daemon gets the error, the server goes on
            reply = {"ok": False, "error": str(exc)}
        finally:
            for received in fds:
                os.close(received)
        sock.send(json.dumps(reply).encode())


if __name__ == "__main__":
    serve(int(sys.argv[1]))
