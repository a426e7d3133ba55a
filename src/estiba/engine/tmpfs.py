"""tmpfs mounts as dockerd writes them: HostConfig.Tmpfs and Mounts of type tmpfs.

Every tmpfs starts from "noexec,nosuid,nodev,rprivate" and the user's options are merged
over it the way moby/sys/mount's MergeTmpfsOptions does: for each flag (and its opposite,
"exec" against "noexec") and each key=value option, the last one given wins.
"""

from __future__ import annotations

import json
from typing import Any

from estiba.engine._apifields import go_clean
from estiba.errors import InvalidArgument

# Mount flags by the bit they set or clear; "defaults" sets nothing and is dropped.
_FLAG_BITS = {
    "ro": 0x1, "rw": 0x1,
    "suid": 0x2, "nosuid": 0x2,
    "dev": 0x4, "nodev": 0x4,
    "exec": 0x8, "noexec": 0x8,
    "sync": 0x10, "async": 0x10,
    "remount": 0x20,
    "mand": 0x40, "nomand": 0x40,
    "dirsync": 0x80,
    "atime": 0x400, "noatime": 0x400,
    "diratime": 0x800, "nodiratime": 0x800,
    "relatime": 0x200000, "norelatime": 0x200000,
    "strictatime": 0x1000000, "nostrictatime": 0x1000000,
}
# There is only one propagation (or bind) mode: these all collide with each other.
_PROPAGATION = (
    "bind", "rbind", "unbindable", "runbindable", "private", "rprivate",
    "shared", "rshared", "slave", "rslave",
)
_DATA_KEYS = ("", "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol")

TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev", "rprivate")


def merge_tmpfs_options(options: list[str]) -> list[str]:
    """Drop the options a later one overrides; InvalidArgument for what tmpfs does not take."""
    flags_seen: set[int] = set()
    data_seen: set[str] = set()
    merged: list[str] = []
    for option in reversed(options):
        if option == "defaults":
            continue
        key: Any = -1 if option in _PROPAGATION else _FLAG_BITS.get(option)
        if key is not None:
            if key not in flags_seen:
                merged.append(option)
                flags_seen.add(key)
            continue
        name, found, _ = option.partition("=")
        if not found or name not in _DATA_KEYS:
            parts = option.split("=", 1)
            raise InvalidArgument(f"invalid tmpfs option [{' '.join(json.dumps(p) for p in parts)}]")
        if name not in data_seen:
            merged.append(option)
            data_seen.add(name)
    merged.reverse()
    return merged


def validate_tmpfs_destination(destination: str) -> None:
    """dockerd's ValidateTmpfsMountDestination, with its messages."""
    if go_clean(destination.replace("\\", "/")) == "/":
        raise InvalidArgument("invalid specification: destination can't be '/'")
    if not destination.replace("\\", "/").startswith("/"):
        raise InvalidArgument(f"invalid mount path: '{destination}' mount path must be absolute")


def tmpfs_mount(destination: str, data: str) -> dict[str, Any]:
    """The OCI mount for one tmpfs, from its comma-separated options."""
    options = merge_tmpfs_options([*TMPFS_DEFAULTS, *(data.split(",") if data else [])])
    return {"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": options}


def mount_api_tmpfs_data(read_only: bool, mode: int, size: int) -> str:
    """The options of a Mounts entry of type tmpfs (moby's ConvertTmpfsOptions): its size
    in the largest unit that divides it ("size=64m"), mode in octal."""
    options = ["ro"] if read_only else []
    if mode:
        options.append(f"mode={mode:o}")
    if size:
        suffix = ""
        for unit, divisor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if size % divisor == 0:
                size, suffix = size // divisor, unit
                break
        options.append(f"size={size}{suffix}")
    return ",".join(options)
