"""estiba.snapshots: container root filesystems as stacked snapshots on overlayfs.

The contract is `Snapshotter` (containerd's lifecycle: prepare, view, mounts, commit,
remove, stat, usage, walk); `OverlaySnapshotter` implements it and only *returns* mounts,
which `mount_all`/`unmount` perform. Layers go in with `apply_layer` and
`unpack_image_layers` (once per chain id) and come out with `changes`, `layer_from_upper`
and `export`. `estiba.snapshots.frozen` freezes a container's writable layer in place for
its snapshots and copies. Names are re-exported lazily: importing this package costs nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

_EXPORTS = {
    "Snapshotter": "estiba.snapshots.base",
    "Mount": "estiba.snapshots.base",
    "Info": "estiba.snapshots.base",
    "Kind": "estiba.snapshots.base",
    "Usage": "estiba.snapshots.base",
    "OverlaySnapshotter": "estiba.snapshots.overlay",
    "mount_all": "estiba.snapshots.mount",
    "unmount": "estiba.snapshots.mount",
    "mounted": "estiba.snapshots.mount",
    "layer_dirs": "estiba.snapshots.mount",
    "LayerDirs": "estiba.snapshots.mount",
    "apply_layer": "estiba.snapshots.apply",
    "chain_ids": "estiba.snapshots.unpack",
    "apply_to_snapshot": "estiba.snapshots.unpack",
    "unpack_image_layers": "estiba.snapshots.unpack",
    "Change": "estiba.snapshots.diff",
    "changes": "estiba.snapshots.diff",
    "mount_changes": "estiba.snapshots.diff",
    "layer_from_upper": "estiba.snapshots.diff",
    "export": "estiba.snapshots.diff",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from estiba.snapshots.apply import apply_layer
    from estiba.snapshots.base import Info, Kind, Mount, Snapshotter, Usage
    from estiba.snapshots.diff import Change, changes, export, layer_from_upper, mount_changes
    from estiba.snapshots.mount import LayerDirs, layer_dirs, mount_all, mounted, unmount
    from estiba.snapshots.overlay import OverlaySnapshotter
    from estiba.snapshots.unpack import apply_to_snapshot, chain_ids, unpack_image_layers


def __getattr__(name: str):
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'estiba.snapshots' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)
