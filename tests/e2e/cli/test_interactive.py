"""`estiba run -it` driven through a pseudo-terminal, as a person at a terminal would:
raw mode, input echoed by the container's TTY, its exit code, and Ctrl-P Ctrl-Q."""

from __future__ import annotations

import os
import select
import subprocess
import time

from tests.e2e.cli.conftest import ESTIBA


def _spawn(cli, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    controller, terminal = os.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "ESTIBA_HOST")}
    process = subprocess.Popen(
        [*ESTIBA, "-H", cli.url, *args],
        stdin=terminal, stdout=terminal, stderr=terminal, env=env, start_new_session=True,
    )
    os.close(terminal)
    return process, controller


def _read_until(fd: int, wanted: bytes, timeout: float = 10) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def _wait_for_tty_session(cli, name: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if cli.call(lambda: bool(cli.engine.calls_of("start_container"))):
            c = cli.call(lambda: [c for c in cli.engine.containers.values() if c.name == name])
            if c and c[0].status == "running":
                return
        time.sleep(0.05)
    raise AssertionError(f"container {name} never started")


def test_run_it_echoes_input_and_detaches_with_ctrl_p_ctrl_q(cli):
    process, terminal = _spawn(cli, "run", "-it", "--name", "shell", "busybox", "cat")
    try:
        _wait_for_tty_session(cli, "shell")
        os.write(terminal, b"hola\r")
        assert b"hola" in _read_until(terminal, b"hola")
        os.write(terminal, b"\x10\x11")  # ctrl-p ctrl-q
        assert process.wait(10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(terminal)
    create = cli.engine.last("create_container")["config"]
    assert create["Tty"] and create["OpenStdin"] and create["AttachStdin"]
    assert cli.engine.calls_of("resize_container"), "the terminal size was sent"
    status = cli.estiba("ps", "--format", "{{.Names}} {{.State}}").stdout
    assert status == "shell running\n"  # detaching left it running


def test_run_it_exits_with_the_containers_code(cli):
    process, terminal = _spawn(cli, "run", "-it", "busybox", "sh", "-c", "echo bye; exit 5")
    try:
        assert b"bye" in _read_until(terminal, b"bye")
        assert process.wait(10) == 5
    finally:
        if process.poll() is None:
            process.kill()
        os.close(terminal)
