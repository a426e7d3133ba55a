"""The CLI starts estibad when nothing answers on the default socket (root only), says so
in one line, and does not when ESTIBA_NO_AUTOSTART=1 or another host is given.

It uses the real default paths (/run/estiba, /var/lib/estiba), so it skips when a daemon
already serves there, and removes what it made.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.cli.autostart import LOG_FILE, answers
from tests.integration.daemon.conftest import BIN

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.timeout(120),
]

SOCKET = "/run/estiba/estiba.sock"
MADE = [Path("/var/lib/estiba"), Path("/run/estiba"), LOG_FILE.parent]


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("ESTIBA_HOST", "DOCKER_HOST", "ESTIBA_NO_AUTOSTART")}
    return subprocess.run([str(BIN / "estiba"), *args], capture_output=True, text=True,
                          env={**environ, **env}, stdin=subprocess.DEVNULL, timeout=60)


def _end(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while Path(f"/proc/{pid}").exists() and open(f"/proc/{pid}/stat").read().split()[2] != "Z":
        assert time.monotonic() < deadline, f"estibad {pid} did not stop"
        time.sleep(0.05)


@pytest.fixture
def default_paths() -> Iterator[list[int]]:
    if answers(SOCKET):
        pytest.skip(f"a daemon already serves {SOCKET}")
    existed = {path: path.exists() for path in MADE}
    started: list[int] = []
    yield started
    for pid in started:
        if Path(f"/proc/{pid}").exists():
            _end(pid)
    for path, was_there in existed.items():
        if not was_there:
            shutil.rmtree(path, ignore_errors=True)


def test_cli_starts_the_daemon_once_and_says_so(default_paths: list[int]) -> None:
    refused = cli("ps", ESTIBA_NO_AUTOSTART="1")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"Cannot connect to the Estiba daemon at unix://{SOCKET}. Is the daemon running?"
    ]
    first = cli("ps")
    match = re.fullmatch(
        r"estiba: no daemon was running; started estibad in the background "
        rf"\(pid (\d+), log {re.escape(str(LOG_FILE))}\)\n", first.stderr)
    assert match, first.stderr
    default_paths.append(int(match.group(1)))
    assert first.returncode == 0
    assert first.stdout.startswith("CONTAINER ID")
    second = cli("ps")
    assert (second.returncode, second.stderr) == (0, "")
    assert answers(SOCKET)


def test_no_autostart_for_another_host(default_paths: list[int], tmp_path: Path) -> None:
    result = cli("-H", f"unix://{tmp_path}/none.sock", "ps")
    assert result.returncode == 1
    assert "Cannot connect" in result.stderr
    assert not answers(SOCKET)
