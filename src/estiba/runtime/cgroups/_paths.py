"""What a bundle's `linux.cgroupsPath` means: checking it and placing it in a hierarchy.

Absolute paths ("/a/b") hang from the hierarchy's root; relative ones ("a/b") from the
runtime's own cgroup in that hierarchy, as runc does. systemd's "slice:prefix:name" form is
refused: estiba-runtime drives cgroupfs itself.
"""

from __future__ import annotations

import posixpath

from estiba.errors import InvalidArgument, SystemFault, Unsupported


def default_path(container_id: str) -> str:
    """The cgroupsPath used when a bundle gives none."""
    if not container_id or "/" in container_id or container_id in (".", ".."):
        raise InvalidArgument(f"container id {container_id!r}: cannot name a cgroup")
    return f"/estiba/{container_id}"


def check(cgroups_path: str) -> str:
    if not cgroups_path:
        raise InvalidArgument("linux.cgroupsPath: must not be empty")
    if not cgroups_path.startswith("/") and cgroups_path.count(":") == 2:
        raise Unsupported(
            f"linux.cgroupsPath {cgroups_path!r}: systemd slice:prefix:name paths are not"
            " supported, estiba-runtime manages cgroupfs directly",
            hint='give a path such as "/estiba/<id>"',
        )
    if ".." in cgroups_path.split("/"):
        raise InvalidArgument(f"linux.cgroupsPath {cgroups_path!r}: must not contain '..'")
    return cgroups_path


def place(cgroups_path: str, own_path: str | None) -> str:
    """The cgroup path inside one hierarchy: absolute as given, relative under `own_path`."""
    check(cgroups_path)
    if cgroups_path.startswith("/"):
        return posixpath.normpath(cgroups_path)
    return posixpath.normpath(posixpath.join("/", own_path or "/", cgroups_path))


def join(mount: str, inner: str) -> str:
    return posixpath.normpath(posixpath.join(mount, inner.lstrip("/")))


def own_cgroups(text: str) -> dict[str, str]:
    """Parse /proc/self/cgroup: controller (or "name=x"; "" for v2) -> cgroup path."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[1] == "":
            result[""] = parts[2]
        for controller in parts[1].split(","):
            if controller:
                result[controller] = parts[2]
    return result


def read_self_cgroup() -> str:
    try:
        with open("/proc/self/cgroup", encoding="ascii") as f:
            return f.read()
    except OSError as exc:
        raise SystemFault(f"cannot read /proc/self/cgroup: {exc.strerror}") from exc
