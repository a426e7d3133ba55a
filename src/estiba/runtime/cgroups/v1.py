"""Cgroup v1 manager: one directory per mounted controller, limits written controller by controller."""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING

from estiba.errors import SystemFault, Unavailable, Unsupported
from estiba.runtime.cgroups import _kernel, _paths, stats as _stats
from estiba.runtime.cgroups._kernel import Kernel, exists, read, read_int, write
from estiba.runtime.cgroups._shared import ManagerBase, wait_for

if TYPE_CHECKING:  # `delete` and `kill` only need the manager, not the parsing in base
    from estiba.runtime.cgroups.base import BlockIOResources, CpuResources, MemoryResources, Resources

DEFAULT_ROOT = "/sys/fs/cgroup"

# Controller -> directory under the root. cpu,cpuacct and net_cls,net_prio may be
# co-mounted; the usual symlinks make both names resolve to the one directory.
CONTROLLERS: dict[str, str] = {
    "cpuset": "cpuset",
    "cpu": "cpu",
    "cpuacct": "cpuacct",
    "memory": "memory",
    "devices": "devices",
    "freezer": "freezer",
    "blkio": "blkio",
    "pids": "pids",
    "hugetlb": "hugetlb",
    "net_cls": "net_cls",
    "net_prio": "net_prio",
    "perf_event": "perf_event",
    "rdma": "rdma",
    "name=systemd": "systemd",
    # On a hybrid host the process also joins the (controller-less) v2 hierarchy, as
    # runc does, so /proc/self/cgroup's "0::" line names the container's cgroup too.
    "unified": "unified",
}


def mounted(root: str) -> list[str]:
    """The v1 controllers mounted under `root`."""
    return [
        name
        for name, directory in CONTROLLERS.items()
        if os.path.isfile(os.path.join(root, directory, "cgroup.procs"))
    ]


def needed(resources: Resources) -> dict[str, str]:
    """Controller -> the resource that needs it, for every resource that is set."""
    need: dict[str, str] = {}
    m, c, b, n = resources.memory, resources.cpu, resources.block_io, resources.network
    if m is not None and any(
        v is not None for v in (m.limit, m.reservation, m.swap, m.kernel_tcp, m.swappiness)
    ):
        need["memory"] = "memory"
    if m is not None and m.disable_oom_killer:
        need["memory"] = "memory.disableOOMKiller"
    if c is not None:
        cpu_fields = (c.shares, c.quota, c.period, c.burst, c.realtime_runtime, c.realtime_period, c.idle)
        if any(v is not None for v in cpu_fields):
            need["cpu"] = "cpu"
        if c.cpus is not None or c.mems is not None:
            need["cpuset"] = "cpu.cpus/mems"
    if resources.pids_limit is not None:
        need["pids"] = "pids"
    if b is not None and b.any_set():
        need["blkio"] = "blockIO"
    if resources.devices is not None:
        need["devices"] = "devices"
    if resources.hugepage_limits:
        need["hugetlb"] = "hugepageLimits"
    if n is not None and n.class_id is not None:
        need["net_cls"] = "network.classID"
    if n is not None and n.priorities:
        need["net_prio"] = "network.priorities"
    return need


class V1Manager(ManagerBase):
    """A container's cgroup in every mounted v1 hierarchy (`<root>/<controller>/<path>`)."""

    mode = "v1"

    def __init__(
        self,
        cgroups_path: str,
        root: str = DEFAULT_ROOT,
        *,
        kernel: Kernel | None = None,
        self_cgroup: str | None = None,
    ) -> None:
        _paths.check(cgroups_path)
        own: dict[str, str] = {}
        if not cgroups_path.startswith("/"):
            own = _paths.own_cgroups(self_cgroup or _paths.read_self_cgroup())
        paths = {
            name: _paths.join(
                os.path.join(root, CONTROLLERS[name]), _paths.place(cgroups_path, own.get(name))
            )
            for name in mounted(root)
        }
        if not paths:
            raise Unavailable(f"no cgroup v1 controller is mounted under {root}")
        self._init(paths, kernel)

    # ---- lifecycle ---------------------------------------------------------------------

    def create(self) -> None:
        for name, path in self._paths.items():
            levels = _kernel.hierarchy_levels(path)
            _kernel.make_dirs(self._kernel, levels[1:])
            if name == "cpuset":
                self._copy_cpuset_down(levels)

    def _copy_cpuset_down(self, levels: list[str]) -> None:
        # A new cpuset cgroup starts with empty cpus and mems, and no task may join it
        # until they are filled: copy them from the parent, level by level, top-down.
        for parent, level in zip(levels, levels[1:]):
            for name in ("cpuset.cpus", "cpuset.mems"):
                if not read(level, name).strip():
                    write(self._kernel, level, name, read(parent, name).strip())

    def set(self, resources: Resources) -> None:
        if resources.unified:
            raise Unsupported(
                "linux.resources.unified: cgroup v2 files cannot be set on a cgroup v1 host"
            )
        need = needed(resources)
        for controller, resource in need.items():
            if controller not in self._paths:
                raise Unavailable(
                    f"linux.resources.{resource}: the {controller} cgroup controller is not mounted"
                )
        if resources.cpu is not None:
            self._set_cpuset(resources.cpu)
        if resources.devices is not None:
            self._set_devices(resources)
        if resources.memory is not None:
            self._set_memory(resources.memory)
        if resources.cpu is not None:
            self._set_cpu(resources.cpu)
        if resources.pids_limit is not None:
            limit = "max" if resources.pids_limit < 0 else str(resources.pids_limit)
            write(self._kernel, self._paths["pids"], "pids.max", limit)
        if resources.block_io is not None and "blkio" in need:
            self._set_blkio(resources.block_io)
        for hugepage in resources.hugepage_limits:
            name = f"hugetlb.{hugepage.page_size}.limit_in_bytes"
            self._write_existing("hugetlb", name, str(hugepage.limit), "hugepageLimits")
        network = resources.network
        if network is not None and network.class_id is not None:
            write(self._kernel, self._paths["net_cls"], "net_cls.classid", str(network.class_id))
        for prio in network.priorities if network is not None else ():
            line = f"{prio.name} {prio.priority}"
            write(self._kernel, self._paths["net_prio"], "net_prio.ifpriomap", line)

    # ---- controllers -------------------------------------------------------------------

    def _set_cpuset(self, cpu: CpuResources) -> None:
        if cpu.cpus is not None:
            write(self._kernel, self._paths["cpuset"], "cpuset.cpus", cpu.cpus)
        if cpu.mems is not None:
            write(self._kernel, self._paths["cpuset"], "cpuset.mems", cpu.mems)

    def _set_devices(self, resources: Resources) -> None:
        # Start from deny-all, then apply the rules in order: the kernel keeps v1's own
        # semantics (an "a" rule resets the default, a deny removes an allowed exception).
        path = self._paths["devices"]
        write(self._kernel, path, "devices.deny", "a")
        for rule in resources.devices or ():
            name = "devices.allow" if rule.allow else "devices.deny"
            write(self._kernel, path, name, rule.v1_line())

    def _set_memory(self, memory: MemoryResources) -> None:
        path = self._paths.get("memory")
        if path is None:
            return  # only `kernel` or `useHierarchy` were given; both are ignored
        limit, swap = memory.limit, memory.swap
        has_memsw = exists(path, "memory.memsw.limit_in_bytes")
        if limit == -1 and swap is None and has_memsw:
            swap = -1  # unlimited memory means unlimited memory+swap too
        if swap is not None and not has_memsw:
            raise Unavailable(
                "linux.resources.memory.swap: this kernel has no swap accounting (memory.memsw.*)",
                hint="boot with swapaccount=1 or drop the swap limit",
            )
        writes = []
        if limit is not None:
            writes.append(("memory.limit_in_bytes", limit))
        if swap is not None:
            writes.append(("memory.memsw.limit_in_bytes", swap))
        if limit is not None and swap is not None:
            # The kernel keeps memsw >= memory at every moment: when the new memsw is
            # above the current memory limit, raise memsw first; otherwise lower memory first.
            current = read_int(path, "memory.limit_in_bytes")
            if swap == -1 or current < swap:
                writes.reverse()
        for name, value in writes:
            write(self._kernel, path, name, str(value))
        if memory.reservation is not None:
            write(self._kernel, path, "memory.soft_limit_in_bytes", str(memory.reservation))
        if memory.kernel_tcp is not None:
            write(self._kernel, path, "memory.kmem.tcp.limit_in_bytes", str(memory.kernel_tcp))
        if memory.swappiness is not None:
            write(self._kernel, path, "memory.swappiness", str(memory.swappiness))
        if memory.disable_oom_killer:
            write(self._kernel, path, "memory.oom_control", "1")

    def _set_cpu(self, cpu: CpuResources) -> None:
        path = self._paths.get("cpu")
        if path is None:
            return
        if cpu.shares is not None:
            write(self._kernel, path, "cpu.shares", str(cpu.shares))
        self._write_pair(path, ("cpu.cfs_period_us", cpu.period), ("cpu.cfs_quota_us", cpu.quota))
        if cpu.burst is not None:
            self._write_existing("cpu", "cpu.cfs_burst_us", str(cpu.burst), "cpu.burst")
        self._write_pair(
            path,
            ("cpu.rt_period_us", cpu.realtime_period),
            ("cpu.rt_runtime_us", cpu.realtime_runtime),
        )
        if cpu.idle is not None:
            self._write_existing("cpu", "cpu.idle", str(cpu.idle), "cpu.idle")

    def _write_pair(self, path: str, period: tuple, budget: tuple) -> None:
        # A period may be refused (EINVAL) while the old budget/period ratio would exceed
        # the parent's; when a new budget comes too, write it first and the period after.
        (period_file, period_value), (budget_file, budget_value) = period, budget
        period_pending = period_value is not None
        if period_pending:
            try:
                write(self._kernel, path, period_file, str(period_value))
                period_pending = False
            except SystemFault as exc:
                cause = exc.__cause__
                if budget_value is None or getattr(cause, "errno", None) != errno.EINVAL:
                    raise
        if budget_value is not None:
            write(self._kernel, path, budget_file, str(budget_value))
        if period_pending:
            write(self._kernel, path, period_file, str(period_value))

    def _set_blkio(self, blkio: BlockIOResources) -> None:
        path = self._paths["blkio"]
        if blkio.weight is not None or any(d.weight is not None for d in blkio.weight_device):
            # CFQ had blkio.weight; with BFQ only blkio.bfq.weight exists.
            weight_file = next(
                (n for n in ("blkio.weight", "blkio.bfq.weight") if exists(path, n)), None
            )
            if weight_file is None:
                raise Unavailable(
                    "linux.resources.blockIO.weight: neither blkio.weight nor blkio.bfq.weight"
                    " exists (no proportional I/O scheduler on this host)",
                    hint="select the bfq I/O scheduler or drop the weight",
                )
            if blkio.weight is not None:
                write(self._kernel, path, weight_file, str(blkio.weight))
            for device in blkio.weight_device:
                if device.weight is not None:
                    line = f"{device.major}:{device.minor} {device.weight}"
                    write(self._kernel, path, weight_file + "_device", line)
        if blkio.leaf_weight is not None:
            self._write_existing("blkio", "blkio.leaf_weight", str(blkio.leaf_weight), "blockIO.leafWeight")
        for device in blkio.weight_device:
            if device.leaf_weight is not None:
                line = f"{device.major}:{device.minor} {device.leaf_weight}"
                resource = "blockIO.weightDevice.leafWeight"
                self._write_existing("blkio", "blkio.leaf_weight_device", line, resource)
        for name, throttles in (
            ("blkio.throttle.read_bps_device", blkio.throttle_read_bps),
            ("blkio.throttle.write_bps_device", blkio.throttle_write_bps),
            ("blkio.throttle.read_iops_device", blkio.throttle_read_iops),
            ("blkio.throttle.write_iops_device", blkio.throttle_write_iops),
        ):
            for t in throttles:
                write(self._kernel, path, name, f"{t.major}:{t.minor} {t.rate}")

    def _write_existing(self, controller: str, name: str, value: str, resource: str) -> None:
        path = self._paths[controller]
        if not exists(path, name):
            raise Unavailable(f"linux.resources.{resource}: this kernel has no {name}")
        write(self._kernel, path, name, value)

    # ---- observing ---------------------------------------------------------------------

    def oom_kill_count(self) -> int:
        path = self._require("memory")
        return _stats.flat_keyed(read(path, "memory.oom_control")).get("oom_kill", 0)

    def stats(self) -> dict:
        result = _stats.empty()
        if "cpuacct" in self._paths:
            _cpuacct_stats(self._paths["cpuacct"], result["cpu"]["usage"])
        if "cpu" in self._paths:
            cpu = _stats.flat_keyed(read(self._paths["cpu"], "cpu.stat"))
            result["cpu"]["throttling"] = {
                "periods": cpu.get("nr_periods", 0),
                "throttledPeriods": cpu.get("nr_throttled", 0),
                "throttledTime": cpu.get("throttled_time", 0),
            }
        if "memory" in self._paths:
            _memory_stats(self._paths["memory"], result["memory"])
        if "pids" in self._paths:
            path = self._paths["pids"]
            result["pids"] = {"current": read_int(path, "pids.current"), "limit": read_int(path, "pids.max")}
        if "blkio" in self._paths:
            _blkio_stats(self._paths["blkio"], result["blkio"])
        if "hugetlb" in self._paths:
            _hugetlb_stats(self._paths["hugetlb"], result["hugetlb"])
        return result

    # ---- freezer -----------------------------------------------------------------------

    def _can_freeze(self) -> bool:
        return "freezer" in self._paths

    def frozen(self) -> bool:
        return read(self._require("freezer"), "freezer.state").strip() == "FROZEN"

    def freeze(self) -> None:
        path = self._require("freezer")

        def settled() -> bool:
            # Re-writing FROZEN nudges tasks that were busy when the first write came.
            write(self._kernel, path, "freezer.state", "FROZEN")
            return read(path, "freezer.state").strip() == "FROZEN"

        if not wait_for(settled):
            write(self._kernel, path, "freezer.state", "THAWED")
            raise SystemFault(f"cgroup {path}: cannot freeze: tasks still FREEZING, thawed again")

    def thaw(self) -> None:
        path = self._require("freezer")
        write(self._kernel, path, "freezer.state", "THAWED")
        if not wait_for(lambda: read(path, "freezer.state").strip() == "THAWED"):
            raise SystemFault(f"cgroup {path}: cannot thaw: freezer.state is not THAWED")

    def _require(self, controller: str) -> str:
        path = self._paths.get(controller)
        if path is None:
            raise Unavailable(f"the {controller} cgroup controller is not mounted")
        return path


def _cpuacct_stats(path: str, usage: dict) -> None:
    usage["total"] = read_int(path, "cpuacct.usage")
    usage["percpu"] = _stats.int_list(read(path, "cpuacct.usage_percpu"))
    for key, name in (
        ("percpu_kernel", "cpuacct.usage_percpu_sys"),
        ("percpu_user", "cpuacct.usage_percpu_user"),
    ):
        if exists(path, name):
            usage[key] = _stats.int_list(read(path, name))
    ticks = _stats.flat_keyed(read(path, "cpuacct.stat"))
    nanoseconds_per_tick = 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    usage["kernel"] = ticks.get("system", 0) * nanoseconds_per_tick
    usage["user"] = ticks.get("user", 0) * nanoseconds_per_tick


def _memory_stats(path: str, memory: dict) -> None:
    for key, prefix in (
        ("usage", "memory."),
        ("swap", "memory.memsw."),
        ("kernel", "memory.kmem."),
        ("kernelTCP", "memory.kmem.tcp."),
    ):
        if exists(path, prefix + "usage_in_bytes"):
            memory[key] = {
                "limit": read_int(path, prefix + "limit_in_bytes"),
                "usage": read_int(path, prefix + "usage_in_bytes"),
                "max": read_int(path, prefix + "max_usage_in_bytes"),
                "failcnt": read_int(path, prefix + "failcnt"),
            }
    raw = _stats.flat_keyed(read(path, "memory.stat"))
    memory["raw"] = raw
    memory["cache"] = raw.get("total_cache", raw.get("cache", 0))


def _blkio_stats(path: str, blkio: dict) -> None:
    # CFQ's files first, then BFQ's, then the throttle layer's, which always exist.
    for prefix in ("blkio.", "blkio.bfq.", "blkio.throttle."):
        if exists(path, prefix + "io_service_bytes_recursive"):
            service_bytes = read(path, prefix + "io_service_bytes_recursive")
            blkio["ioServiceBytesRecursive"] = _stats.blkio_v1(service_bytes)
            blkio["ioServicedRecursive"] = _stats.blkio_v1(read(path, prefix + "io_serviced_recursive"))
            return


def _hugetlb_stats(path: str, hugetlb: dict) -> None:
    for name in sorted(os.listdir(path)):
        if name.startswith("hugetlb.") and name.endswith(".usage_in_bytes"):
            prefix = name[: -len("usage_in_bytes")]
            hugetlb[prefix.split(".")[1]] = {
                "usage": read_int(path, name),
                "max": read_int(path, prefix + "max_usage_in_bytes"),
                "failcnt": read_int(path, prefix + "failcnt"),
            }
