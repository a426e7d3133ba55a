"""The estiba CLI against the API served from the fakes: `cli.estiba(*args)` runs the
real command in a subprocess with -H pointing at the temporary socket."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.api.conftest import DOCKER, ServedApi

ESTIBA = [sys.executable, "-m", "estiba.cli.main"]


class CliUnderTest(ServedApi):
    def estiba(
        self, *args: str, input: str | None = None, timeout: float = 20, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "ESTIBA_HOST")}
        result = subprocess.run(
            [*ESTIBA, "-H", self.url, *args],
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"estiba {' '.join(args)} exited {result.returncode}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    @property
    def has_docker(self) -> bool:
        return os.access(DOCKER, os.X_OK)


@pytest.fixture
def cli() -> Iterator[CliUnderTest]:
    directory = Path(tempfile.mkdtemp(prefix="estiba-cli-"))
    api = CliUnderTest(directory)
    api.start()
    try:
        yield api
    finally:
        api.stop()
        shutil.rmtree(directory, ignore_errors=True)
