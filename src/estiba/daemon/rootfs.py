"""Where a container's run-time files live, its /etc/hosts, hostname and resolv.conf, and
mounting and unmounting its root.

    <exec_root>/containers/<id>/config.json     the OCI bundle (rootfs beside it)
    <exec_root>/containers/<id>/rootfs          the snapshot's mounts, while it runs
    <exec_root>/containers/<id>/{hosts,hostname,resolv.conf}
    <exec_root>/containers/<id>/shim/           the shim's state directory
    <data_root>/containers/<id>/<id>-json.log   the json-file log (kept across reboots)

The etc file texts are computed (`etc_files`); `write_etc_files` and the mount helpers are
the thin step that touches the system.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from estiba.errors import Conflict, InvalidArgument
from estiba.network.etcfiles import HOSTS_BASE as _HOSTS_BASE
from estiba.network.etcfiles import added_hosts

__all__ = ["ContainerPaths", "etc_files", "mount_rootfs", "remove_dirs", "unmount_rootfs", "write_etc_files"]

_FALLBACK_NAMESERVERS = "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"


@dataclass(frozen=True)
class ContainerPaths:
    exec_root: Path
    data_root: Path
    container_id: str

    @property
    def run_dir(self) -> Path:
        return self.exec_root / "containers" / self.container_id

    @property
    def bundle(self) -> Path:
        return self.run_dir

    @property
    def rootfs(self) -> Path:
        return self.run_dir / "rootfs"

    @property
    def state_dir(self) -> Path:
        return self.run_dir / "shim"

    @property
    def data_dir(self) -> Path:
        return self.data_root / "containers" / self.container_id

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.container_id}-json.log"

    def etc_path(self, name: str) -> Path:
        return self.run_dir / name


def etc_files(
    hostname: str,
    network_mode: str,
    *,
    host_hosts: str = "",
    host_resolv: str = "",
    extra_hosts: Sequence[str] = (),
) -> dict[str, str]:
    """The texts of the container's hostname, hosts and resolv.conf files.

    With NetworkMode host the container sees the host's hosts and resolv.conf; otherwise
    (none, and bridge until networks exist: a private namespace with lo only) it gets
    localhost entries and its own name, and the host's nameservers without the loopback
    ones, which would point into the container (Docker's fallback is Google's DNS).
    --add-host entries (name:ip) are appended in every mode, as libnetwork does."""
    added = added_hosts(extra_hosts)
    if network_mode == "host":
        hosts = host_hosts or _HOSTS_BASE
        if added and not hosts.endswith("\n"):
            hosts += "\n"
        return {"hostname": hostname + "\n", "hosts": hosts + added, "resolv.conf": host_resolv}
    lines = [line for line in host_resolv.splitlines() if line.strip()]
    kept = [
        line for line in lines
        if not (line.split()[0] == "nameserver" and len(line.split()) > 1
                and (line.split()[1].startswith("127.") or line.split()[1] == "::1"))
    ]
    resolv = "".join(line + "\n" for line in kept)
    if not any(line.startswith("nameserver") for line in kept):
        resolv += _FALLBACK_NAMESERVERS
    hosts = _HOSTS_BASE + added + f"127.0.1.1\t{hostname}\n"
    return {"hostname": hostname + "\n", "hosts": hosts, "resolv.conf": resolv}


def read_host_file(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def write_etc_files(paths: ContainerPaths, files: Mapping[str, str]) -> dict[str, str]:
    """Write the files into the run directory; return name -> host path for build_spec."""
    written = {}
    for name, text in files.items():
        target = paths.etc_path(name)
        tmp = target.with_name(f".{name}.tmp")
        tmp.write_text(text)
        tmp.chmod(0o644)
        os.replace(tmp, target)
        written[name] = str(target)
    return written


def mount_rootfs(mounts: Sequence[object], target: Path) -> None:
    from estiba.snapshots import mount_all

    target.mkdir(mode=0o755, parents=True, exist_ok=True)
    mount_all(mounts, target)  # type: ignore[arg-type]


def unmount_rootfs(target: Path) -> None:
    """Unmount everything stacked on `target` (detaching a busy one rather than leaking it)."""
    from estiba.snapshots import unmount
    from estiba.snapshots.mount import is_mount_point

    for _ in range(8):
        if not is_mount_point(target):
            return
        try:
            unmount(target)
        except Conflict:
            unmount(target, detach=True)
        except InvalidArgument:
            return


def remove_dirs(paths: ContainerPaths) -> None:
    unmount_rootfs(paths.rootfs)
    for directory in (paths.run_dir, paths.data_dir):
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(directory)
