"""The HostConfig of the Docker Engine API v1.41 (a container's resources, namespaces and
security settings), as typed, validated data.

`HostConfig.from_api` reads and checks the object; `with_daemon_defaults` fills in what
dockerd fills in at create (adaptContainerSettings: /dev/shm size, swap, IPC and cgroup
namespace modes), so that the stored HostConfig reads back as dockerd's would. Messages
are dockerd's where dockerd has them. Binds, Mounts, PortBindings, Dns* and LogConfig are
read and checked for shape here and used by the packages that own them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from estiba.engine import capabilities, resources
from estiba.engine._apifields import INT32, INT64, UINT16, Fields
from estiba.engine.mountconfig import Mount
from estiba.engine.security import SecurityOptions
from estiba.engine.tmpfs import merge_tmpfs_options, validate_tmpfs_destination
from estiba.errors import InvalidArgument

DEFAULT_SHM_SIZE = 64 * 1024 * 1024
RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")


@dataclass(frozen=True)
class RestartPolicy:
    name: str = ""
    maximum_retry_count: int = 0

    def is_none(self) -> bool:
        return self.name in ("", "no")


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int


@dataclass(frozen=True)
class DeviceMapping:
    path_on_host: str
    path_in_container: str
    cgroup_permissions: str = "rwm"


@dataclass(frozen=True)
class LogConfig:
    type: str = ""
    config: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PortBinding:
    host_ip: str = ""
    host_port: str = ""


@dataclass(frozen=True)
class HostConfig:
    """A container's HostConfig (the Resources definition included). Zero values mean
    "not set", as in dockerd; `None` marks the fields where dockerd tells null from 0."""

    # Resources
    cpu_shares: int = 0
    memory: int = 0
    cgroup_parent: str = ""
    blkio_weight: int = 0
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_realtime_period: int = 0
    cpu_realtime_runtime: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    devices: tuple[DeviceMapping, ...] = ()
    device_cgroup_rules: tuple[str, ...] = ()
    kernel_memory: int = 0
    kernel_memory_tcp: int = 0
    memory_reservation: int = 0
    memory_swap: int = 0
    memory_swappiness: int | None = None
    nano_cpus: int = 0
    oom_kill_disable: bool | None = None
    init: bool | None = None
    pids_limit: int | None = None
    ulimits: tuple[Ulimit, ...] = ()
    # The rest of HostConfig
    binds: tuple[str, ...] = ()
    container_id_file: str = ""
    log_config: LogConfig = field(default_factory=LogConfig)
    network_mode: str = ""
    port_bindings: dict[str, tuple[PortBinding, ...]] = field(default_factory=dict)
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    auto_remove: bool = False
    volume_driver: str = ""
    volumes_from: tuple[str, ...] = ()
    mounts: tuple[Mount, ...] = ()
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    cgroupns_mode: str = ""
    dns: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    ipc_mode: str = ""
    cgroup: str = ""
    links: tuple[str, ...] = ()
    oom_score_adj: int = 0
    pid_mode: str = ""
    privileged: bool = False
    publish_all_ports: bool = False
    readonly_rootfs: bool = False
    security_opt: tuple[str, ...] = ()
    storage_opt: dict[str, str] = field(default_factory=dict)
    tmpfs: dict[str, str] = field(default_factory=dict)
    uts_mode: str = ""
    userns_mode: str = ""
    shm_size: int = 0
    sysctls: dict[str, str] = field(default_factory=dict)
    runtime: str = ""
    console_size: tuple[int, int] = (0, 0)
    masked_paths: tuple[str, ...] | None = None
    readonly_paths: tuple[str, ...] | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, raw: Any, where: str = "HostConfig") -> HostConfig:
        """Read and check a HostConfig object; InvalidArgument names the field or says
        what dockerd says."""
        f = Fields(raw, where)
        pids_limit = f.optional_int("PidsLimit")
        host = cls(
            cpu_shares=f.integer("CpuShares"),
            memory=f.integer("Memory"),
            cgroup_parent=f.string("CgroupParent"),
            blkio_weight=f.integer("BlkioWeight", bounds=UINT16),
            cpu_period=f.integer("CpuPeriod"),
            cpu_quota=f.integer("CpuQuota"),
            cpu_realtime_period=f.integer("CpuRealtimePeriod"),
            cpu_realtime_runtime=f.integer("CpuRealtimeRuntime"),
            cpuset_cpus=f.string("CpusetCpus"),
            cpuset_mems=f.string("CpusetMems"),
            devices=tuple(_device(d) for d in f.objects("Devices")),
            device_cgroup_rules=f.strings("DeviceCgroupRules"),
            kernel_memory=f.integer("KernelMemory"),
            kernel_memory_tcp=f.integer("KernelMemoryTCP"),
            memory_reservation=f.integer("MemoryReservation"),
            memory_swap=f.integer("MemorySwap"),
            memory_swappiness=f.optional_int("MemorySwappiness"),
            nano_cpus=f.integer("NanoCpus"),
            oom_kill_disable=f.optional_bool("OomKillDisable"),
            init=f.optional_bool("Init"),
            # dockerd's router: 0 and any negative value mean "no limit", stored as null.
            pids_limit=pids_limit if pids_limit is not None and pids_limit > 0 else None,
            ulimits=tuple(_ulimit(u) for u in f.objects("Ulimits")),
            binds=f.strings("Binds"),
            container_id_file=f.string("ContainerIDFile"),
            log_config=_log_config(f.child("LogConfig")),
            network_mode=f.string("NetworkMode"),
            port_bindings=_port_bindings(f.child("PortBindings")),
            restart_policy=_restart_policy(f.child("RestartPolicy")),
            auto_remove=f.boolean("AutoRemove"),
            volume_driver=f.string("VolumeDriver"),
            volumes_from=f.strings("VolumesFrom"),
            mounts=tuple(Mount.from_api(m) for m in f.objects("Mounts")),
            cap_add=f.strings("CapAdd"),
            cap_drop=f.strings("CapDrop"),
            cgroupns_mode=f.string("CgroupnsMode"),
            dns=f.strings("Dns"),
            dns_options=f.strings("DnsOptions"),
            dns_search=f.strings("DnsSearch"),
            extra_hosts=f.strings("ExtraHosts"),
            group_add=f.strings("GroupAdd"),
            ipc_mode=f.string("IpcMode"),
            cgroup=f.string("Cgroup"),
            links=f.strings("Links"),
            oom_score_adj=f.integer("OomScoreAdj", bounds=INT32),
            pid_mode=f.string("PidMode"),
            privileged=f.boolean("Privileged"),
            publish_all_ports=f.boolean("PublishAllPorts"),
            readonly_rootfs=f.boolean("ReadonlyRootfs"),
            security_opt=f.strings("SecurityOpt"),
            storage_opt=f.string_map("StorageOpt"),
            tmpfs=f.string_map("Tmpfs"),
            uts_mode=f.string("UTSMode"),
            userns_mode=f.string("UsernsMode"),
            shm_size=f.integer("ShmSize"),
            sysctls=f.string_map("Sysctls"),
            runtime=f.string("Runtime"),
            console_size=_console_size(f),
            masked_paths=f.optional_strings("MaskedPaths"),
            readonly_paths=f.optional_strings("ReadonlyPaths"),
            annotations=f.string_map("Annotations"),
        )
        host.validate()
        return host

    def validate(self) -> None:
        """dockerd's validateHostConfig and the host-independent part of
        verifyPlatformContainerSettings, plus what dockerd only finds at start."""
        if self.auto_remove and not self.restart_policy.is_none():
            raise InvalidArgument("can't create 'AutoRemove' container with restart policy")
        _check_restart_policy(self.restart_policy)
        capabilities.normalize(self.cap_add, "CapAdd")
        capabilities.normalize(self.cap_drop, "CapDrop")
        resources.validate(self)
        _check_modes(self)
        if self.shm_size < 0:
            raise InvalidArgument("SHM size can not be less than 0")
        if not -1000 <= self.oom_score_adj <= 1000:
            raise InvalidArgument(
                f"Invalid value {self.oom_score_adj}, range for oom score adj is [-1000, 1000]"
            )
        for destination, options in self.tmpfs.items():
            validate_tmpfs_destination(destination)
            merge_tmpfs_options(options.split(",") if options else [])
        SecurityOptions.parse(self.security_opt)
        for index, mount in enumerate(self.mounts):
            mount.validate(f"HostConfig.Mounts[{index}]")

    def security(self) -> SecurityOptions:
        return SecurityOptions.parse(self.security_opt)

    def with_daemon_defaults(
        self,
        *,
        cgroup_v2: bool = False,
        shm_size: int = DEFAULT_SHM_SIZE,
        ipc_mode: str = "private",
        cgroupns_mode: str | None = None,
    ) -> HostConfig:
        """dockerd's adaptContainerSettings: the values dockerd stores at create.

        cgroupns_mode is the daemon's default (`--default-cgroupns-mode`); without one
        it is "private" on cgroup v2 and "host" on v1, where privileged containers always
        get "host". Applying it twice changes nothing."""
        memory_swap = self.memory_swap
        if self.memory > 0 and memory_swap == 0:
            memory_swap = self.memory * 2
        cgroupns = self.cgroupns_mode
        if not cgroupns:
            if self.privileged and not cgroup_v2:
                cgroupns = "host"
            else:
                cgroupns = cgroupns_mode or ("private" if cgroup_v2 else "host")
        return replace(
            self,
            memory_swap=memory_swap,
            shm_size=self.shm_size or shm_size,
            ipc_mode=self.ipc_mode or ipc_mode,
            cgroupns_mode=cgroupns,
            oom_kill_disable=bool(self.oom_kill_disable),
        )


def _device(f: Fields) -> DeviceMapping:
    host_path = f.string("PathOnHost")
    if not host_path:
        raise InvalidArgument(f"{f.path('PathOnHost')}: required")
    container_path = f.string("PathInContainer") or host_path
    if not container_path.startswith("/"):
        raise InvalidArgument(f"{f.path('PathInContainer')}: bad format for path: {container_path}")
    permissions = f.string("CgroupPermissions") or "rwm"
    if len(permissions) > 3 or set(permissions) - set("rwm") or len(set(permissions)) != len(permissions):
        raise InvalidArgument(f"{f.path('CgroupPermissions')}: invalid device mode: {permissions}")
    return DeviceMapping(host_path, container_path, permissions)


# The kernel's RLIMIT_* names, as `docker run --ulimit` spells them (lower case).
_ULIMITS = (
    "cpu", "fsize", "data", "stack", "core", "rss", "nproc", "nofile", "memlock", "as",
    "locks", "sigpending", "msgqueue", "nice", "rtprio", "rttime",
)
_UINT64 = (1 << 64) - 1


def _ulimit(f: Fields) -> Ulimit:
    name = f.string("Name")
    if name.lower() not in _ULIMITS:
        raise InvalidArgument(f"{f.path('Name')}: invalid ulimit type: {name}")
    soft, hard = (f.integer(key, bounds=(-1, INT64[1])) for key in ("Soft", "Hard"))
    # -1 is "unlimited": dockerd passes it on as uint64(-1), RLIM_INFINITY.
    if soft & _UINT64 > hard & _UINT64:
        raise InvalidArgument(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return Ulimit(name, soft, hard)


def _log_config(f: Fields) -> LogConfig:
    return LogConfig(type=f.string("Type"), config=f.string_map("Config"))


def _port_bindings(f: Fields) -> dict[str, tuple[PortBinding, ...]]:
    bindings = {}
    for port in f.raw:
        bindings[port] = tuple(
            PortBinding(host_ip=b.string("HostIp"), host_port=b.string("HostPort")) for b in f.objects(port)
        )
    return bindings


def _restart_policy(f: Fields) -> RestartPolicy:
    return RestartPolicy(name=f.string("Name"), maximum_retry_count=f.integer("MaximumRetryCount"))


def _check_restart_policy(policy: RestartPolicy) -> None:
    if policy.name not in RESTART_POLICIES:
        raise InvalidArgument(f"invalid restart policy '{policy.name}'")
    if policy.name in ("always", "unless-stopped", "no") and policy.maximum_retry_count != 0:
        raise InvalidArgument(f"maximum retry count cannot be used with restart policy '{policy.name}'")
    if policy.maximum_retry_count < 0:
        raise InvalidArgument("maximum retry count cannot be negative")


def _console_size(f: Fields) -> tuple[int, int]:
    value = f.get("ConsoleSize")
    if value is None:
        return (0, 0)
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 0xFFFF for v in value)
    ):
        raise InvalidArgument(f"{f.path('ConsoleSize')}: must be [height, width]")
    return (value[0], value[1])


def _check_modes(host: HostConfig) -> None:
    """The namespace modes dockerd knows (IpcMode.Valid, PidMode.Valid, ...)."""
    if not _mode_ok(host.ipc_mode, ("", "none", "private", "shareable", "host")):
        raise InvalidArgument(f"invalid IPC mode: {host.ipc_mode}")
    if not _mode_ok(host.pid_mode, ("", "host")):
        raise InvalidArgument(f"invalid PID mode: {host.pid_mode}")
    if host.uts_mode not in ("", "host"):
        raise InvalidArgument(f"invalid UTS mode: {host.uts_mode}")
    if host.cgroupns_mode not in ("", "host", "private"):
        raise InvalidArgument(f"invalid cgroup namespace mode: {host.cgroupns_mode}")
    if host.userns_mode not in ("", "host"):
        raise InvalidArgument(f"invalid USER mode: {host.userns_mode}")
    if host.network_mode.startswith("container:") and not _mode_ok(host.network_mode, ()):
        raise InvalidArgument(f"invalid container format container:<name|id>: {host.network_mode}")


def _mode_ok(mode: str, plain: tuple[str, ...]) -> bool:
    if mode in plain:
        return True
    kind, _, name = mode.partition(":")
    return kind == "container" and name != "" and ":" not in name


def namespace_container(mode: str) -> str | None:
    """The container named by a "container:<name|id>" mode, else None."""
    kind, _, name = mode.partition(":")
    return name if kind == "container" and name else None
