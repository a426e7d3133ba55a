"""One real estibad for the end-to-end tests at this level, started once per session with a
busybox image and, on demand, a Debian bookworm image made by debootstrap (about 50 s, so
made once; its `docker save` archive lets a test that removes it put it back in seconds).

Needs root (mounts, namespaces, cgroups, debootstrap) and the docker CLI; skipped otherwise.
Set ESTIBA_E2E_DEBIAN_TAR to an archive of debian:bookworm and debian:latest (`docker save`)
to load that instead of running debootstrap, when iterating on the tests themselves.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.daemon.conftest import BIN, DOCKER, Estibad

DEBIAN_TAGS = ("debian:bookworm", "debian:latest")


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estibad]:
    """The session's estibad, with busybox:latest. Tests remove what they make."""
    if os.geteuid() != 0:
        pytest.skip("needs root: containers need mounts, namespaces and cgroups")
    if not os.access(DOCKER, os.X_OK):
        pytest.skip(f"the docker CLI is not installed at {DOCKER}")
    daemon = Estibad(tmp_path_factory.mktemp("engine"))
    daemon.start()
    try:
        daemon.estiba("image", "bootstrap", "busybox")
        yield daemon
        leftovers = daemon.docker("ps", "-aq", check=False).stdout.decode().split()
        if leftovers:
            daemon.docker("rm", "-f", *leftovers, check=False)
    finally:
        daemon.kill()
        daemon.reap()  # what a killed daemon leaves: containers, mounts, bridges, tables


@dataclass
class DebianImage:
    """debian:bookworm (also tagged debian:latest) in the session's engine."""

    engine: Estibad
    archive: Path

    def restore(self) -> None:
        """Put the image back after a test removed it (or one of its tags)."""
        self.engine.docker("load", "-i", str(self.archive), timeout=120)


@pytest.fixture(scope="session")
def debian(engine: Estibad, tmp_path_factory: pytest.TempPathFactory) -> DebianImage:
    cached = os.environ.get("ESTIBA_E2E_DEBIAN_TAR")
    if cached and Path(cached).is_file():
        engine.docker("load", "-i", cached, timeout=120)
    elif shutil.which("debootstrap") is None:
        pytest.skip("debootstrap is not installed: apt-get install debootstrap")
    else:
        engine.estiba("image", "bootstrap", "debian:bookworm", timeout=600)
    archive = tmp_path_factory.mktemp("debian") / "debian.tar"
    engine.docker("save", "-o", str(archive), *DEBIAN_TAGS, timeout=120)
    return DebianImage(engine, archive)


@dataclass
class Cli:
    """One of the two command lines (estiba's or docker's) pointed at the session engine."""

    name: str
    engine: Estibad

    @property
    def argv(self) -> list[str]:
        program = DOCKER if self.name == "docker" else str(BIN / "estiba")
        return [program, "-H", self.engine.url]

    @property
    def env(self) -> dict[str, str]:
        return {**self.engine.env, "TERM": "xterm"}

    def __call__(
        self, *args: str, input: bytes | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[bytes]:
        """Run the command to the end; `check` fails the test on a non-zero exit."""
        return self.engine._run([*self.argv, *args], input, check, timeout)

    def out(self, *args: str, input: bytes | None = None) -> str:
        """The command's stdout, after checking that it exited 0."""
        return self(*args, input=input).stdout.decode()

    def command(self, *args: str) -> Sequence[str]:
        return [*self.argv, *args]


@pytest.fixture(params=["estiba", "docker"])
def cli(request: pytest.FixtureRequest, engine: Estibad) -> Cli:
    """Each test using it runs twice: with the estiba CLI and with the docker CLI."""
    return Cli(request.param, engine)
