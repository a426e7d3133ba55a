"""V1Manager against a temporary directory laid out like /sys/fs/cgroup on a v1 host, plus
the parsing of OCI `linux.resources`, detection and path handling (no root needed).

`FakeV1Kernel` stands in for the kernel where a plain directory cannot: mkdir fills a new
cgroup with the files the kernel would create, rmdir refuses busy cgroups, writes keep the
v1 rules that matter to the manager (memsw >= memory, one rule per devices write).
"""

from __future__ import annotations

import errno
import os
import signal

import pytest

from estiba.errors import InvalidArgument, SystemFault, Unavailable, Unsupported
from estiba.runtime.cgroups import (
    CgroupManager,
    DeviceRule,
    Kernel,
    Resources,
    V1Manager,
    V2Manager,
    default_path,
    detect,
    load,
    manager_for,
)

UNLIMITED = "9223372036854771712"
COMMON = {"cgroup.procs": "", "tasks": "", "notify_on_release": "0"}
FILES = {
    "cpu": {
        "cpu.shares": "1024",
        "cpu.cfs_period_us": "100000",
        "cpu.cfs_quota_us": "-1",
        "cpu.cfs_burst_us": "0",
        "cpu.rt_period_us": "1000000",
        "cpu.rt_runtime_us": "0",
        "cpu.idle": "0",
        "cpu.stat": "nr_periods 7\nnr_throttled 2\nthrottled_time 900\n",
    },
    "cpuacct": {
        "cpuacct.usage": "5000",
        "cpuacct.usage_percpu": "3000 2000",
        "cpuacct.usage_percpu_sys": "1000 500",
        "cpuacct.usage_percpu_user": "2000 1500",
        "cpuacct.stat": "user 3\nsystem 1\n",
    },
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "memory": {
        "memory.limit_in_bytes": UNLIMITED,
        "memory.usage_in_bytes": "4096",
        "memory.max_usage_in_bytes": "8192",
        "memory.failcnt": "3",
        "memory.memsw.limit_in_bytes": UNLIMITED,
        "memory.memsw.usage_in_bytes": "4096",
        "memory.memsw.max_usage_in_bytes": "8192",
        "memory.memsw.failcnt": "0",
        "memory.kmem.tcp.limit_in_bytes": UNLIMITED,
        "memory.soft_limit_in_bytes": UNLIMITED,
        "memory.swappiness": "60",
        "memory.oom_control": "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n",
        "memory.stat": "cache 12\nrss 34\ntotal_cache 56\n",
    },
    "devices": {"devices.allow": "", "devices.deny": "", "devices.list": "a *:* rwm\n"},
    "freezer": {"freezer.state": "THAWED"},
    "blkio": {
        "blkio.bfq.weight": "100",
        "blkio.bfq.weight_device": "",
        "blkio.throttle.read_bps_device": "",
        "blkio.throttle.write_bps_device": "",
        "blkio.throttle.read_iops_device": "",
        "blkio.throttle.write_iops_device": "",
        "blkio.throttle.io_service_bytes_recursive": "8:0 Read 512\n8:0 Write 0\nTotal 512\n",
        "blkio.throttle.io_serviced_recursive": "8:0 Read 1\n8:0 Write 0\nTotal 1\n",
    },
    "pids": {"pids.max": "max", "pids.current": "1"},
    "systemd": {},
}
APPENDED = {"devices.allow", "devices.deny", "cgroup.procs", "blkio.bfq.weight_device"}
APPENDED_PREFIX = "blkio.throttle."


def _fill(path: str, files: dict[str, str]) -> None:
    for name, content in {**COMMON, **files}.items():
        with open(os.path.join(path, name), "w") as f:
            f.write(content)


def read(path: str, name: str) -> str:
    with open(os.path.join(path, name)) as f:
        return f.read()


class FakeV1Kernel(Kernel):
    def __init__(self, root: str) -> None:
        self.root = root
        self.writes: list[tuple[str, str]] = []
        self.signals: list[tuple[int, int, str]] = []
        self.busy_rmdirs = 0

    def _hierarchy(self, path: str) -> str:
        return os.path.relpath(path, self.root).split(os.sep)[0]

    def mkdir(self, path: str) -> None:
        os.mkdir(path)
        _fill(path, FILES[self._hierarchy(path)])

    def rmdir(self, path: str) -> None:
        if self.busy_rmdirs:
            self.busy_rmdirs -= 1
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        if read(path, "cgroup.procs").strip() or any(e.is_dir() for e in os.scandir(path)):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        for entry in os.scandir(path):
            os.unlink(entry.path)
        os.rmdir(path)

    def write(self, path: str, data: str) -> None:
        if not os.path.isfile(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
        directory, name = os.path.split(path)
        if name in ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes"):
            self._check_memsw(directory, name, data)
        self.writes.append((os.path.relpath(path, self.root), data))
        if name in APPENDED or name.startswith(APPENDED_PREFIX):
            with open(path, "a") as f:
                f.write(data + "\n")
        else:
            with open(path, "w") as f:
                f.write(data)

    @staticmethod
    def _check_memsw(directory: str, name: str, data: str) -> None:
        def value(text: str) -> int:
            return 2**63 if int(text) == -1 else int(text)

        memory = value(read(directory, "memory.limit_in_bytes"))
        memsw = value(read(directory, "memory.memsw.limit_in_bytes"))
        if name == "memory.limit_in_bytes":
            memory = value(data)
        else:
            memsw = value(data)
        if memsw < memory:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    def kill(self, pid: int, sig: int) -> None:
        state = read(os.path.join(self.root, "freezer", "estiba", "c1"), "freezer.state")
        self.signals.append((pid, sig, state))

    def written(self, name: str) -> list[str]:
        return [data for path, data in self.writes if os.path.basename(path) == name]


@pytest.fixture
def root(tmp_path) -> str:
    for hierarchy, files in FILES.items():
        path = tmp_path / hierarchy
        path.mkdir()
        _fill(str(path), files)
    _fill(str(tmp_path / "cpuset"), {"cpuset.cpus": "0-3", "cpuset.mems": "0"})
    return str(tmp_path)


@pytest.fixture
def kernel(root) -> FakeV1Kernel:
    return FakeV1Kernel(root)


@pytest.fixture
def manager(root, kernel) -> V1Manager:
    m = V1Manager("/estiba/c1", root, kernel=kernel)
    m.create()
    kernel.writes.clear()
    return m


def spec(**resources) -> Resources:
    return Resources.from_spec(resources)


# ---- create, add, destroy -----------------------------------------------------------------


def test_is_a_cgroup_manager(manager):
    assert isinstance(manager, CgroupManager)
    assert isinstance(load(manager.paths), CgroupManager)


def test_create_makes_one_directory_per_mounted_hierarchy(root, manager):
    assert manager.paths == {
        name: os.path.join(root, directory, "estiba", "c1")
        for name, directory in [
            ("cpuset", "cpuset"), ("cpu", "cpu"), ("cpuacct", "cpuacct"), ("memory", "memory"),
            ("devices", "devices"), ("freezer", "freezer"), ("blkio", "blkio"), ("pids", "pids"),
            ("name=systemd", "systemd"),
        ]
    }
    assert all(os.path.isdir(p) for p in manager.paths.values())


def test_create_copies_cpuset_down_every_level_it_creates(root, manager):
    for level in ("estiba", "estiba/c1"):
        path = os.path.join(root, "cpuset", level)
        assert (read(path, "cpuset.cpus"), read(path, "cpuset.mems")) == ("0-3", "0")


def test_create_keeps_a_cpuset_already_filled(root, kernel):
    os.mkdir(os.path.join(root, "cpuset", "estiba"))
    _fill(os.path.join(root, "cpuset", "estiba"), {"cpuset.cpus": "1", "cpuset.mems": "0"})
    V1Manager("/estiba/c1", root, kernel=kernel).create()
    assert read(os.path.join(root, "cpuset", "estiba", "c1"), "cpuset.cpus") == "1"


def test_add_joins_every_hierarchy_and_pids_reads_them_all(manager, kernel):
    manager.add(4242)
    assert len(kernel.written("cgroup.procs")) == len(manager.paths)
    assert manager.pids() == [4242]


def test_destroy_removes_every_directory_and_is_idempotent(root, manager):
    manager.destroy()
    assert not any(os.path.exists(p) for p in manager.paths.values())
    manager.destroy()
    assert os.path.isdir(os.path.join(root, "memory", "estiba"))  # parents stay


def test_destroy_retries_while_tasks_exit(manager, kernel):
    kernel.busy_rmdirs = 2
    manager.destroy()
    assert not any(os.path.exists(p) for p in manager.paths.values())


def test_destroy_gives_up_on_a_cgroup_still_in_use(manager, kernel):
    kernel.write(os.path.join(manager.paths["memory"], "cgroup.procs"), "4242")
    with pytest.raises(SystemFault, match=r"memory/estiba/c1: cannot remove: Device or resource busy"):
        manager.destroy(timeout=0.05)
    assert os.path.exists(manager.paths["memory"])
    assert not os.path.exists(manager.paths["cpu"])  # the other hierarchies were still cleaned


def test_destroy_removes_nested_cgroups_first(root, manager, kernel):
    kernel.mkdir(os.path.join(manager.paths["pids"], "inner"))
    manager.destroy()
    assert not os.path.exists(manager.paths["pids"])


# ---- set ----------------------------------------------------------------------------------


def test_memory_limits_and_swap_keep_memsw_above_memory(manager, kernel):
    path = manager.paths["memory"]
    for limit, swap in [(64 << 20, 128 << 20), (256 << 20, 512 << 20), (32 << 20, 32 << 20)]:
        manager.set(spec(memory={"limit": limit, "swap": swap}))
        assert read(path, "memory.limit_in_bytes") == str(limit)
        assert read(path, "memory.memsw.limit_in_bytes") == str(swap)
    # Raising wrote memsw first, lowering wrote memory first.
    names = [os.path.basename(p) for p, _ in kernel.writes if "limit_in_bytes" in p]
    assert names[2:4] == ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
    assert names[4:6] == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]


def test_unlimited_memory_unlimits_swap_too(manager):
    manager.set(spec(memory={"limit": 64 << 20, "swap": 64 << 20}))
    manager.set(spec(memory={"limit": -1}))
    path = manager.paths["memory"]
    assert (read(path, "memory.limit_in_bytes"), read(path, "memory.memsw.limit_in_bytes")) == ("-1", "-1")


def test_other_memory_settings(manager):
    manager.set(spec(memory={"reservation": 1 << 20, "kernelTCP": 2 << 20, "swappiness": 0,
                             "disableOOMKiller": True, "kernel": 5 << 20}))
    path = manager.paths["memory"]
    assert read(path, "memory.soft_limit_in_bytes") == str(1 << 20)
    assert read(path, "memory.kmem.tcp.limit_in_bytes") == str(2 << 20)
    assert read(path, "memory.swappiness") == "0"
    assert read(path, "memory.oom_control") == "1"


def test_cpu_settings(manager, kernel):
    manager.set(spec(cpu={"shares": 512, "quota": 50000, "period": 100000, "burst": 1000,
                          "idle": 1, "cpus": "1-2", "mems": "0"}))
    cpu, cpuset = manager.paths["cpu"], manager.paths["cpuset"]
    assert read(cpu, "cpu.shares") == "512"
    assert read(cpu, "cpu.cfs_period_us") == "100000"
    assert read(cpu, "cpu.cfs_quota_us") == "50000"
    assert read(cpu, "cpu.cfs_burst_us") == "1000"
    assert read(cpu, "cpu.idle") == "1"
    assert (read(cpuset, "cpuset.cpus"), read(cpuset, "cpuset.mems")) == ("1-2", "0")
    assert not kernel.written("cpu.rt_runtime_us") and not kernel.written("cpu.rt_period_us")


def test_realtime_only_when_set(manager):
    manager.set(spec(cpu={"realtimeRuntime": 950, "realtimePeriod": 1000}))
    assert read(manager.paths["cpu"], "cpu.rt_runtime_us") == "950"
    assert read(manager.paths["cpu"], "cpu.rt_period_us") == "1000"


def test_period_refused_before_quota_is_retried_after_it(manager, kernel):
    refused = []

    def write(path, data, original=kernel.write):
        if path.endswith("cpu.cfs_period_us") and not refused:
            refused.append(data)
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        original(path, data)

    kernel.write = write
    manager.set(spec(cpu={"quota": 5000, "period": 10000}))
    assert refused == ["10000"]
    assert [os.path.basename(p) for p, _ in kernel.writes] == ["cpu.cfs_quota_us", "cpu.cfs_period_us"]


@pytest.mark.parametrize(("limit", "written"), [(10, "10"), (-1, "max"), (-5, "max")])
def test_pids_limit(manager, limit, written):
    manager.set(spec(pids={"limit": limit}))
    assert read(manager.paths["pids"], "pids.max") == written


def test_blkio_uses_bfq_weight_when_there_is_no_blkio_weight(manager):
    manager.set(spec(blockIO={
        "weight": 300,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 500}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 100}],
    }))
    path = manager.paths["blkio"]
    assert read(path, "blkio.bfq.weight") == "300"
    assert read(path, "blkio.bfq.weight_device") == "8:0 500\n"
    assert read(path, "blkio.throttle.read_bps_device") == "8:0 1048576\n"
    assert read(path, "blkio.throttle.write_iops_device") == "8:16 100\n"


def test_blkio_prefers_blkio_weight(manager):
    path = manager.paths["blkio"]
    _fill(path, {"blkio.weight": "500"})
    manager.set(spec(blockIO={"weight": 300}))
    assert (read(path, "blkio.weight"), read(path, "blkio.bfq.weight")) == ("300", "100")


def test_blkio_weight_without_any_weight_file_is_a_clear_error(manager):
    os.unlink(os.path.join(manager.paths["blkio"], "blkio.bfq.weight"))
    with pytest.raises(Unavailable, match="neither blkio.weight nor blkio.bfq.weight"):
        manager.set(spec(blockIO={"weight": 300}))


def test_devices_start_from_deny_all_and_apply_rules_in_order(manager, kernel):
    manager.set(spec(devices=[
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": True, "type": "c", "major": 136, "access": "rw"},
        {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "m"},
    ]))
    writes = [(os.path.basename(p), d) for p, d in kernel.writes]
    assert writes == [
        ("devices.deny", "a"),
        ("devices.allow", "c 1:3 rwm"),
        ("devices.allow", "c 136:* rw"),
        ("devices.deny", "c 1:3 m"),
    ]


def test_devices_left_alone_when_not_given(manager, kernel):
    manager.set(spec(pids={"limit": 5}))
    assert not kernel.written("devices.deny") and not kernel.written("devices.allow")


def test_resource_for_an_unmounted_controller_is_a_clear_error(manager):
    with pytest.raises(Unavailable, match="hugepageLimits: the hugetlb cgroup controller is not mounted"):
        manager.set(spec(hugepageLimits=[{"pageSize": "2MB", "limit": 1 << 21}]))


def test_unified_is_refused_on_v1(manager):
    with pytest.raises(Unsupported, match="linux.resources.unified"):
        manager.set(spec(unified={"memory.high": "1000000"}))


def test_failed_write_names_cgroup_file_and_reason(manager):
    os.unlink(os.path.join(manager.paths["pids"], "pids.max"))
    with pytest.raises(SystemFault, match=r"cgroup .*/pids/estiba/c1: cannot write '7' to pids.max: No such file"):
        manager.set(spec(pids={"limit": 7}))


# ---- observe, freeze, kill ----------------------------------------------------------------


def test_stats_shape_and_values(manager):
    s = manager.stats()
    ticks = os.sysconf("SC_CLK_TCK")
    assert s["cpu"]["usage"] == {
        "total": 5000, "percpu": [3000, 2000], "percpu_kernel": [1000, 500],
        "percpu_user": [2000, 1500], "kernel": 1 * 10**9 // ticks, "user": 3 * 10**9 // ticks,
    }
    assert s["cpu"]["throttling"] == {"periods": 7, "throttledPeriods": 2, "throttledTime": 900}
    assert s["memory"]["usage"] == {"limit": int(UNLIMITED), "usage": 4096, "max": 8192, "failcnt": 3}
    assert s["memory"]["swap"]["usage"] == 4096
    assert s["memory"]["cache"] == 56 and s["memory"]["raw"]["rss"] == 34
    assert s["pids"] == {"current": 1, "limit": 0}
    assert s["blkio"]["ioServiceBytesRecursive"] == [
        {"major": 8, "minor": 0, "op": "Read", "value": 512},
        {"major": 8, "minor": 0, "op": "Write", "value": 0},
    ]
    assert s["hugetlb"] == {}


def test_oom_kill_count_reads_memory_oom_control(manager):
    assert manager.oom_kill_count() == 2


def test_freeze_and_thaw(manager):
    assert not manager.frozen()
    manager.freeze()
    assert manager.frozen()
    manager.thaw()
    assert read(manager.paths["freezer"], "freezer.state") == "THAWED"


def test_kill_all_signals_every_pid_while_frozen(manager, kernel):
    manager.add(11)
    with open(os.path.join(manager.paths["pids"], "cgroup.procs"), "a") as f:
        f.write("12\n")  # forked after joining: only in the hierarchies it inherited
    manager.kill_all(signal.SIGTERM)
    assert kernel.signals == [(11, signal.SIGTERM, "FROZEN"), (12, signal.SIGTERM, "FROZEN")]
    assert not manager.frozen()


# ---- paths, detection, re-opening ---------------------------------------------------------


def test_relative_path_hangs_from_own_cgroup_per_controller(root, kernel):
    own = "4:memory:/process_api/abc\n1:cpu:/\n9:name=systemd:/\n0::/\n"
    m = V1Manager("a/b", root, kernel=kernel, self_cgroup=own)
    assert m.paths["memory"] == os.path.join(root, "memory/process_api/abc/a/b")
    assert m.paths["cpu"] == os.path.join(root, "cpu/a/b")
    assert m.paths["pids"] == os.path.join(root, "pids/a/b")


def test_systemd_paths_are_refused(root):
    with pytest.raises(Unsupported, match="systemd slice:prefix:name"):
        V1Manager("system.slice:estiba:c1", root)


def test_parent_references_are_refused(root):
    with pytest.raises(InvalidArgument, match="must not contain '..'"):
        V1Manager("/estiba/../../etc", root)


def test_default_path():
    assert default_path("abc") == "/estiba/abc"
    with pytest.raises(InvalidArgument):
        default_path("../x")


def test_load_reopens_the_same_cgroups(manager, kernel):
    again = load(manager.paths, kernel=kernel)
    assert isinstance(again, V1Manager) and again.paths == manager.paths
    again.destroy()
    assert not any(os.path.exists(p) for p in manager.paths.values())


def test_load_rejects_relative_paths():
    with pytest.raises(InvalidArgument):
        load({"memory": "relative/path"})


def test_detect_and_choose(root, tmp_path_factory):
    assert detect(root) == "v1"
    assert isinstance(manager_for("/x", root), V1Manager)
    unified = os.path.join(root, "unified")
    os.mkdir(unified)
    _fill(unified, {"cgroup.controllers": "", "cgroup.subtree_control": ""})
    assert detect(root) == "hybrid"
    assert isinstance(manager_for("/x", root), V1Manager)
    assert isinstance(manager_for("/x", unified, mode="v2"), V2Manager)
    pure = str(tmp_path_factory.mktemp("v2"))
    _fill(pure, {"cgroup.controllers": "cpu memory"})
    assert detect(pure) == "v2"
    assert isinstance(manager_for("/x", pure), V2Manager)
    with pytest.raises(Unavailable):
        detect(str(tmp_path_factory.mktemp("empty")))


# ---- Resources.from_spec ------------------------------------------------------------------


def test_from_spec_reads_every_section():
    r = Resources.from_spec({
        "memory": {"limit": 100, "reservation": 50, "swap": 200, "kernel": 1, "kernelTCP": 2,
                   "swappiness": 10, "disableOOMKiller": True},
        "cpu": {"shares": 1024, "quota": 1000, "period": 2000, "realtimeRuntime": 3,
                "realtimePeriod": 4, "cpus": "0-1", "mems": "0", "idle": 1, "burst": 5},
        "pids": {"limit": 32},
        "blockIO": {"weight": 10, "leafWeight": 20,
                    "weightDevice": [{"major": 8, "minor": 0, "weight": 30, "leafWeight": 40}],
                    "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 5}]},
        "devices": [{"allow": False, "access": "rwm"}, {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "mwr"}],
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4096}],
        "network": {"classID": 7, "priorities": [{"name": "eth0", "priority": 3}]},
        "unified": {"memory.high": "1000"},
    })
    assert (r.memory.limit, r.memory.swap, r.memory.kernel_tcp, r.memory.disable_oom_killer) == (100, 200, 2, True)
    assert (r.cpu.shares, r.cpu.quota, r.cpu.realtime_period, r.cpu.cpus, r.cpu.idle, r.cpu.burst) == (1024, 1000, 4, "0-1", 1, 5)
    assert r.pids_limit == 32
    assert r.block_io.weight_device[0].leaf_weight == 40 and r.block_io.throttle_read_bps[0].rate == 5
    assert r.devices == (DeviceRule(False, "a", None, None, "rwm"), DeviceRule(True, "c", 1, 3, "rwm"))
    assert r.hugepage_limits[0].page_size == "2MB"
    assert r.network.priorities[0].name == "eth0" and r.network.class_id == 7
    assert r.unified == {"memory.high": "1000"}


def test_from_spec_empty_and_zero_mean_unset():
    assert Resources.from_spec(None) == Resources() == Resources.from_spec({})
    r = Resources.from_spec({"memory": {"limit": 0}, "cpu": {"shares": 0, "quota": 0}, "pids": {"limit": 0}})
    assert (r.memory.limit, r.cpu.shares, r.cpu.quota, r.pids_limit) == (None, None, None, None)
    assert Resources.from_spec({"devices": []}).devices == ()


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"memory": {"limit": "1g"}}, "linux.resources.memory.limit: must be an integer"),
        ({"memory": {"limit": True}}, "linux.resources.memory.limit: must be an integer"),
        ({"memory": {"limit": 1.5}}, "linux.resources.memory.limit: must be an integer"),
        ({"memory": {"limit": -2}}, r"linux.resources.memory.limit: must be -1 \(unlimited\) or a number of bytes"),
        ({"memory": {"limit": 100, "swap": 50}}, "linux.resources.memory.swap: must be -1 or at least memory.limit"),
        ({"memory": {"swappiness": 101}}, "linux.resources.memory.swappiness: must be between 0 and 100"),
        ({"memory": {"disableOOMKiller": 1}}, "linux.resources.memory.disableOOMKiller: must be true or false"),
        ({"memory": []}, "linux.resources.memory: must be an object"),
        ({"cpu": {"shares": -1}}, "linux.resources.cpu.shares: must be between 0 and"),
        ({"cpu": {"cpus": "all"}}, "linux.resources.cpu.cpus: must be a list"),
        ({"pids": {}}, "linux.resources.pids.limit: is required"),
        ({"blockIO": {"weight": 70000}}, "linux.resources.blockIO.weight: must be between 0 and 65535"),
        ({"blockIO": {"weightDevice": [{"major": 8}]}}, r"linux.resources.blockIO.weightDevice\[0\].minor: is required"),
        ({"devices": [{"allow": True}, {"type": "c"}]}, r"linux.resources.devices\[1\].allow: is required"),
        ({"devices": [{"allow": True, "type": "u"}]}, r"linux.resources.devices\[0\].type: must be"),
        ({"devices": [{"allow": True, "access": "rx"}]}, r"linux.resources.devices\[0\].access: must be letters"),
        ({"devices": [{"allow": True, "access": ""}]}, r"linux.resources.devices\[0\].access: must be letters"),
        ({"devices": {"allow": True}}, "linux.resources.devices: must be an array"),
        ({"hugepageLimits": [{"pageSize": "2M", "limit": 1}]}, r"hugepageLimits\[0\].pageSize: must be a size"),
        ({"network": {"priorities": [{"name": "eth0"}]}}, r"network.priorities\[0\].priority: is required"),
        ({"unified": {"../memory.max": "1"}}, r"linux.resources.unified\['../memory.max'\]: must be a file name"),
        ({"unified": {"a/b": "1"}}, r"linux.resources.unified\['a/b'\]: must be a file name"),
        ({"unified": {"memory.max": 1}}, r"linux.resources.unified\['memory.max'\]: must be a string"),
    ],
)
def test_from_spec_errors_name_the_field(resources, message):
    with pytest.raises(InvalidArgument, match=message) as info:
        Resources.from_spec(resources)
    assert "\n" not in str(info.value)
