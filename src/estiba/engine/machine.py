"""Facts about the machine a container will run on that shape its spec.

`build_spec` is pure: it takes these as a value. `Machine.detect()` reads them from this
host (CPU affinity, NUMA nodes, the kernel's last capability, the cgroup version, /dev);
tests build a `Machine` by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from estiba.engine.devices import DeviceTree, HostDeviceTree
from estiba.runtime.capabilities import last_cap


@dataclass(frozen=True)
class Machine:
    cpu_count: int = 1
    cpus: frozenset[int] = frozenset({0})
    mems: frozenset[int] = frozenset({0})
    last_cap: int | None = None  # None: every capability the runtime knows
    cgroup_v2: bool = False
    kernel: tuple[int, int] | None = None  # for seccomp's minKernel; None: the running one
    devices: DeviceTree = field(default_factory=HostDeviceTree)

    @classmethod
    def detect(cls) -> Machine:
        cpus = frozenset(os.sched_getaffinity(0))
        return cls(
            cpu_count=len(cpus),
            cpus=cpus,
            mems=_online_nodes(),
            last_cap=last_cap(),
            cgroup_v2=os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
            kernel=None,
            devices=HostDeviceTree(),
        )


def _online_nodes() -> frozenset[int]:
    """NUMA nodes from /sys/devices/system/node/online ("0" or "0-3"); {0} without NUMA."""
    try:
        with open("/sys/devices/system/node/online", encoding="ascii") as handle:
            text = handle.read().strip()
    except OSError:
        return frozenset({0})
    nodes: set[int] = set()
    for part in filter(None, text.split(",")):
        low, _, high = part.partition("-")
        if low.isdigit() and (high or low).isdigit():
            nodes.update(range(int(low), int(high or low) + 1))
    return frozenset(nodes or {0})
