"""Helpers the end-to-end tests share: a client driven through a real pseudo-terminal, raw
HTTP over the daemon's socket (for what no client library sends), and a snapshot of what
an engine leaves on the host (mounts, cgroups, processes, shim state, database rows) to
compare before and after a run."""

from __future__ import annotations

import fcntl
import glob
import http.client
import json
import os
import re
import select
import socket
import sqlite3
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# --- a client at a terminal ------------------------------------------------------------------

# bash's default prompt as root in a container: `root@<hostname>:<cwd># `.
ROOT_PROMPT = re.compile(rb"root@[^:\s]+:[^#\r\n]*# ")


class Terminal:
    """A command whose stdin, stdout and stderr are the terminal side of a new pty, as when a
    person types it in a terminal emulator; the test holds the controller side.

    Everything read from the controller is kept in `transcript` (raw bytes, with the echo
    and the `\\r\\n` a terminal makes). `expect` reads until a pattern shows up, `send`
    types a line, `wait` returns the exit code once the command is done.
    """

    def __init__(
        self, argv: Sequence[str], *, env: dict[str, str], rows: int = 24, cols: int = 80
    ) -> None:
        self.argv = list(argv)
        self.transcript = b""
        self._seen = 0
        self._eof = False
        self._controller, terminal = os.openpty()
        fcntl.ioctl(self._controller, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        try:
            self.process = subprocess.Popen(
                self.argv,
                stdin=terminal,
                stdout=terminal,
                stderr=terminal,
                env=env,
                start_new_session=True,
            )
        finally:
            os.close(terminal)
        self._closed = False

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def expect(self, pattern: bytes | re.Pattern[bytes], timeout: float = 20) -> bytes:
        """Read until `pattern` appears in what arrived since the last `expect`; return all
        of that text up to and including the match. Fails with the transcript on timeout."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.transcript, self._seen)
            if match:
                text = self.transcript[self._seen : match.end()]
                self._seen = match.end()
                return text
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._read(min(remaining, 0.2)) and self._eof:
                raise AssertionError(
                    f"{self.argv[0]}: no {regex.pattern!r} within {timeout}s; "
                    f"exit={self.process.poll()} transcript:\n{self.transcript!r}"
                )

    def send(self, text: str) -> None:
        """Type `text` followed by Enter."""
        self.write(text.encode() + b"\r")

    def write(self, keys: bytes) -> None:
        """Type these bytes as they are (control keys: b"\\x03" is ctrl-c)."""
        os.write(self._controller, keys)

    def wait(self, timeout: float = 20) -> int:
        """The exit code, after reading everything the command wrote."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                while self._read(0.1):  # what is still buffered in the pty
                    pass
                return self.process.returncode
            self._read(0.2)  # keep the pty drained: a command blocked writing never ends
        raise AssertionError(
            f"{self.argv[0]} still running after {timeout}s; transcript:\n{self.transcript!r}"
        )

    def rest(self) -> bytes:
        """What arrived after the last `expect`."""
        return self.transcript[self._seen :]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if not self._closed:
            os.close(self._controller)
            self._closed = True

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._controller], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self._controller, 65536)
        except OSError:  # EIO: nothing holds the terminal side any more
            chunk = b""
        if not chunk:
            self._eof = True
            return False
        self.transcript += chunk
        return True


# --- the API without a client library ---------------------------------------------------------


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def api_request(
    socket_path: Path,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    content_type: str = "application/json",
    timeout: float = 30,
) -> RawResponse:
    """One HTTP request over the daemon's unix socket, body sent exactly as given."""
    connection = _UnixConnection(socket_path, timeout)
    try:
        headers = {"Content-Type": content_type} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return RawResponse(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def open_attach(
    socket_path: Path, container: str, query: str = "stream=1&stdout=1&stderr=1"
) -> socket.socket:
    """A hijacked attach connection, past its status line, as a plain socket to read."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.connect(str(socket_path))
    sock.sendall(
        f"POST /v1.41/containers/{container}/attach?{query} HTTP/1.1\r\n"
        "Host: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)  # one byte at a time: what follows the headers is the stream
        if not chunk:
            raise AssertionError(f"attach closed before its headers: {head!r}")
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


# --- what an engine leaves behind -------------------------------------------------------------


@dataclass(frozen=True)
class HostSnapshot:
    """The traces one estibad's containers leave on the host, as sets that subtract.

    Only this daemon's traces count (other daemons may run on the same host): mounts that
    name its exec or data root, cgroup directories named after a container id it ever
    made, processes descending from it or from a shim holding a file under its exec root,
    the files under its exec root, its overlay snapshot directories, and the rows of its
    containers.db.
    """

    mounts: frozenset[str]
    cgroups: frozenset[str]
    processes: frozenset[tuple[int, str]]
    exec_root_entries: frozenset[str]
    snapshots: frozenset[str]
    container_rows: int

    def leaked_since(self, before: HostSnapshot) -> dict[str, object]:
        """What this snapshot has and `before` had not: empty when nothing leaked."""
        leaked: dict[str, object] = {
            "mounts": sorted(self.mounts - before.mounts),
            "cgroups": sorted(self.cgroups - before.cgroups),
            "processes": sorted(self.processes - before.processes),
            "exec root": sorted(self.exec_root_entries - before.exec_root_entries),
            "snapshots": sorted(self.snapshots - before.snapshots),
        }
        if self.container_rows > before.container_rows:
            leaked["container rows"] = (before.container_rows, self.container_rows)
        return {kind: found for kind, found in leaked.items() if found}


class Daemon(Protocol):
    """What a snapshot needs of tests.integration.daemon.conftest.Estibad."""

    exec_root: Path
    data_root: Path
    process: subprocess.Popen[bytes] | None

    def docker(self, *args: str) -> subprocess.CompletedProcess[bytes]: ...


def host_snapshot(daemon: Daemon) -> HostSnapshot:
    roots = (str(daemon.exec_root), str(daemon.data_root))
    assert daemon.process is not None, "the daemon is not running"
    return HostSnapshot(
        mounts=frozenset(_mounts(roots)),
        cgroups=frozenset(_cgroups(container_ids_ever(daemon))),
        processes=frozenset(_processes(daemon.process.pid, str(daemon.exec_root))),
        exec_root_entries=frozenset(_tree(daemon.exec_root)),
        snapshots=frozenset(_entries(daemon.data_root / "snapshots" / "snapshots")),
        container_rows=_rows(daemon.data_root / "containers.db"),
    )


def wait_for_no_leaks(daemon: Daemon, before: HostSnapshot, timeout: float = 10) -> dict[str, object]:
    """Poll until nothing leaked since `before` or `timeout` passes; return what leaked.

    Teardown is asynchronous (a shim exits after reporting the exit), so give it a moment.
    """
    deadline = time.monotonic() + timeout
    while True:
        leaked = host_snapshot(daemon).leaked_since(before)
        if not leaked or time.monotonic() > deadline:
            return leaked
        time.sleep(0.2)


def container_ids_ever(daemon: Daemon) -> set[str]:
    """Every container id the daemon ever reported an event for (removed ones too)."""
    listed = daemon.docker(
        "events", "--since", "0", "--until", str(int(time.time()) + 1),
        "--filter", "type=container", "--format", "{{.ID}}",
    )  # fmt: skip
    return set(listed.stdout.decode().split())


def _mounts(roots: Sequence[str]) -> list[str]:
    with open("/proc/self/mountinfo") as handle:
        return [
            " ".join(line.split()[4:5] + line.split(" - ", 1)[1].split()[:2])
            for line in handle
            if any(root in line for root in roots)
        ]


def _cgroups(ids: set[str]) -> list[str]:
    found = []
    for hierarchy in glob.glob("/sys/fs/cgroup/*"):
        for base, dirs, _ in os.walk(hierarchy):
            found += [os.path.join(base, name) for name in dirs if name[:64] in ids]
    # cgroup v2 mounted directly on /sys/fs/cgroup
    for base, dirs, _ in os.walk("/sys/fs/cgroup"):
        found += [os.path.join(base, name) for name in dirs if name[:64] in ids]
        break
    return sorted(set(found))


def _processes(daemon_pid: int, exec_root: str) -> list[tuple[int, str]]:
    """The daemon's descendants, and shims (whose parent is init) with their descendants."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    ours = {daemon_pid} | {pid for pid in parents if _holds_file_under(pid, exec_root)}
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in ours} - ours
        ours |= more
        grew = bool(more)
    found = []
    for pid in ours:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        found.append((pid, cmdline))
    return found


def _holds_file_under(pid: int, path: str) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds]
    except OSError:
        return False
    return any(link.startswith(path) for link in links)


def _tree(root: Path) -> list[str]:
    """Paths under `root`, not descending into mount points (a container's rootfs)."""
    found = []
    for base, dirs, files in os.walk(root):
        for name in dirs + files:
            found.append(os.path.relpath(os.path.join(base, name), root))
        dirs[:] = [name for name in dirs if not os.path.ismount(os.path.join(base, name))]
    return found


def _entries(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except FileNotFoundError:
        return []


def _rows(database: Path) -> int:
    """Rows in all tables of a SQLite database, read-only (the daemon holds it open)."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        listed = connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
        tables = [row[0] for row in listed]
        return sum(connection.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in tables)
    finally:
        connection.close()
