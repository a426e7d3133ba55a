"""Choosing a cgroup manager: which hierarchy the host mounts, and re-opening saved paths."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from estiba.errors import InvalidArgument, Unavailable
from estiba.runtime.cgroups import v1
from estiba.runtime.cgroups._kernel import Kernel
from estiba.runtime.cgroups.v1 import V1Manager
from estiba.runtime.cgroups.v2 import V2Manager

if TYPE_CHECKING:
    from estiba.runtime.cgroups.base import CgroupManager

DEFAULT_ROOT = "/sys/fs/cgroup"
MODES = ("v1", "v2", "hybrid")


def detect(root: str = DEFAULT_ROOT) -> str:
    """Which cgroup layout `root` has: "v2" (unified only), "hybrid" (v1 plus unified) or "v1"."""
    if os.path.isfile(os.path.join(root, "cgroup.controllers")):
        return "v2"
    if os.path.isfile(os.path.join(root, "unified", "cgroup.controllers")):
        return "hybrid"
    if v1.mounted(root):
        return "v1"
    raise Unavailable(f"no cgroup filesystem is mounted under {root}")


def manager_for(
    cgroups_path: str,
    root: str = DEFAULT_ROOT,
    mode: str | None = None,
    *,
    kernel: Kernel | None = None,
) -> CgroupManager:
    """The manager for `cgroups_path`: v1 on v1 and hybrid hosts, v2 on pure v2 hosts."""
    mode = mode or detect(root)
    if mode not in MODES:
        raise InvalidArgument(f"cgroup mode {mode!r}: must be one of {', '.join(MODES)}")
    if mode == "v2":
        return V2Manager(cgroups_path, root, kernel=kernel)
    return V1Manager(cgroups_path, root, kernel=kernel)


def load(paths: Mapping[str, str], *, kernel: Kernel | None = None) -> CgroupManager:
    """Re-open the manager whose `paths` were saved in a container's state."""
    if set(paths) == {"unified"}:
        return V2Manager.from_paths(paths, kernel=kernel)
    return V1Manager.from_paths(paths, kernel=kernel)
