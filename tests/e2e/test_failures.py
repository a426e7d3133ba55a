"""What goes wrong, seen from outside: bad requests get Docker's status codes and messages,
failing containers end in the state Docker reports, resource limits hold, and a failure
or a vanished client leaves the engine and the host as they were."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli
from tests.e2e.helpers import Terminal, api_request, host_snapshot, open_attach, wait_for_no_leaks
from tests.integration.daemon.conftest import DOCKER, Estibad

pytestmark = pytest.mark.timeout(120)

CREATE = "/v1.41/containers/create"
DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q


@pytest.fixture
def clean(engine: Estibad) -> Iterator[Estibad]:
    """The session engine, with no containers left by the test."""
    yield engine
    leftovers = engine.docker("ps", "-aq").stdout.decode().split()
    if leftovers:
        engine.docker("rm", "-f", *leftovers)


def create_body(**fields: object) -> bytes:
    return json.dumps({"Image": "busybox", "Cmd": ["true"], **fields}).encode()


def cgroup_file(pid: int, controller: str, name: str) -> Path:
    """A control file of the cgroup `pid` is in, on cgroup v1 or v2."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            return Path("/sys/fs/cgroup") / controller / path.lstrip("/") / name
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        if line.startswith("0::"):
            return Path("/sys/fs/cgroup") / line[3:].lstrip("/") / name
    raise AssertionError(f"no {controller} cgroup for pid {pid}")


def inspect_state(engine: Estibad, name: str) -> dict:
    return json.loads(engine.docker("inspect", name).stdout)[0]["State"]


# --- refused requests -------------------------------------------------------------------------


def test_unknown_image_is_404_over_the_api(clean: Estibad) -> None:
    response = api_request(clean.socket, "POST", CREATE, create_body(Image="nosuchimage:1"))
    assert response.status == 404
    assert response.json() == {"message": "No such image: nosuchimage:1"}


def test_unknown_image_with_the_cli(clean: Estibad, cli: Cli) -> None:
    result = cli("run", "nosuchimage:1", check=False)
    assert result.returncode == 125
    if cli.name == "docker":
        assert b"Unable to find image 'nosuchimage:1' locally" in result.stderr
    else:
        assert b"No such image: nosuchimage:1" in result.stderr
    assert result.stdout == b""
    assert cli.out("ps", "-aq") == ""


def test_a_taken_name_is_409(clean: Estibad, cli: Cli) -> None:
    first = api_request(clean.socket, "POST", f"{CREATE}?name=taken", create_body())
    assert first.status == 201
    again = api_request(clean.socket, "POST", f"{CREATE}?name=taken", create_body())
    assert again.status == 409
    assert 'The container name "/taken" is already in use' in again.json()["message"]
    result = cli("run", "--name", "taken", "busybox", "true", check=False)
    assert result.returncode == 125
    assert b'The container name "/taken" is already in use' in result.stderr
    assert cli.out("ps", "-aq").split() == [first.json()["Id"][:12]]


def test_malformed_json_is_400_with_a_message(clean: Estibad) -> None:
    for body in (b'{"Image": "busybox",', b"not json", b'["busybox"]'):
        response = api_request(clean.socket, "POST", CREATE, body)
        assert response.status == 400, (body, response)
        assert response.headers["Content-Type"].startswith("application/json")
        message = response.json()["message"]
        assert isinstance(message, str) and message
    assert clean.docker("ps", "-aq").stdout == b""


def test_rm_of_a_running_container_without_force_is_409(clean: Estibad, cli: Cli) -> None:
    cli("run", "-d", "--name", "busy", "busybox", "sleep", "60")
    response = api_request(clean.socket, "DELETE", "/v1.41/containers/busy")
    assert response.status == 409
    assert "container is running" in response.json()["message"]
    result = cli("rm", "busy", check=False)
    assert result.returncode == 1
    assert b"container is running" in result.stderr and b"force" in result.stderr
    assert inspect_state(clean, "busy")["Running"] is True
    assert cli.out("rm", "-f", "busy") == "busy\n"


# --- containers that fail -----------------------------------------------------------------


def test_a_missing_binary_exits_127_and_leaves_nothing(clean: Estibad, cli: Cli) -> None:
    before = host_snapshot(clean)
    result = cli("run", "--name", "nobin", "busybox", "nosuchbinary", check=False)
    assert result.returncode == 127
    assert b'"nosuchbinary": executable file not found' in result.stderr
    # As dockerd reports a container whose process never started: still "created" (ps
    # says Created), not running, with the exit code and the error kept.
    state = inspect_state(clean, "nobin")
    assert state["Status"] == "created" and not state["Running"] and state["Pid"] == 0
    assert state["ExitCode"] == 127 and "nosuchbinary" in state["Error"]
    assert cli.out("ps", "-a", "--format", "{{.Names}} {{.Status}}") == "nobin Created\n"
    assert cli.out("ps", "-q") == ""

    # While the exited container is kept: no mount, cgroup or process of it is left.
    now = host_snapshot(clean).leaked_since(before)
    assert {kind: found for kind, found in now.items() if kind in ("mounts", "cgroups", "processes")} == {}
    cli("rm", "nobin")
    assert wait_for_no_leaks(clean, before) == {}


def test_a_fork_bomb_stops_at_the_pids_limit(clean: Estibad, cli: Cli) -> None:
    cli(
        "run", "-d", "--name", "bomb", "--pids-limit", "50", "busybox",
        "sh", "-c", "(for i in $(seq 100); do sleep 60 & done); exec sleep 60",
    )  # fmt: skip
    pid = inspect_state(clean, "bomb")["Pid"]
    current, limit = cgroup_file(pid, "pids", "pids.current"), cgroup_file(pid, "pids", "pids.max")
    assert limit.read_text().strip() == "50"
    deadline = time.monotonic() + 20
    peak = 0
    while b"can't fork" not in clean.docker("logs", "bomb").stderr:
        assert time.monotonic() < deadline, clean.docker("logs", "bomb")
        peak = max(peak, int(current.read_text()))
        time.sleep(0.1)
    peak = max(peak, int(current.read_text()))
    assert 40 <= peak <= 50
    processes = cli.out("top", "bomb").splitlines()[1:]
    assert 40 <= len(processes) <= 50

    # The host and the engine are fine: another container runs, this one goes away.
    assert cli.out("run", "--rm", "busybox", "echo", "still here") == "still here\n"
    assert cli.out("rm", "-f", "bomb") == "bomb\n"
    assert cli.out("ps", "-aq") == ""
    assert not current.parent.exists()


def test_a_memory_hog_is_oom_killed(clean: Estibad, cli: Cli) -> None:
    result = cli(
        "run", "--name", "hog", "-m", "32m", "busybox",
        "sh", "-c", 'x=$(head -c 100000000 /dev/zero | tr "\\0" x); echo survived',
        check=False,
    )  # fmt: skip
    assert result.returncode == 137 and b"survived" not in result.stdout
    state = inspect_state(clean, "hog")
    assert state["OOMKilled"] is True and state["ExitCode"] == 137 and state["Status"] == "exited"
    host_config = json.loads(clean.docker("inspect", "hog").stdout)[0]["HostConfig"]
    assert host_config["Memory"] == 32 * 1024 * 1024
    cli("rm", "hog")


# --- clients that go away -------------------------------------------------------------------

TICKER = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"


def log_lines(engine: Estibad, name: str) -> int:
    return len(engine.docker("logs", name).stdout.splitlines())


def assert_still_ticking(engine: Estibad, name: str) -> None:
    assert inspect_state(engine, name)["Running"] is True
    before = log_lines(engine, name)
    deadline = time.monotonic() + 10
    while log_lines(engine, name) < before + 3:
        assert time.monotonic() < deadline, "the container's log stopped growing"
        time.sleep(0.2)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_for_fds(pid: int, baseline: int) -> None:
    """The daemon lets go of a vanished client's connection (and its shim socket)."""
    deadline = time.monotonic() + 10
    while open_fds(pid) > baseline:
        assert time.monotonic() < deadline, f"the daemon holds {open_fds(pid) - baseline} more fds"
        time.sleep(0.2)


def test_a_docker_attach_killed_mid_stream(clean: Estibad) -> None:
    clean.docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c", TICKER)
    assert clean.process is not None
    daemon_fds = open_fds(clean.process.pid)
    attach = subprocess.Popen(
        [DOCKER, "-H", clean.url, "attach", "--no-stdin", "ticker"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean.env,
    )  # fmt: skip
    try:
        assert attach.stdout is not None
        first = attach.stdout.readline()
        assert re.fullmatch(rb"tick \d+\n", first), first
        attach.stdout.readline()
    finally:
        attach.send_signal(signal.SIGKILL)
        attach.wait(10)
    assert_still_ticking(clean, "ticker")
    wait_for_fds(clean.process.pid, daemon_fds)
    # And a later attach still gets the live stream.
    sock = open_attach(clean.socket, "ticker")
    with sock:
        assert b"tick" in sock.recv(4096)
    assert_still_ticking(clean, "ticker")


def test_a_raw_attach_closed_mid_stream(clean: Estibad) -> None:
    clean.docker("run", "-d", "--name", "ticker2", "busybox", "sh", "-c", TICKER)
    assert clean.process is not None
    daemon_fds = open_fds(clean.process.pid)
    for _ in range(5):  # again and again: each session must be let go
        sock = open_attach(clean.socket, "ticker2")
        header = sock.recv(8)
        assert header[:1] == b"\x01", header  # a stdout frame
        sock.close()  # gone both ways, without a half-close first
    assert_still_ticking(clean, "ticker2")
    wait_for_fds(clean.process.pid, daemon_fds)
    assert clean.docker("stop", "-t", "1", "ticker2").returncode == 0


def test_detach_from_a_terminal_and_attach_again(clean: Estibad, cli: Cli) -> None:
    with Terminal(cli.command("run", "-it", "--name", "det", "busybox", "sh"), env=cli.env) as first:
        first.expect(b"# ")
        first.send("echo one")
        first.expect(b"one\r\n")
        first.write(DETACH_KEYS)
        assert first.wait() == 0
    assert inspect_state(clean, "det")["Running"] is True
    # Leaving the terminal did not close it: a new attach types into the same shell.
    with Terminal(cli.command("attach", "det"), env=cli.env) as second:
        time.sleep(0.5)  # attached before typing; no prompt comes until a key is pressed
        second.send("echo two")
        second.expect(b"two\r\n")
        second.send("exit 5")
        assert second.wait() == 5
    state = inspect_state(clean, "det")
    assert state["Status"] == "exited" and state["ExitCode"] == 5
