"""The `mounts` of a container's spec, assembled as dockerd's WithMounts does.

Docker's default filesystems (/proc, a tmpfs /dev, devpts, a read-only sysfs and cgroup
tree, mqueue, /dev/shm), then the container's own mounts sorted by depth: bind mounts
from the engine, /etc/resolv.conf, /etc/hostname and /etc/hosts, the host's /dev/shm
for IpcMode host, and tmpfs mounts. A mount of the container's own replaces the default
at the same place (and one on /dev replaces everything under /dev).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from estiba.engine._apifields import go_clean
from estiba.engine.hostconfig import HostConfig
from estiba.engine.tmpfs import mount_api_tmpfs_data, tmpfs_mount
from estiba.errors import InvalidArgument


def _mount(destination: str, kind: str, source: str, *options: str) -> dict[str, Any]:
    return {"destination": destination, "type": kind, "source": source, "options": list(options)}


# moby oci/defaults.go, in its order.
DEFAULT_MOUNTS: tuple[dict[str, Any], ...] = (
    _mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
    _mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
    _mount("/dev/pts", "devpts", "devpts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
           "gid=5"),
    _mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
    _mount("/sys/fs/cgroup", "cgroup", "cgroup", "ro", "nosuid", "noexec", "nodev"),
    _mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
    _mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777"),
)

# Where the init binary appears in the container (dockerd's path, which tools look for).
INIT_PATH = "/sbin/docker-init"

# The per-container files the engine writes and the container sees, in dockerd's order.
ETC_FILES = ("resolv.conf", "hostname", "hosts")

# A read-only rootfs leaves these writable (dockerd's WithMounts).
_WRITABLE_WITH_READONLY_ROOT = ("/proc", "/dev/pts", "/dev/shm", "/dev/mqueue", "/dev")


def spec_mounts(
    host: HostConfig,
    *,
    etc_files: Mapping[str, str],
    init_path: str | None,
    extra_mounts: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The spec's mounts. extra_mounts are OCI mounts the engine resolved (binds,
    volumes); init_path, when given, is bind-mounted read-only at /sbin/docker-init."""
    unknown = set(etc_files) - set(ETC_FILES)
    if unknown:
        expected = ", ".join(ETC_FILES)
        raise InvalidArgument(f"etc_files: unknown file {sorted(unknown)[0]!r}; expected {expected}")

    defaults = [copy.deepcopy(m) for m in DEFAULT_MOUNTS]
    if init_path is not None:
        defaults.append(_mount(INIT_PATH, "bind", init_path, "bind", "ro"))

    own = _own_mounts(host, etc_files, extra_mounts)
    own_places = {go_clean(m["destination"]) for m in own}
    mounts = []
    for mount in defaults:
        place = mount["destination"]
        if place in own_places or ("/dev" in own_places and place.startswith("/dev/")):
            continue
        if place == "/dev/shm":
            if host.ipc_mode == "none":
                continue
            mount["options"].append(f"size={host.shm_size}")
        mounts.append(mount)

    if host.readonly_rootfs:
        for mount in mounts:
            if mount["destination"] not in _WRITABLE_WITH_READONLY_ROOT and "ro" not in mount["options"]:
                mount["options"].append("ro")
    if host.privileged:
        # Privileged containers may write to /sys and the cgroup tree.
        for mount in mounts:
            if mount["destination"] == "/sys" or mount["type"] == "cgroup":
                mount["options"] = [option for option in mount["options"] if option != "ro"]
    return mounts + own


def _own_mounts(
    host: HostConfig, etc_files: Mapping[str, str], extra_mounts: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The container's own mounts in dockerd's order: binds by depth, the /etc files,
    the IPC mount, tmpfs mounts; then all of them sorted by depth (stably)."""
    own = sorted((copy.deepcopy(dict(m)) for m in extra_mounts), key=_depth)
    taken = {go_clean(m["destination"]) for m in own}
    binding = ("rbind", "ro", "rprivate") if host.readonly_rootfs else ("rbind", "rprivate")
    for name in ETC_FILES:
        destination = f"/etc/{name}"
        if name in etc_files and destination not in taken:
            own.append(_mount(destination, "bind", etc_files[name], *binding))
    if host.ipc_mode == "host":
        own.append(_mount("/dev/shm", "bind", "/dev/shm", "rbind", "rprivate"))
    for destination, data in host.tmpfs.items():
        own.append(tmpfs_mount(destination, data))
    for mount in host.mounts:
        if mount.type == "tmpfs":
            data = mount_api_tmpfs_data(mount.read_only, mount.tmpfs_mode, mount.tmpfs_size)
            own.append(tmpfs_mount(mount.target, data))
    own.sort(key=_depth)
    return own


def _depth(mount: Mapping[str, Any]) -> int:
    return len(go_clean(mount["destination"]).split("/"))
