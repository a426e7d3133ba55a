"""The container operations beside the lifecycle: top, rename, update, changes (diff),
stats, export and sizes, as a mixin of `EngineContainers` (which provides `_get`, `store`,
`snapshots`, `images`, `paths`, `runtime`, `runtime_root`, `exec_root`, `_publish`).

A running container's cgroup is reached through its runtime: the estiba.runtime library
in-process, or the runtime's own command line (`runc ps`, `events --stats`, `update`).
The pure parts (ps output filtering, the update's checks and merge, the read-only view
of a stopped container's layers, the hidden mount points of `diff`) are module functions
tested without root.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from estiba.api.types import Change, ChangeKind, JSONObject, TopResult
from estiba.daemon import rootfs
from estiba.daemon.container_documents import stats_document, system_cpu, with_sizes
from estiba.engine.states import State
from estiba.errors import Conflict, EstibaError, InvalidArgument, NotFound, SystemFault

__all__ = [
    "ContainerOps",
    "ResourceUpdate",
    "hide_mount_points",
    "parse_ps_output",
    "ps_argv",
    "readonly_view",
]

STATS_INTERVAL = 1.0
EXPORT_CHUNK = 1 << 16
NANO_CPUS_PERIOD = 100_000  # dockerd turns NanoCpus into a quota over a 100 ms period
_KINDS = {"C": ChangeKind.MODIFIED, "A": ChangeKind.ADDED, "D": ChangeKind.DELETED}
# What dockerd's init layer holds (mount points the runtime needs): never a change.
MOUNT_POINTS = frozenset({
    "/dev/pts", "/dev/shm", "/proc", "/sys", "/.dockerenv", "/etc/resolv.conf", "/etc/hosts",
    "/etc/hostname", "/dev/console", "/etc/mtab",
})  # fmt: skip


class ContainerOps:
    # --- top --------------------------------------------------------------------------

    async def top_container(self, ref: str, *, ps_args: str) -> TopResult:
        record = await self._get(ref)
        argv = ps_argv(ps_args)
        if not record.running:
            raise Conflict(f"Container {record.id} is not running")
        if record.state is State.RESTARTING:
            raise Conflict(f"Container {record.id} is restarting, wait until the container is running")
        pids = await asyncio.to_thread(self._container_pids, record)
        output = await asyncio.to_thread(_run_ps, argv, pids)
        result = parse_ps_output(output, pids)
        self._publish("top", record)
        return result

    # --- rename -----------------------------------------------------------------------

    async def rename_container(self, ref: str, new_name: str) -> None:
        record = await self._get(ref)
        try:
            renamed = await asyncio.to_thread(self.store.rename, record.id, new_name)
        except Conflict as exc:
            raise Conflict(f"Error when allocating new name: {exc}") from exc
        self._publish("rename", renamed, oldName=record.api_name)

    # --- update -----------------------------------------------------------------------

    async def update_container(self, ref: str, update: JSONObject) -> list[str]:
        record = await self._get(ref)
        wanted = ResourceUpdate.from_api(update)
        await asyncio.to_thread(wanted.check_host)
        warnings: list[str] = []
        if not await asyncio.to_thread(_swap_accounting):
            wanted, warnings = _without_swap_accounting(wanted)
        async with self._lock(record.id):
            record = await asyncio.to_thread(self.store.get, record.id)
            if record.state in (State.REMOVING, State.DEAD):
                raise Conflict(
                    f"Cannot update container {record.id}: "
                    'container is marked for removal and cannot be "update"'
                )
            try:
                host_config = wanted.merged_into(record.host_config)
            except Conflict as exc:
                raise Conflict(f"Cannot update container {record.id}: {exc}") from exc
            await asyncio.to_thread(self.store.update_state, record.id, None, host_config=host_config)
            if record.running and record.state is not State.RESTARTING:
                try:
                    await asyncio.to_thread(self._apply_resources, record, wanted.oci_resources())
                except EstibaError as exc:
                    with contextlib.suppress(EstibaError):
                        await asyncio.to_thread(
                            self.store.update_state, record.id, None, host_config=record.host_config
                        )
                    raise SystemFault(f"Cannot update container {record.id}: {exc}") from exc
        self._publish("update", record)
        return warnings

    # --- diff -------------------------------------------------------------------------

    async def container_changes(self, ref: str) -> list[Change]:
        record = await self._get(ref)
        return await asyncio.to_thread(self._changes, record.id)

    def _changes(self, container_id: str) -> list[Change]:
        from estiba.snapshots import changes
        from estiba.snapshots.frozen import own_view

        with own_view(self.snapshots, container_id) as dirs:  # frozen layers and upper as one
            found = hide_mount_points(changes(dirs.lowers, dirs.upper) if dirs.upper else [])
        return [Change(path, _KINDS[kind]) for kind, path in found]

    # --- stats ------------------------------------------------------------------------

    async def container_stats(
        self, ref: str, *, stream: bool, one_shot: bool
    ) -> AsyncIterator[JSONObject]:
        record = await self._get(ref)
        return self._stats_samples(record.id, stream=stream, prime=not stream and not one_shot)

    async def _stats_samples(
        self, container_id: str, *, stream: bool, prime: bool
    ) -> AsyncIterator[JSONObject]:
        """A sample a second (dockerd's collector interval); without `stream`, one sample,
        taken a second after a first one so that its precpu_stats are real."""
        machine_memory = await asyncio.to_thread(_machine_memory)
        previous: JSONObject | None = None
        while True:
            try:
                record = await asyncio.to_thread(self.store.get, container_id)
            except NotFound:
                return
            running = record.running and record.state is not State.RESTARTING
            if not running and not stream:
                yield stats_document(record.id, record.name, cgroup=None)  # dockerd's empty sample
                return
            document = await asyncio.to_thread(self._stats_sample, record, machine_memory, previous)
            previous = document
            if prime and running:
                prime = False
            else:
                yield document
                if not stream:
                    return
            await asyncio.sleep(STATS_INTERVAL)

    def _stats_sample(self, record: Any, machine_memory: int, previous: JSONObject | None) -> JSONObject:
        cgroup = None
        if record.running:
            with contextlib.suppress(Conflict, NotFound):  # it stopped meanwhile
                cgroup = self._cgroup_stats(record)
        system = system_cpu(_read_text("/proc/stat"), os.sysconf("SC_CLK_TCK"))
        return stats_document(
            record.id, record.name, cgroup=cgroup, read_ns=time.time_ns(), system=system,
            machine_memory=machine_memory, previous=previous,
        )

    # --- export -----------------------------------------------------------------------

    async def export_container(self, ref: str) -> AsyncIterator[bytes]:
        record = await self._get(ref)
        if record.state is State.DEAD:
            raise Conflict(f"You cannot export container {record.id} which is Dead")
        if record.state is State.REMOVING:
            raise Conflict(f"You cannot export container {record.id} which is being removed")
        return self._export_chunks(record)

    async def _export_chunks(self, record: Any) -> AsyncIterator[bytes]:
        """The merged tree as a tar. A running container's mounted root is read as it is;
        a stopped one's layers are mounted read-only on a directory of our own for the
        length of the stream (as lowers only, so that a start meanwhile is not refused)."""
        from estiba.snapshots import export

        with contextlib.ExitStack() as undo:
            root = self.paths(record.id).rootfs
            if not (record.running and os.path.ismount(root)):
                # A client gone meanwhile must not leave the mount behind: let it finish,
                # so that its undo steps are in the stack when the stack unwinds.
                mounting = asyncio.ensure_future(asyncio.to_thread(self._mount_view, record.id, undo))
                try:
                    root = await asyncio.shield(mounting)
                except asyncio.CancelledError:
                    with contextlib.suppress(BaseException):
                        await mounting
                    raise
            reader = export(root)
            undo.callback(reader.close)  # before the unmount: the walk holds directories
            self._publish("export", record)
            while chunk := await asyncio.to_thread(reader.read, EXPORT_CHUNK):
                yield chunk

    def _mount_view(self, container_id: str, undo: contextlib.ExitStack) -> Path:
        parent = self.exec_root / "exports"
        parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = Path(tempfile.mkdtemp(prefix=f"{container_id[:12]}-", dir=parent))
        undo.callback(_remove_dir, target)
        rootfs.mount_rootfs(readonly_view(self.snapshots.mounts(container_id)), target)
        undo.callback(rootfs.unmount_rootfs, target)
        return target

    # --- sizes ------------------------------------------------------------------------

    async def _with_sizes(self, records: Sequence[Any], documents: list[JSONObject]) -> list[JSONObject]:
        """`size=1`: SizeRw (the writable layer) and SizeRootFs (it and the image's)."""
        sizes = await asyncio.to_thread(lambda: [self._sizes(r) for r in records])
        return [with_sizes(d, *s) for d, s in zip(documents, sizes)]

    def _sizes(self, record: Any) -> tuple[int, int]:
        from estiba.snapshots.frozen import own_usage

        try:
            size_rw = own_usage(self.snapshots, record.id).size  # frozen layers too
        except EstibaError:
            size_rw = 0
        try:
            image_size = self.images.get(record.image_id).size
        except EstibaError:
            image_size = 0  # the image went away (rmi -f): dockerd counts what is left
        return size_rw, size_rw + image_size

    # --- the container's cgroup, through its runtime ------------------------------------

    def _container_pids(self, record: Any) -> list[int]:
        if self.runtime_for(record) == "estiba":
            from estiba.runtime import events

            return events.pids(record.id, root=self.runtime_root)
        listed = self._runtime_command(record, "ps", "--format", "json", record.id)
        return [int(p) for p in json.loads(listed or "[]")]

    def _cgroup_stats(self, record: Any) -> dict[str, Any]:
        if self.runtime_for(record) == "estiba":
            from estiba.runtime import events

            return events.stats_event(record.id, root=self.runtime_root)["data"]
        return json.loads(self._runtime_command(record, "events", "--stats", record.id)).get("data") or {}

    def _apply_resources(self, record: Any, resources: dict[str, Any]) -> None:
        if self.runtime_for(record) == "estiba":
            from estiba import runtime

            runtime.update(record.id, resources, root=self.runtime_root)
            return
        self._runtime_command(record, "update", "--resources", "-", record.id, stdin=json.dumps(resources))

    def _runtime_command(self, record: Any, *argv: str, stdin: str | None = None) -> str:
        binary = self.runtime_for(record)
        argv = (binary, "--root", self.runtime_root, *argv)
        result = subprocess.run(argv, input=stdin, capture_output=True, text=True)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            reason = lines[-1] if lines else f"exit status {result.returncode}"
            raise SystemFault(f"{os.path.basename(binary)} {argv[3]}: {reason}")
        return result.stdout

    # Provided by EngineContainers.
    runtime_for: Any
    _get: Any
    _lock: Any
    _publish: Any
    store: Any
    snapshots: Any
    images: Any
    paths: Any
    runtime: str
    runtime_root: str
    exec_root: Path


# --- top ----------------------------------------------------------------------------------

_PS_FIELD_ASSIGNMENT = re.compile(r"\s+([^\s]*)=\s*(PID[^\s]*)")


def ps_argv(ps_args: str) -> list[str]:
    """The ps options of `docker top`, dockerd's default -ef; a PID column may be renamed
    only through `pid=`, since the rows are matched by it."""
    ps_args = ps_args or "-ef"
    for key, value in _PS_FIELD_ASSIGNMENT.findall(ps_args):
        if key != "pid":
            raise InvalidArgument(f'specifying "{key}={value}" is not allowed')
    return [arg for arg in ps_args.split(" ") if arg]


def _run_ps(argv: list[str], pids: Iterable[int]) -> str:
    """ps limited to the pids (-q); some options (f) refuse -q, so then all of them."""
    only = "-q" + ",".join(str(p) for p in pids)
    for attempt in ([*argv, only], argv):
        try:
            result = subprocess.run(["ps", *attempt], capture_output=True, text=True)
        except OSError as exc:
            raise SystemFault(f"ps: {exc.strerror}") from exc
        if result.returncode == 0:
            return result.stdout
    first = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[0]
    raise SystemFault(f"ps: {first}")


def _ascii_fields(line: str) -> list[str]:
    return re.split(r"[\t\n\f\r ]+", line.strip("\t\n\f\r "))


def parse_ps_output(output: str, pids: Iterable[int]) -> TopResult:
    """dockerd's parsePSOutput: the header's titles and the rows of the container's pids
    (a thread row, PID "-", belongs to the process row above it); the last title takes
    the rest of the line (the command and its arguments)."""
    wanted = set(pids)
    lines = output.split("\n")
    titles = tuple(_ascii_fields(lines[0])) if lines[0].strip() else ()
    if "PID" not in titles:
        raise SystemFault("Couldn't find PID field in ps output")
    column = titles.index("PID")
    processes = []
    in_container = False
    for line in lines[1:]:
        if not line.strip():
            continue
        fields = _ascii_fields(line)
        if column >= len(fields):
            continue
        if fields[column] == "-":
            if in_container:
                processes.append(_fit(fields, len(titles)))
            continue
        if not fields[column].isdigit():
            raise SystemFault(f"Unexpected pid '{fields[column]}'")
        in_container = int(fields[column]) in wanted
        if in_container:
            processes.append(_fit(fields, len(titles)))
    return TopResult(titles, tuple(processes))


def _fit(fields: list[str], count: int) -> tuple[str, ...]:
    return (*fields[: count - 1], " ".join(fields[count - 1 :]))


# --- update -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResourceUpdate:
    """The body of POST /containers/{id}/update: the resources to change (0, "" or None
    leave a value alone) and the restart policy (no name: unchanged)."""

    memory: int = 0
    memory_swap: int = 0
    memory_reservation: int = 0
    kernel_memory: int = 0
    nano_cpus: int = 0
    cpu_shares: int = 0
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_realtime_period: int = 0
    cpu_realtime_runtime: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    blkio_weight: int = 0
    pids_limit: int | None = None
    restart_name: str = ""
    restart_retries: int = 0

    @classmethod
    def from_api(cls, body: JSONObject) -> ResourceUpdate:
        from estiba.engine._apifields import UINT16, Fields

        f = Fields(body, "update")
        policy = f.child("RestartPolicy")
        return cls(
            memory=f.integer("Memory"),
            memory_swap=f.integer("MemorySwap"),
            memory_reservation=f.integer("MemoryReservation"),
            kernel_memory=f.integer("KernelMemory"),
            nano_cpus=f.integer("NanoCpus"),
            cpu_shares=f.integer("CpuShares"),
            cpu_period=f.integer("CpuPeriod"),
            cpu_quota=f.integer("CpuQuota"),
            cpu_realtime_period=f.integer("CpuRealtimePeriod"),
            cpu_realtime_runtime=f.integer("CpuRealtimeRuntime"),
            cpuset_cpus=f.string("CpusetCpus"),
            cpuset_mems=f.string("CpusetMems"),
            blkio_weight=f.integer("BlkioWeight", bounds=UINT16),
            pids_limit=f.optional_int("PidsLimit"),
            restart_name=policy.string("Name"),
            restart_retries=policy.integer("MaximumRetryCount"),
        ).validated()

    def validated(self) -> ResourceUpdate:
        """dockerd's verifyContainerSettings for an update (InvalidArgument, 400)."""
        from estiba.engine import resources
        from estiba.engine.hostconfig import HostConfig

        # A swap limit alone is fine in an update (the memory limit is the stored one).
        resources.validate(self._as_host_config(HostConfig(), swap=self.memory_swap if self.memory else 0))
        if self.restart_name not in ("", "no", "always", "unless-stopped", "on-failure"):
            raise InvalidArgument(f"invalid restart policy '{self.restart_name}'")
        if self.restart_name in ("always", "unless-stopped", "no") and self.restart_retries != 0:
            raise InvalidArgument(f"maximum retry count cannot be used with restart policy '{self.restart_name}'")
        if self.restart_name == "on-failure" and self.restart_retries < 0:
            raise InvalidArgument("maximum retry count cannot be negative")
        return self

    def _as_host_config(self, host: Any, *, swap: int) -> Any:
        return replace(
            host, memory=self.memory, memory_swap=swap, memory_reservation=self.memory_reservation,
            kernel_memory=self.kernel_memory, nano_cpus=self.nano_cpus, cpu_shares=self.cpu_shares,
            cpu_period=self.cpu_period, cpu_quota=self.cpu_quota,
            cpu_realtime_period=self.cpu_realtime_period, cpu_realtime_runtime=self.cpu_realtime_runtime,
            cpuset_cpus=self.cpuset_cpus, cpuset_mems=self.cpuset_mems, blkio_weight=self.blkio_weight,
        )

    def check_host(self) -> None:
        """The checks against this machine: its CPU count and cpusets."""
        from estiba.engine import resources
        from estiba.engine.hostconfig import HostConfig
        from estiba.engine.machine import Machine

        machine = Machine.detect()
        resources.check_available(
            self._as_host_config(HostConfig(), swap=0), cpu_count=machine.cpu_count,
            cpus=machine.cpus, mems=machine.mems,
        )

    def merged_into(self, stored: JSONObject) -> dict[str, Any]:
        """dockerd's Container.UpdateContainer: the stored HostConfig with the new values
        (Conflict when they clash with stored ones)."""
        host = dict(stored)
        current_nano = int(host.get("NanoCpus") or 0)
        if self.nano_cpus > 0 and int(host.get("CpuPeriod") or 0) > 0:
            raise Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
        if self.nano_cpus > 0 and int(host.get("CpuQuota") or 0) > 0:
            raise Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
        if self.cpu_period > 0 and current_nano > 0:
            raise Conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
        if self.cpu_quota > 0 and current_nano > 0:
            raise Conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
        if self.memory != 0:
            stored_memory = int(host.get("Memory") or 0)
            stored_swap = int(host.get("MemorySwap") or 0)
            if stored_memory > 0 and stored_swap == 0:
                stored_swap = stored_memory * 2  # what dockerd stored at create
            if self.memory > stored_swap and self.memory_swap == 0:
                raise Conflict(
                    "Memory limit should be smaller than already set memoryswap limit, "
                    "update the memoryswap at the same time"
                )
        for key, value in (
            ("BlkioWeight", self.blkio_weight), ("CpuShares", self.cpu_shares),
            ("NanoCpus", self.nano_cpus), ("CpuPeriod", self.cpu_period), ("CpuQuota", self.cpu_quota),
            ("CpusetCpus", self.cpuset_cpus), ("CpusetMems", self.cpuset_mems), ("Memory", self.memory),
            ("MemorySwap", self.memory_swap), ("MemoryReservation", self.memory_reservation),
            ("KernelMemory", self.kernel_memory), ("CpuRealtimePeriod", self.cpu_realtime_period),
            ("CpuRealtimeRuntime", self.cpu_realtime_runtime),
        ):  # fmt: skip
            if value:
                host[key] = value
        if self.pids_limit is not None:
            host["PidsLimit"] = self.pids_limit if self.pids_limit > 0 else None
        if self.restart_name:
            policy = {"Name": self.restart_name, "MaximumRetryCount": self.restart_retries}
            current = host.get("RestartPolicy") or {"Name": "", "MaximumRetryCount": 0}
            same = (current.get("Name") or "", current.get("MaximumRetryCount") or 0) == tuple(policy.values())
            if not same and host.get("AutoRemove"):
                raise Conflict("Restart policy cannot be updated because AutoRemove is enabled for the container")
            host["RestartPolicy"] = policy
        _check_startable(host)
        return host

    def oci_resources(self) -> dict[str, Any]:
        """dockerd's toContainerdResources: the OCI `linux.resources` of this update alone
        (zero fields are left out, so the runtime keeps their current values)."""
        period = NANO_CPUS_PERIOD if self.nano_cpus else 0
        quota = self.nano_cpus * period // 1_000_000_000 if self.nano_cpus else 0
        cpu = {
            "shares": self.cpu_shares, "quota": quota or self.cpu_quota, "period": period or self.cpu_period,
            "realtimeRuntime": self.cpu_realtime_runtime, "realtimePeriod": self.cpu_realtime_period,
            "cpus": self.cpuset_cpus, "mems": self.cpuset_mems,
        }  # fmt: skip
        memory = {"limit": self.memory, "reservation": self.memory_reservation}
        if self.memory_swap > 0 or self.memory_swap == -1:
            memory["swap"] = self.memory_swap
        resources: dict[str, Any] = {
            "memory": {k: v for k, v in memory.items() if v},
            "cpu": {k: v for k, v in cpu.items() if v},
        }
        if self.pids_limit is not None:
            resources["pids"] = {"limit": self.pids_limit if self.pids_limit > 0 else -1}
        if self.blkio_weight:
            resources["blockIO"] = {"weight": self.blkio_weight}
        return resources


def _check_startable(host: dict[str, Any]) -> None:
    """The merged HostConfig must pass create's checks, which every start repeats: an
    update that dockerd would store but that would keep the container from starting
    here (a swap limit without a memory limit, a limit below the reservation) is refused."""
    from estiba.engine.hostconfig import HostConfig

    HostConfig.from_api(host)


def _swap_accounting() -> bool:
    """Whether the host can limit memory+swap (v1 memory.memsw.*; v2 memory.swap.max)."""
    v1 = "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"
    return os.path.exists(v1) or os.path.exists("/sys/fs/cgroup/cgroup.controllers")


def _without_swap_accounting(wanted: ResourceUpdate) -> tuple[ResourceUpdate, list[str]]:
    """dockerd on a host without swap accounting: the swap limit dropped, with a warning."""
    if wanted.memory <= 0 or wanted.memory_swap == -1:
        return wanted, []
    warning = ("Your kernel does not support swap limit capabilities or the cgroup is not mounted. "
               "Memory limited without swap.")
    return replace(wanted, memory_swap=-1), [warning]


# --- diff and export ----------------------------------------------------------------------


def hide_mount_points(found: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The changes without the runtime's mount points (dockerd keeps them in an init layer
    below the container's), nor the directories changed only by creating them."""
    kept = [(kind, path) for kind, path in found if path not in MOUNT_POINTS]
    hidden = [path for _, path in found if path in MOUNT_POINTS]

    def only_for_mount_points(path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return any(h.startswith(prefix) for h in hidden) and not any(
            p.startswith(prefix) for _, p in kept
        )

    return [(kind, path) for kind, path in kept if not only_for_mount_points(path)]


def readonly_view(mounts: Sequence[Any]) -> list[Any]:
    """A stopped container's root, read-only: its writable layer becomes the top lower,
    so no upper or work directory is claimed (a start meanwhile is not refused)."""
    from estiba.snapshots import Mount

    if len(mounts) != 1:
        raise SystemFault(f"expected one snapshot mount, got {len(mounts)}")
    mount = mounts[0]
    if mount.type == "bind":
        options = tuple(o for o in mount.options if o not in ("rw", "ro"))
        return [Mount("bind", mount.source, ("ro", *options))]
    if mount.type != "overlay":
        raise SystemFault(f"cannot make a read-only view of a {mount.type} mount")
    upper, lowers = mount.option("upperdir"), mount.option("lowerdir") or ""
    layers = ":".join(layer for layer in (upper, lowers) if layer)
    options = [o for o in mount.options if not o.startswith(("upperdir=", "workdir=", "lowerdir=")) and o != "rw"]
    if ":" not in layers:  # overlay needs two lowers without an upper
        return [Mount("bind", layers, ("ro", "rbind"))]
    return [Mount("overlay", "overlay", ("ro", *options, f"lowerdir={layers}"))]


def _remove_dir(path: Path) -> None:
    if os.path.ismount(path):
        return  # never delete through a mount that would not go away
    shutil.rmtree(path, ignore_errors=True)


# --- host facts ---------------------------------------------------------------------------


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _machine_memory() -> int:
    """MemTotal in bytes (dockerd reports it as the limit of an unlimited container)."""
    for line in _read_text("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0
