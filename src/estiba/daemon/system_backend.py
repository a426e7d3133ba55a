"""The API's SystemBackend: /version and /info with this host's real figures, /events, and
the disk usage of /system/df.

Container counts come from the ContainerStore, image counts and sizes from the ImageStore,
a container's writable layer from the snapshotter, events from the engine's EventBus.
Nothing here is cached: `docker info` and `docker system df` are rare and must be true.
"""

from __future__ import annotations

import asyncio
import os
import platform
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from estiba import __version__
from estiba.api.types import Event, JSONObject, VersionInfo
from estiba.engine.events import EventBus
from estiba.engine.states import State
from estiba.engine.store import ContainerStore
from estiba.errors import EstibaError
from estiba.images import Image, ImageFilters, ImageStore

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
        snapshotter: Any = None,
        volumes: Any = None,
    ) -> None:
        self.containers = containers
        self.images = images
        self.bus = events
        self.data_root = Path(data_root)
        self.default_runtime = default_runtime
        self.proc = proc
        self.cgroup_root = cgroup_root
        self.id = engine_id(self.data_root)
        # The daemon's own snapshotter when it hands it over; else one opened on the same
        # root at the first `system df` (the overlay snapshotter is safe to share).
        self._snapshotter = snapshotter
        self._snapshotter_lock = threading.Lock()
        # The volume service (`estiba.volumes.VolumeService`); None: no volumes to report.
        self.volumes = volumes

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

    async def disk_usage(self) -> JSONObject:
        return await asyncio.to_thread(self._disk_usage)

    def _disk_usage(self) -> JSONObject:
        """dockerd's figures: LayersSize counts each layer once; an image's SharedSize is
        what its layers share with other images; SizeRootFs is SizeRw plus the image."""
        from estiba.daemon._documents import summary_json
        from estiba.daemon.container_documents import summary_document

        images = self.images.list(ImageFilters())
        records = self.containers.list(all=True)
        users = Counter(record.image_id for record in records)
        layers = {image.id: self._layers(image) for image in images}
        owners = Counter(chain for stack in layers.values() for chain in {c for c, _ in stack})
        layer_sizes = {chain: size for stack in layers.values() for chain, size in stack}
        image_documents = []
        for image in images:
            shared = sum(size for chain, size in layers[image.id] if owners[chain] > 1)
            document = summary_json(image)
            document.update(SharedSize=shared, Containers=users[image.id])
            image_documents.append(document)
        image_sizes = {image.id: image.size for image in self.images.list(ImageFilters(all=True))}
        container_documents = []
        for record in records:
            size_rw = self._size_rw(record.id)
            document = summary_document(record)
            document.update(
                SizeRw=size_rw, SizeRootFs=size_rw + image_sizes.get(record.image_id, 0)
            )
            if self.volumes is not None:  # the LOCAL VOLUMES column of `system df -v`
                document["Mounts"] = self.volumes.inspect_mounts(record.id)
            container_documents.append(document)
        return {
            "LayersSize": sum(layer_sizes.values()),
            "Images": image_documents,
            "Containers": container_documents,
            "Volumes": self.volumes.disk_usage() if self.volumes is not None else [],
            "BuildCache": [],
        }

    def _layers(self, image: Image) -> list[tuple[str, int]]:
        """(chain id, unpacked size) of each layer, bottom first. The sizes are those of
        the image's history (one per non-empty step); without a usable history the whole
        image counts as its top layer."""
        from estiba.snapshots import chain_ids

        try:
            diff_ids = [diff_id for diff_id, _ in self.images.layers(image.id)]
            steps = self.images.config(image.id).history
            rows = list(reversed(self.images.history(image.id)))  # oldest first, as steps
        except EstibaError:
            return []
        sizes = [row.size for step, row in zip(steps, rows) if not step.empty_layer]
        if len(sizes) != len(diff_ids):
            sizes = [0] * (len(diff_ids) - 1) + [image.size] if diff_ids else []
        return list(zip(chain_ids(diff_ids), sizes))

    def _size_rw(self, container_id: str) -> int:
        with self._snapshotter_lock:
            if self._snapshotter is None:
                from estiba.snapshots import OverlaySnapshotter

                self._snapshotter = OverlaySnapshotter(self.data_root / "snapshots")
        try:
            from estiba.snapshots.frozen import own_usage

            return int(own_usage(self._snapshotter, container_id).size)  # frozen layers too
        except (EstibaError, OSError):
            return 0  # no snapshot (being removed): nothing written that df could count

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
