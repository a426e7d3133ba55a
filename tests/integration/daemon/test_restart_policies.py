"""Restart policies and live restore with a real estibad and the docker CLI.

Restart policies: on-failure with its limit, always until a client stops it, and the
daemon's start bringing back what the policy says. Live restore: estibad killed with
SIGKILL while a container prints a line a second; the next estibad adopts it.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.timeout(180),
]


def state(daemon: Estibad, name: str) -> dict:
    document = json.loads(daemon.docker("inspect", name).stdout)[0]
    return {**document["State"], "RestartCount": document["RestartCount"]}


def until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def test_on_failure_restarts_up_to_its_limit(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "flaky", "--restart", "on-failure:2",
                   "busybox", "sh", "-c", "echo try; exit 3")
    until(lambda: state(busybox, "flaky")["RestartCount"] == 2
          and state(busybox, "flaky")["Status"] == "exited")
    time.sleep(1.0)  # the limit holds: no third restart
    final = state(busybox, "flaky")
    assert (final["Status"], final["ExitCode"], final["RestartCount"]) == ("exited", 3, 2)
    assert busybox.docker("logs", "flaky").stdout.decode().split() == ["try"] * 3
    assert "on-failure" in busybox.docker("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}",
                                          "flaky").stdout.decode()
    busybox.docker("rm", "flaky")


def test_on_failure_leaves_a_clean_exit_alone(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "clean", "--restart", "on-failure", "busybox", "true")
    assert busybox.docker("wait", "clean").stdout.decode().strip() == "0"
    time.sleep(0.5)
    assert state(busybox, "clean")["RestartCount"] == 0
    busybox.docker("rm", "clean")


def test_always_restarts_until_a_client_stops_it(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "loop", "--restart", "always",
                   "busybox", "sh", "-c", "sleep 0.3")
    until(lambda: state(busybox, "loop")["RestartCount"] >= 2)
    busybox.docker("stop", "-t", "1", "loop")
    stopped = state(busybox, "loop")
    assert stopped["Status"] == "exited"
    time.sleep(1.5)
    after = state(busybox, "loop")
    assert (after["Status"], after["RestartCount"]) == ("exited", stopped["RestartCount"])
    # A client's start counts from zero again.
    busybox.docker("start", "loop")
    assert state(busybox, "loop")["RestartCount"] == 0
    busybox.docker("rm", "-f", "loop")
    assert busybox.docker("ps", "-aq", "--filter", "name=loop").stdout == b""


def test_rm_refused_while_restarting_and_forced_rm_cancels(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "crashing", "--restart", "always",
                   "busybox", "sh", "-c", "exit 1")
    # The back-off grows; sooner or later a look finds it waiting to restart.
    until(lambda: state(busybox, "crashing")["Restarting"])
    ps = busybox.docker("ps", "--filter", "name=crashing", "--format", "{{.Status}}")
    assert ps.stdout.decode().startswith(("Restarting (1)", "Up"))
    busybox.docker("rm", "-f", "crashing")
    time.sleep(1.0)
    assert busybox.docker("ps", "-aq", "--filter", "name=crashing").stdout == b""


def test_run_rejects_restart_with_rm(busybox: Estibad) -> None:
    result = busybox.docker("run", "--rm", "--restart", "always", "busybox", "true", check=False)
    assert result.returncode != 0
    assert b"restart" in result.stderr.lower()


def _container_pid(daemon: Estibad, name: str) -> int:
    return int(daemon.docker("inspect", "-f", "{{.State.Pid}}", name).stdout)


def test_live_restore_after_sigkill_keeps_pid_log_and_exit_code(make_daemon) -> None:
    daemon = make_daemon()
    daemon.start()
    daemon.estiba("image", "bootstrap", "busybox")
    daemon.docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c",
                  "trap 'exit 7' TERM; i=0; while true; do echo line $i; i=$((i+1)); sleep 1; done")
    pid = _container_pid(daemon, "ticker")
    time.sleep(1.5)
    daemon.kill()  # SIGKILL: nothing gets to clean up
    time.sleep(2.5)  # lines written while no daemon runs
    daemon.start()
    assert _container_pid(daemon, "ticker") == pid
    assert state(daemon, "ticker")["Status"] == "running"
    time.sleep(1.2)
    lines = daemon.docker("logs", "ticker").stdout.decode().splitlines()
    assert lines == [f"line {i}" for i in range(len(lines))]  # no gap, nothing lost
    assert len(lines) >= 5
    assert daemon.docker("exec", "ticker", "echo", "adopted").stdout == b"adopted\n"
    os.kill(pid, signal.SIGTERM)  # the container's own end, seen by the new daemon
    assert daemon.docker("wait", "ticker").stdout.decode().strip() == "7"
    daemon.docker("rm", "ticker")


def test_exits_while_down_and_policies_at_daemon_start(make_daemon) -> None:
    daemon = make_daemon()
    daemon.start()
    daemon.estiba("image", "bootstrap", "busybox")
    loop = ("sh", "-c", "trap 'exit 5' TERM; while true; do sleep 0.1; done")
    daemon.docker("run", "-d", "--name", "plain", "busybox", *loop)
    daemon.docker("run", "-d", "--name", "unless", "--restart", "unless-stopped", "busybox", *loop)
    daemon.docker("run", "-d", "--name", "stopped-unless", "--restart", "unless-stopped",
                  "busybox", *loop)
    daemon.docker("run", "-d", "--name", "stopped-always", "--restart", "always", "busybox", *loop)
    daemon.docker("stop", "stopped-unless", "stopped-always")
    pids = {name: _container_pid(daemon, name) for name in ("plain", "unless")}
    daemon.kill()
    for pid in pids.values():  # both end while no daemon watches
        os.kill(pid, signal.SIGTERM)
    time.sleep(1.0)
    daemon.start()
    # Recorded by the new daemon once the shim, which saw the exit, has finished.
    until(lambda: state(daemon, "plain")["Status"] == "exited")
    assert state(daemon, "plain")["ExitCode"] == 5
    until(lambda: state(daemon, "unless")["Status"] == "running")
    assert _container_pid(daemon, "unless") != pids["unless"]
    assert state(daemon, "stopped-unless")["Status"] == "exited"
    # dockerd starts an "always" container at daemon start even after a client's stop.
    until(lambda: state(daemon, "stopped-always")["Status"] == "running")
    daemon.docker("rm", "-f", "plain", "unless", "stopped-unless", "stopped-always")
    assert daemon.docker("ps", "-aq").stdout == b""
    assert daemon.terminate() == 0
