"""Terminals through the console socket, the six OCI hooks, and `exec`, as a CLI user sees them.

The test plays the caller's part of the console-socket protocol (what containerd's shim
does): it listens on a unix socket, the runtime connects and sends the pty master with
SCM_RIGHTS, and the test talks to the container's program through that master.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.integration.runtime.helpers import cgroup_dirs, container_id, one_line, wait_for, wait_status

SLEEPER = ["/bin/sh", "-c", "echo started; exec sleep 60"]
INTERACTIVE = 'tty; [ -t 0 ] && echo isatty; read line; echo "got=$line"'


def live_pid(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return False
    return stat[stat.rindex(b")") + 2 :].split()[0] not in (b"Z", b"X")


# --- terminal ----------------------------------------------------------------------


class ConsoleSocket:
    """The listening end of --console-socket; `master()` returns the pty master received."""

    def __init__(self, directory: Path) -> None:
        self.path = str(directory / f"console-{uuid.uuid4().hex[:8]}.sock")
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.listener.settimeout(15)
        self.fds: list[int] = []

    def master(self) -> int:
        connection, _ = self.listener.accept()
        with connection:
            connection.settimeout(15)
            _, fds, _, _ = socket.recv_fds(connection, 4096, 1)
        assert len(fds) == 1, "the runtime sent no pty master"
        self.fds += fds
        return fds[0]

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.listener.close()
        os.unlink(self.path)


@pytest.fixture
def console_socket(tmp_path_factory) -> ConsoleSocket:
    directory = Path(tmp_path_factory.mktemp("console", numbered=True))
    sock = ConsoleSocket(directory)
    yield sock
    sock.close()


def read_until(master: int, needle: str, timeout: float = 10.0) -> str:
    """What the program wrote to its terminal, up to and including the line with `needle`."""
    data = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in data or not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {needle!r} on the terminal; got {data!r}"
        ready, _, _ = select.select([master], [], [], remaining)
        if not ready:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the last holder of the terminal's slave side is gone
            break
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").replace("\r\n", "\n")


def test_terminal_through_the_console_socket(any_runtime, make_bundle, console_socket) -> None:
    bundle = make_bundle(args=["/bin/sh", "-c", INTERACTIVE], terminal=True)
    cid = container_id("tty")

    any_runtime.create(bundle, cid, "--console-socket", console_socket.path, check=True)
    master = console_socket.master()
    any_runtime.start(cid, check=True)

    first = read_until(master, "isatty")
    os.write(master, b"hello\n")
    rest = read_until(master, "got=hello")

    assert first.splitlines()[-2:] == ["/dev/pts/0", "isatty"]
    assert rest.splitlines()[-1] == "got=hello"
    wait_status(any_runtime, cid, "stopped")
    assert any_runtime.output(cid) == ""  # the program's output went to the terminal only


def test_terminal_without_console_socket_is_refused_by_create(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=["/bin/true"], terminal=True)
    cid = container_id("nosock")

    result = any_runtime.create(bundle, cid)

    assert result.returncode == 1
    assert "console" in one_line(result).lower()
    assert os.listdir(any_runtime.root) == []


def test_exec_detached_tty_through_the_console_socket(any_runtime, make_bundle, console_socket) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("exectty")
    any_runtime.run(bundle, cid, "-d", check=True)

    result = any_runtime.exec(cid, "/bin/sh", "-c", INTERACTIVE,
                              opts=["-d", "-t", "--console-socket", console_socket.path])
    master = console_socket.master()
    first = read_until(master, "isatty")
    os.write(master, b"from-exec\n")
    rest = read_until(master, "got=from-exec")

    assert (result.returncode, result.stderr) == (0, "")
    assert first.splitlines()[-1] == "isatty"
    assert first.splitlines()[-2].startswith("/dev/pts/")
    assert rest.splitlines()[-1] == "got=from-exec"


def test_exec_tty_through_the_console_socket_in_the_foreground(
    any_runtime, make_bundle, console_socket, tmp_path
) -> None:
    """runc 1.1.5 takes a console socket only with -d; estiba-runtime also waits for the
    process and returns its exit code."""
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("exectty")
    any_runtime.run(bundle, cid, "-d", check=True)
    argv = [*any_runtime.argv, "--root", str(any_runtime.root), "exec", "-t",
            "--console-socket", console_socket.path, cid, "/bin/sh", "-c", INTERACTIVE + "; exit 5"]

    if any_runtime.name == "runc":
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=15)
        assert result.returncode == 255
        assert "console socket" in one_line(result)
        return
    with open(tmp_path / "exec.err", "w+") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            master = console_socket.master()
            read_until(master, "isatty")
            os.write(master, b"fg\n")
            assert read_until(master, "got=fg").splitlines()[-1] == "got=fg"
            code = proc.wait(timeout=15)
            err.seek(0)
            assert code == 5, err.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err.seek(0)
        assert err.read() == ""


def test_run_with_a_terminal_and_no_console_socket(any_runtime, make_bundle) -> None:
    """estiba-runtime makes the pty itself and proxies it to a non-tty stdin and stdout;
    runc 1.1.5 insists on a controlling terminal (/dev/tty) and fails without one."""
    bundle = make_bundle(args=["/bin/sh", "-c", INTERACTIVE], terminal=True)
    cid = container_id("runtty")
    any_runtime.containers.append(cid)
    argv = [*any_runtime.argv, "--root", str(any_runtime.root), "run", "--bundle", str(bundle), cid]

    # A new session: no controlling terminal even when pytest itself runs on one.
    result = subprocess.run(argv, input="abc\n", capture_output=True, text=True, timeout=30,
                            start_new_session=True)

    if any_runtime.name == "runc":
        assert result.returncode == 1
        assert "/dev/tty" in one_line(result)
    else:
        assert (result.returncode, result.stderr) == (0, "")
        lines = result.stdout.replace("\r\n", "\n").splitlines()
        assert "/dev/pts/0" in lines and "isatty" in lines and lines[-1] == "got=abc"
    assert any_runtime.cmd("state", cid).returncode == 1
    assert cgroup_dirs(cid) == []


# --- hooks ---------------------------------------------------------------------------

HOOK_SCRIPT = '#!/bin/sh\n# $1: hook name, $2: log file; the state arrives on stdin.\nprintf "%s " "$1" >> "$2"\ncat >> "$2"\necho >> "$2"\n'
STAGES = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]


def test_hooks_run_in_order_with_the_state_on_stdin(any_runtime, make_bundle, tmp_path) -> None:
    log_dir = tmp_path / "hooklog"
    log_dir.mkdir()
    host_hook = tmp_path / "hook.sh"
    host_hook.write_text(HOOK_SCRIPT)
    host_hook.chmod(0o755)
    # startContainer runs in the container: its path is only there, its log through a bind mount.
    inner_name = f"/hook-{uuid.uuid4().hex[:8]}.sh"
    assert not os.path.exists(inner_name)

    def hook(stage: str) -> dict:
        if stage == "startContainer":
            return {"path": inner_name, "args": ["hook.sh", stage, "/hooklog/log"]}
        return {"path": str(host_hook), "args": ["hook.sh", stage, str(log_dir / "log")]}

    def edit(spec: dict) -> None:
        spec["hooks"] = {stage: [hook(stage)] for stage in STAGES}
        spec["mounts"].append({"destination": "/hooklog", "type": "bind", "source": str(log_dir),
                               "options": ["rbind", "rw"]})

    bundle = make_bundle(edit, args=SLEEPER)
    inner = bundle / "rootfs" / inner_name.lstrip("/")
    inner.write_text(HOOK_SCRIPT)
    inner.chmod(0o755)
    cid = container_id("hooks")

    any_runtime.create(bundle, cid, check=True)
    pid = any_runtime.state(cid)["pid"]
    any_runtime.start(cid, check=True)
    wait_for(lambda: any_runtime.output(cid) == "started\n", what="the program")
    any_runtime.kill(cid, "KILL", check=True)
    wait_status(any_runtime, cid, "stopped")
    any_runtime.delete(cid, check=True)

    entries = []
    for line in (log_dir / "log").read_text().splitlines():
        stage, _, payload = line.partition(" ")
        entries.append((stage, json.loads(payload)))
    order = [stage for stage, _ in entries]
    if any_runtime.name == "runc":
        # runc 1.1.5 runs poststart hooks at the end of `create` (fixed in runc 1.2).
        assert order == ["prestart", "createRuntime", "createContainer", "poststart",
                         "startContainer", "poststop"]
    else:
        assert order == STAGES
    states = dict(entries)
    for stage, state in states.items():
        assert (state["id"], state["bundle"]) == (cid, str(bundle)), stage
    assert {stage: states[stage]["status"] for stage in STAGES} == {
        "prestart": "creating",
        "createRuntime": "creating",
        "createContainer": "creating",
        "startContainer": "created",
        "poststart": "created" if any_runtime.name == "runc" else "running",
        "poststop": "stopped",
    }
    assert states["prestart"]["pid"] == states["createRuntime"]["pid"] == pid
    assert states["poststart"]["pid"] == pid
    assert states["startContainer"]["pid"] == 1  # its own pid, inside the pid namespace
    assert states["poststop"].get("pid", 0) == 0


def _hook_bundle(make_bundle, stage: str, script: str, timeout: int | None = None) -> Path:
    hook = {"path": "/bin/sh", "args": ["sh", "-c", script]}
    if timeout is not None:
        hook["timeout"] = timeout
    return make_bundle(args=["/bin/echo", "never"], hooks={stage: [hook]})


def _assert_nothing_left(runtime, cid: str) -> None:
    assert os.listdir(runtime.root) == []
    wait_for(lambda: cgroup_dirs(cid) == [], timeout=5, what="cgroups removed")
    assert runtime.cmd("state", cid).returncode == 1
    assert runtime.output(cid) == ""


def test_failing_prestart_hook_fails_create_and_leaves_nothing(any_runtime, make_bundle) -> None:
    bundle = _hook_bundle(make_bundle, "prestart", "echo hook says no >&2; exit 1")
    cid = container_id("badhook")

    result = any_runtime.create(bundle, cid)

    assert result.returncode == 1
    line = one_line(result)
    assert "hook" in line and "hook says no" in line
    if any_runtime.name == "estiba":
        assert line == "estiba-runtime: prestart hook #0 (/bin/sh): exit status 1: hook says no"
    _assert_nothing_left(any_runtime, cid)


def test_failing_create_container_hook_leaves_nothing(any_runtime, make_bundle) -> None:
    bundle = _hook_bundle(make_bundle, "createContainer", "exit 3")
    cid = container_id("badcc")

    result = any_runtime.create(bundle, cid)

    assert result.returncode == 1
    assert "hook" in one_line(result)
    _assert_nothing_left(any_runtime, cid)


def test_hook_timeout_kills_the_hook_and_what_it_started(estiba_runtime, make_bundle, tmp_path) -> None:
    """runc 1.1.5 waits for a timed-out hook's children to close its pipes; not compared."""
    pid_file = tmp_path / "grandchild.pid"
    bundle = _hook_bundle(make_bundle, "prestart", f"sleep 30 & echo $! > {pid_file}; wait", timeout=1)
    cid = container_id("slowhook")

    started = time.monotonic()
    result = estiba_runtime.create(bundle, cid)
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert one_line(result) == "estiba-runtime: prestart hook #0 (/bin/sh): timed out after 1s"
    assert elapsed < 8
    assert not live_pid(int(pid_file.read_text()))
    _assert_nothing_left(estiba_runtime, cid)


# --- exec ----------------------------------------------------------------------------


@pytest.fixture
def running(any_runtime, make_bundle):
    """(runtime, container id) of a running SLEEPER container."""
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("exec")
    any_runtime.run(bundle, cid, "-d", check=True)
    return any_runtime, cid


def test_exec_args_env_cwd_user_and_exit_code(running) -> None:
    runtime, cid = running

    result = runtime.exec(cid, "/bin/sh", "-c", 'echo "$FOO"; pwd; id -u; id -g; exit 7',
                          opts=["--env", "FOO=bar", "--cwd", "/etc", "--user", "1000:1000"])

    assert (result.returncode, result.stdout, result.stderr) == (7, "bar\n/etc\n1000\n1000\n", "")


def test_exec_gets_the_container_env_by_default(running) -> None:
    runtime, cid = running

    result = runtime.exec(cid, "/bin/sh", "-c", 'echo "$PATH $TERM"; id -u; pwd', check=True)

    assert result.stdout == (
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin xterm\n0\n/\n"
    )


def test_exec_with_a_process_file(running, tmp_path) -> None:
    runtime, cid = running
    process = {
        "args": ["/bin/sh", "-c", 'echo "$GREETING from $(pwd) as $(id -u):$(id -g)"; exit 4'],
        "env": ["PATH=/bin", "GREETING=hello"],
        "cwd": "/tmp",
        "user": {"uid": 1000, "gid": 1000},
    }
    process_file = tmp_path / "process.json"
    process_file.write_text(json.dumps(process))

    result = runtime.exec(cid, opts=["--process", str(process_file)])

    assert (result.returncode, result.stdout, result.stderr) == (4, "hello from /tmp as 1000:1000\n", "")


def test_exec_detached_joins_the_container(running, tmp_path) -> None:
    runtime, cid = running
    init_pid = runtime.state(cid)["pid"]
    pid_file = tmp_path / "exec.pid"

    result = runtime.exec(cid, "sleep", "45", opts=["-d", "--pid-file", str(pid_file)])

    assert result.returncode == 0, result.stderr
    pid = int(pid_file.read_text())
    for name in ("pid", "mnt", "net", "ipc", "uts"):
        assert os.readlink(f"/proc/{pid}/ns/{name}") == os.readlink(f"/proc/{init_pid}/ns/{name}")
    assert Path(f"/proc/{pid}/cgroup").read_text() == Path(f"/proc/{init_pid}/cgroup").read_text()
    assert Path(f"/proc/{pid}/cmdline").read_bytes() == b"sleep\x0045\x00"
    listed = json.loads(runtime.cmd("ps", "--format", "json", cid, check=True).stdout)
    assert pid in listed
    inside = runtime.exec(cid, "ps", "-o", "pid,args", check=True).stdout
    assert any(line.split()[1:] == ["sleep", "45"] for line in inside.splitlines()[1:])


def test_exec_of_a_missing_program_fails_in_one_line(running) -> None:
    runtime, cid = running

    result = runtime.exec(cid, "no-such-program")

    assert result.returncode == 255
    assert "no-such-program" in one_line(result)
    assert "executable file not found" in result.stderr


def test_exec_in_a_stopped_container_fails(running) -> None:
    runtime, cid = running
    runtime.kill(cid, "KILL", check=True)
    wait_status(runtime, cid, "stopped")

    result = runtime.exec(cid, "true")

    assert result.returncode == 255
    assert "stopped" in one_line(result) or "not running" in result.stderr


def test_exec_in_a_paused_container_is_refused(running) -> None:
    runtime, cid = running
    runtime.cmd("pause", cid, check=True)

    result = runtime.exec(cid, "true", timeout=15)

    assert result.returncode == 255
    assert "paused" in one_line(result)
    runtime.cmd("resume", cid, check=True)


def test_exec_in_a_created_container(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=SLEEPER)
    cid = container_id("execcreated")
    any_runtime.create(bundle, cid, check=True)

    result = any_runtime.exec(cid, "/bin/sh", "-c", "echo $$")

    assert (result.returncode, result.stderr) == (0, "")
    assert int(result.stdout) > 1  # in the container's pid namespace, beside its waiting init
    assert any_runtime.state(cid)["status"] == "created"
    assert any_runtime.output(cid) == ""
