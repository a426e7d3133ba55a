"""The shim's loop without root: a fake runtime that runs plain host processes is injected,
and the monitor runs in a forked child (a subreaper, as a real shim is)."""

from __future__ import annotations

import json
import os
import signal
import socket
import traceback

import pytest

from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.runtime import syscalls as sc
from estiba.shim import FrameReader, ShimClient, ShimSpec, read_entries
from estiba.shim.monitor import Monitor
from estiba.shim.runtimes import ChildStdio
from estiba.shim.statedir import SHIM_NAME


def spawn(args: list[str], stdio: ChildStdio) -> int:
    """posix_spawn, not subprocess: a dropped Popen may reap the process, which only the
    shim must do."""
    actions = [(os.POSIX_SPAWN_DUP2, fd, target) for fd, target in zip((stdio.stdin, stdio.stdout, stdio.stderr),
                                                                        (0, 1, 2))]
    return os.posix_spawnp(args[0], args, dict(os.environ), file_actions=actions)


class HostProcessRuntime:
    """Runs `args` on the host with the given stdio; `create` starts it at once."""

    def __init__(self, args: list[str], fail: Exception | None = None) -> None:
        self.args = args
        self.fail = fail
        self.pid = 0
        self.deleted = False

    def create(self, stdio: ChildStdio) -> int:
        if self.fail is not None:
            raise self.fail
        return spawn(self.args, stdio)

    def created(self, pid: int) -> None:
        self.pid = pid

    def start(self) -> None:
        pass

    def kill(self, sig: int, all_processes: bool = False) -> None:
        os.kill(self.pid, sig)

    def exec(self, process_file: str, pid_file: str, stdio: ChildStdio) -> int:
        with open(process_file) as handle:
            args = json.load(handle)["args"]
        return spawn(args, stdio)

    def spawn_exec(self, process_file: str, stdio: ChildStdio, container_pid: int) -> int | None:
        return self.exec(process_file, "", stdio)  # a child of the monitor itself, as the runtime's

    def oom_kill_count(self) -> int:
        return 0

    def delete(self) -> None:
        self.deleted = True


@pytest.fixture
def spec_for(tmp_path):
    def make(**fields) -> ShimSpec:
        state_dir = tmp_path / "a-fairly-long-directory-name-so-that-socket-paths-need-the-proc-fd-route" / "c1"
        state_dir.mkdir(parents=True)
        return ShimSpec(container_id="c1", bundle=str(tmp_path), state_dir=str(state_dir),
                        log_path=str(tmp_path / "c1.json"), **fields)
    return make


SHIMS: list[int] = []


@pytest.fixture(autouse=True)
def no_shim_left():
    """A failed test may leave its shim (our child) running: end it."""
    yield
    while SHIMS:
        pid = SHIMS.pop()
        try:
            if os.waitpid(pid, os.WNOHANG) == (0, 0):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def run_shim(spec: ShimSpec, runtime: HostProcessRuntime) -> tuple[int, dict]:
    """Fork a shim; return its pid and its set-up report."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            sc.Syscalls().prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
            with open("/proc/self/comm", "wb") as comm:
                comm.write(SHIM_NAME)
            code = Monitor(spec, runtime, ready_fd=write_end).run()
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
        finally:
            os._exit(code)
    SHIMS.append(pid)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as ready:
        report = json.loads(ready.readline())
    return pid, report


def finish(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_output_is_logged_and_the_exit_recorded(spec_for):
    spec = spec_for()
    pid, report = run_shim(spec, HostProcessRuntime(["sh", "-c", "echo out; echo err >&2; exit 3"]))
    assert report["state"] == "started" and report["shim_pid"] == pid
    client = ShimClient(spec.state_dir)
    assert client.wait(10)["exit_code"] == 3
    assert finish(pid) == 0
    assert sorted((e["stream"], e["log"]) for e in read_entries(spec.log_path)) == [
        ("stderr", "err\n"), ("stdout", "out\n")]
    assert client.pid() == report["pid"]
    assert not os.path.exists(os.path.join(spec.state_dir, "attach.sock"))


def test_attach_stdin_once_and_a_vanishing_client(spec_for):
    spec = spec_for(open_stdin=True, stdin_once=True)
    pid, _ = run_shim(spec, HostProcessRuntime(["cat"]))
    client = ShimClient(spec.state_dir)
    rude = client.attach(stdout=True)
    sock = client.attach(stdin=True, stdout=True, stderr=True)
    rude.close()  # gone without a word: nobody else notices
    reader, got = FrameReader(), b""
    sock.settimeout(10)
    for line in (b"first\n", b"second\n"):
        sock.sendall(line)
        while line not in got:
            data = sock.recv(4096)
            assert data, got
            got += b"".join(payload for _, payload in reader.feed(data))
    sock.shutdown(socket.SHUT_WR)  # stdin_once: this client's end closes the container's stdin
    assert sock.recv(4096) == b""  # cat saw EOF and exited; the stream ends
    assert client.wait(10)["exit_code"] == 0
    assert finish(pid) == 0
    assert [e["log"] for e in read_entries(spec.log_path)] == ["first\n", "second\n"]


def test_kill_and_bad_requests(spec_for):
    spec = spec_for()
    pid, _ = run_shim(spec, HostProcessRuntime(["sleep", "30"]))
    client = ShimClient(spec.state_dir)
    assert client.state()["status"] == "running"
    with pytest.raises(InvalidArgument):
        client.resize(0, 80)
    with pytest.raises(Conflict):
        client.resize(24, 80)  # no tty
    with pytest.raises(NotFound):
        client.kill(signal.SIGTERM, exec_id="nope")
    client.kill(signal.SIGTERM)
    assert client.wait(10)["exit_code"] == 128 + signal.SIGTERM
    assert finish(pid) == 0


def test_exec_gets_its_own_stream_and_exit_file(spec_for):
    spec = spec_for()
    pid, _ = run_shim(spec, HostProcessRuntime(["sleep", "30"]))
    client = ShimClient(spec.state_dir)
    from estiba.shim import AttachRequest

    exec_pid, sock = client.exec("x1", {"args": ["sh", "-c", "echo in-exec; exit 4"]}, attach=AttachRequest())
    sock.settimeout(10)
    data = b""
    while chunk := sock.recv(4096):
        data += chunk
    assert FrameReader().feed(data) == [(1, b"in-exec\n")]
    assert client.wait_exec("x1", 10) == {**client.exec_status("x1"), "exit_code": 4, "pid": exec_pid}
    client.kill(signal.SIGKILL)
    assert client.wait(10)["exit_code"] == 137
    assert finish(pid) == 0


def test_a_failed_create_records_127_and_reports_it(spec_for):
    spec = spec_for()
    missing = NotFound('exec: "nope": executable file not found in $PATH')
    runtime = HostProcessRuntime([], fail=missing)
    pid, report = run_shim(spec, runtime)
    assert report["state"] == "failed" and report["exit_code"] == 127 and report["kind"] == "InvalidArgument"
    assert finish(pid) == 0
    status = ShimClient(spec.state_dir).exit_status()
    assert status["exit_code"] == 127 and "not found" in status["error"]
    assert sorted(os.listdir(spec.state_dir)) == ["exit.json", "shim.pid"]


def test_a_failure_of_the_shims_own_set_up_is_128(spec_for, tmp_path):
    spec = spec_for()
    import dataclasses

    spec = dataclasses.replace(spec, log_path=str(tmp_path / "no" / "such" / "dir.json"))
    pid, report = run_shim(spec, HostProcessRuntime(["true"]))
    assert report["state"] == "failed" and report["exit_code"] == 128 and report["kind"] == "SystemFault"
    assert finish(pid) == 0
    assert "No such file" in ShimClient(spec.state_dir).exit_status()["error"]
