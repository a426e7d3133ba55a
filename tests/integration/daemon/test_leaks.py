"""Hundreds of short-lived containers leave nothing behind: no mount, cgroup directory,
process, shim socket or state directory under the exec root, overlay snapshot, or row in
containers.db (containers and their execs). A leak of one thing per container shows here
as a pile of them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from tests.e2e.helpers import host_snapshot, wait_for_no_leaks
from tests.integration.daemon.conftest import Estibad

docker = pytest.importorskip("docker")

pytestmark = pytest.mark.timeout(240)

# create, start, wait, remove through the API: 0.15 to 0.25 s each on 2 cores.
API_ROUNDS = 200
# `docker run --rm` (the daemon removes the container itself) costs a CLI start more.
CLI_ROUNDS = 20
# A running container with execs in it (exec rows, exec state files), removed by force.
EXEC_ROUNDS = 20


@pytest.fixture(scope="module")
def busybox(daemon: Estibad) -> Iterator[Estibad]:
    daemon.estiba("image", "bootstrap", "busybox")
    yield daemon


def test_many_short_containers_leave_nothing(busybox: Estibad) -> None:
    client = docker.DockerClient(base_url=busybox.url, version="1.41", timeout=60)
    # One container first, so that lazily made things (the cgroup parents, the runtime
    # state root, the forkserver) exist before the baseline.
    client.containers.run("busybox", ["true"], remove=True)
    before = host_snapshot(busybox)
    assert busybox.process is not None
    daemon_fds = len(os.listdir(f"/proc/{busybox.process.pid}/fd"))

    started = time.monotonic()
    for _ in range(API_ROUNDS):
        container = client.containers.create("busybox", ["true"])
        container.start()
        assert container.wait(timeout=30)["StatusCode"] == 0
        container.remove()
    api_seconds = time.monotonic() - started

    started = time.monotonic()
    for _ in range(CLI_ROUNDS):
        assert busybox.docker("run", "--rm", "busybox", "true").returncode == 0
    cli_seconds = time.monotonic() - started

    for _ in range(EXEC_ROUNDS):
        container = client.containers.run("busybox", ["sleep", "60"], detach=True)
        assert container.exec_run(["true"]).exit_code == 0
        container.exec_run(["sleep", "60"], detach=True)
        container.remove(force=True)
    client.close()

    assert busybox.docker("ps", "-aq").stdout == b""
    assert wait_for_no_leaks(busybox, before) == {}
    # A few fds come and go (the thread pool, sqlite); one per container would be hundreds.
    assert len(os.listdir(f"/proc/{busybox.process.pid}/fd")) <= daemon_fds + 5
    print(
        f"\n{API_ROUNDS} create/start/wait/rm: {api_seconds:.1f} s "
        f"({api_seconds / API_ROUNDS * 1000:.0f} ms each); "
        f"{CLI_ROUNDS} run --rm: {cli_seconds:.1f} s"
    )
