"""Fixtures for the shim tests: a fork server, specs in short temporary roots, and a check
that every test leaves no shim, container process, cgroup, mount or runtime state behind."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from estiba.shim import ForkServer, ShimSpec
from estiba.shim.statedir import read_int, shim_running

RUNC = shutil.which("runc") or "/usr/sbin/runc"
# The same test with the estiba.runtime library in the shim and with runc's binary.
RUNTIMES = pytest.mark.parametrize("runtime", [
    pytest.param("estiba", id="estiba"),
    pytest.param(RUNC, id="runc", marks=pytest.mark.skipif(not os.access(RUNC, os.X_OK), reason="no runc")),
])


def live_shims(base: Path) -> set[int]:
    """The shims of this test's containers that are still running (zombies do not count:
    this machine's init reaps orphans lazily)."""
    pids = (read_int(str(path)) for path in base.glob("exec/*/shim.pid"))
    return {pid for pid in pids if shim_running(pid)}


def cgroup_dirs(prefix: str) -> set[str]:
    """Cgroups named after this test's containers, wherever a runtime put them (runc nests
    them under its own cgroup); other people's tests make cgroups on this machine too."""
    found = set()
    for depth in range(1, 5):
        found.update(glob.glob("/sys/fs/cgroup/" + "*/" * depth + prefix + "*"))
    return found


def mounts_under(paths: list[str]) -> list[str]:
    with open("/proc/self/mountinfo") as handle:
        return [line for line in handle if any(path in line for path in paths)]


def wait_for(check: Callable[[], object], timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def fork_server() -> Iterator[ForkServer]:
    server = ForkServer.start()
    yield server
    server.stop()


class Roots:
    """Short directories under /tmp for one test: exec root, runtime root, logs."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="shimtest-"))
        self.base.chmod(0o755)
        for name in ("exec", "rt", "logs"):
            (self.base / name).mkdir()
        self.count = 0
        self.bundles: list[str] = []

    def spec(self, bundle: Path, *, runtime: str = "estiba", **fields) -> ShimSpec:
        self.count += 1
        self.bundles.append(str(bundle))
        cid = f"{self.base.name}-{self.count}"
        return ShimSpec(
            container_id=cid,
            bundle=str(bundle),
            state_dir=str(self.base / "exec" / cid),
            runtime=runtime,
            runtime_root=str(self.base / "rt"),
            log_path=str(self.base / "logs" / f"{cid}.json"),
            **fields,
        )


@pytest.fixture
def roots(make_bundle) -> Iterator[Roots]:
    """Fresh roots; afterwards, checks that nothing the test made is left running or mounted."""
    made = Roots()
    yield made
    try:
        wait_for(lambda: not live_shims(made.base), 15, "shims to exit")
        assert os.listdir(made.base / "rt") == [], "runtime state left behind"
        assert cgroup_dirs(made.base.name) == set(), "cgroups left behind"
        assert mounts_under([str(made.base), *made.bundles]) == [], "mounts left behind"
    finally:  # only does something when the checks above failed
        for pid in live_shims(made.base):
            os.kill(pid, 9)
        for cid in os.listdir(made.base / "rt"):
            force_delete(cid, made.base / "rt")
        shutil.rmtree(made.base, ignore_errors=True)


def force_delete(cid: str, root: Path) -> None:
    from estiba.runtime import container

    try:
        container.delete(cid, force=True, root=str(root))
    except Exception:  # noqa: BLE001 - perhaps runc's
        subprocess.run([RUNC, "--root", str(root), "delete", "--force", cid], capture_output=True)
