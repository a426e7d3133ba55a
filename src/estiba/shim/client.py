"""`ShimClient`: the daemon's view of one shim, made only of its state directory's files
and sockets, so that any process (a daemon restarted after a crash) can use it.

    client = ShimClient(state_dir)
    client.pid(); client.alive(); client.exit_status()      # files
    sock = client.attach(stdin=True, stdout=True, stderr=True)   # attach.sock
    client.resize(24, 80); client.kill(15); client.close_stdin()  # control.sock
    status = client.wait()                                   # polls exit.json

`wait()` returns as soon as exit.json exists, i.e. the container's process has ended and
its output is in the log; the shim then deletes the container in the runtime and exits,
which `wait_released()` waits for (before removing the container's root, say).
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from estiba.errors import Conflict, NotFound, Unavailable
from estiba.shim import control, statedir
from estiba.shim.attach import AttachRequest, read_line

POLL_INTERVAL = 0.02
REQUEST_TIMEOUT = 30.0


class ShimClient:
    def __init__(self, state_dir: str) -> None:
        self.state_dir = os.path.abspath(state_dir)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.state_dir!r})"

    def _path(self, name: str) -> str:
        return os.path.join(self.state_dir, name)

    # ---- files -------------------------------------------------------------------------

    def pid(self) -> int:
        """The container's pid (host view), once the runtime has created it."""
        pid = statedir.read_int(self._path(statedir.CONTAINER_PID))
        if pid is None:
            raise NotFound(f"no container process recorded in {self.state_dir}")
        return pid

    def shim_pid(self) -> int:
        pid = statedir.read_int(self._path(statedir.SHIM_PID))
        if pid is None:
            raise NotFound(f"no shim recorded in {self.state_dir}")
        return pid

    def alive(self) -> bool:
        """Whether the shim process is still there (it outlives its container briefly)."""
        return statedir.shim_running(statedir.read_int(self._path(statedir.SHIM_PID)))

    def exit_status(self) -> dict[str, Any] | None:
        """{"exit_code", "oom_killed", "finished_at", "error"} once the container has ended."""
        return statedir.read_json(self._path(statedir.EXIT_FILE))

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Wait for the container's end (polling exit.json every 20 ms)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.exit_status()
            if status is not None:
                return status
            if not self.alive():
                status = self.exit_status()  # written just before the shim went
                if status is not None:
                    return status
                raise Unavailable(f"the shim for {self.state_dir} died without recording an exit",
                                  hint=f"see {self._path(statedir.SHIM_LOG)}")
            if deadline is not None and time.monotonic() >= deadline:
                raise Unavailable(f"container did not exit within {timeout}s")
            time.sleep(POLL_INTERVAL)

    def wait_released(self, timeout: float | None = None) -> dict[str, Any]:
        """`wait()`, then wait for the shim to have deleted the container and exited."""
        start = time.monotonic()
        status = self.wait(timeout)
        while self.alive():
            if timeout is not None and time.monotonic() - start >= timeout:
                raise Unavailable(f"the shim for {self.state_dir} did not exit within {timeout}s")
            time.sleep(POLL_INTERVAL)
        return status

    def exec_status(self, exec_id: str) -> dict[str, Any] | None:
        """{"exit_code", "finished_at", "pid", "error"} once that exec'd process has ended."""
        return statedir.read_json(self._path(statedir.exec_file(exec_id, "json")))

    def wait_exec(self, exec_id: str, timeout: float | None = None) -> dict[str, Any]:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (status := self.exec_status(exec_id)) is None:
            if not self.alive() or (deadline is not None and time.monotonic() >= deadline):
                raise Unavailable(f"exec {exec_id} did not end" + (f" within {timeout}s" if timeout else ""))
            time.sleep(POLL_INTERVAL)
        return status

    # ---- sockets -----------------------------------------------------------------------

    def _connect(self, name: str, timeout: float | None) -> socket.socket:
        try:
            return statedir.SocketPath(self.state_dir, name).connect(timeout)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise Conflict("container is not running", hint="its shim has exited") from exc

    def attach(self, stdin: bool = False, stdout: bool = True, stderr: bool = True,
               *, timeout: float = REQUEST_TIMEOUT) -> socket.socket:
        """A connected socket carrying the container's stream (frames, or raw with a tty).

        It returns once the shim has subscribed it: output from then on is not missed.
        Close it, or shut its write side to say "no more stdin".
        """
        sock = self._connect(statedir.ATTACH_SOCK, timeout)
        try:
            sock.sendall(AttachRequest(stdin, stdout, stderr).encode())
            control.decode_answer(read_line(sock))
        except ConnectionError as exc:
            sock.close()
            raise Conflict("container is not running") from exc
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        return sock

    def request(self, op: str, *, timeout: float = REQUEST_TIMEOUT, **args: Any) -> dict[str, Any]:
        """One control request and its answer (errors raised as their kinds)."""
        sock = self._connect(statedir.CONTROL_SOCK, timeout)
        with sock:
            try:
                sock.sendall(control.encode_request(op, **args))
                return control.decode_answer(read_line(sock, 1 << 16))
            except ConnectionError as exc:
                raise Conflict("container is not running") from exc

    def start(self) -> int:
        """Start a container spawned with start=False; returns its pid."""
        return self.request("start")["pid"]

    def state(self) -> dict[str, Any]:
        return self.request("state")

    def resize(self, height: int, width: int, *, exec_id: str | None = None) -> None:
        self.request("resize", rows=height, cols=width, exec_id=exec_id)

    def kill(self, sig: int, *, all_processes: bool = False, exec_id: str | None = None) -> None:
        self.request("kill", signal=int(sig), all=all_processes or None, exec_id=exec_id)

    def close_stdin(self, *, exec_id: str | None = None) -> None:
        self.request("close_stdin", exec_id=exec_id)

    def exec(self, exec_id: str, process: dict[str, Any], *, open_stdin: bool = False, stdin_once: bool = False,
             attach: AttachRequest | None = None, timeout: float = REQUEST_TIMEOUT) -> tuple[int, socket.socket | None]:
        """Run `process` (an OCI process object) in the container.

        Returns its pid and, with `attach`, the socket carrying its stream (as `attach()`'s);
        its end is then `exec_status(exec_id)`.
        """
        statedir.exec_file(exec_id, "json")  # validates the id
        sock = self._connect(statedir.CONTROL_SOCK, timeout)
        try:
            request = control.encode_request(
                "exec", exec_id=exec_id, process=process, open_stdin=open_stdin, stdin_once=stdin_once,
                attach=None if attach is None else {"stdin": attach.stdin, "stdout": attach.stdout,
                                                    "stderr": attach.stderr})
            sock.sendall(request)
            answer = control.decode_answer(read_line(sock, 1 << 16))
        except ConnectionError as exc:
            sock.close()
            raise Conflict("container is not running") from exc
        except BaseException:
            sock.close()
            raise
        if attach is None:
            sock.close()
            return answer["pid"], None
        sock.settimeout(None)
        return answer["pid"], sock


class ShimHandle(ShimClient):
    """What spawning returns: a client that also knows what the spawn reported."""

    def __init__(self, state_dir: str, *, shim_pid: int, container_pid: int) -> None:
        super().__init__(state_dir)
        self.spawned_shim_pid = shim_pid
        self.container_pid = container_pid
