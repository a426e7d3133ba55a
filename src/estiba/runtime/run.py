"""`run`: create, start, and (unless detached) wait, forward signals, proxy the terminal, delete.

Waiting needs the container's process to be our child, so the runtime makes itself a
child subreaper before it forks: the container's first process, orphaned when the
intermediate process exits, comes back to us.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys

from estiba.runtime import container
from estiba.runtime.state import DEFAULT_ROOT

FORWARDED_SIGNALS = (
    signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1,
    signal.SIGUSR2, signal.SIGWINCH, signal.SIGCONT,
)


def run(
    container_id: str,
    bundle: str,
    *,
    root: str = DEFAULT_ROOT,
    console_socket: str | None = None,
    pid_file: str | None = None,
    detach: bool = False,
    no_pivot: bool = False,
    keep: bool = False,
    preserve_fds: int = 0,
) -> int:
    """Run a container; returns its exit code (0 when detached)."""
    from estiba.runtime.spec import load_bundle

    loaded = load_bundle(bundle)
    process = loaded[0].process
    own_terminal = process is not None and process.terminal and console_socket is None
    if own_terminal and detach:
        from estiba.errors import InvalidArgument

        raise InvalidArgument("cannot allocate a terminal for a detached container without --console-socket")
    ours = theirs = None
    if own_terminal:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    # Like runc, catch the forwarded signals before the container exists: one arriving
    # between start and the wait would otherwise kill us and orphan the container.
    forwarder = None if detach else SignalForwarder()
    try:
        state = container.create(
            container_id,
            bundle,
            root=root,
            console_socket=theirs if own_terminal else console_socket,
            pid_file=pid_file,
            no_pivot=no_pivot,
            preserve_fds=preserve_fds,
            subreaper=not detach,
            loaded=loaded,
        )
        master = None
        try:
            if own_terminal:
                from estiba.runtime.console import receive_master

                master = receive_master(ours)
                ours.close()
            container.start(container_id, root=root)
        except BaseException:
            with contextlib.suppress(Exception):
                container.delete(container_id, force=True, root=root)
            raise
        if detach:
            return 0
        forwarder.target(state.pid, master)
        try:
            status = wait_for_exit(state.pid, master)
        finally:
            if master is not None:
                os.close(master)
    finally:
        if forwarder is not None:
            forwarder.restore()
    _report_oom(state)
    if not keep:
        container.delete(container_id, force=True, root=root)
    return container.exit_code(status)


def _report_oom(state) -> None:
    with contextlib.suppress(Exception):
        if container.load_manager(state).oom_kill_count() > 0:
            print(f"estiba-runtime: container {state.id} was OOM-killed (memory limit reached)", file=sys.stderr)


class SignalForwarder:
    """Sends FORWARDED_SIGNALS on to the container; those that come before its pid is
    known wait, and go once it is."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.master: int | None = None
        self.pending: list[int] = []
        self.previous = {signum: signal.signal(signum, self._handle) for signum in FORWARDED_SIGNALS}

    def _handle(self, signum: int, _frame=None) -> None:
        if self.pid is None:
            self.pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            if signum == signal.SIGWINCH and self.master is not None:
                _copy_window_size(self.master)
            os.kill(self.pid, signum)

    def target(self, pid: int, master: int | None) -> None:
        self.pid, self.master = pid, master
        pending, self.pending = self.pending, []
        for signum in pending:
            self._handle(signum)

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def wait_for_exit(pid: int, master: int | None) -> int:
    """Wait for our child `pid`, proxying the terminal `master` if there is one; the wait status."""
    proxy = None
    try:
        if master is not None:
            proxy = _TerminalProxy(master)
            proxy.start()
        while True:
            waited, status = os.waitpid(pid, 0)
            if waited == pid:
                return status
    finally:
        if proxy is not None:
            proxy.stop()


def _copy_window_size(master: int) -> None:
    import fcntl
    import termios

    with contextlib.suppress(OSError):
        size = fcntl.ioctl(sys.stdin.fileno(), termios.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(master, termios.TIOCSWINSZ, size)


class _TerminalProxy:
    """Copies our stdin to the pty master and the master to our stdout, in two threads."""

    def __init__(self, master: int) -> None:
        self.master = master
        self.saved_mode = None
        self.threads = []

    def start(self) -> None:
        import threading

        if os.isatty(0):
            import termios
            import tty

            self.saved_mode = termios.tcgetattr(0)
            tty.setraw(0)
            _copy_window_size(self.master)
        for source, target in ((0, self.master), (self.master, 1)):
            thread = threading.Thread(target=self._copy, args=(source, target), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _copy(self, source: int, target: int) -> None:
        while True:
            try:
                data = os.read(source, 65536)
            except OSError:
                return  # EIO: the container side of the pty closed
            if not data:
                return
            try:
                os.write(target, data)
            except OSError:
                return

    def stop(self) -> None:
        # Drain what the program printed last before the pty goes away.
        self.threads[1].join(timeout=1.0)
        if self.saved_mode is not None:
            import termios

            termios.tcsetattr(0, termios.TCSADRAIN, self.saved_mode)
