"""A container's life under its shim: logs with the right streams, exit codes, kill, OOM,
and a failed start that records 127/126 and leaves nothing behind; with both runtimes."""

from __future__ import annotations

import os
import signal

import pytest

from estiba.errors import Conflict, InvalidArgument
from estiba.shim import ShimClient, read_entries

from .conftest import RUNTIMES, wait_for


@RUNTIMES
def test_output_goes_to_the_log_with_its_stream_and_the_exit_code_is_recorded(fork_server, roots, make_bundle, runtime):
    bundle = make_bundle(args=["sh", "-c", "echo out1; echo err1 >&2; printf 'no newline'; exit 3"])
    spec = roots.spec(bundle, runtime=runtime)
    handle = fork_server.spawn(spec)
    assert handle.container_pid > 0
    status = handle.wait(10)
    assert status["exit_code"] == 3
    assert status["oom_killed"] is False and status["error"] == ""
    assert status["finished_at"].endswith("Z")
    entries = read_entries(spec.log_path)
    by_stream = {(e["stream"], e["log"]) for e in entries}
    assert ("stdout", "out1\n") in by_stream
    assert ("stderr", "err1\n") in by_stream
    assert ("stdout", "no newline") in by_stream
    assert all(e["time"].endswith("Z") for e in entries)
    handle.wait_released(10)
    assert not handle.alive()
    with pytest.raises(Conflict):
        handle.kill(signal.SIGTERM)


@RUNTIMES
def test_kill_reaches_the_container(fork_server, roots, make_bundle, runtime):
    script = "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done"
    spec = roots.spec(make_bundle(args=["sh", "-c", script]), runtime=runtime)
    client = fork_server.spawn(spec)
    wait_for(lambda: any(e["log"] == "ready\n" for e in read_entries(spec.log_path)), what="ready")
    assert client.state()["status"] == "running"
    client.kill(signal.SIGTERM)
    assert client.wait(10)["exit_code"] == 7
    client.wait_released(10)
    assert [e["log"] for e in read_entries(spec.log_path)] == ["ready\n", "got-term\n"]


def test_sigkill_is_128_plus_9(fork_server, roots, make_bundle):
    client = fork_server.spawn(roots.spec(make_bundle(args=["sleep", "60"])))
    os.kill(client.pid(), 0)
    client.kill(signal.SIGKILL)
    assert client.wait_released(10)["exit_code"] == 137


@RUNTIMES
def test_a_missing_binary_is_127_and_leaves_nothing(fork_server, roots, make_bundle, runtime):
    spec = roots.spec(make_bundle(args=["/no/such/binary"]), runtime=runtime)
    with pytest.raises(InvalidArgument) as caught:
        fork_server.spawn(spec)
    assert "no such" in str(caught.value).lower() or "not found" in str(caught.value).lower()
    client = ShimClient(spec.state_dir)
    status = client.exit_status()
    assert status["exit_code"] == 127
    assert status["error"]
    wait_for(lambda: not client.alive(), what="the shim to exit")
    assert not os.path.exists(os.path.join(spec.state_dir, "attach.sock"))


def test_a_file_that_is_not_executable_is_126(fork_server, roots, make_bundle):
    spec = roots.spec(make_bundle(args=["/etc/passwd"]))
    with pytest.raises(InvalidArgument):
        fork_server.spawn(spec)
    assert ShimClient(spec.state_dir).exit_status()["exit_code"] == 126


@RUNTIMES
def test_a_memory_hog_is_oom_killed(fork_server, roots, make_bundle, runtime):
    limit = 16 * 1024 * 1024
    bundle = make_bundle(
        args=["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
        linux={"resources": {"memory": {"limit": limit, "swap": limit}}},
    )
    client = fork_server.spawn(roots.spec(bundle, runtime=runtime))
    status = client.wait_released(20)
    assert status["oom_killed"] is True
    assert status["exit_code"] == 137


def test_logs_rotate_at_max_size(fork_server, roots, make_bundle):
    script = "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done"
    spec = roots.spec(make_bundle(args=["sh", "-c", script]), log_max_size=4000, log_max_files=3)
    fork_server.spawn(spec).wait_released(10)
    sizes = [os.path.getsize(p) for p in (spec.log_path, spec.log_path + ".1", spec.log_path + ".2")]
    assert not os.path.exists(spec.log_path + ".3")
    assert all(size < 4000 + 200 for size in sizes)
    lines = [e["log"] for e in read_entries(spec.log_path, 3)]
    assert lines[-1] == "line-299\n"
    assert lines == [f"line-{i}\n" for i in range(300 - len(lines), 300)]  # the oldest were dropped
