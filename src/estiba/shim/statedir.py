"""The shim's state directory: the names of its files and sockets, and how they are written.

Everything a daemon needs to find a running container again lives here, so that a new
daemon process can adopt it with no memory of the old one:

    shim.json       the ShimSpec (written by the spawner)
    shim.pid        the shim's pid          pid        the container's pid
    attach.sock     attach clients          control.sock  resize, kill, close stdin, exec
    exit.json       the container's exit    exec-<id>.json  an exec'd process's exit
    shim.log        the shim's own diagnostics
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import time

from estiba.errors import Conflict, InvalidArgument
from estiba.fsutil import atomic_write

SHIM_PID = "shim.pid"
CONTAINER_PID = "pid"
EXIT_FILE = "exit.json"
ATTACH_SOCK = "attach.sock"
CONTROL_SOCK = "control.sock"
CONSOLE_SOCK = "console.sock"
SHIM_LOG = "shim.log"
RUNTIME_LOG = "runtime.log"
SHIM_NAME = b"estiba-shim"

_STALE = (SHIM_PID, CONTAINER_PID, EXIT_FILE, ATTACH_SOCK, CONTROL_SOCK, CONSOLE_SOCK, RUNTIME_LOG)


def exec_file(exec_id: str, suffix: str) -> str:
    if not exec_id or len(exec_id) > 128 or not all(c.isalnum() or c in "_.-" for c in exec_id):
        raise InvalidArgument(f"invalid exec id {exec_id!r}", hint="use letters, digits, and _ . -")
    return f"exec-{exec_id}.{suffix}"


def rfc3339nano(ns: int | None = None) -> str:
    """UTC time as Go's time.RFC3339Nano prints it (trailing zeros of the fraction dropped)."""
    ns = time.time_ns() if ns is None else ns
    seconds, nanos = divmod(ns, 1_000_000_000)
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{nanos:09d}".rstrip("0")
    return f"{stamp}.{fraction}Z" if fraction else f"{stamp}Z"


def write_json(path: str, value: object) -> None:
    # Whole or absent for readers, not fsynced: these files describe processes and live in
    # the exec root (/run), which a crash that could lose them empties anyway.
    atomic_write(path, json.dumps(value, sort_keys=True).encode(), durable=False)


def read_json(path: str) -> dict | None:
    """The file's JSON object, or None when the file is not there (yet)."""
    try:
        with open(path, "rb") as handle:
            return json.loads(handle.read())
    except FileNotFoundError:
        return None


def read_int(path: str) -> int | None:
    try:
        with open(path, "rb") as handle:
            return int(handle.read().strip() or b"0") or None
    except FileNotFoundError:
        return None


def shim_running(pid: int | None) -> bool:
    """Whether `pid` is a live (not zombie) estiba shim; a recycled pid has another name."""
    if not pid:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return False
    name = raw[raw.index(b"(") + 1 : raw.rindex(b")")]
    state = raw[raw.rindex(b")") + 2 : raw.rindex(b")") + 3]
    return name == SHIM_NAME and state not in (b"Z", b"X")


def prepare(state_dir: str) -> None:
    """Make the directory for a new shim; clear what an earlier, finished shim left."""
    os.makedirs(state_dir, mode=0o711, exist_ok=True)
    if shim_running(read_int(os.path.join(state_dir, SHIM_PID))):
        raise Conflict(f"a shim is already running for {state_dir}", hint="stop the container first")
    for name in os.listdir(state_dir):
        if name in _STALE or name.startswith("exec-"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(state_dir, name))


class SocketPath:
    """A unix socket path of any length: bound and connected through /proc/self/fd/<dir>,
    since sun_path holds only 108 bytes and state dirs can be deep."""

    def __init__(self, directory: str, name: str) -> None:
        self.directory = directory
        self.name = name
        self.full = os.path.join(directory, name)

    def _short(self, dir_fd: int) -> str:
        return f"/proc/self/fd/{dir_fd}/{self.name}"

    def _with_dir(self, action) -> None:
        if len(self.full.encode()) < 100:
            action(self.full)
            return
        dir_fd = os.open(self.directory, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            action(self._short(dir_fd))
        finally:
            os.close(dir_fd)

    def listen(self, backlog: int = 64) -> socket.socket:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.full)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            self._with_dir(sock.bind)
            os.chmod(self.full, 0o600)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        return sock

    def connect(self, timeout: float | None = None) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        sock.settimeout(timeout)
        try:
            self._with_dir(sock.connect)
        except BaseException:
            sock.close()
            raise
        return sock

    def unlink(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.full)
