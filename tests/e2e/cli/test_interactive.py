"""`estiba run -it` driven through a pseudo-terminal, as a person at a terminal would:
raw mode, input echoed by the container's TTY, its exit code, and Ctrl-P Ctrl-Q."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time

from tests.e2e.cli.conftest import ESTIBA


def _spawn(cli, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    controller, terminal = os.openpty()
    _set_size(controller, 24, 80)
    env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "ESTIBA_HOST")}
    process = subprocess.Popen(
        [*ESTIBA, "-H", cli.url, *args],
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        env=env,
        start_new_session=True,
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


def _resizes(cli) -> list[tuple[int, int]]:
    calls = cli.call(lambda: cli.engine.calls_of("resize_container"))
    return [(c["height"], c["width"]) for c in calls]


def _wait_for_resizes(cli, count: int) -> list[tuple[int, int]]:
    """The client sends the terminal size once its terminal is raw and it is attached."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(found := _resizes(cli)) >= count:
            return found
        time.sleep(0.02)
    raise AssertionError(f"expected {count} resize calls, saw {_resizes(cli)}")


def _set_size(fd: int, rows: int, columns: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def test_run_it_echoes_input_and_detaches_with_ctrl_p_ctrl_q(cli):
    process, terminal = _spawn(cli, "run", "-it", "--name", "shell", "busybox", "cat")
    try:
        assert _wait_for_resizes(cli, 1) == [(24, 80)]
        _set_size(terminal, 40, 100)
        process.send_signal(signal.SIGWINCH)
        assert _wait_for_resizes(cli, 2)[-1] == (40, 100)
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
    assert create["HostConfig"]["ConsoleSize"] == [24, 80]
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


def test_exec_it_echoes_resizes_and_exits_with_the_commands_code(cli):
    cli.estiba("run", "-d", "--name", "srv", "busybox", "sleep", "100")
    process, terminal = _spawn(cli, "exec", "-it", "srv", "sh", "-c", "echo inside; exit 6")
    try:
        assert b"inside" in _read_until(terminal, b"inside")
        assert process.wait(10) == 6
    finally:
        if process.poll() is None:
            process.kill()
        os.close(terminal)
    assert cli.engine.last("create_exec")["config"].tty is True
    assert cli.call(lambda: cli.engine.calls_of("resize_exec"))[0]["height"] == 24
