"""top, rename, update, diff, stats, export and sizes end to end: the real docker CLI
(and the API for status codes) against estibad with a bootstrapped busybox.

Needs root (mounts, namespaces, cgroups); skipped otherwise.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import socket
import tarfile
import time
from pathlib import Path

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.timeout(180),
]


def out(result) -> str:
    return result.stdout.decode()


def err(result) -> str:
    return result.stderr.decode()


def one_line_error(result) -> str:
    """The daemon's error as the CLI printed it: one line (`docker rename` adds its own
    "Error: failed to rename container named X" after it)."""
    assert result.returncode != 0
    lines = err(result).strip().splitlines()
    if len(lines) == 2 and lines[1].startswith("Error: failed to rename container named"):
        lines = lines[:1]
    assert len(lines) == 1, lines
    return lines[0]


class _Unix(http.client.HTTPConnection):
    def __init__(self, path: Path) -> None:
        super().__init__("localhost", timeout=30)
        self._path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


def api(daemon: Estibad, method: str, path: str, body: object = None) -> tuple[int, object]:
    connection = _Unix(daemon.socket)
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data else {}
    connection.request(method, "/v1.41" + path, body=data, headers=headers)
    response = connection.getresponse()
    raw = response.read()
    connection.close()
    return response.status, (json.loads(raw) if raw.strip() else None)


def run_sleeper(daemon: Estibad, name: str, *options: str, script: str = "exec sleep 1000") -> str:
    daemon.docker("run", "-d", "--name", name, *options, "busybox", "sh", "-c", script)
    return inspect(daemon, name)["Id"]


def inspect(daemon: Estibad, ref: str, *options: str) -> dict:
    return json.loads(out(daemon.docker("inspect", *options, ref)))[0]


def cgroup_dirs(pid: int) -> dict[str, Path]:
    """controller -> the process's cgroup directory (v1), or "unified" (v2)."""
    found = {}
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            found["unified"] = Path("/sys/fs/cgroup/unified" if Path("/sys/fs/cgroup/unified").is_dir()
                                    else "/sys/fs/cgroup") / path.lstrip("/")  # fmt: skip
        for controller in controllers.split(","):
            if controller:
                found[controller] = Path("/sys/fs/cgroup") / controller / path.lstrip("/")
    return found


def wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


# --- top --------------------------------------------------------------------------------


def test_top_lists_the_containers_processes_only(busybox: Estibad) -> None:
    cid = run_sleeper(busybox, "top1")
    try:
        pid = inspect(busybox, "top1")["State"]["Pid"]
        lines = out(busybox.docker("top", "top1")).splitlines()
        assert lines[0].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        assert len(lines) == 2, lines
        assert lines[1].split()[1] == str(pid) and lines[1].endswith("sleep 1000")
        assert str(os.getpid()) not in [line.split()[1] for line in lines[1:]]
        status, body = api(busybox, "GET", f"/containers/{cid}/top?ps_args=aux")
        assert status == 200
        assert body["Titles"][:2] == ["USER", "PID"] and body["Titles"][-1] == "COMMAND"
        assert [p[1] for p in body["Processes"]] == [str(pid)]
        busybox.docker("exec", "top1", "sh", "-c", "sleep 30 & sleep 0.2; exit 0")
        commands = [p[-1] for p in api(busybox, "GET", "/containers/top1/top")[1]["Processes"]]
        assert "sleep 30" in commands and "sleep 1000" in commands
    finally:
        busybox.docker("rm", "-f", "top1")


def test_top_of_a_container_that_is_not_running_is_409(busybox: Estibad) -> None:
    cid = out(busybox.docker("create", "--name", "top2", "busybox", "true")).strip()
    try:
        message = one_line_error(busybox.docker("top", "top2", check=False))
        assert message == f"Error response from daemon: Container {cid} is not running"
        assert api(busybox, "GET", "/containers/top2/top")[0] == 409
    finally:
        busybox.docker("rm", "top2")


def test_unknown_containers_are_404_with_one_line_errors(busybox: Estibad) -> None:
    for argv in (("top", "nosuch"), ("diff", "nosuch"), ("export", "-o", str(busybox.directory / "none.tar"), "nosuch"),
                 ("update", "--cpu-shares", "512", "nosuch"), ("rename", "nosuch", "other"),
                 ("stats", "--no-stream", "nosuch")):  # fmt: skip
        message = one_line_error(busybox.docker(*argv, check=False))
        assert "No such container: nosuch" in message, argv
    for method, path in (("GET", "/containers/nosuch/top"), ("GET", "/containers/nosuch/changes"),
                         ("GET", "/containers/nosuch/stats?stream=false"),
                         ("GET", "/containers/nosuch/export"), ("POST", "/containers/nosuch/rename?name=other"),
                         ("POST", "/containers/nosuch/update")):  # fmt: skip
        status, body = api(busybox, method, path, {} if path.endswith("update") else None)
        assert status == 404 and body["message"] == "No such container: nosuch", path


# --- rename -----------------------------------------------------------------------------


def test_rename(busybox: Estibad) -> None:
    cid = out(busybox.docker("create", "--name", "old1", "busybox", "true")).strip()
    busybox.docker("create", "--name", "taken1", "busybox", "true")
    try:
        since = str(int(time.time()) - 1)
        assert out(busybox.docker("rename", "old1", "new1")) == ""
        assert inspect(busybox, "new1")["Id"] == cid
        assert inspect(busybox, "new1")["Name"] == "/new1"
        gone = busybox.docker("inspect", "old1", check=False)
        assert "No such object: old1" in one_line_error(gone)
        assert api(busybox, "GET", "/containers/old1/json")[0] == 404
        taken = busybox.docker("rename", "new1", "taken1", check=False)
        assert 'The container name "/taken1" is already in use' in one_line_error(taken)
        assert api(busybox, "POST", "/containers/new1/rename?name=taken1")[0] == 409
        assert api(busybox, "POST", "/containers/new1/rename?name=new1")[0] == 400
        events = busybox.docker("events", "--since", since, "--until", str(int(time.time()) + 1),
                                "--filter", "event=rename", "--format", "{{json .Actor.Attributes}}")  # fmt: skip
        attributes = json.loads(out(events).splitlines()[0])
        assert attributes["name"] == "new1" and attributes["oldName"] == "/old1"
    finally:
        busybox.docker("rm", "-f", "new1", "taken1")


# --- update -----------------------------------------------------------------------------


def test_update_changes_the_live_cgroup_and_what_inspect_shows(busybox: Estibad) -> None:
    run_sleeper(busybox, "upd1")
    try:
        result = busybox.docker("update", "--memory", "64m", "--memory-swap", "128m", "--cpus", "0.5",
                                "--pids-limit", "20", "upd1")  # fmt: skip
        assert out(result) == "upd1\n"
        dirs = cgroup_dirs(inspect(busybox, "upd1")["State"]["Pid"])
        if "memory" in dirs:  # cgroup v1
            assert (dirs["memory"] / "memory.limit_in_bytes").read_text().strip() == str(64 << 20)
            assert (dirs["cpu"] / "cpu.cfs_quota_us").read_text().strip() == "50000"
            assert (dirs["cpu"] / "cpu.cfs_period_us").read_text().strip() == "100000"
        else:
            assert (dirs["unified"] / "memory.max").read_text().strip() == str(64 << 20)
            assert (dirs["unified"] / "cpu.max").read_text().split() == ["50000", "100000"]
        pids_dir = dirs.get("pids", dirs.get("unified"))
        assert (pids_dir / "pids.max").read_text().strip() == "20"
        host = inspect(busybox, "upd1")["HostConfig"]
        assert (host["Memory"], host["MemorySwap"], host["NanoCpus"], host["PidsLimit"]) == (
            64 << 20, 128 << 20, 500_000_000, 20,
        )
        stats = json.loads(out(busybox.docker("stats", "--no-stream", "--format", "{{json .}}", "upd1")))
        assert stats["MemUsage"].endswith("/ 64MiB")
    finally:
        busybox.docker("rm", "-f", "upd1")


def test_update_restart_policy_and_stopped_containers(busybox: Estibad) -> None:
    busybox.docker("create", "--name", "upd2", "busybox", "true")
    try:
        busybox.docker("update", "--restart", "on-failure:3", "--cpu-shares", "512", "upd2")
        host = inspect(busybox, "upd2")["HostConfig"]
        assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
        assert host["CpuShares"] == 512
    finally:
        busybox.docker("rm", "upd2")


def test_update_errors_are_dockerds(busybox: Estibad) -> None:
    cid = run_sleeper(busybox, "upd3")
    try:
        # dockerd refuses a memory limit above the (unset) memory+swap limit.
        conflict = busybox.docker("update", "--memory", "64m", "upd3", check=False)
        assert one_line_error(conflict) == (
            f"Error response from daemon: Cannot update container {cid}: Memory limit should be smaller "
            "than already set memoryswap limit, update the memoryswap at the same time"
        )
        assert api(busybox, "POST", "/containers/upd3/update", {"Memory": 64 << 20})[0] == 409
        tiny = busybox.docker("update", "--memory", "1m", "--memory-swap", "2m", "upd3", check=False)
        assert one_line_error(tiny) == "Error response from daemon: Minimum memory limit allowed is 6MB"
        status, body = api(busybox, "POST", "/containers/upd3/update", {"NanoCpus": 1000 * 10**9})
        assert status == 400 and body["message"].startswith("Range of CPUs is from 0.01 to")
        status, _ = api(busybox, "POST", "/containers/upd3/update", {"RestartPolicy": {"Name": "sometimes"}})
        assert status == 400
        # A limit below what the container uses: the kernel refuses, nothing is stored.
        busybox.docker("update", "--memory", "200m", "--memory-swap", "400m", "upd3")
        hog = "head -c 30000000 /dev/zero > /dev/shm/fill; exec sleep 1000"
        busybox.docker("exec", "-d", "upd3", "sh", "-c", hog)
        wait_until(lambda: "fill" in out(busybox.docker("exec", "upd3", "ls", "/dev/shm")))
        time.sleep(0.5)
        below = busybox.docker("update", "--memory", "8m", "--memory-swap", "8m", "upd3", check=False)
        assert "Cannot update container" in one_line_error(below)
        assert inspect(busybox, "upd3")["HostConfig"]["Memory"] == 200 << 20
    finally:
        busybox.docker("rm", "-f", "upd3")


# --- diff -------------------------------------------------------------------------------


def test_diff_shows_added_changed_and_deleted(busybox: Estibad) -> None:
    script = "touch /added; rm /bin/ls; echo x >> /etc/passwd; mkdir -p /tmp/d; exec sleep 1000"
    cid = run_sleeper(busybox, "diff1", script=script)
    try:
        wait_until(lambda: "A /added" in out(busybox.docker("diff", "diff1")))
        lines = out(busybox.docker("diff", "diff1")).splitlines()
        for expected in ("A /added", "C /bin", "D /bin/ls", "C /etc", "C /etc/passwd", "C /tmp", "A /tmp/d"):
            assert expected in lines, lines
        assert not any(line.endswith(("/etc/hosts", "/etc/resolv.conf", "/etc/hostname")) for line in lines)
        status, body = api(busybox, "GET", f"/containers/{cid}/changes")
        assert status == 200
        assert {"Path": "/bin/ls", "Kind": 2} in body and {"Path": "/added", "Kind": 1} in body
        assert {"Path": "/etc/passwd", "Kind": 0} in body
        busybox.docker("stop", "-t", "0", "diff1")
        assert out(busybox.docker("diff", "diff1")).splitlines() == lines
    finally:
        busybox.docker("rm", "-f", "diff1")


# --- stats ------------------------------------------------------------------------------


def test_stats_no_stream_shows_the_running_container(busybox: Estibad) -> None:
    cid = run_sleeper(busybox, "stats1")
    try:
        text = out(busybox.docker("stats", "--no-stream"))
        header, *rows = text.splitlines()
        assert header.split()[:4] == ["CONTAINER", "ID", "NAME", "CPU"]
        row = next(r for r in rows if r.split()[1] == "stats1")
        assert row.startswith(cid[:12])
        usage = row.split()[3:6]  # e.g. 356KiB / 23.5GiB
        assert usage[1] == "/" and not usage[0].startswith("0B") and usage[2] != "0B"
        assert row.split()[-1] == "1"  # PIDS
        assert row.split()[2].endswith("%")
    finally:
        busybox.docker("rm", "-f", "stats1")


def test_stats_documents(busybox: Estibad) -> None:
    cid = run_sleeper(busybox, "stats2", script="while :; do :; done")
    try:
        status, sample = api(busybox, "GET", "/containers/stats2/stats?stream=false")
        assert status == 200
        assert sample["id"] == cid and sample["name"] == "/stats2"
        cpu, precpu = sample["cpu_stats"], sample["precpu_stats"]
        assert cpu["cpu_usage"]["total_usage"] > precpu["cpu_usage"]["total_usage"] > 0
        assert cpu["system_cpu_usage"] > precpu["system_cpu_usage"] > 0
        assert cpu["online_cpus"] == os.cpu_count()
        assert sample["memory_stats"]["usage"] > 0 and sample["memory_stats"]["limit"] > 0
        assert sample["pids_stats"]["current"] == 1
        assert sample["preread"] < sample["read"]
        one_shot = api(busybox, "GET", "/containers/stats2/stats?stream=false&one-shot=true")[1]
        assert one_shot["preread"] == "0001-01-01T00:00:00Z"
        # A stream: one sample a second, each one's precpu the one before.
        connection = _Unix(busybox.socket)
        connection.request("GET", "/v1.41/containers/stats2/stats")
        response = connection.getresponse()
        first, second = json.loads(response.readline()), json.loads(response.readline())
        connection.close()
        assert second["preread"] == first["read"] and second["precpu_stats"] == first["cpu_stats"]
        busybox.docker("kill", "stats2")
        stopped = api(busybox, "GET", "/containers/stats2/stats?stream=false")[1]
        assert stopped["read"] == "0001-01-01T00:00:00Z" and stopped["memory_stats"] == {}
        assert stopped["name"] == "/stats2"
        row = out(busybox.docker("stats", "--no-stream", "--format", "{{.MemUsage}} {{.PIDs}}", "stats2"))
        assert row == "0B / 0B 0\n"
    finally:
        busybox.docker("rm", "-f", "stats2")


# --- export and sizes -------------------------------------------------------------------


def tar_members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        return {m.name: m for m in archive.getmembers()}


def our_mounts(daemon: Estibad) -> list[str]:
    """The lines of /proc/self/mountinfo that mention the daemon's directories (other
    daemons on this host mount and unmount meanwhile)."""
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line for line in lines if str(daemon.directory) in line]


def test_export_of_a_running_container(busybox: Estibad) -> None:
    run_sleeper(busybox, "exp1", script="echo hello > /written; rm /bin/ls; exec sleep 1000")
    try:
        wait_until(lambda: "A /written" in out(busybox.docker("diff", "exp1")))
        data = busybox.docker("export", "exp1").stdout
        members = tar_members(data)
        assert "bin/busybox" in members and "written" in members and "bin/ls" not in members
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            assert archive.extractfile("written").read() == b"hello\n"
    finally:
        busybox.docker("rm", "-f", "exp1")


def test_export_of_a_stopped_container_leaves_no_mount(busybox: Estibad, tmp_path: Path) -> None:
    busybox.docker("run", "--name", "exp2", "busybox", "sh", "-c", "echo bye > /etc/written")
    try:
        cid = inspect(busybox, "exp2")["Id"]
        wait_until(lambda: not any(cid in line for line in our_mounts(busybox)))  # released
        before = our_mounts(busybox)
        busybox.docker("export", "-o", str(tmp_path / "exp2.tar"), "exp2")
        assert our_mounts(busybox) == before
        members = tar_members((tmp_path / "exp2.tar").read_bytes())
        assert "bin/busybox" in members and "etc/written" in members
        assert members["bin/busybox"].size > 0
        assert not list((busybox.exec_root / "exports").iterdir())
        # A client that goes away mid-stream: the view is unmounted all the same.
        connection = _Unix(busybox.socket)
        connection.request("GET", "/v1.41/containers/exp2/export")
        response = connection.getresponse()
        assert response.status == 200 and len(response.read(1024)) == 1024
        assert our_mounts(busybox) != before  # the view is mounted while it streams
        connection.close()
        wait_until(lambda: our_mounts(busybox) == before)
        wait_until(lambda: not list((busybox.exec_root / "exports").iterdir()))
        # The container still starts (its layers were only lowers of the view).
        busybox.docker("start", "exp2")
        assert out(busybox.docker("wait", "exp2")) == "0\n"
    finally:
        busybox.docker("rm", "-f", "exp2")


def test_sizes_with_size_1(busybox: Estibad) -> None:
    busybox.docker("run", "--name", "size1", "busybox", "sh", "-c", "head -c 5000 /dev/zero > /blob")
    try:
        document = inspect(busybox, "size1", "--size")
        assert document["SizeRw"] >= 5000
        assert document["SizeRootFs"] > document["SizeRw"] + 1_000_000
        assert "SizeRw" not in inspect(busybox, "size1")
        status, summaries = api(busybox, "GET", "/containers/json?all=1&size=1")
        entry = next(s for s in summaries if s["Names"] == ["/size1"])
        assert (entry["SizeRw"], entry["SizeRootFs"]) == (document["SizeRw"], document["SizeRootFs"])
        row = out(busybox.docker("ps", "-a", "-s", "--filter", "name=size1", "--format", "{{.Size}}"))
        assert re.fullmatch(r"5(\.\d+)?kB \(virtual \d+(\.\d+)?MB\)", row.strip()), row
    finally:
        busybox.docker("rm", "size1")


def test_top_update_stats_with_runc_as_the_containers_runtime(busybox: Estibad) -> None:
    run_sleeper(busybox, "byrunc", "--runtime", "runc")
    try:
        pid = inspect(busybox, "byrunc")["State"]["Pid"]
        lines = out(busybox.docker("top", "byrunc")).splitlines()
        assert [line.split()[1] for line in lines[1:]] == [str(pid)]
        busybox.docker("update", "--pids-limit", "30", "byrunc")
        dirs = cgroup_dirs(pid)
        assert (dirs.get("pids", dirs.get("unified")) / "pids.max").read_text().strip() == "30"
        stats = json.loads(out(busybox.docker("stats", "--no-stream", "--format", "{{json .}}", "byrunc")))
        assert stats["PIDs"] == "1"
    finally:
        busybox.docker("rm", "-f", "byrunc")
