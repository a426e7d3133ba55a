"""The API's SystemBackend: /version and /info with this host's real figures, /events.

Container counts come from the ContainerStore, image counts from the ImageStore, events
from the engine's EventBus. Nothing here is cached: `docker info` is rare and must be true.
"""

from __future__ import annotations

import asyncio
import os
import platform
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from estiba import __version__
from estiba.api.types import Event, JSONObject, VersionInfo
from estiba.engine.events import EventBus
from estiba.engine.states import State
from estiba.engine.store import ContainerStore
from estiba.images import ImageFilters, ImageStore

__all__ = ["HostSystemBackend", "engine_id", "go_arch"]

_GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def go_arch(machine: str | None = None) -> str:
    """The architecture as Docker names it (Go's GOARCH)."""
    machine = machine or platform.machine()
    return _GO_ARCH.get(machine, machine)


def engine_id(data_root: Path) -> str:
    """The daemon's stable ID, made on first start and kept in the data root."""
    path = Path(data_root) / "engine-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        value = str(uuid.uuid4())
        tmp = path.with_suffix(".tmp")
        tmp.write_text(value + "\n")
        os.replace(tmp, path)
        return value


class HostSystemBackend:
    """SystemBackend for one daemon: its stores, its event bus, its roots."""

    def __init__(
        self,
        *,
        containers: ContainerStore,
        images: ImageStore,
        events: EventBus,
        data_root: Path,
        default_runtime: str = "estiba",
        proc: Path = Path("/proc"),
        cgroup_root: Path = Path("/sys/fs/cgroup"),
    ) -> None:
        self.containers = containers
        self.images = images
        self.bus = events
        self.data_root = Path(data_root)
        self.default_runtime = default_runtime
        self.proc = proc
        self.cgroup_root = cgroup_root
        self.id = engine_id(self.data_root)

    async def version(self) -> VersionInfo:
        return VersionInfo(
            version=__version__,
            os="linux",
            arch=go_arch(),
            kernel_version=platform.release(),
            runtime_version=f"python{platform.python_version()}",
            components=((self.default_runtime, __version__),),
        )

    async def info(self) -> JSONObject:
        return await asyncio.to_thread(self._info)

    def _info(self) -> JSONObject:
        states = [record.state for record in self.containers.list(all=True)]
        running = sum(s in (State.RUNNING, State.RESTARTING) for s in states)
        paused = sum(s == State.PAUSED for s in states)
        images = self.images.list(ImageFilters(all=True))
        cgroup_version = "2" if (self.cgroup_root / "cgroup.controllers").exists() else "1"
        return {
            "ID": self.id,
            "Containers": len(states),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": len(states) - running - paused,
            "Images": len(images),
            "Driver": "overlay",
            "DriverStatus": [["Backing Filesystem", _filesystem_of(self.data_root, self.proc)]],
            "Plugins": {
                "Volume": ["local"],
                "Network": ["bridge", "host", "none"],
                "Authorization": None,
                "Log": ["json-file"],
            },
            "MemoryLimit": True,
            "SwapLimit": True,
            "KernelMemory": False,
            "KernelMemoryTCP": False,
            "CpuCfsPeriod": True,
            "CpuCfsQuota": True,
            "CPUShares": True,
            "CPUSet": True,
            "PidsLimit": True,
            "IPv4Forwarding": _read(self.proc / "sys/net/ipv4/ip_forward") == "1",
            "BridgeNfIptables": False,
            "BridgeNfIp6tables": False,
            "Debug": False,
            "NFd": _count(self.proc / "self/fd"),
            "OomKillDisable": cgroup_version == "1",
            "NGoroutines": _threads(),
            "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": cgroup_version,
            "NEventsListener": 0,
            "KernelVersion": platform.release(),
            "OperatingSystem": _os_release(self.proc).get("PRETTY_NAME", "Linux"),
            "OSVersion": _os_release(self.proc).get("VERSION_ID", ""),
            "OSType": "linux",
            "Architecture": platform.machine(),
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": _REGISTRY_CONFIG,
            "NCPU": os.cpu_count() or 1,
            "MemTotal": _mem_total(self.proc),
            "GenericResources": None,
            "DockerRootDir": str(self.data_root),
            "HttpProxy": os.environ.get("HTTP_PROXY", ""),
            "HttpsProxy": os.environ.get("HTTPS_PROXY", ""),
            "NoProxy": os.environ.get("NO_PROXY", ""),
            "Name": platform.node(),
            "Labels": [],
            "ExperimentalBuild": False,
            "ServerVersion": __version__,
            "Runtimes": {
                "estiba": {"path": "estiba-runtime"},
                "runc": {"path": "runc"},
            },
            "DefaultRuntime": self.default_runtime,
            "Swarm": _NO_SWARM,
            "LiveRestoreEnabled": True,
            "Isolation": "",
            "InitBinary": "",
            "ContainerdCommit": {"ID": "", "Expected": ""},
            "RuncCommit": {"ID": "", "Expected": ""},
            "InitCommit": {"ID": "", "Expected": ""},
            "SecurityOptions": ["name=seccomp,profile=default"]
            + (["name=cgroupns"] if cgroup_version == "2" else []),
            "Warnings": None,
        }

    async def events(self, *, since_ns: int | None, until_ns: int | None) -> AsyncIterator[Event]:
        since = since_ns if since_ns is not None else (0 if until_ns is not None else None)
        subscription = self.bus.subscribe(since=since, until=until_ns)
        return _events(subscription)


async def _events(subscription: Any) -> AsyncIterator[Event]:
    try:
        async for event in subscription:
            yield Event(
                type=event.type,
                action=event.action,
                actor_id=event.actor_id,
                time_ns=event.time_nano,
                attributes=dict(event.attributes),
                scope=event.scope,
            )
    finally:
        subscription.close()


_NO_SWARM = {
    "NodeID": "",
    "NodeAddr": "",
    "LocalNodeState": "inactive",
    "ControlAvailable": False,
    "Error": "",
    "RemoteManagers": None,
}

_REGISTRY_CONFIG = {
    "AllowNondistributableArtifactsCIDRs": None,
    "AllowNondistributableArtifactsHostnames": None,
    "InsecureRegistryCIDRs": ["127.0.0.0/8"],
    "IndexConfigs": {
        "docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": True, "Official": True}
    },
    "Mirrors": None,
}


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _count(path: Path) -> int:
    try:
        return len(os.listdir(path))
    except OSError:
        return 0


def _threads() -> int:
    return threading.active_count()


def _mem_total(proc: Path) -> int:
    for line in _read(proc / "meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def _os_release(proc: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    for line in _read(Path("/etc/os-release")).splitlines():
        key, eq, value = line.partition("=")
        if eq:
            values[key] = value.strip().strip('"')
    return values


def _filesystem_of(path: Path, proc: Path) -> str:
    """The type of the filesystem holding `path`, from the longest matching mount point."""
    best, kind = "", "unknown"
    target = str(path.resolve())
    for line in _read(proc / "self/mounts").splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = fields[1]
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, fields[2]
    return kind
