"""Cgroup v2 manager: one directory in the unified hierarchy, controllers enabled from the top."""

from __future__ import annotations

import signal
from collections.abc import Iterable
from typing import TYPE_CHECKING

from estiba.errors import InvalidArgument, SystemFault, Unavailable, Unsupported
from estiba.runtime.cgroups import _kernel, _paths, stats as _stats
from estiba.runtime.cgroups._kernel import Kernel, exists, read, read_int, write
from estiba.runtime.cgroups._shared import ManagerBase, wait_for

if TYPE_CHECKING:  # `delete` and `kill` only need the manager, not the parsing in base
    from estiba.runtime.cgroups.base import BlockIOResources, CpuResources, MemoryResources, Resources

DEFAULT_ROOT = "/sys/fs/cgroup"
KNOWN_CONTROLLERS = ("cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc")


def shares_to_weight(shares: int) -> int:
    """cpu.shares (2..262144) -> cpu.weight (1..10000), runc's linear mapping."""
    shares = min(max(shares, 2), 262144)
    return 1 + ((shares - 2) * 9999) // 262142


def blkio_to_io_weight(weight: int) -> int:
    """blkio.weight (10..1000) -> io.weight (1..10000), as runc converts it."""
    weight = min(max(weight, 10), 1000)
    return 1 + ((weight - 10) * 9999) // 990


def swap_max(limit: int | None, swap: int | None) -> int | None:
    """OCI swap counts memory+swap; memory.swap.max counts swap alone. -1 is "max"."""
    if limit == -1 and swap is None:
        return -1
    if swap is None or swap == -1:
        return swap
    if limit is None or limit == -1:
        raise InvalidArgument(
            "linux.resources.memory.swap: on cgroup v2 a swap limit needs a memory limit"
        )
    return swap - limit


def unsupported_fields(resources: Resources) -> list[str]:
    """Resources that only cgroup v1 can apply."""
    m, c, b, n = resources.memory, resources.cpu, resources.block_io, resources.network
    candidates = []
    if m is not None:
        candidates += [
            ("memory.swappiness", m.swappiness is not None),
            ("memory.kernelTCP", m.kernel_tcp is not None),
            ("memory.disableOOMKiller", m.disable_oom_killer),
        ]
    if c is not None:
        candidates += [
            ("cpu.realtimeRuntime", c.realtime_runtime is not None),
            ("cpu.realtimePeriod", c.realtime_period is not None),
        ]
    if b is not None:
        leaf_weights = [b.leaf_weight, *(d.leaf_weight for d in b.weight_device)]
        candidates.append(("blockIO.leafWeight", any(w is not None for w in leaf_weights)))
    if n is not None:
        candidates.append(("network", n.class_id is not None or bool(n.priorities)))
    return [name for name, present in candidates if present]


def needed(resources: Resources) -> list[str]:
    """The v2 controllers `resources` write to (devices need none: they are a BPF program)."""
    m, c, b = resources.memory, resources.cpu, resources.block_io
    need = []
    if c is not None and any(v is not None for v in (c.cpus, c.mems)):
        need.append("cpuset")
    if c is not None and any(v is not None for v in (c.shares, c.quota, c.period, c.burst, c.idle)):
        need.append("cpu")
    if b is not None and b.any_set():
        need.append("io")
    if m is not None and any(v is not None for v in (m.limit, m.reservation, m.swap)):
        need.append("memory")
    if resources.hugepage_limits:
        need.append("hugetlb")
    if resources.pids_limit is not None:
        need.append("pids")
    for key in resources.unified:
        prefix = key.split(".", 1)[0]
        if prefix in KNOWN_CONTROLLERS and prefix not in need:
            need.append(prefix)
    return need


class V2Manager(ManagerBase):
    """A container's cgroup in the unified hierarchy (`<root>/<path>`).

    `controllers` are those create() enables in every ancestor's cgroup.subtree_control;
    None means all the parent offers (as runc does). set() enables whatever else the
    resources need.
    """

    mode = "v2"
    _controllers: tuple[str, ...] | None

    def __init__(
        self,
        cgroups_path: str,
        root: str = DEFAULT_ROOT,
        *,
        controllers: Iterable[str] | None = None,
        kernel: Kernel | None = None,
        self_cgroup: str | None = None,
    ) -> None:
        own = None
        if not _paths.check(cgroups_path).startswith("/"):
            own = _paths.own_cgroups(self_cgroup or _paths.read_self_cgroup()).get("")
        self._init({"unified": _paths.join(root, _paths.place(cgroups_path, own))}, kernel)
        self._controllers = None if controllers is None else tuple(controllers)

    def _init(self, paths, kernel) -> None:
        super()._init(paths, kernel)
        self._controllers = None

    @property
    def path(self) -> str:
        return self._paths["unified"]

    # ---- lifecycle ---------------------------------------------------------------------

    def create(self) -> None:
        levels = _kernel.hierarchy_levels(self.path)
        _kernel.make_dirs(self._kernel, levels[1:])
        self._enable(levels, self._controllers)

    def _enable(self, levels: list[str], wanted: Iterable[str] | None) -> None:
        # A controller is usable in a cgroup only when every ancestor lists it in its
        # cgroup.subtree_control, so enable top-down, and only what each level is offered.
        for level in levels[:-1]:
            offered = read(level, "cgroup.controllers").split()
            enabled = read(level, "cgroup.subtree_control").split()
            for controller in offered if wanted is None else wanted:
                if controller in enabled:
                    continue
                if controller not in offered:
                    raise Unavailable(
                        f"cgroup {level}: the {controller} controller is not available here",
                        hint="on a hybrid host it may be taken by a v1 hierarchy",
                    )
                write(self._kernel, level, "cgroup.subtree_control", f"+{controller}")

    def set(self, resources: Resources) -> None:
        refused = unsupported_fields(resources)
        if refused:
            raise Unsupported(f"linux.resources.{refused[0]}: not available on cgroup v2")
        self._enable(_kernel.hierarchy_levels(self.path), needed(resources))
        if resources.cpu is not None:
            self._set_cpu(resources.cpu)
        if resources.memory is not None:
            self._set_memory(resources.memory)
        if resources.pids_limit is not None:
            limit = "max" if resources.pids_limit < 0 else str(resources.pids_limit)
            self._write("pids.max", limit)
        if resources.block_io is not None:
            self._set_io(resources.block_io)
        for hugepage in resources.hugepage_limits:
            self._write_existing(f"hugetlb.{hugepage.page_size}.max", str(hugepage.limit), "hugepageLimits")
        for key, value in resources.unified.items():
            # Last, so that explicit unified values win over converted ones.
            self._write_existing(key, value, f"unified[{key!r}]")
        if resources.devices is not None:
            from estiba.runtime.cgroups import bpf_devices

            self._kernel.attach_device_filter(self.path, bpf_devices.build_program(resources.devices))

    def _write(self, name: str, value: str) -> None:
        write(self._kernel, self.path, name, value)

    def _write_existing(self, name: str, value: str, resource: str) -> None:
        if not exists(self.path, name):
            raise Unavailable(f"linux.resources.{resource}: cgroup {self.path} has no {name}")
        self._write(name, value)

    # ---- controllers -------------------------------------------------------------------

    def _set_cpu(self, cpu: CpuResources) -> None:
        if cpu.shares is not None:
            self._write("cpu.weight", str(shares_to_weight(cpu.shares)))
        if cpu.quota is not None or cpu.period is not None:
            value = "max" if cpu.quota in (None, -1) else str(cpu.quota)
            if cpu.period is not None:
                value += f" {cpu.period}"
            self._write("cpu.max", value)
        if cpu.burst is not None:
            self._write_existing("cpu.max.burst", str(cpu.burst), "cpu.burst")
        if cpu.idle is not None:
            self._write_existing("cpu.idle", str(cpu.idle), "cpu.idle")
        if cpu.cpus is not None:
            self._write("cpuset.cpus", cpu.cpus)
        if cpu.mems is not None:
            self._write("cpuset.mems", cpu.mems)

    def _set_memory(self, memory: MemoryResources) -> None:
        swap = swap_max(memory.limit, memory.swap)
        if swap is not None:
            if exists(self.path, "memory.swap.max"):
                self._write("memory.swap.max", "max" if swap == -1 else str(swap))
            elif memory.swap is not None:
                raise Unavailable(
                    "linux.resources.memory.swap: this kernel has no swap accounting (memory.swap.max)"
                )
        if memory.limit is not None:
            self._write("memory.max", "max" if memory.limit == -1 else str(memory.limit))
        if memory.reservation is not None:
            self._write("memory.low", "max" if memory.reservation == -1 else str(memory.reservation))

    def _set_io(self, blkio: BlockIOResources) -> None:
        # BFQ takes blkio's own 1..1000 weights; io.weight (iocost) takes 1..10000.
        bfq = exists(self.path, "io.bfq.weight")
        if blkio.weight is not None or any(d.weight is not None for d in blkio.weight_device):
            if not bfq and not exists(self.path, "io.weight"):
                raise Unavailable(
                    "linux.resources.blockIO.weight: neither io.bfq.weight nor io.weight exists",
                    hint="select the bfq I/O scheduler or drop the weight",
                )
            name = "io.bfq.weight" if bfq else "io.weight"
            convert = (lambda w: w) if bfq else blkio_to_io_weight
            if blkio.weight is not None:
                self._write(name, str(convert(blkio.weight)))
            for device in blkio.weight_device:
                if device.weight is not None:
                    self._write(name, f"{device.major}:{device.minor} {convert(device.weight)}")
        for key, throttles in (
            ("rbps", blkio.throttle_read_bps),
            ("wbps", blkio.throttle_write_bps),
            ("riops", blkio.throttle_read_iops),
            ("wiops", blkio.throttle_write_iops),
        ):
            for t in throttles:
                self._write("io.max", f"{t.major}:{t.minor} {key}={t.rate}")

    # ---- observing ---------------------------------------------------------------------

    def oom_kill_count(self) -> int:
        if not exists(self.path, "memory.events"):
            raise Unavailable(f"cgroup {self.path}: the memory controller is not enabled")
        return _stats.flat_keyed(read(self.path, "memory.events")).get("oom_kill", 0)

    def stats(self) -> dict:
        path, result = self.path, _stats.empty()
        if exists(path, "cpu.stat"):
            cpu = _stats.flat_keyed(read(path, "cpu.stat"))
            usage = result["cpu"]["usage"]
            usage["total"] = cpu.get("usage_usec", 0) * 1000
            usage["user"] = cpu.get("user_usec", 0) * 1000
            usage["kernel"] = cpu.get("system_usec", 0) * 1000
            result["cpu"]["throttling"] = {
                "periods": cpu.get("nr_periods", 0),
                "throttledPeriods": cpu.get("nr_throttled", 0),
                "throttledTime": cpu.get("throttled_usec", 0) * 1000,
            }
        if exists(path, "memory.current"):
            self._memory_stats(result["memory"])
        if exists(path, "pids.current"):
            result["pids"] = {"current": read_int(path, "pids.current"), "limit": read_int(path, "pids.max")}
        if exists(path, "io.stat"):
            service_bytes, serviced = _stats.io_stat_v2(read(path, "io.stat"))
            result["blkio"] = {"ioServiceBytesRecursive": service_bytes, "ioServicedRecursive": serviced}
        for name in ("hugetlb.2MB.current", "hugetlb.1GB.current"):
            if exists(path, name):
                prefix = name[: -len("current")]
                events = _stats.flat_keyed(read(path, prefix + "events"))
                result["hugetlb"][name.split(".")[1]] = {
                    "usage": read_int(path, name),
                    "max": read_int(path, prefix + "max", max_value=_stats.UNLIMITED),
                    "failcnt": events.get("max", 0),
                }
        return result

    def _memory_stats(self, memory: dict) -> None:
        path, unlimited = self.path, _stats.UNLIMITED
        usage = read_int(path, "memory.current")
        limit = read_int(path, "memory.max", max_value=unlimited)
        events = _stats.flat_keyed(read(path, "memory.events"))
        memory["usage"] = {
            "limit": limit,
            "usage": usage,
            "max": read_int(path, "memory.peak") if exists(path, "memory.peak") else 0,
            "failcnt": events.get("max", 0),
        }
        if exists(path, "memory.swap.current"):
            # Reported as memory+swap, the v1 meaning that the rest of the shape keeps.
            swap_limit = read_int(path, "memory.swap.max", max_value=unlimited)
            both_limited = unlimited not in (limit, swap_limit)
            memory["swap"] = {
                "limit": limit + swap_limit if both_limited else unlimited,
                "usage": usage + read_int(path, "memory.swap.current"),
                "max": 0,
                "failcnt": 0,
            }
        raw = _stats.flat_keyed(read(path, "memory.stat"))
        memory["raw"] = raw
        memory["cache"] = raw.get("file", 0)

    # ---- freezing and killing ------------------------------------------------------------

    def _can_freeze(self) -> bool:
        return exists(self.path, "cgroup.freeze")

    def frozen(self) -> bool:
        return _stats.flat_keyed(read(self.path, "cgroup.events")).get("frozen") == 1

    def freeze(self) -> None:
        self._write("cgroup.freeze", "1")
        if not wait_for(self.frozen):
            self._write("cgroup.freeze", "0")
            raise SystemFault(f"cgroup {self.path}: cannot freeze: not frozen in time, thawed again")

    def thaw(self) -> None:
        self._write("cgroup.freeze", "0")
        if not wait_for(lambda: not self.frozen()):
            raise SystemFault(f"cgroup {self.path}: cannot thaw: still frozen")

    def kill_all(self, sig: int) -> None:
        # cgroup.kill (5.14+) SIGKILLs the whole subtree atomically: nothing can fork away.
        if sig == signal.SIGKILL and exists(self.path, "cgroup.kill"):
            self._write("cgroup.kill", "1")
            return
        super().kill_all(sig)
