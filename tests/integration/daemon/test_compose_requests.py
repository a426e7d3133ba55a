"""Requests docker-compose 1.29 sends, and what it reads back, reproduced against a real
estibad with the docker CLI (the same Engine API calls): each test here pins down an
incompatibility found by driving docker-compose against estibad (tests/e2e/test_docker_compose.py).

Needs root (mounts, namespaces, cgroups); skipped otherwise.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.timeout(180),
]

# Ends at once on SIGTERM, as a well-behaved service does (a bare `sleep` as PID 1 would
# ignore it and be killed after the timeout).
SERVICE = ["sh", "-c", "trap 'exit 0' TERM; sleep 300 & wait"]


def _events(daemon: Estibad, name: str, since: float) -> list[str]:
    """The container's events since `since`, as "action" or "action signal=N"."""
    listed = daemon.docker(
        "events", "--since", f"{since:.9f}", "--until", str(int(time.time()) + 1),
        "--filter", f"container={name}",
        "--format", "{{.Action}}{{with .Actor.Attributes.signal}} signal={{.}}{{end}}",
    )  # fmt: skip
    return listed.stdout.decode().split("\n")[:-1]


def test_stop_kill_and_restart_report_dockerds_events(busybox: Estibad) -> None:
    """docker-compose's `events`, and its log printer (which drops a container on `stop`
    or `die`), read these: dockerd sends kill (with the signal) then die then stop for a
    stop, and restart after the start of a restart."""
    busybox.docker("run", "-d", "--name", "evented", "busybox", *SERVICE)
    try:
        since = time.time()
        busybox.docker("restart", "-t", "30", "evented")
        assert _events(busybox, "evented", since) == [
            "kill signal=15", "die", "stop", "start", "restart",
        ]  # fmt: skip

        since = time.time()
        busybox.docker("kill", "--signal", "USR1", "evented")  # the shell ignores it
        busybox.docker("kill", "evented")
        busybox.docker("wait", "evented")
        assert _events(busybox, "evented", since) == ["kill signal=10", "kill signal=9", "die"]

        # Stopping a stopped container changes nothing and says nothing.
        since = time.time()
        busybox.docker("stop", "evented")
        assert _events(busybox, "evented", since) == []
    finally:
        busybox.docker("rm", "-f", "evented")


def test_a_stop_past_its_timeout_kills_and_says_so(busybox: Estibad) -> None:
    # `sleep` as PID 1 ignores SIGTERM: the stop timeout passes and SIGKILL follows.
    busybox.docker("run", "-d", "--name", "stubborn", "busybox", "sleep", "300")
    try:
        since = time.time()
        busybox.docker("stop", "-t", "1", "stubborn")
        assert _events(busybox, "stubborn", since) == ["kill signal=15", "kill signal=9", "die", "stop"]
    finally:
        busybox.docker("rm", "-f", "stubborn")


def test_a_follow_of_the_logs_ends_with_the_run_it_followed(busybox: Estibad) -> None:
    """dockerd ends `logs --follow` when the container exits, even when its restart policy
    starts it again; docker-compose's `up` prints "<name> exited with code N" at that end
    and attaches anew on the next start event."""
    busybox.docker("run", "-d", "--name", "flapping", "--restart", "always",
                   "busybox", "sh", "-c", "echo up; sleep 3")  # fmt: skip
    try:
        followed = busybox.docker("logs", "--follow", "flapping", timeout=60)
        assert set(followed.stdout.decode().splitlines()) == {"up"}
        # ... and the container does come back: the follow ended with one run, not all.
        deadline = time.monotonic() + 60
        while json.loads(busybox.docker("inspect", "flapping").stdout)[0]["RestartCount"] < 1:
            assert time.monotonic() < deadline, "the restart policy never restarted it"
            time.sleep(0.2)
    finally:
        busybox.docker("rm", "-f", "flapping")


def test_pid_and_ipc_of_another_container(busybox: Estibad) -> None:
    """docker-compose's `pid: service:x` and `ipc: service:x` become PidMode and IpcMode
    "container:<id>": the container joins the running donor's namespaces, and dockerd's
    refusals come back when the donor cannot share them."""
    busybox.docker("run", "-d", "--name", "donor", "--ipc", "shareable", "busybox", "sleep", "300")
    busybox.docker("run", "-d", "--name", "private-ipc", "busybox", "sleep", "300")
    try:
        processes = busybox.docker("run", "--rm", "--pid", "container:donor", "busybox", "ps", "-o", "pid,args")
        assert "    1 sleep 300" in processes.stdout.decode().splitlines()
        donor_ipc = busybox.docker("exec", "donor", "readlink", "/proc/self/ns/ipc").stdout
        joined_ipc = busybox.docker("run", "--rm", "--ipc", "container:donor", "busybox",
                                    "readlink", "/proc/self/ns/ipc").stdout  # fmt: skip
        assert joined_ipc == donor_ipc

        refused = busybox.docker("run", "--rm", "--ipc", "container:private-ipc", "busybox", "true", check=False)
        assert refused.returncode == 125
        assert ("can't join IPC of container private-ipc: non-shareable IPC "
                "(hint: use IpcMode:shareable for the donor container)") in refused.stderr.decode()  # fmt: skip
        missing = busybox.docker("run", "--rm", "--pid", "container:nosuch", "busybox", "true", check=False)
        assert "cannot join PID of a non running container: nosuch: No such container: nosuch" in missing.stderr.decode()

        donor_id = busybox.docker("inspect", "-f", "{{.Id}}", "donor").stdout.decode().strip()
        busybox.docker("stop", "-t", "0", "donor")
        stopped = busybox.docker("run", "--rm", "--pid", "container:donor", "busybox", "true", check=False)
        assert f"container {donor_id} is not running" in stopped.stderr.decode()
    finally:
        busybox.docker("rm", "-f", "donor", "private-ipc")


def test_a_links_alias_resolves_for_the_linking_container_only(busybox: Estibad) -> None:
    """compose's `links: ["srv:backend"]` (and every one-off `run`'s links to its
    service's containers) become HostConfig.Links; on a user-defined network dockerd's DNS
    answers the alias for the linking container, and for no other."""
    busybox.docker("network", "create", "linking")
    try:
        busybox.docker("run", "-d", "--name", "linked-srv", "--network", "linking", "busybox", *SERVICE)
        address = busybox.docker("inspect", "-f", "{{.NetworkSettings.Networks.linking.IPAddress}}",
                                 "linked-srv").stdout.decode().strip()  # fmt: skip
        linker = busybox.docker("run", "--rm", "--network", "linking", "--link", "linked-srv:backend",
                                "busybox", "nslookup", "backend")  # fmt: skip
        assert f"Address: {address}" in linker.stdout.decode()
        other = busybox.docker("run", "--rm", "--network", "linking", "busybox", "nslookup", "backend", check=False)
        assert f"Address: {address}" not in other.stdout.decode()
        assert "can't find backend" in (other.stdout + other.stderr).decode()
    finally:
        busybox.docker("rm", "-f", "linked-srv")
        busybox.docker("network", "rm", "linking")
