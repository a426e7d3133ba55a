"""`estiba.runtime.execute.spawn`: exec as a direct child of the caller (the shim's way).

The caller here is the test process itself: it gets the pid from `spawn`, reaps the
process with waitpid, and checks that it ran in the container (namespaces, cgroups, its
own numbering of pids) with the process file's user and environment, that failures come
back with their kind and leave no process behind, and that the caller's own pid
namespace for children and its open fds are as they were.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from estiba.errors import Conflict, SystemFault
from estiba.runtime.execute import spawn
from tests.integration.runtime.helpers import container_id

SLEEPER = ["/bin/sh", "-c", "exec sleep 60"]


@pytest.fixture
def running(estiba_runtime, make_bundle):
    """(runtime, container id, init pid) of a running SLEEPER container."""
    cid = container_id("spawn")
    estiba_runtime.run(make_bundle(args=SLEEPER), cid, "-d", check=True)
    return estiba_runtime, cid, estiba_runtime.state(cid)["pid"]


def process_file(tmp_path: Path, args: list[str], **fields) -> str:
    path = tmp_path / f"process-{len(list(tmp_path.iterdir()))}.json"
    process = {"args": args, "env": ["PATH=/bin:/usr/bin", "GREETING=hello"], "cwd": "/tmp",
               "user": {"uid": 1000, "gid": 1000}, **fields}
    path.write_text(json.dumps(process))
    return str(path)


def own_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def test_the_process_is_our_child_inside_the_container(running, tmp_path) -> None:
    runtime, cid, init_pid = running
    children_ns = os.readlink("/proc/self/ns/pid_for_children")
    fds_before = own_fds()
    out_r, out_w = os.pipe()
    null = os.open(os.devnull, os.O_RDONLY)
    script = 'echo "$GREETING $$ $(pwd) $(id -u):$(id -g)"; exec sleep 30'
    path = process_file(tmp_path, ["/bin/sh", "-c", script])

    pid = spawn(cid, path, root=str(runtime.root), container_pid=init_pid, stdio=(null, out_w, out_w))
    os.close(out_w)
    os.close(null)
    try:
        line = os.read(out_r, 4096).decode().split()
        greeting, inner_pid, cwd, ids = line
        assert (greeting, cwd, ids) == ("hello", "/tmp", "1000:1000")
        assert int(inner_pid) != pid and int(inner_pid) > 1  # its own number in the container
        for name in ("pid", "mnt", "net", "ipc", "uts"):
            assert os.readlink(f"/proc/{pid}/ns/{name}") == os.readlink(f"/proc/{init_pid}/ns/{name}")
        assert Path(f"/proc/{pid}/cgroup").read_text() == Path(f"/proc/{init_pid}/cgroup").read_text()
        assert os.readlink("/proc/self/ns/pid_for_children") == children_ns
    finally:
        os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)  # ours to reap: it is our child
    assert os.WTERMSIG(status) == 9
    os.close(out_r)
    assert own_fds() == fds_before


def test_the_exit_status_is_the_callers_to_reap(running, tmp_path) -> None:
    runtime, cid, init_pid = running
    null = os.open(os.devnull, os.O_RDWR)
    try:
        pid = spawn(cid, process_file(tmp_path, ["/bin/sh", "-c", "exit 7"]), root=str(runtime.root),
                    container_pid=init_pid, stdio=(null, null, null))
    finally:
        os.close(null)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 7


def test_a_missing_program_is_one_line_and_no_process(running, tmp_path) -> None:
    runtime, cid, init_pid = running
    fds_before = own_fds()
    null = os.open(os.devnull, os.O_RDWR)
    try:
        with pytest.raises(SystemFault, match='exec: "no-such-program": executable file not found'):
            spawn(cid, process_file(tmp_path, ["no-such-program"]), root=str(runtime.root),
                  container_pid=init_pid, stdio=(null, null, null))
    finally:
        os.close(null)
    with pytest.raises(ChildProcessError):  # the failed child was reaped
        os.waitpid(-1, os.WNOHANG)
    assert own_fds() == fds_before


def test_a_paused_container_is_a_conflict(running, tmp_path) -> None:
    runtime, cid, init_pid = running
    runtime.cmd("pause", cid, check=True)
    null = os.open(os.devnull, os.O_RDWR)
    try:
        with pytest.raises(Conflict, match="paused"):
            spawn(cid, process_file(tmp_path, ["true"]), root=str(runtime.root), container_pid=init_pid,
                  stdio=(null, null, null))
    finally:
        os.close(null)
        runtime.cmd("resume", cid, check=True)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_a_container_with_its_own_user_namespace_is_left_to_exec(estiba_runtime, make_bundle, tmp_path) -> None:
    cid = container_id("spawn-userns")
    estiba_runtime.run(make_bundle(args=SLEEPER, rootless=True), cid, "-d", check=True)
    init_pid = estiba_runtime.state(cid)["pid"]
    assert os.readlink(f"/proc/{init_pid}/ns/user") != os.readlink("/proc/self/ns/user")

    assert spawn(cid, process_file(tmp_path, ["true"]), root=str(estiba_runtime.root), container_pid=init_pid,
                 stdio=(0, 1, 2)) is None
