"""V2Manager against a temporary directory laid out like a unified hierarchy, and the BPF
device program, checked by running it in a small interpreter (no root needed).

`FakeV2Kernel` keeps the unified rules the manager relies on: a controller appears in a
child (its cgroup.controllers and files) only once the parent enables it in
cgroup.subtree_control, cgroup.freeze is reported back in cgroup.events, busy cgroups
refuse rmdir.
"""

from __future__ import annotations

import errno
import os
import signal

import pytest

from estiba.errors import InvalidArgument, Unavailable, Unsupported
from estiba.runtime.cgroups import DEFAULT_DEVICE_RULES, CgroupManager, DeviceRule, Kernel, Resources, V2Manager, load
from estiba.runtime.cgroups import bpf_devices
from estiba.runtime.cgroups.bpf_devices import Insn, build_program, emulate, encode
from estiba.runtime.cgroups.v2 import blkio_to_io_weight, shares_to_weight, swap_max

CORE = {
    "cgroup.procs": "",
    "cgroup.subtree_control": "",
    "cgroup.events": "populated 0\nfrozen 0\n",
    "cgroup.freeze": "0",
    "cgroup.kill": "",
    "cgroup.type": "domain",
    "cpu.stat": "usage_usec 7\nuser_usec 5\nsystem_usec 2\n",
}
CONTROLLER_FILES = {
    "cpu": {"cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0",
            "cpu.stat": "usage_usec 7\nuser_usec 5\nsystem_usec 2\nnr_periods 4\nnr_throttled 1\nthrottled_usec 3\n"},
    "cpuset": {"cpuset.cpus": "", "cpuset.mems": ""},
    "memory": {"memory.max": "max", "memory.high": "max", "memory.low": "0", "memory.swap.max": "max", "memory.current": "4096",
               "memory.peak": "8192", "memory.swap.current": "0", "memory.oom.group": "0",
               "memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n", "memory.stat": "anon 10\nfile 20\n"},
    "pids": {"pids.max": "max", "pids.current": "2"},
    "io": {"io.bfq.weight": "default 100", "io.max": "", "io.stat": "8:0 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n"},
    "hugetlb": {"hugetlb.2MB.max": "max", "hugetlb.2MB.current": "0", "hugetlb.2MB.events": "max 0\n"},
}
OFFERED = "cpuset cpu io memory hugetlb pids"


def read(path: str, name: str) -> str:
    with open(os.path.join(path, name)) as f:
        return f.read()


def _fill(path: str, files: dict[str, str]) -> None:
    for name, content in files.items():
        with open(os.path.join(path, name), "w") as f:
            f.write(content)


class FakeV2Kernel(Kernel):
    def __init__(self) -> None:
        self.writes: list[tuple[str, str]] = []
        self.signals: list[tuple[int, int, str]] = []
        self.filters: list[tuple[str, list]] = []
        self.frozen_probe = lambda: None  # what kill() records about the cgroup's state

    def mkdir(self, path: str) -> None:
        os.mkdir(path)
        offered = read(os.path.dirname(path), "cgroup.subtree_control").split()
        _fill(path, {**CORE, "cgroup.controllers": " ".join(offered)})
        for controller in offered:
            _fill(path, CONTROLLER_FILES[controller])

    def rmdir(self, path: str) -> None:
        if read(path, "cgroup.procs").strip() or any(e.is_dir() for e in os.scandir(path)):
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        for entry in os.scandir(path):
            os.unlink(entry.path)
        os.rmdir(path)

    def write(self, path: str, data: str) -> None:
        if not os.path.isfile(path):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
        directory, name = os.path.split(path)
        self.writes.append((name, data))
        if name == "cgroup.subtree_control":
            self._enable(directory, data)
        elif name == "cgroup.freeze":
            _fill(directory, {name: data, "cgroup.events": f"populated 1\nfrozen {data}\n"})
        elif name == "cgroup.kill":
            _fill(directory, {"cgroup.procs": ""})
        elif name in ("cgroup.procs", "io.max"):
            with open(path, "a") as f:
                f.write(data + "\n")
        else:
            _fill(directory, {name: data})

    @staticmethod
    def _enable(directory: str, data: str) -> None:
        enabled = read(directory, "cgroup.subtree_control").split()
        offered = read(directory, "cgroup.controllers").split()
        for token in data.split():
            controller = token[1:]
            if controller not in offered:
                raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))
            if token[0] == "+" and controller not in enabled:
                enabled.append(controller)
                for child in os.scandir(directory):
                    if child.is_dir():
                        # The kernel adds the controller's files to existing children.
                        present = read(child.path, "cgroup.controllers").split()
                        _fill(child.path, {"cgroup.controllers": " ".join(present + [controller])})
                        _fill(child.path, CONTROLLER_FILES[controller])
        _fill(directory, {"cgroup.subtree_control": " ".join(enabled)})

    def kill(self, pid: int, sig: int) -> None:
        self.signals.append((pid, sig, self.frozen_probe()))

    def attach_device_filter(self, cgroup_dir: str, program) -> None:
        self.filters.append((cgroup_dir, list(program)))

    def written(self, name: str) -> list[str]:
        return [data for n, data in self.writes if n == name]


@pytest.fixture
def root(tmp_path) -> str:
    _fill(str(tmp_path), {"cgroup.controllers": OFFERED, "cgroup.subtree_control": "", "cgroup.procs": "",
                          "cgroup.stat": "", "cpu.stat": CORE["cpu.stat"]})
    return str(tmp_path)


@pytest.fixture
def kernel() -> FakeV2Kernel:
    return FakeV2Kernel()


@pytest.fixture
def manager(root, kernel) -> V2Manager:
    m = V2Manager("/estiba/c1", root, kernel=kernel)
    m.create()
    kernel.writes.clear()
    return m


def spec(**resources) -> Resources:
    return Resources.from_spec(resources)


# ---- create, enable, destroy --------------------------------------------------------------


def test_is_a_cgroup_manager(manager):
    assert isinstance(manager, CgroupManager)
    assert isinstance(load(manager.paths), CgroupManager)


def test_create_enables_all_offered_controllers_in_every_ancestor(root, manager):
    assert manager.paths == {"unified": os.path.join(root, "estiba", "c1")}
    for level in (root, os.path.join(root, "estiba")):
        assert sorted(read(level, "cgroup.subtree_control").split()) == sorted(OFFERED.split())
    leaf = manager.paths["unified"]
    assert read(leaf, "cgroup.subtree_control") == ""  # the leaf holds processes
    assert os.path.exists(os.path.join(leaf, "memory.max"))


def test_create_enables_only_the_controllers_asked_for(root, kernel):
    V2Manager("/estiba/c1", root, controllers=("memory", "pids"), kernel=kernel).create()
    assert read(root, "cgroup.subtree_control").split() == ["memory", "pids"]
    assert kernel.written("cgroup.subtree_control") == ["+memory", "+pids", "+memory", "+pids"]


def test_set_enables_what_the_resources_need(root, kernel):
    m = V2Manager("/estiba/c1", root, controllers=(), kernel=kernel)
    m.create()
    m.set(spec(pids={"limit": 10}, unified={"memory.high": "1000"}))
    assert read(root, "cgroup.subtree_control").split() == ["pids", "memory"]
    assert read(m.path, "pids.max") == "10" and read(m.path, "memory.high") == "1000"


def test_controller_not_offered_is_a_clear_error(root, kernel):
    _fill(root, {"cgroup.controllers": "memory"})
    m = V2Manager("/estiba/c1", root, controllers=(), kernel=kernel)
    m.create()
    with pytest.raises(Unavailable, match="the pids controller is not available"):
        m.set(spec(pids={"limit": 10}))


def test_destroy_is_idempotent_and_removes_nested_cgroups(root, manager, kernel):
    kernel.mkdir(os.path.join(manager.path, "inner"))
    manager.destroy()
    manager.destroy()
    assert not os.path.exists(manager.path) and os.path.isdir(os.path.join(root, "estiba"))


def test_relative_path_hangs_from_own_cgroup(root, kernel):
    m = V2Manager("a/b", root, kernel=kernel, self_cgroup="0::/user.slice/x\n")
    assert m.path == os.path.join(root, "user.slice/x/a/b")


def test_load_reopens_a_v2_manager(manager, kernel):
    again = load(manager.paths, kernel=kernel)
    assert isinstance(again, V2Manager) and again.path == manager.path


# ---- set ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("shares", "weight"), [(2, 1), (1024, 39), (262144, 10000), (1, 1), (300000, 10000)])
def test_shares_to_weight(shares, weight):
    assert shares_to_weight(shares) == weight


@pytest.mark.parametrize(("limit", "swap", "result"), [
    (64, 128, 64), (64, 64, 0), (64, -1, -1), (-1, None, -1), (64, None, None), (None, None, None),
])
def test_swap_conversion(limit, swap, result):
    assert swap_max(limit, swap) == result


def test_swap_without_memory_limit_is_refused():
    with pytest.raises(InvalidArgument, match="swap limit needs a memory limit"):
        swap_max(None, 100)


def test_memory(manager):
    manager.set(spec(memory={"limit": 64 << 20, "swap": 96 << 20, "reservation": 16 << 20}))
    assert read(manager.path, "memory.max") == str(64 << 20)
    assert read(manager.path, "memory.swap.max") == str(32 << 20)
    assert read(manager.path, "memory.low") == str(16 << 20)
    manager.set(spec(memory={"limit": -1}))
    assert (read(manager.path, "memory.max"), read(manager.path, "memory.swap.max")) == ("max", "max")


def test_memory_swap_needs_swap_accounting(manager):
    os.unlink(os.path.join(manager.path, "memory.swap.max"))
    manager.set(spec(memory={"limit": -1}))  # implied unlimited swap: nothing to do
    with pytest.raises(Unavailable, match="no swap accounting"):
        manager.set(spec(memory={"limit": 64, "swap": 128}))


def test_cpu(manager, kernel):
    manager.set(spec(cpu={"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0",
                          "burst": 10, "idle": 0}))
    path = manager.path
    assert read(path, "cpu.weight") == "39"
    assert read(path, "cpu.max") == "50000 100000"
    assert (read(path, "cpu.max.burst"), read(path, "cpu.idle")) == ("10", "0")
    assert (read(path, "cpuset.cpus"), read(path, "cpuset.mems")) == ("0", "0")
    for quota, written in [(None, "max 20000"), (-1, "max 20000")]:
        cpu = {"period": 20000} if quota is None else {"period": 20000, "quota": quota}
        manager.set(spec(cpu=cpu))
        assert read(path, "cpu.max") == written


def test_pids_and_hugetlb(manager):
    manager.set(spec(pids={"limit": -1}, hugepageLimits=[{"pageSize": "2MB", "limit": 1 << 22}]))
    assert read(manager.path, "pids.max") == "max"
    assert read(manager.path, "hugetlb.2MB.max") == str(1 << 22)


def test_io_with_bfq_keeps_blkio_weights(manager):
    manager.set(spec(blockIO={"weight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 50}],
                              "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1000}],
                              "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 10}]}))
    assert read(manager.path, "io.bfq.weight") == "8:0 50"
    assert read(manager.path, "io.max") == "8:0 rbps=1000\n8:0 wiops=10\n"


def test_io_weight_is_converted_without_bfq(manager, kernel):
    os.unlink(os.path.join(manager.path, "io.bfq.weight"))
    _fill(manager.path, {"io.weight": "default 100"})
    manager.set(spec(blockIO={"weight": 500}))
    assert read(manager.path, "io.weight") == str(blkio_to_io_weight(500)) == "4950"


def test_unified_is_written_verbatim_and_last(manager, kernel):
    manager.set(spec(memory={"limit": 1 << 20}, unified={"memory.max": "2097152", "memory.oom.group": "1"}))
    assert kernel.written("memory.max") == [str(1 << 20), "2097152"]
    assert read(manager.path, "memory.oom.group") == "1"


def test_unified_key_without_a_file_is_a_clear_error(manager):
    with pytest.raises(Unavailable, match=r"unified\['memory.nonsense'\]: cgroup .* has no memory.nonsense"):
        manager.set(spec(unified={"memory.nonsense": "1"}))


@pytest.mark.parametrize("resources", [
    {"memory": {"swappiness": 10}}, {"memory": {"disableOOMKiller": True}}, {"memory": {"kernelTCP": 1}},
    {"cpu": {"realtimeRuntime": 1}}, {"blockIO": {"leafWeight": 10}}, {"network": {"classID": 1}},
])
def test_v1_only_resources_are_refused(manager, resources):
    with pytest.raises(Unsupported, match="not available on cgroup v2"):
        manager.set(Resources.from_spec(resources))


def test_devices_attach_the_compiled_program(manager, kernel):
    rules = [{"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]
    manager.set(spec(devices=rules))
    assert kernel.filters == [(manager.path, build_program([DeviceRule(True, "c", 1, 3)]))]
    manager.set(spec(pids={"limit": 3}))
    assert len(kernel.filters) == 1  # devices not given: left alone


# ---- observe, freeze, kill ----------------------------------------------------------------


def test_stats(manager):
    s = manager.stats()
    assert s["cpu"]["usage"]["total"] == 7000 and s["cpu"]["usage"]["kernel"] == 2000
    assert s["cpu"]["throttling"] == {"periods": 4, "throttledPeriods": 1, "throttledTime": 3000}
    assert s["memory"]["usage"] == {"limit": 2**64 - 1, "usage": 4096, "max": 8192, "failcnt": 3}
    assert s["memory"]["swap"]["usage"] == 4096 and s["memory"]["cache"] == 20
    assert s["pids"] == {"current": 2, "limit": 0}
    assert s["blkio"]["ioServiceBytesRecursive"][0] == {"major": 8, "minor": 0, "op": "Read", "value": 512}
    assert s["hugetlb"]["2MB"] == {"usage": 0, "max": 2**64 - 1, "failcnt": 0}


def test_oom_kill_count(manager):
    assert manager.oom_kill_count() == 1


def test_freeze_thaw(manager):
    manager.freeze()
    assert manager.frozen() and read(manager.path, "cgroup.freeze") == "1"
    manager.thaw()
    assert not manager.frozen()


def test_kill_all_sigkill_uses_cgroup_kill(manager, kernel):
    manager.add(5)
    manager.kill_all(signal.SIGKILL)
    assert kernel.written("cgroup.kill") == ["1"] and kernel.signals == []
    assert manager.pids() == []


def test_kill_all_other_signals_go_to_each_pid_while_frozen(manager, kernel):
    manager.add(5)
    nested = os.path.join(manager.path, "inner")
    kernel.mkdir(nested)
    _fill(nested, {"cgroup.procs": "6\n"})
    kernel.frozen_probe = manager.frozen
    manager.kill_all(signal.SIGTERM)
    assert kernel.signals == [(5, signal.SIGTERM, True), (6, signal.SIGTERM, True)]
    assert not manager.frozen()


# ---- BPF device program -------------------------------------------------------------------

CHAR, BLOCK = "c", "b"


def run(program: list[Insn], kind: str, major: int, minor: int, access: str) -> int:
    """Execute `program` on one access the way the kernel would: returns r0."""
    bits = sum(bpf_devices.ACCESS_BITS[c] for c in access)
    ctx = {0: (bits << 16) | bpf_devices.DEVICE_TYPES[kind], 4: major, 8: minor}
    regs = [0] * 11
    pc = 0
    for _ in range(1000):
        insn = program[pc]
        pc += 1
        mask32 = 0xFFFFFFFF
        if insn.code == bpf_devices.LDX_MEM_W:
            assert insn.src == 1, "only the context is read"
            regs[insn.dst] = ctx[insn.off]
        elif insn.code == bpf_devices.AND32_IMM:
            regs[insn.dst] = regs[insn.dst] & insn.imm & mask32
        elif insn.code == bpf_devices.RSH32_IMM:
            regs[insn.dst] = (regs[insn.dst] & mask32) >> insn.imm
        elif insn.code == bpf_devices.MOV32_REG:
            regs[insn.dst] = regs[insn.src] & mask32
        elif insn.code == bpf_devices.MOV32_IMM:
            regs[insn.dst] = insn.imm & mask32
        elif insn.code == bpf_devices.JNE_IMM:
            if regs[insn.dst] != insn.imm:
                pc += insn.off
        elif insn.code == bpf_devices.JNE_REG:
            if regs[insn.dst] != regs[insn.src]:
                pc += insn.off
        elif insn.code == bpf_devices.EXIT:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {insn.code:#x}")
    raise AssertionError("program did not exit")


PROLOGUE = [
    Insn(0x61, 2, 1, 0, 0), Insn(0x54, 2, 0, 0, 0xFFFF), Insn(0x61, 3, 1, 0, 0),
    Insn(0x74, 3, 0, 0, 16), Insn(0x61, 4, 1, 4, 0), Insn(0x61, 5, 1, 8, 0),
]


def test_allow_all():
    program = build_program([DeviceRule(True, "a")])
    assert program == PROLOGUE + [Insn(0xB4, 0, 0, 0, 1), Insn(0x95)]
    assert run(program, BLOCK, 8, 0, "rwm") == 1


@pytest.mark.parametrize("rules", [[], [DeviceRule(False, "a")], [DeviceRule(True, "a"), DeviceRule(False, "a")]])
def test_deny_all(rules):
    program = build_program(rules)
    assert program == PROLOGUE + [Insn(0xB4, 0, 0, 0, 0), Insn(0x95)]
    assert run(program, CHAR, 1, 3, "r") == 0


def test_deny_all_then_allow_dev_null():
    program = build_program([DeviceRule(False, "a"), DeviceRule(True, "c", 1, 3, "rwm")])
    assert program == PROLOGUE + [
        Insn(0x55, 2, 0, 4, 2),  # type != char: jump over the block's 4 next insns
        Insn(0x55, 4, 0, 3, 1),  # major != 1
        Insn(0x55, 5, 0, 2, 3),  # minor != 3
        Insn(0xB4, 0, 0, 0, 1), Insn(0x95),
        Insn(0xB4, 0, 0, 0, 0), Insn(0x95),
    ]
    assert run(program, CHAR, 1, 3, "rw") == 1
    assert run(program, CHAR, 1, 5, "r") == 0
    assert run(program, BLOCK, 1, 3, "r") == 0


def test_wildcards_and_partial_access():
    program = build_program([
        DeviceRule(True, "c", None, None, "m"),
        DeviceRule(True, "c", 136, None, "rw"),
        DeviceRule(True, "b", 8, 0, "r"),
    ])
    assert run(program, CHAR, 4, 1, "m") == 1
    assert run(program, CHAR, 4, 1, "r") == 0
    assert run(program, CHAR, 136, 7, "rw") == 1
    assert run(program, CHAR, 136, 7, "rwm") == 0  # as in v1, one rule must cover the whole request
    assert run(program, BLOCK, 8, 0, "r") == 1
    assert run(program, BLOCK, 8, 0, "w") == 0
    assert run(program, BLOCK, 8, 0, "rw") == 0


def test_type_a_resets_earlier_rules():
    # From runc: 8:1 is denied, then "a" allows everything, then 8:2 is denied.
    rules = [DeviceRule(False, "b", 8, 1), DeviceRule(True, "a"), DeviceRule(False, "b", 8, 2)]
    assert emulate(rules) == (True, {("b", 8, 2): "rwm"})
    program = build_program(rules)
    assert run(program, BLOCK, 8, 1, "rw") == 1
    assert run(program, BLOCK, 8, 2, "r") == 0


def test_deny_removes_an_allowed_exception():
    rules = [DeviceRule(True, "c", 1, 3), DeviceRule(False, "c", 1, 3, "w")]
    assert emulate(rules) == (False, {("c", 1, 3): "rm"})


def test_deny_inside_a_wildcard_allow_is_refused():
    with pytest.raises(InvalidArgument, match="cannot punch a hole"):
        build_program([DeviceRule(True, "c", 1, None), DeviceRule(False, "c", 1, 3, "r")])


def test_default_rules_allow_the_standard_devices_only():
    program = build_program(DEFAULT_DEVICE_RULES)
    for major, minor in [(1, 3), (1, 5), (1, 7), (1, 8), (1, 9), (5, 0), (5, 2), (136, 4), (10, 200)]:
        assert run(program, CHAR, major, minor, "rw") == 1
    assert run(program, BLOCK, 8, 0, "r") == 0
    assert run(program, BLOCK, 8, 0, "m") == 1
    assert run(program, CHAR, 4, 0, "r") == 0  # /dev/tty0


def test_encode():
    code = encode([Insn(0x61, 2, 1, 4, 0), Insn(0xB4, 0, 0, 0, -1)])
    assert code == bytes([0x61, 0x12, 4, 0, 0, 0, 0, 0, 0xB4, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])
