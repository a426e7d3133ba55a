"""Containers end to end: the real docker CLI against estibad with a bootstrapped busybox.

Needs root (mounts, namespaces, cgroups); skipped otherwise. The last test checks that
everything before it left no mount, cgroup or shim behind.
"""

from __future__ import annotations

import glob
import json
import os
import time

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.timeout(180),
]


def out(result) -> str:
    return result.stdout.decode()


def test_run_rm_prints_and_exits_0(busybox: Estibad) -> None:
    result = busybox.docker("run", "--rm", "busybox", "echo", "Ola", "Mundo")
    assert out(result) == "Ola Mundo\n"
    assert out(busybox.docker("ps", "-aq")) == ""


def test_exit_code_reaches_the_cli_and_ps(busybox: Estibad) -> None:
    result = busybox.docker("run", "--name", "three", "busybox", "sh", "-c", "exit 3", check=False)
    assert result.returncode == 3
    status = out(busybox.docker("ps", "-a", "--filter", "name=three", "--format", "{{.Status}}"))
    assert status.startswith("Exited (3)")
    state = json.loads(out(busybox.docker("inspect", "three")))[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] == 3 and not state["Running"]
    busybox.docker("rm", "three")


def test_stdin_and_tty(busybox: Estibad) -> None:
    assert out(busybox.docker("run", "--rm", "-i", "busybox", "cat", input=b"by stdin\n")) == "by stdin\n"
    assert out(busybox.docker("run", "--rm", "busybox", "hostname")).strip() != ""


def test_unknown_image_is_404(busybox: Estibad) -> None:
    result = busybox.docker("create", "nosuchimage:1", check=False)
    assert result.returncode != 0
    assert b"No such image" in result.stderr or b"Unable to find image" in result.stderr


def test_missing_binary_is_127_and_leaves_nothing_running(busybox: Estibad) -> None:
    result = busybox.docker("run", "--rm", "busybox", "nosuchbinary", check=False)
    assert result.returncode == 127, result.stderr
    assert b"executable file not found" in result.stderr
    result = busybox.docker("run", "--name", "nobin", "busybox", "nosuchbinary", check=False)
    assert result.returncode == 127
    busybox.docker("rm", "nobin")


def test_detached_logs_exec_stop_rm(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "tt", "busybox", "sh", "-c", "echo started; exec sleep 30")
    assert out(busybox.docker("ps", "--format", "{{.Names}} {{.State}}")).split("\n")[0] == "tt running"
    deadline = time.monotonic() + 10
    while out(busybox.docker("logs", "tt")) != "started\n":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert out(busybox.docker("exec", "tt", "echo", "hi")) == "hi\n"
    assert busybox.docker("exec", "tt", "sh", "-c", "exit 5", check=False).returncode == 5
    refused = busybox.docker("rm", "tt", check=False)
    assert refused.returncode != 0 and b"container is running" in refused.stderr
    busybox.docker("pause", "tt")
    assert "Paused" in out(busybox.docker("ps", "--filter", "name=tt", "--format", "{{.Status}}"))
    busybox.docker("unpause", "tt")
    busybox.docker("stop", "-t", "2", "tt")
    state = json.loads(out(busybox.docker("inspect", "tt")))[0]["State"]
    assert state["Status"] == "exited" and state["ExitCode"] in (137, 143)
    busybox.docker("rm", "tt")
    assert busybox.docker("inspect", "tt", check=False).returncode != 0


def test_force_rm_of_a_running_container(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "forced", "busybox", "sleep", "30")
    busybox.docker("rm", "-f", "forced")
    assert out(busybox.docker("ps", "-aq")) == ""


def test_wait_returns_the_exit_code(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "waited", "busybox", "sh", "-c", "sleep 0.3; exit 7")
    assert out(busybox.docker("wait", "waited")).strip() == "7"
    busybox.docker("rm", "waited")


def test_create_start_by_short_id_and_taken_name(busybox: Estibad) -> None:
    cid = out(busybox.docker("create", "--name", "made", "busybox", "echo", "made")).strip()
    taken = busybox.docker("create", "--name", "made", "busybox", "true", check=False)
    assert taken.returncode != 0 and b"Conflict" in taken.stderr or b"already in use" in taken.stderr
    busybox.docker("start", "-a", cid[:12])
    assert out(busybox.docker("logs", cid)) == "made\n"
    busybox.docker("rm", cid)


def test_runtime_per_container(busybox: Estibad) -> None:
    result = busybox.docker("run", "--name", "by-runc", "--runtime", "runc", "busybox",
                            "sh", "-c", "echo from runc; exit 4", check=False)
    assert (result.returncode, out(result)) == (4, "from runc\n")
    assert out(busybox.docker("inspect", "-f", "{{.HostConfig.Runtime}}", "by-runc")) == "runc\n"
    busybox.docker("rm", "by-runc")
    bad = busybox.docker("run", "--rm", "--runtime", "nope", "busybox", "true", check=False)
    assert bad.returncode == 125
    assert "Unknown runtime specified nope" in bad.stderr.decode()


def test_running_container_survives_a_daemon_restart(make_daemon) -> None:
    daemon = make_daemon()
    daemon.start()
    daemon.estiba("image", "bootstrap", "busybox")
    daemon.docker("run", "-d", "--name", "kept", "busybox", "sh", "-c", "trap 'exit 9' TERM; while true; do sleep 0.1; done")
    assert daemon.terminate() == 0
    daemon.start()
    assert out(daemon.docker("exec", "kept", "echo", "still")) == "still\n"
    daemon.docker("stop", "-t", "5", "kept")
    assert out(daemon.docker("inspect", "-f", "{{.State.ExitCode}}", "kept")).strip() == "9"
    daemon.docker("rm", "kept")
    assert daemon.terminate() == 0


def test_start_attach_of_an_exited_container(busybox: Estibad) -> None:
    busybox.docker("run", "--name", "again", "busybox", "sh", "-c", "echo run $$; exit 3", check=False)
    for _ in range(2):
        result = busybox.docker("start", "-a", "again", check=False)
        assert (result.returncode, out(result)) == (3, "run 1\n")
    assert out(busybox.docker("logs", "again")).splitlines() == ["run 1"] * 3
    result = busybox.docker("attach", "again", check=False)
    assert result.returncode == 1
    assert "You cannot attach to a stopped container, start it first" in result.stderr.decode()
    busybox.docker("rm", "again")


def test_memory_limit_gets_dockerds_swap_default(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "capped", "-m", "32m", "busybox", "sleep", "100")
    host = json.loads(out(busybox.docker("inspect", "capped")))[0]["HostConfig"]
    assert (host["Memory"], host["MemorySwap"]) == (32 << 20, 64 << 20)
    pid = json.loads(out(busybox.docker("inspect", "capped")))[0]["State"]["Pid"]
    memory = next(line.split(":", 2)[2] for line in open(f"/proc/{pid}/cgroup")
                  if ":memory:" in line)
    memsw = f"/sys/fs/cgroup/memory{memory}/memory.memsw.limit_in_bytes"
    if os.path.exists(memsw):
        assert open(memsw).read().strip() == str(64 << 20)
    busybox.docker("rm", "-f", "capped")


def _shims_holding(path: str) -> list[int]:
    """estiba-shim processes with a file open under `path`."""
    found = []
    for comm in glob.glob("/proc/[0-9]*/comm"):
        pid = comm.split("/")[2]
        try:
            if open(comm).read().strip() != "estiba-shim":
                continue
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if any(link.startswith(path) for link in links):
            found.append(int(pid))
    return found


def test_nothing_left_behind(busybox: Estibad) -> None:
    assert out(busybox.docker("ps", "-aq")) == ""
    ids = set(out(busybox.docker(
        "events", "--since", "0", "--until", str(int(time.time()) + 1),
        "--filter", "type=container", "--format", "{{.ID}}",
    )).split())
    assert len(ids) >= 8
    time.sleep(0.5)
    with open("/proc/self/mountinfo") as handle:
        mounts = [line for line in handle if str(busybox.exec_root) in line]
    assert mounts == []
    assert glob.glob(str(busybox.exec_root / "containers" / "*")) == []
    cgroups = [path for cid in ids for path in glob.glob(f"/sys/fs/cgroup/**/{cid}*", recursive=True)]
    assert cgroups == []
    assert _shims_holding(str(busybox.exec_root)) == []

