"""Wiring a hijacked connection to this terminal: output, stdin, raw mode, resize, detach.

Output is the main thread's job (raw bytes with a TTY, 8-byte frames without); stdin is
copied by a daemon thread that half-closes the socket at EOF. With `-t` on a terminal,
the terminal goes raw for the session, SIGWINCH resizes the container's TTY, and the
detach keys (Ctrl-P Ctrl-Q) end the session without stopping the container.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator

from estiba.cli.client import STDERR, Hijacked, demux
from estiba.errors import InvalidArgument

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import BinaryIO

__all__ = ["DETACH_KEYS", "Session", "check_tty", "terminal_size"]

DETACH_KEYS = b"\x10\x11"  # ctrl-p, ctrl-q
_DETACH_GRACE = 2.0  # seconds the daemon has to end a detached stream


def check_tty(stdin: bool, tty: bool) -> None:
    """`-it` needs a terminal on stdin, as docker insists before it creates anything."""
    if stdin and tty and not os.isatty(sys.stdin.fileno()):
        raise InvalidArgument("the input device is not a TTY")


def terminal_size(fd: int) -> tuple[int, int] | None:
    """(height, width) of the terminal on fd, or None when it is not a terminal."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


class Session:
    """One attach or exec session; `run()` returns True when the user detached."""

    def __init__(
        self,
        connection: Hijacked,
        *,
        tty: bool,
        stdin: bool,
        resize: Callable[[int, int], None] | None = None,
        detach_keys: bytes = DETACH_KEYS,
        stdin_fd: int | None = None,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
    ) -> None:
        self.connection = connection
        self.tty = tty
        self.stdin = stdin
        self.resize = resize
        self.detach_keys = detach_keys
        self.detached = False
        if stdin_fd is None:
            stdin_fd = sys.stdin.fileno() if stdin else -1
        self._stdin_fd = stdin_fd
        self._stdout = stdout
        self._stderr = stderr

    def run(self) -> bool:
        with self._raw_terminal(), self._resizing():
            if self.stdin:
                threading.Thread(target=self._copy_stdin, daemon=True).start()
            self._copy_output()
        self.connection.close()
        return self.detached

    # --- output -------------------------------------------------------------------

    def _copy_output(self) -> None:
        sys.stdout.flush()
        out = self._stdout or sys.stdout.buffer
        err = self._stderr or sys.stderr.buffer
        if self.tty:
            while data := self.connection.recv():
                out.write(data)
                out.flush()
            return
        for stream, data in demux(self.connection.read_exactly):
            target = err if stream == STDERR else out
            target.write(data)
            target.flush()

    # --- input --------------------------------------------------------------------

    def _copy_stdin(self) -> None:
        matched = 0
        try:
            while data := os.read(self._stdin_fd, 4096):
                forward = bytearray()
                for byte in data:
                    if self.tty and self.detach_keys and byte == self.detach_keys[matched]:
                        matched += 1
                        if matched == len(self.detach_keys):
                            self._detach(bytes(forward))
                            return
                        continue
                    forward += self.detach_keys[:matched]
                    matched = 0
                    forward.append(byte)
                if forward:
                    self.connection.send(bytes(forward))
        except OSError:
            return
        self.connection.close_write()

    def _detach(self, pending: bytes) -> None:
        """Send the keys on: the daemon detaches without closing the container's stdin
        (a hang-up would close it), then ends the stream. Hang up only if it does not."""
        self.detached = True
        with contextlib.suppress(OSError):
            self.connection.send(pending + self.detach_keys)
        timer = threading.Timer(_DETACH_GRACE, self._hang_up)
        timer.daemon = True
        timer.start()

    def _hang_up(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.sock.shutdown(socket.SHUT_RDWR)

    # --- terminal -----------------------------------------------------------------

    @contextlib.contextmanager
    def _raw_terminal(self) -> Iterator[None]:
        if not (self.tty and self.stdin and os.isatty(self._stdin_fd)):
            yield
            return
        import termios
        import tty

        saved = termios.tcgetattr(self._stdin_fd)
        tty.setraw(self._stdin_fd, termios.TCSANOW)  # keep what was typed ahead
        try:
            yield
        finally:
            termios.tcsetattr(self._stdin_fd, termios.TCSADRAIN, saved)

    @contextlib.contextmanager
    def _resizing(self) -> Iterator[None]:
        if (
            not (self.tty and self.resize)
            or threading.current_thread() is not threading.main_thread()
        ):
            yield
            return

        def on_winch(_signum: int, _frame: object) -> None:
            self._send_size()

        previous = signal.signal(signal.SIGWINCH, on_winch)
        self._send_size()
        try:
            yield
        finally:
            signal.signal(signal.SIGWINCH, previous)

    def _send_size(self) -> None:
        size = terminal_size(sys.stdout.fileno())
        if size is not None and self.resize is not None:
            with contextlib.suppress(Exception):
                self.resize(*size)
