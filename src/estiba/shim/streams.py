"""One process's stdio on the shim's side: pipes or a pty, the log, the attached clients.

`ProcessIO.open(...)` makes the fds the new process will get (`child`); once the runtime
has made the process, `adopt()` closes the child's ends (and, with a tty, takes the pty
master from the console socket). From then on the event loop calls `on_ready(fd, events)`:
output goes to the log and to every subscriber that asked for that stream; what
subscribers send goes to the process's stdin, held back in a buffer, never blocking.
`Loop` is the small epoll loop those callbacks hang on.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import socket
import struct
import termios
from collections.abc import Callable

from estiba.shim.attach import Subscriber
from estiba.shim.logs import JsonFileLog
from estiba.shim.runtimes import ChildStdio
from estiba.shim.statedir import SocketPath

READ_SIZE = 65536
MAX_STDIN_BACKLOG = 1024 * 1024
IN, OUT, HUP, ERR = select.EPOLLIN, select.EPOLLOUT, select.EPOLLHUP, select.EPOLLERR


class Loop:
    """epoll with one callback per fd."""

    def __init__(self) -> None:
        self.epoll = select.epoll()
        self.handlers: dict[int, Callable[[int, int], None]] = {}
        self.masks: dict[int, int] = {}

    def add(self, fd: int, mask: int, handler: Callable[[int, int], None]) -> None:
        self.epoll.register(fd, mask)
        self.handlers[fd] = handler
        self.masks[fd] = mask

    def modify(self, fd: int, mask: int) -> None:
        if fd in self.handlers and self.masks[fd] != mask:
            self.epoll.modify(fd, mask)
            self.masks[fd] = mask

    def remove(self, fd: int) -> None:
        if self.handlers.pop(fd, None) is not None:
            self.masks.pop(fd, None)
            with contextlib.suppress(OSError):
                self.epoll.unregister(fd)

    def poll(self, timeout: float | None) -> None:
        for fd, events in self.epoll.poll(timeout if timeout is not None else -1):
            handler = self.handlers.get(fd)
            if handler is not None:
                handler(fd, events)


def _nonblocking(fd: int) -> None:
    os.set_blocking(fd, False)


class ProcessIO:
    """The stdio of the container's process or of one exec'd process."""

    def __init__(self, loop: Loop, *, tty: bool, open_stdin: bool, stdin_once: bool,
                 log: JsonFileLog | None) -> None:
        self.loop = loop
        self.tty = tty
        self.open_stdin = open_stdin
        self.stdin_once = stdin_once
        self.log = log
        self.subscribers: list[Subscriber] = []
        self.outputs: dict[int, str] = {}  # fd -> stream name
        self.stdin_fd = -1
        self.stdin_backlog = bytearray()
        self.stdin_closing = False
        self.master = -1
        self._child_fds: list[int] = []
        self._console: socket.socket | None = None
        self._console_path: SocketPath | None = None
        self._dir_fd = -1
        self.child: ChildStdio | None = None

    # ---- set-up --------------------------------------------------------------------------

    def open(self, state_dir: str, console_name: str) -> ChildStdio:
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        self._child_fds.append(null)
        if self.tty:
            self._console_path = SocketPath(state_dir, console_name)
            self._console = self._console_path.listen(1)
            path = self._console_path.full
            if len(path.encode()) >= 100:  # reachable by us and by a runtime binary
                self._dir_fd = os.open(state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                path = f"/proc/{os.getpid()}/fd/{self._dir_fd}/{console_name}"
            self.child = ChildStdio(null, null, null, console=path)
            return self.child
        if self.open_stdin:
            stdin_r, self.stdin_fd = os.pipe2(os.O_CLOEXEC)
            self._child_fds.append(stdin_r)
        else:
            stdin_r = null
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        self._child_fds += [out_w, err_w]
        self.outputs = {out_r: "stdout", err_r: "stderr"}
        self.child = ChildStdio(stdin_r, out_w, err_w)
        return self.child

    def adopt(self) -> None:
        """The process exists: drop its ends, take the pty master, start watching."""
        self._close_child_fds()
        if self.tty:
            self._console.settimeout(10)
            connection, _ = self._console.accept()
            with connection:
                _, fds, _, _ = socket.recv_fds(connection, 1024, 1)
            if not fds:
                raise OSError("the runtime sent no terminal on the console socket")
            self.master = fds[0]
            os.set_inheritable(self.master, False)
            self.outputs = {self.master: "stdout"}
            self.stdin_fd = self.master if self.open_stdin else -1
            self._close_console()
        for fd in self.outputs:
            _nonblocking(fd)
            self.loop.add(fd, IN, self.on_ready)
        if self.stdin_fd >= 0 and self.stdin_fd != self.master:
            _nonblocking(self.stdin_fd)
            self.loop.add(self.stdin_fd, 0, self.on_ready)

    def _close_child_fds(self) -> None:
        for fd in self._child_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._child_fds = []

    def _close_console(self) -> None:
        if self._console is not None:
            self._console.close()
            self._console = None
            self._console_path.unlink()
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1

    # ---- running -------------------------------------------------------------------------

    @property
    def output_open(self) -> bool:
        return bool(self.outputs)

    def on_ready(self, fd: int, events: int) -> None:
        if fd in self.outputs and events & (IN | HUP | ERR):
            self._read_output(fd)
        if fd == self.stdin_fd and events & (OUT | ERR | HUP):
            self._write_stdin()

    def _read_output(self, fd: int) -> None:
        stream = self.outputs[fd]
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:  # EIO: every holder of the pty's other side has gone
            data = b""
        if not data:
            self._end_output(fd)
            return
        if self.log is not None:
            self.log.write(stream, data)
        for subscriber in list(self.subscribers):
            subscriber.deliver(stream, data)

    def _end_output(self, fd: int) -> None:
        stream = self.outputs.pop(fd)
        if self.log is not None:
            self.log.flush(stream)
        self.loop.remove(fd)
        if fd == self.master:  # the pty carried stdin too
            self.stdin_fd, self.master = -1, -1
            self.stdin_backlog.clear()
        os.close(fd)

    def drain_output(self) -> None:
        """Read whatever is already in the pipes (after the process has exited)."""
        for fd in list(self.outputs):
            while fd in self.outputs:
                try:
                    data = os.read(fd, READ_SIZE)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if data:
                    if self.log is not None:
                        self.log.write(self.outputs[fd], data)
                    for subscriber in list(self.subscribers):
                        subscriber.deliver(self.outputs[fd], data)
                else:
                    self._end_output(fd)

    # ---- stdin ---------------------------------------------------------------------------

    @property
    def stdin_full(self) -> bool:
        return len(self.stdin_backlog) >= MAX_STDIN_BACKLOG

    def write_stdin(self, data: bytes) -> None:
        if self.stdin_fd < 0 or self.stdin_closing or not data:
            return
        self.stdin_backlog += data
        self._write_stdin()

    def _write_stdin(self) -> None:
        while self.stdin_backlog and self.stdin_fd >= 0:
            try:
                written = os.write(self.stdin_fd, self.stdin_backlog)
            except BlockingIOError:
                break
            except OSError:  # the process closed its stdin: what it does not read is lost
                self.stdin_backlog.clear()
                break
            del self.stdin_backlog[:written]
        if self.stdin_closing and not self.stdin_backlog:
            self._close_stdin_now()
        elif self.stdin_fd >= 0:
            self._watch_stdin()

    def _watch_stdin(self) -> None:
        wants_out = OUT if self.stdin_backlog else 0
        if self.stdin_fd == self.master:
            self.loop.modify(self.master, IN | wants_out)
        else:
            self.loop.modify(self.stdin_fd, wants_out)

    def close_stdin(self) -> None:
        """Close the process's stdin once what is buffered has been written."""
        self.stdin_closing = True
        self._write_stdin()

    def _close_stdin_now(self) -> None:
        self.stdin_backlog.clear()
        if self.stdin_fd < 0:
            return
        fd, self.stdin_fd = self.stdin_fd, -1
        if fd == self.master:  # a pty has no separate input side: stop forwarding
            self.loop.modify(fd, IN)
            return
        self.loop.remove(fd)
        os.close(fd)

    def resize(self, rows: int, cols: int) -> None:
        if self.master < 0:
            from estiba.errors import Conflict

            raise Conflict("the process has no terminal to resize")
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def close(self) -> None:
        self._close_child_fds()
        self._close_console()
        for fd in list(self.outputs):
            self._end_output(fd)
        self._close_stdin_now()
        if self.master >= 0:
            self.loop.remove(self.master)
            os.close(self.master)
            self.master = -1
