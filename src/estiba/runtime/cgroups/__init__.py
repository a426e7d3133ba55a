"""Cgroups for estiba-runtime: put a container's processes in a cgroup, limit, watch, remove.

    manager = manager_for(cgroups_path or default_path(container_id))
    manager.create(); manager.set(Resources.from_spec(spec["linux"].get("resources")))
    manager.add(pid)  ...  state["cgroup_paths"] = manager.paths
    later, in another process: load(state["cgroup_paths"]).destroy()

Names load on first use, so that `estiba-runtime delete` pays for the manager only and
not for the OCI parsing (the resource types) it does not need.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_WHERE = {
    "Kernel": "_kernel",
    "default_path": "_paths",
    "detect": "factory",
    "load": "factory",
    "manager_for": "factory",
    "V1Manager": "v1",
    "V2Manager": "v2",
    **dict.fromkeys(
        (
            "DEFAULT_DEVICE_RULES",
            "BlockIOResources",
            "CgroupManager",
            "CpuResources",
            "DeviceRule",
            "DeviceThrottle",
            "DeviceWeight",
            "HugepageLimit",
            "MemoryResources",
            "NetworkPriority",
            "NetworkResources",
            "Resources",
        ),
        "base",
    ),
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


if TYPE_CHECKING:
    from estiba.runtime.cgroups._kernel import Kernel
    from estiba.runtime.cgroups._paths import default_path
    from estiba.runtime.cgroups.base import (
        DEFAULT_DEVICE_RULES,
        BlockIOResources,
        CgroupManager,
        CpuResources,
        DeviceRule,
        DeviceThrottle,
        DeviceWeight,
        HugepageLimit,
        MemoryResources,
        NetworkPriority,
        NetworkResources,
        Resources,
    )
    from estiba.runtime.cgroups.factory import detect, load, manager_for
    from estiba.runtime.cgroups.v1 import V1Manager
    from estiba.runtime.cgroups.v2 import V2Manager
