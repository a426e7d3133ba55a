"""Becoming a shim: leave the spawner's session and process tree, then run the monitor.

Shared by the fork server's children and by `python -m estiba.shim`: setsid (and, from
`python -m estiba.shim`, a second fork) make the shim a process in a session of its own
that outlives its spawner: when the daemon and fork server die it is reparented to init
(or the nearest subreaper), and the shim and its container go on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from estiba.shim import statedir
from estiba.shim.spec import ShimSpec


def detach_and_run(state_dir: str, start: bool, ready_fd: int, close_fds: tuple[int, ...] = (),
                   *, fork_again: bool = True) -> None:
    """In a fresh fork: new session, fork again (unless the parent reaps its children
    without waiting for them, as the fork server does), and run the shim.

    Never returns: an intermediate process exits at once (so its parent can reap it),
    the shim exits when its container has been recorded and deleted.
    """
    code = 1
    try:
        # The fork server ignores SIGCHLD (its children are reaped by the kernel); the
        # shim waits for its own children, so it must not inherit that.
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        if fork_again and os.fork() != 0:
            os._exit(0)
        for fd in close_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        code = main(ShimSpec.read(state_dir), start=start, ready_fd=ready_fd)
    except BaseException:  # noqa: BLE001 - a child must never return into its parent's code
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def main(spec: ShimSpec, *, start: bool = True, ready_fd: int = -1) -> int:
    """The shim process's entry point (after the spawner has detached it)."""
    from estiba.shim.monitor import Monitor
    from estiba.shim.runtimes import for_spec

    _become_shim(spec)
    return Monitor(spec, for_spec(spec), start=start, ready_fd=ready_fd).run()


def _become_shim(spec: ShimSpec) -> None:
    """Own name, own stdio (shim.log), a subreaper, and signals of our own."""
    from estiba.runtime import syscalls as sc

    sc.Syscalls().prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
    with contextlib.suppress(OSError), open("/proc/self/comm", "wb") as comm:
        comm.write(statedir.SHIM_NAME)  # how `alive()` tells a shim from a recycled pid
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open(os.path.join(spec.state_dir, statedir.SHIM_LOG), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    for fd, source in ((0, null), (1, log), (2, log)):
        os.dup2(source, fd)
    os.close(null)
    os.close(log)
    # No signal is ignored here: an ignored signal would survive into the container's
    # program. The shim has its own session and no terminal, so none comes by accident.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
