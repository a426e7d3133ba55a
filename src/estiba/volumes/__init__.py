"""estiba.volumes: named and anonymous volumes with the local driver, and the mounts a
container asks for (-v, --mount, --volumes-from, an image's VOLUME).

The contract is `VolumeDriver` (base.py); `LocalDriver` implements it with directories
under `<data_root>/volumes` and, for `-o type=... device=...`, a mount made while a
container uses the volume. `VolumeStore` keeps the rows (SQLite), `VolumeService` ties
them together for the daemon. `plan_mounts` turns a container's HostConfig and its
image's volumes into the mounts to make. Names are re-exported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

_EXPORTS = {
    "Volume": "estiba.volumes.base",
    "VolumeDriver": "estiba.volumes.base",
    "VolumeFilters": "estiba.volumes.options",
    "LocalOptions": "estiba.volumes.options",
    "validate_volume_name": "estiba.volumes.options",
    "VolumeStore": "estiba.volumes.store",
    "LocalDriver": "estiba.volumes.local",
    "VolumeService": "estiba.volumes.service",
    "MountRequest": "estiba.volumes.binds",
    "plan_mounts": "estiba.volumes.binds",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from estiba.volumes.base import Volume, VolumeDriver
    from estiba.volumes.binds import MountRequest, plan_mounts
    from estiba.volumes.local import LocalDriver
    from estiba.volumes.options import LocalOptions, VolumeFilters, validate_volume_name
    from estiba.volumes.service import VolumeService
    from estiba.volumes.store import VolumeStore


def __getattr__(name: str):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'estiba.volumes' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
