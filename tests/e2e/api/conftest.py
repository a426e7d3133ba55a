"""The API served in a background thread from the fakes, for real clients to talk to.

`served` yields a ServedApi: its unix socket, the fakes behind it, `docker(*args)` to run
the docker CLI (28.x) against it with a private config directory, and `call(fn)` to run
a function on the server's loop (to inspect or change the fakes without races).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest

from estiba.api.app import build_app
from estiba.api.server import ApiServer
from tests.unit.api.harness import ApiHarness

T = TypeVar("T")

DOCKER = shutil.which("docker") or "/usr/local/bin/docker"


class ServedApi:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "api.sock"
        self.url = f"unix://{self.socket}"
        self.fakes = ApiHarness()
        self.engine = self.fakes.engine
        self.images = self.fakes.images
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = ApiServer(build_app(self.fakes.backends), self.socket)
        self.env = {
            **os.environ,
            "DOCKER_CONFIG": str(directory / "docker-config"),
            "DOCKER_HOST": self.url,
            "DOCKER_CLI_HINTS": "false",
        }
        self.env.pop("DOCKER_CONTEXT", None)

    def start(self) -> None:
        self._thread.start()
        self.submit(self._server.start()).result(10)

    def stop(self) -> None:
        self.submit(self._server.stop()).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def submit(self, coro: Any) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call(self, fn: Callable[[], T]) -> T:
        async def run() -> T:
            return fn()

        return self.submit(run()).result(10)

    def docker(
        self, *args: str, input: str | None = None, timeout: float = 20, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [DOCKER, "-H", self.url, *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"docker {' '.join(args)} exited {result.returncode}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result


@pytest.fixture
def served() -> Iterator[ServedApi]:
    if not os.access(DOCKER, os.X_OK):
        pytest.skip("the docker CLI is not installed")
    directory = Path(tempfile.mkdtemp(prefix="estiba-e2e-"))
    api = ServedApi(directory)
    api.start()
    try:
        yield api
    finally:
        api.stop()
        shutil.rmtree(directory, ignore_errors=True)
