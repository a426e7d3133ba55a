"""A real `estibad` in a subprocess with its own data root, exec root and socket, and the
clients that talk to it: the docker CLI, the estiba CLI and docker-py."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"
BIN = Path(sys.executable).parent


class Estibad:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.data_root = directory / "data"
        self.exec_root = directory / "run"
        self.socket = directory / "run" / "estiba.sock"
        self.url = f"unix://{self.socket}"
        self.config_file = directory / "daemon.json"
        self.config_file.write_text(json.dumps({"log-level": "info"}))
        self.stderr = directory / "estibad.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "DOCKER_CONFIG": str(directory / "docker-config"),
            "DOCKER_HOST": self.url,
            "DOCKER_CLI_HINTS": "false",
            "ESTIBA_NO_AUTOSTART": "1",
        }
        self.env.pop("DOCKER_CONTEXT", None)

    def argv(self) -> list[str]:
        return [
            str(BIN / "estibad"),
            "--config-file", str(self.config_file),
            "--data-root", str(self.data_root),
            "--exec-root", str(self.exec_root),
            "-H", self.url,
        ]  # fmt: skip

    def start(self, timeout: float = 15) -> None:
        with open(self.stderr, "ab") as log:
            self.process = subprocess.Popen(self.argv(), stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while not self.answers():  # a killed daemon leaves its socket file behind
            if self.process.poll() is not None:
                raise AssertionError(f"estibad exited: {self.stderr.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no socket after {timeout}s: {self.stderr.read_text()}")
            time.sleep(0.05)

    def answers(self) -> bool:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.socket))
            except OSError:
                return False
        return True

    def terminate(self, timeout: float = 15) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        self.process = None
        return code

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def reap(self) -> None:
        """After the daemon is gone: end the containers it left running (they outlive it
        by design) and unmount their roots, so that a failed test leaks nothing."""
        from estiba.shim import statedir

        shims = []
        for state_dir in (self.exec_root / "containers").glob("*/shim"):
            shim = statedir.read_int(str(state_dir / statedir.SHIM_PID))
            if not statedir.shim_running(shim):
                continue
            container = statedir.read_int(str(state_dir / statedir.CONTAINER_PID))
            if container:
                with contextlib.suppress(OSError):
                    os.kill(container, signal.SIGKILL)
            shims.append(shim)
        deadline = time.monotonic() + 15
        while any(statedir.shim_running(pid) for pid in shims) and time.monotonic() < deadline:
            time.sleep(0.05)
        with open("/proc/self/mountinfo") as handle:
            mounts = [line.split()[4] for line in handle if str(self.directory) in line]
        for mount in reversed(mounts):
            subprocess.run(["umount", "-l", mount], capture_output=True)
        from estiba.network import cleanup  # its bridges, veths and nftables tables

        with contextlib.suppress(Exception):
            cleanup(self.data_root, self.exec_root)

    def docker(
        self, *args: str, input: bytes | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[bytes]:
        return self._run([DOCKER, "-H", self.url, *args], input, check, timeout)

    def estiba(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[bytes]:
        return self._run([str(BIN / "estiba"), "-H", self.url, *args], None, check, timeout)

    def _run(
        self, argv: list[str], input: bytes | None, check: bool, timeout: float
    ) -> subprocess.CompletedProcess[bytes]:
        result = subprocess.run(
            argv,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            env=self.env,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{argv[0]} {' '.join(argv[3:])} exited {result.returncode}:\n"
                f"{result.stderr.decode(errors='replace')}"
            )
        return result


@pytest.fixture
def make_daemon(tmp_path: Path) -> Iterator[Callable[[], Estibad]]:
    made: list[Estibad] = []

    def make() -> Estibad:
        directory = tmp_path / f"estibad{len(made)}"
        directory.mkdir()
        daemon = Estibad(directory)
        made.append(daemon)
        return daemon

    yield make
    for daemon in made:
        daemon.kill()
        daemon.reap()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estibad]:
    daemon = Estibad(tmp_path_factory.mktemp("estibad"))
    daemon.start()
    yield daemon
    daemon.kill()
    daemon.reap()


@pytest.fixture(scope="module")
def busybox(daemon: Estibad) -> Iterator[Estibad]:
    """The module's daemon, with the busybox image bootstrapped."""
    daemon.estiba("image", "bootstrap", "busybox")
    yield daemon
