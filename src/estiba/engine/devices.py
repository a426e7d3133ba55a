"""Device nodes a container gets: HostConfig.Devices, and every host device when privileged.

The rules are dockerd's (oci.DevicesFromPath) and containerd's (HostDevices), worked on a
`DeviceTree`: the host's /dev by default (`HostDeviceTree`, which only stats and lists),
any fake in tests. Each node becomes an OCI `linux.devices` entry and, unless privileged,
a device cgroup rule allowing it with the mapping's permissions.
"""

from __future__ import annotations

import os
import stat
from typing import Any, NamedTuple, Protocol

from estiba.errors import InvalidArgument

# Under /dev, what a privileged container does not get: other filesystems' mount points,
# the pseudo-terminal multiplexer's directory and LXD's and udev's private trees.
_SKIPPED_DIRS = ("pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev")


class Node(NamedTuple):
    """What lstat says of a path: kind is "c", "b", "p" (devices), "d", "l" or "f"."""

    kind: str
    major: int = 0
    minor: int = 0
    mode: int = 0
    uid: int = 0
    gid: int = 0


class DeviceTree(Protocol):
    """Read-only access to the host's device files."""

    def lstat(self, path: str) -> Node:
        """The node at path, not following a last symlink; OSError when missing."""

    def listdir(self, path: str) -> list[str]:
        """The names in a directory, sorted."""

    def realpath(self, path: str) -> str:
        """path with every symlink resolved."""


class HostDeviceTree:
    """The host's real files."""

    def lstat(self, path: str) -> Node:
        st = os.lstat(path)
        kind = {
            stat.S_IFCHR: "c", stat.S_IFBLK: "b", stat.S_IFIFO: "p", stat.S_IFDIR: "d", stat.S_IFLNK: "l",
        }.get(stat.S_IFMT(st.st_mode), "f")
        mode = stat.S_IMODE(st.st_mode)
        return Node(kind, os.major(st.st_rdev), os.minor(st.st_rdev), mode, st.st_uid, st.st_gid)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def realpath(self, path: str) -> str:
        return os.path.realpath(path)


def oci_device(path: str, node: Node) -> dict[str, Any]:
    return {
        "path": path,
        "type": node.kind,
        "major": node.major,
        "minor": node.minor,
        "fileMode": node.mode,
        "uid": node.uid,
        "gid": node.gid,
    }


def cgroup_rule(node: Node, access: str) -> dict[str, Any]:
    return {"allow": True, "type": node.kind, "major": node.major, "minor": node.minor, "access": access}


def mapped_devices(
    tree: DeviceTree, path_on_host: str, path_in_container: str, permissions: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One `--device` mapping: its devices and their cgroup rules (dockerd's DevicesFromPath).

    A symlink is followed; a directory maps every device below it, the host prefix
    replaced by the container path."""
    resolved = path_on_host
    try:
        if tree.lstat(path_on_host).kind == "l":
            resolved = tree.realpath(path_on_host)
        node = tree.lstat(resolved)
    except OSError as exc:
        raise _gathering_error(path_on_host, exc.strerror or str(exc)) from None
    if node.kind in ("c", "b", "p"):
        return [oci_device(path_in_container, node)], [cgroup_rule(node, permissions)]
    devices: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    if node.kind == "d":
        for path, child in _walk(tree, resolved):
            if child.kind in ("c", "b", "p"):
                devices.append(oci_device(path.replace(resolved, path_in_container, 1), child))
                rules.append(cgroup_rule(child, permissions))
    if not devices:
        raise _gathering_error(path_on_host, "not a device node")
    return devices, rules


def host_devices(tree: DeviceTree, root: str = "/dev") -> list[dict[str, Any]]:
    """Every device under /dev for a privileged container (containerd's HostDevices):
    no console, no FIFOs, nothing under the skipped directories, symlinks not followed."""
    devices = []
    for name in tree.listdir(root):
        path = f"{root}/{name}"
        try:
            node = tree.lstat(path)
        except FileNotFoundError:
            continue
        if node.kind == "d":
            if name not in _SKIPPED_DIRS:
                devices += host_devices(tree, path)
            continue
        if name == "console" or node.kind not in ("c", "b"):
            continue
        devices.append(oci_device(path, node))
    return devices


def _walk(tree: DeviceTree, root: str) -> list[tuple[str, Node]]:
    """filepath.Walk's order: the root, then each entry, depth first, names sorted."""
    found = []
    pending = [root]
    while pending:
        path = pending.pop(0)
        try:
            node = tree.lstat(path)
        except OSError:
            continue
        found.append((path, node))
        if node.kind == "d":
            try:
                names = tree.listdir(path)
            except OSError:
                continue
            pending[0:0] = [f"{path.rstrip('/')}/{name}" for name in names]
    return found


def _gathering_error(path: str, reason: str) -> InvalidArgument:
    return InvalidArgument(
        f'error gathering device information while adding custom device "{path}": {reason.lower()}'
    )
