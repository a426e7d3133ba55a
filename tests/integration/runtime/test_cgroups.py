"""Cgroup managers on the real kernel: limits that bite, stats, freezing, killing, removal.

Needs root. Every cgroup is /estiba-test/<random> and is removed (with its processes)
whatever the test's outcome. Helper processes are small Python programs that wait for a
line on stdin, so that they join the cgroup before doing the thing being limited.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from estiba.errors import EstibaError, SystemFault, Unavailable
from estiba.runtime.cgroups import DeviceRule, Resources, V2Manager, detect, manager_for

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="cgroup tests need root to create cgroups"),
]

ROOT = "/sys/fs/cgroup"
PARENT = "/estiba-test"
MODE = detect(ROOT) if os.path.isdir(ROOT) else None
v1_only = pytest.mark.skipif(MODE not in ("v1", "hybrid"), reason=f"cgroup v1 checks; host is {MODE}")

WAIT_THEN_SLEEP = "import sys, time; sys.stdin.readline(); time.sleep(60)"


class Helpers:
    """Processes started by a test, killed and reaped at its end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def spawn(self, code: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.procs.append(proc)
        return proc

    @staticmethod
    def go(proc: subprocess.Popen) -> None:
        proc.stdin.write("go\n")
        proc.stdin.flush()

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                stream.close()


def _cleanup(manager) -> None:
    try:
        if manager.pids():
            manager.kill_all(signal.SIGKILL)
    except EstibaError:
        pass
    manager.destroy(timeout=5)
    for path in manager.paths.values():
        try:
            os.rmdir(os.path.dirname(path))  # /estiba-test, if no other test uses it
        except OSError:
            pass


@pytest.fixture
def helpers():
    h = Helpers()
    yield h
    h.close()


@pytest.fixture
def cgroup(helpers):
    manager = manager_for(f"{PARENT}/{uuid.uuid4().hex[:12]}", ROOT)
    try:
        manager.create()
    except SystemFault as exc:
        manager.destroy()
        pytest.skip(f"cannot create cgroups here: {exc}")
    yield manager
    helpers.close()  # first, so that the cgroup is empty
    _cleanup(manager)


def joined(manager, helpers, code: str = WAIT_THEN_SLEEP) -> subprocess.Popen:
    proc = helpers.spawn(code)
    manager.add(proc.pid)
    return proc


def read(path: str, name: str) -> str:
    with open(os.path.join(path, name)) as f:
        return f.read().strip()


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


# ---- limits ---------------------------------------------------------------------------------


def test_memory_limit_kills_a_hog_and_counts_it(cgroup, helpers):
    limit = 32 << 20
    cgroup.set(Resources.from_spec({"memory": {"limit": limit, "swap": limit}}))
    if MODE != "v2":
        assert read(cgroup.paths["memory"], "memory.limit_in_bytes") == str(limit)
        assert read(cgroup.paths["memory"], "memory.memsw.limit_in_bytes") == str(limit)
    hog = joined(cgroup, helpers, (
        "import sys\nsys.stdin.readline()\nchunks = []\n"
        "for _ in range(100):\n    chunks.append(b'x' * (1 << 20))\nprint('survived')\n"
    ))
    helpers.go(hog)
    assert hog.wait(timeout=60) == -signal.SIGKILL
    assert hog.stdout.read() == ""
    assert cgroup.oom_kill_count() == 1


def test_pids_limit_makes_fork_fail_with_eagain(cgroup, helpers):
    cgroup.set(Resources.from_spec({"pids": {"limit": 10}}))
    forker = joined(cgroup, helpers, (
        "import os, sys, time\nsys.stdin.readline()\nkids = []\nresult = 'no limit'\n"
        "try:\n"
        "    for _ in range(30):\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n            time.sleep(60)\n            os._exit(0)\n"
        "        kids.append(pid)\n"
        "except OSError as exc:\n    result = f'{exc.errno} {len(kids)}'\n"
        "for pid in kids:\n    os.kill(pid, 9)\n    os.waitpid(pid, 0)\n"
        "print(result)\n"
    ))
    helpers.go(forker)
    assert forker.wait(timeout=30) == 0
    assert forker.stdout.read().split() == [str(errno.EAGAIN), "9"]  # itself + 9 children


@v1_only
def test_cpu_values_read_back(cgroup):
    cgroup.set(Resources.from_spec({"cpu": {"shares": 512, "quota": 20000, "period": 100000}}))
    cpu = cgroup.paths["cpu"]
    assert (read(cpu, "cpu.shares"), read(cpu, "cpu.cfs_quota_us"), read(cpu, "cpu.cfs_period_us")) == (
        "512", "20000", "100000")
    cgroup.set(Resources.from_spec({"cpu": {"quota": -1}}))
    assert read(cpu, "cpu.cfs_quota_us") == "-1"


@v1_only
def test_cpuset_is_copied_from_the_parent_and_settable(cgroup, helpers):
    cpuset = cgroup.paths["cpuset"]
    root = os.path.join(ROOT, "cpuset")
    assert read(cpuset, "cpuset.cpus") == read(root, "cpuset.cpus")
    assert read(cpuset, "cpuset.mems") == read(root, "cpuset.mems")
    joined(cgroup, helpers)  # joining needs non-empty cpus and mems
    cgroup.set(Resources.from_spec({"cpu": {"cpus": "0"}}))
    assert read(cpuset, "cpuset.cpus") == "0"


@v1_only
def test_devices_rules_reach_devices_list(cgroup):
    cgroup.set(Resources.from_spec({"devices": [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rw"}]}))
    assert read(cgroup.paths["devices"], "devices.list") == "c 1:3 rw"


# ---- observing, freezing, killing -----------------------------------------------------------


def test_stats_are_sane_while_a_process_runs(cgroup, helpers):
    busy = joined(cgroup, helpers, (
        "import sys, time\nsys.stdin.readline()\ndata = b'y' * (8 << 20)\n"
        "end = time.time() + 0.3\nwhile time.time() < end:\n    pass\n"
        "print('ready', flush=True)\ntime.sleep(60)\n"
    ))
    helpers.go(busy)
    assert busy.stdout.readline().strip() == "ready"
    s = cgroup.stats()
    assert s["memory"]["usage"]["usage"] > 4 << 20
    assert s["memory"]["usage"]["limit"] > 0
    assert s["cpu"]["usage"]["total"] > 100_000_000  # > 0.1 s of the 0.3 s busy loop
    assert s["pids"]["current"] == 1
    assert set(s) >= {"cpu", "memory", "pids", "blkio"}


def test_freeze_thaw(cgroup, helpers):
    sleeper = joined(cgroup, helpers)
    cgroup.freeze()
    assert cgroup.frozen()
    if MODE != "v2":
        assert read(cgroup.paths["freezer"], "freezer.state") == "FROZEN"
    cgroup.thaw()
    assert not cgroup.frozen()
    assert sleeper.poll() is None


def test_kill_all_reaches_forked_children(cgroup, helpers):
    parent = joined(cgroup, helpers, (
        "import os, sys, time\nsys.stdin.readline()\n"
        "if os.fork() == 0:\n    time.sleep(60)\n    os._exit(0)\n"
        "print('forked', flush=True)\ntime.sleep(60)\n"
    ))
    helpers.go(parent)
    assert parent.stdout.readline().strip() == "forked"
    assert len(cgroup.pids()) == 2
    cgroup.kill_all(signal.SIGKILL)
    assert parent.wait(timeout=10) == -signal.SIGKILL
    assert wait_until(lambda: cgroup.pids() == [])
    assert not cgroup.frozen()


def subdirectories(path: str) -> set[str]:
    return {e.name for e in os.scandir(path) if e.is_dir()} if os.path.isdir(path) else set()


def test_destroy_leaves_no_directory_in_any_hierarchy(helpers):
    manager = manager_for(f"{PARENT}/{uuid.uuid4().hex[:12]}", ROOT)
    parents = {os.path.dirname(path) for path in manager.paths.values()}
    before = {p: subdirectories(p) for p in parents}
    try:
        manager.create()
        assert all(os.path.isdir(path) for path in manager.paths.values())
        sleeper = joined(manager, helpers)
        manager.kill_all(signal.SIGKILL)
        sleeper.wait(timeout=10)
        manager.destroy()
        manager.destroy()  # idempotent
        after = {p: subdirectories(p) for p in parents}
        assert after == before
        assert not any(os.path.exists(path) for path in manager.paths.values())
    finally:
        helpers.close()
        _cleanup(manager)


# ---- cgroup v2 device filter (here on the hybrid host's empty unified hierarchy) --------------


@pytest.fixture
def unified(helpers):
    root = os.path.join(ROOT, "unified") if MODE == "hybrid" else ROOT
    if MODE not in ("hybrid", "v2"):
        pytest.skip(f"no cgroup v2 hierarchy on this host ({MODE})")
    manager = V2Manager(f"{PARENT}/{uuid.uuid4().hex[:12]}", root, controllers=())
    manager.create()
    yield manager
    helpers.close()
    _cleanup(manager)


def test_bpf_device_filter_allows_null_and_denies_zero(unified, helpers):
    rules = (DeviceRule(True, "c", 1, 3, "rwm"),)
    try:
        unified.set(Resources(devices=rules))
    except (Unavailable, SystemFault) as exc:
        pytest.skip(f"the kernel refused the device filter: {exc}")
    opener = joined(unified, helpers, (
        "import os, sys\nsys.stdin.readline()\nresults = []\n"
        "for path in ('/dev/null', '/dev/zero'):\n"
        "    try:\n        os.close(os.open(path, os.O_RDONLY))\n        results.append('ok')\n"
        "    except OSError as exc:\n        results.append(str(exc.errno))\n"
        "print(' '.join(results))\n"
    ))
    helpers.go(opener)
    assert opener.wait(timeout=10) == 0
    assert opener.stdout.read().split() == ["ok", str(errno.EPERM)]
    # Setting devices again replaces the filter rather than stacking a second one.
    unified.set(Resources(devices=(DeviceRule(True, "a"),)))
    opener = joined(unified, helpers, opener.args[2])
    helpers.go(opener)
    assert opener.wait(timeout=10) == 0
    assert opener.stdout.read().split() == ["ok", "ok"]


def test_v2_freeze_and_cgroup_kill(unified, helpers):
    sleeper = joined(unified, helpers)
    unified.freeze()
    assert unified.frozen()
    unified.thaw()
    assert not unified.frozen() and sleeper.poll() is None
    unified.kill_all(signal.SIGKILL)
    assert sleeper.wait(timeout=10) == -signal.SIGKILL
    assert wait_until(lambda: unified.pids() == [])
