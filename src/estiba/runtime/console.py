"""The container's terminal: a pty made inside the container, its master sent to the caller.

As runc does it: the pty comes from the container's own devpts instance, the master goes
over the console socket (SCM_RIGHTS) to whoever asked, and the slave becomes the process's
controlling terminal and stdio.
"""

from __future__ import annotations

import os
import socket
import struct

from estiba.runtime import syscalls as sc

TIOCSWINSZ = 0x5414


def connect(path: str) -> socket.socket:
    """Open the caller's console socket (done by the runtime before it forks)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"console socket {path}: {exc.strerror}") from exc
    return sock


def setup(calls: sc.Syscalls, console: socket.socket, size: tuple[int, int] | None, mount_console: bool) -> None:
    """Make the pty, send its master away, make the slave our terminal and stdio."""
    import fcntl

    master, slave = os.openpty()
    try:
        if size and size[0] and size[1]:
            fcntl.ioctl(slave, TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
        slave_path = os.ttyname(slave)
        socket.send_fds(console, [b"/dev/ptmx"], [master])
    finally:
        os.close(master)
        console.close()
    if mount_console:
        if not os.path.lexists("/dev/console"):
            os.close(os.open("/dev/console", os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o600))
        calls.mount(slave_path, "/dev/console", "bind", sc.MS_BIND)
    calls.set_controlling_terminal(slave)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


def receive_master(sock: socket.socket) -> int:
    """Receive a pty master sent by `setup` (used by `run` and tests)."""
    _, fds, _, _ = socket.recv_fds(sock, 1024, 1)
    if not fds:
        raise OSError("console socket closed without a terminal")
    return fds[0]
