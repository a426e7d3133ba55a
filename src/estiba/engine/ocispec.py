"""A container's OCI runtime spec (config.json), made from its image config, container
config and host config the way Docker 20.10 makes it (moby daemon/oci_linux.go on
oci/defaults.go), so that a container behaves the same under estiba as under dockerd.

`build_spec` is pure: it mounts nothing and needs no privilege. It reads the container's
own /etc/passwd and /etc/group (through `users`) and takes what it needs to know about
the host as a `Machine` (detected when not given). Output follows dockerd's key order
and leaves out what dockerd leaves out (Go's omitempty), so the two can be compared
as JSON.

Where estiba differs from dockerd on purpose: the cgroup parent is /estiba; a network,
IPC or PID namespace to join is passed in as a path (`namespace_paths`) rather than
looked up; "ALL" and privileged mean every capability the kernel has (as in Docker 23+);
AppArmor and SELinux are not used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from estiba.engine import resources
from estiba.engine._apifields import go_clean
from estiba.engine.capabilities import effective_capabilities
from estiba.engine.config import ContainerConfig, ImageConfig
from estiba.engine.devices import host_devices, mapped_devices
from estiba.engine.hostconfig import HostConfig, namespace_container
from estiba.engine.machine import Machine
from estiba.engine.security import SecurityOptions
from estiba.engine.specmounts import INIT_PATH, spec_mounts
from estiba.engine.users import resolve_user
from estiba.errors import InvalidArgument, Unavailable
from estiba.runtime.seccomp import default_docker_profile, docker_profile_to_oci
from estiba.runtime.specgen import OCI_VERSION

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_CGROUP_PARENT = "/estiba"
_UINT64 = (1 << 64) - 1

MASKED_PATHS = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
)
READONLY_PATHS = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

# The device cgroup of every unprivileged container: nothing but null, zero, full,
# random, urandom, tty, /dev/console and ptmx, and never /dev/fuse (10:229) unless asked.
_DEVICE_RULES = (
    {"allow": False, "access": "rwm"},
    *(
        {"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"}
        for major, minor in ((1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1))
    ),
    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
)

# What every container that has its own network namespace may do without capabilities:
# ping (ICMP echo sockets) and bind ports below 1024.
_NETWORK_SYSCTLS = {"net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.ip_unprivileged_port_start": "0"}


def build_spec(
    image_config: ImageConfig,
    config: ContainerConfig,
    host: HostConfig,
    *,
    rootfs: str,
    container_id: str,
    hostname: str,
    etc_files: Mapping[str, str],
    init_path: str | None,
    seccomp_arch: str | None = None,
    namespace_paths: Mapping[str, str] | None = None,
    extra_mounts: Sequence[Mapping[str, Any]] = (),
    machine: Machine | None = None,
) -> dict[str, Any]:
    """The config.json for one container.

    hostname is the default when Config.Hostname is empty (the short id; the host's name
    with NetworkMode host). etc_files maps "resolv.conf", "hostname" and "hosts" to the
    host paths of this container's copies. init_path is the init binary (tini or
    docker-init) bound in for HostConfig.Init. namespace_paths gives the namespace to
    join by OCI type ("network", "ipc", "pid"): required for the "container:<id>" modes,
    and for "network" the netns the engine made. extra_mounts are OCI mounts the engine
    resolved from Binds and volumes. seccomp_arch is the native arch in Docker's spelling
    ("amd64"; default this machine's).
    """
    machine = machine or Machine.detect()
    host = host.with_daemon_defaults(cgroup_v2=machine.cgroup_v2)
    config = config.merged_with(image_config)
    resources.check_available(host, cpu_count=machine.cpu_count, cpus=machine.cpus, mems=machine.mems)
    security = host.security()
    namespace_paths = namespace_paths or {}
    hostname = config.hostname or hostname

    user = resolve_user(rootfs, config.user, host.group_add)
    caps = effective_capabilities(
        host.cap_add, host.cap_drop, privileged=host.privileged, last_cap=machine.last_cap
    )
    with_init = bool(host.init) and _pid_namespace_is_private(host)
    if with_init and init_path is None:
        raise Unavailable(
            "HostConfig.Init: no init binary is configured", hint="install tini or set the init path"
        )

    process: dict[str, Any] = {}
    if config.tty:
        process["terminal"] = True
        if host.console_size != (0, 0):
            process["consoleSize"] = {"height": host.console_size[0], "width": host.console_size[1]}
    args = config.process_args()
    process["user"] = user.oci()
    process["args"] = [INIT_PATH, "--", *args] if with_init else args
    process["env"] = container_env(config, hostname)
    process["cwd"] = go_clean(config.working_dir) if config.working_dir else "/"
    # As execve would: a non-root process starts with nothing effective or permitted.
    if user.uid == 0:
        process["capabilities"] = {"bounding": caps, "effective": list(caps), "permitted": list(caps)}
    else:
        process["capabilities"] = {"bounding": caps}
    if host.ulimits:
        # -1 (unlimited) becomes RLIM_INFINITY, as dockerd's uint64 conversion makes it.
        process["rlimits"] = [
            {"type": f"RLIMIT_{u.name.upper()}", "hard": u.hard & _UINT64, "soft": u.soft & _UINT64}
            for u in host.ulimits
        ]
    if security.no_new_privileges:
        process["noNewPrivileges"] = True
    process["oomScoreAdj"] = host.oom_score_adj

    spec: dict[str, Any] = {"ociVersion": OCI_VERSION, "process": process, "root": {"path": rootfs}}
    if host.readonly_rootfs:
        spec["root"]["readonly"] = True
    if host.uts_mode != "host":
        spec["hostname"] = hostname
    spec["mounts"] = spec_mounts(
        host, etc_files=etc_files, init_path=init_path if with_init else None, extra_mounts=extra_mounts
    )
    if host.annotations:
        spec["annotations"] = dict(sorted(host.annotations.items()))
    spec["linux"] = _linux(config, host, container_id, caps, security, namespace_paths, machine, seccomp_arch)
    return spec


def container_env(config: ContainerConfig, hostname: str) -> list[str]:
    """dockerd's CreateDaemonEnvironment: PATH, HOSTNAME and (with a TTY) TERM, each
    replaced in place by the container's own value; `NAME` without "=" removes NAME."""
    env = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if config.tty:
        env.append("TERM=xterm")
    index = {entry.split("=", 1)[0]: i for i, entry in enumerate(env)}
    for entry in config.env:
        name, has_value, _ = entry.partition("=")
        if not has_value:
            if name in index:
                env[index[name]] = ""
        elif name in index:
            env[index[name]] = entry
        else:
            env.append(entry)
    return [entry for entry in env if entry]


def _linux(
    config: ContainerConfig,
    host: HostConfig,
    container_id: str,
    caps: list[str],
    security: SecurityOptions,
    namespace_paths: Mapping[str, str],
    machine: Machine,
    seccomp_arch: str | None,
) -> dict[str, Any]:
    linux: dict[str, Any] = {}
    sysctl: dict[str, str] = {}
    if _network_namespace_is_private(host):
        sysctl.update(_NETWORK_SYSCTLS)
    if config.domainname and host.uts_mode != "host":
        sysctl["kernel.domainname"] = config.domainname
    sysctl.update(host.sysctls)
    if sysctl:
        linux["sysctl"] = dict(sorted(sysctl.items()))

    devices, device_rules = _devices(host, machine)
    linux["resources"] = {"devices": device_rules, **resources.render(host)}
    linux["cgroupsPath"] = go_clean(f"{host.cgroup_parent or DEFAULT_CGROUP_PARENT}/{container_id}")
    linux["namespaces"] = _namespaces(config, host, namespace_paths)
    if devices:
        linux["devices"] = devices
    if not host.privileged and not security.seccomp_unconfined:
        profile = security.custom_seccomp_profile()
        if profile is None:
            profile = default_docker_profile()
        linux["seccomp"] = docker_profile_to_oci(
            profile, capabilities=caps, arch=seccomp_arch, kernel=machine.kernel
        )
    # Privileged containers see /proc and /sys whole; explicit lists (the CLI's
    # --security-opt systempaths=unconfined sends empty ones) win over both.
    masked = () if host.privileged else MASKED_PATHS
    readonly = () if host.privileged else READONLY_PATHS
    if host.masked_paths is not None:
        masked = host.masked_paths
    if host.readonly_paths is not None:
        readonly = host.readonly_paths
    if masked:
        linux["maskedPaths"] = list(masked)
    if readonly:
        linux["readonlyPaths"] = list(readonly)
    return linux


def _devices(host: HostConfig, machine: Machine) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """linux.devices and the device cgroup (dockerd's WithDevices)."""
    devices: list[dict[str, Any]] = []
    tree = machine.devices
    if host.privileged:
        devices += host_devices(tree)
        for mapping in host.devices:
            # Already there through the host's /dev, unless it is renamed.
            if mapping.path_on_host != mapping.path_in_container:
                devices += mapped_devices(tree, mapping.path_on_host, mapping.path_in_container, "rwm")[0]
        return devices, [{"allow": True, "access": "rwm"}]
    rules = [dict(rule) for rule in _DEVICE_RULES]
    for mapping in host.devices:
        found, allowed = mapped_devices(
            tree, mapping.path_on_host, mapping.path_in_container, mapping.cgroup_permissions
        )
        devices += found
        rules += allowed
    rules += [resources.device_cgroup_rule(rule) for rule in host.device_cgroup_rules]
    return devices, rules


def _namespaces(config: ContainerConfig, host: HostConfig, paths: Mapping[str, str]) -> list[dict[str, Any]]:
    """dockerd's WithNamespaces on its default list: mount, network, uts, pid, ipc."""
    namespaces: list[dict[str, Any]] = [{"type": t} for t in ("mount", "network", "uts", "pid", "ipc")]

    def join(kind: str, mode: str) -> None:
        other = namespace_container(mode)
        if other is not None and kind not in paths:
            raise InvalidArgument(f"cannot join the {kind} namespace of container {other}: it is not running")
        if kind in paths:
            for namespace in namespaces:
                if namespace["type"] == kind:
                    namespace["path"] = paths[kind]

    def drop(kind: str) -> None:
        namespaces[:] = [ns for ns in namespaces if ns["type"] != kind]

    if not config.network_disabled:
        if host.network_mode == "host":
            drop("network")
        else:
            join("network", host.network_mode)
    for kind, mode in (("ipc", host.ipc_mode), ("pid", host.pid_mode)):
        if mode == "host":
            drop(kind)
        elif namespace_container(mode) is not None:
            join(kind, mode)
    if host.uts_mode == "host":
        drop("uts")
    if host.cgroupns_mode == "private":
        namespaces.append({"type": "cgroup"})
    return namespaces


def _network_namespace_is_private(host: HostConfig) -> bool:
    return host.network_mode != "host" and namespace_container(host.network_mode) is None


def _pid_namespace_is_private(host: HostConfig) -> bool:
    return host.pid_mode != "host" and namespace_container(host.pid_mode) is None
