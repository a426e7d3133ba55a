"""Starting estibad for a root user whose CLI finds no daemon on the default socket.

docker makes you start dockerd yourself; `estiba run` on a fresh machine just works: the
CLI starts `estibad` in the background (its own session, output to a log file), waits for
the socket to answer and says so in one line. Only for the default socket and root;
ESTIBA_NO_AUTOSTART=1 turns it off. A lock serialises CLIs racing to do it.
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from estiba.errors import Unavailable

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import IO

__all__ = ["LOG_FILE", "may_autostart", "start_daemon"]

LOG_FILE = Path("/var/log/estiba/estibad.log")
LOCK_FILE = Path("/run/estiba/autostart.lock")
READY_TIMEOUT = 20.0


def may_autostart(host: str, default_host: str, environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return host == default_host and os.geteuid() == 0 and env.get("ESTIBA_NO_AUTOSTART", "") in ("", "0")


def answers(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def _daemon_argv() -> list[str]:
    beside = Path(sys.executable).parent / "estibad"
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-m", "estiba.daemon.main"]


def start_daemon(socket_path: str, stderr: IO[str] | None = None) -> None:
    """Start estibad unless another CLI did meanwhile; return once its socket answers."""
    LOCK_FILE.parent.mkdir(mode=0o711, parents=True, exist_ok=True)
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if answers(socket_path):
            return
        LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
        with open(LOG_FILE, "ab") as log:
            process = subprocess.Popen(
                _daemon_argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True, close_fds=True,
            )
        (stderr or sys.stderr).write(
            f"estiba: no daemon was running; started estibad in the background "
            f"(pid {process.pid}, log {LOG_FILE})\n"
        )
        deadline = time.monotonic() + READY_TIMEOUT
        while not answers(socket_path):
            if process.poll() is not None:
                raise Unavailable(
                    f"estibad exited with status {process.returncode} at start",
                    hint=f"see {LOG_FILE}",
                )
            if time.monotonic() > deadline:
                raise Unavailable(
                    f"estibad started (pid {process.pid}) but {socket_path} does not answer",
                    hint=f"see {LOG_FILE}; is another socket set in /etc/estiba/daemon.json?",
                )
            time.sleep(0.02)
