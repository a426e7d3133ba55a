"""The OCI bundle's config.json as typed data, validated as it is read.

The types are NamedTuples rather than dataclasses: building a dataclass costs close to a
millisecond at import, and this module is on the start-up path of every runtime command.

Everything past `load_bundle` works on these types, never on the raw JSON. Errors
name the bundle field, e.g. `config.json: linux.namespaces[2].type: unknown namespace
type "foo"`, so a user can find the line to fix.
"""

from __future__ import annotations

import json
import os
from types import MappingProxyType
from typing import Any, NamedTuple

from estiba.errors import InvalidArgument, NotFound
from estiba.runtime import syscalls as sc

NAMESPACE_FLAGS = {
    "user": sc.CLONE_NEWUSER,
    "pid": sc.CLONE_NEWPID,
    "network": sc.CLONE_NEWNET,
    "ipc": sc.CLONE_NEWIPC,
    "uts": sc.CLONE_NEWUTS,
    "mount": sc.CLONE_NEWNS,
    "cgroup": sc.CLONE_NEWCGROUP,
    "time": sc.CLONE_NEWTIME,
}

# /proc/<pid>/ns/<name> for each namespace type.
NAMESPACE_PROC_NAMES = {
    "user": "user",
    "pid": "pid",
    "network": "net",
    "ipc": "ipc",
    "uts": "uts",
    "mount": "mnt",
    "cgroup": "cgroup",
    "time": "time",
}

RLIMIT_NAMES = (
    "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
    "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
    "RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
)


def _fail(where: str, message: str) -> InvalidArgument:
    return InvalidArgument(f"config.json: {where}: {message}")


def _typed(value: Any, kind: type | tuple, where: str, default: Any = None) -> Any:
    if value is None:
        return default
    if kind is int and isinstance(value, bool):
        raise _fail(where, "must be an integer")
    if not isinstance(value, kind):
        names = {str: "a string", int: "an integer", bool: "a boolean", list: "a list", dict: "an object"}
        label = names.get(kind, "of another type") if isinstance(kind, type) else "a number"
        raise _fail(where, f"must be {label}")
    return value


def _strings(value: Any, where: str) -> list[str]:
    items = _typed(value, list, where, [])
    for index, item in enumerate(items):
        _typed(item, str, f"{where}[{index}]")
    return list(items)


class User(NamedTuple):
    uid: int = 0
    gid: int = 0
    umask: int | None = None
    additional_gids: tuple[int, ...] = ()


class Capabilities(NamedTuple):
    bounding: tuple[str, ...] = ()
    effective: tuple[str, ...] = ()
    inheritable: tuple[str, ...] = ()
    permitted: tuple[str, ...] = ()
    ambient: tuple[str, ...] = ()


class Rlimit(NamedTuple):
    type: str
    soft: int
    hard: int


class Process(NamedTuple):
    args: tuple[str, ...]
    env: tuple[str, ...] = ()
    cwd: str = "/"
    terminal: bool = False
    console_size: tuple[int, int] | None = None  # (height, width)
    user: User = User()
    capabilities: Capabilities | None = None
    rlimits: tuple[Rlimit, ...] = ()
    no_new_privileges: bool = False
    oom_score_adj: int | None = None
    apparmor_profile: str = ""
    selinux_label: str = ""

    def env_value(self, name: str) -> str | None:
        prefix = name + "="
        for entry in self.env:
            if entry.startswith(prefix):
                return entry[len(prefix):]
        return None


class Mount(NamedTuple):
    destination: str
    type: str = ""
    source: str = ""
    options: tuple[str, ...] = ()


class Hook(NamedTuple):
    path: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    timeout: int | None = None


class Hooks(NamedTuple):
    prestart: tuple[Hook, ...] = ()
    create_runtime: tuple[Hook, ...] = ()
    create_container: tuple[Hook, ...] = ()
    start_container: tuple[Hook, ...] = ()
    poststart: tuple[Hook, ...] = ()
    poststop: tuple[Hook, ...] = ()


class Namespace(NamedTuple):
    type: str
    path: str = ""

    @property
    def flag(self) -> int:
        return NAMESPACE_FLAGS[self.type]


class IdMapping(NamedTuple):
    container_id: int
    host_id: int
    size: int


class Device(NamedTuple):
    path: str
    type: str
    major: int
    minor: int
    file_mode: int | None = None
    uid: int | None = None
    gid: int | None = None


class Linux(NamedTuple):
    namespaces: tuple[Namespace, ...] = ()
    uid_mappings: tuple[IdMapping, ...] = ()
    gid_mappings: tuple[IdMapping, ...] = ()
    devices: tuple[Device, ...] = ()
    cgroups_path: str = ""
    resources: Any = None  # estiba.runtime.cgroups.Resources
    rootfs_propagation: str = ""
    seccomp: Any = None  # estiba.runtime.seccomp.SeccompConfig
    sysctl: dict[str, str] = MappingProxyType({})
    masked_paths: tuple[str, ...] = ()
    readonly_paths: tuple[str, ...] = ()
    mount_label: str = ""

    def namespace(self, ns_type: str) -> Namespace | None:
        for namespace in self.namespaces:
            if namespace.type == ns_type:
                return namespace
        return None


class Spec(NamedTuple):
    oci_version: str
    root_path: str  # absolute
    root_readonly: bool
    process: Process | None
    hostname: str = ""
    domainname: str = ""
    mounts: tuple[Mount, ...] = ()
    hooks: Hooks = Hooks()
    annotations: dict[str, str] = MappingProxyType({})
    linux: Linux = Linux()


def _parse_user(raw: Any) -> User:
    raw = _typed(raw, dict, "process.user", {})
    return User(
        uid=_typed(raw.get("uid"), int, "process.user.uid", 0),
        gid=_typed(raw.get("gid"), int, "process.user.gid", 0),
        umask=_typed(raw.get("umask"), int, "process.user.umask"),
        additional_gids=tuple(
            _typed(gid, int, f"process.user.additionalGids[{i}]")
            for i, gid in enumerate(_typed(raw.get("additionalGids"), list, "process.user.additionalGids", []))
        ),
    )


def _parse_capabilities(raw: Any) -> Capabilities | None:
    if raw is None:
        return None
    raw = _typed(raw, dict, "process.capabilities")
    sets = {}
    for name in ("bounding", "effective", "inheritable", "permitted", "ambient"):
        sets[name] = tuple(_strings(raw.get(name), f"process.capabilities.{name}"))
    return Capabilities(**sets)


def _parse_rlimits(raw: Any) -> tuple[Rlimit, ...]:
    limits = []
    seen = set()
    for index, item in enumerate(_typed(raw, list, "process.rlimits", [])):
        where = f"process.rlimits[{index}]"
        item = _typed(item, dict, where)
        kind = _typed(item.get("type"), str, f"{where}.type")
        if kind not in RLIMIT_NAMES:
            raise _fail(f"{where}.type", f'unknown rlimit "{kind}"')
        if kind in seen:
            raise _fail(f"{where}.type", f'rlimit "{kind}" is set twice')
        seen.add(kind)
        soft = _typed(item.get("soft"), int, f"{where}.soft")
        hard = _typed(item.get("hard"), int, f"{where}.hard")
        if soft is None or hard is None:
            raise _fail(where, "needs both soft and hard")
        limits.append(Rlimit(kind, soft, hard))
    return tuple(limits)


def parse_process(raw: Any, where: str = "process") -> Process:
    raw = _typed(raw, dict, where)
    args = _strings(raw.get("args"), f"{where}.args")
    if not args:
        raise _fail(f"{where}.args", "must name the program to run")
    cwd = _typed(raw.get("cwd"), str, f"{where}.cwd", "/")
    if not cwd.startswith("/"):
        raise _fail(f"{where}.cwd", f'"{cwd}" must be an absolute path')
    size = _typed(raw.get("consoleSize"), dict, f"{where}.consoleSize")
    return Process(
        args=tuple(args),
        env=tuple(_strings(raw.get("env"), f"{where}.env")),
        cwd=cwd,
        terminal=bool(_typed(raw.get("terminal"), bool, f"{where}.terminal", False)),
        console_size=(int(size.get("height", 0)), int(size.get("width", 0))) if size else None,
        user=_parse_user(raw.get("user")),
        capabilities=_parse_capabilities(raw.get("capabilities")),
        rlimits=_parse_rlimits(raw.get("rlimits")),
        no_new_privileges=bool(_typed(raw.get("noNewPrivileges"), bool, f"{where}.noNewPrivileges", False)),
        oom_score_adj=_typed(raw.get("oomScoreAdj"), int, f"{where}.oomScoreAdj"),
        apparmor_profile=_typed(raw.get("apparmorProfile"), str, f"{where}.apparmorProfile", ""),
        selinux_label=_typed(raw.get("selinuxLabel"), str, f"{where}.selinuxLabel", ""),
    )


def _parse_mounts(raw: Any) -> tuple[Mount, ...]:
    mounts = []
    for index, item in enumerate(_typed(raw, list, "mounts", [])):
        where = f"mounts[{index}]"
        item = _typed(item, dict, where)
        destination = _typed(item.get("destination"), str, f"{where}.destination")
        if not destination or not destination.startswith("/"):
            raise _fail(f"{where}.destination", f'"{destination or ""}" must be an absolute path')
        mounts.append(
            Mount(
                destination=os.path.normpath(destination),
                type=_typed(item.get("type"), str, f"{where}.type", ""),
                source=_typed(item.get("source"), str, f"{where}.source", ""),
                options=tuple(_strings(item.get("options"), f"{where}.options")),
            )
        )
    return tuple(mounts)


def parse_hooks(raw: Any) -> Hooks:
    raw = _typed(raw, dict, "hooks", {})
    names = {
        "prestart": "prestart",
        "createRuntime": "create_runtime",
        "createContainer": "create_container",
        "startContainer": "start_container",
        "poststart": "poststart",
        "poststop": "poststop",
    }
    parsed: dict[str, tuple[Hook, ...]] = {}
    for key, attr in names.items():
        hooks = []
        for index, item in enumerate(_typed(raw.get(key), list, f"hooks.{key}", [])):
            where = f"hooks.{key}[{index}]"
            item = _typed(item, dict, where)
            path = _typed(item.get("path"), str, f"{where}.path")
            if not path or not path.startswith("/"):
                raise _fail(f"{where}.path", "must be an absolute path")
            timeout = _typed(item.get("timeout"), int, f"{where}.timeout")
            if timeout is not None and timeout <= 0:
                raise _fail(f"{where}.timeout", "must be greater than zero")
            hooks.append(
                Hook(
                    path=path,
                    args=tuple(_strings(item.get("args"), f"{where}.args")),
                    env=tuple(_strings(item.get("env"), f"{where}.env")),
                    timeout=timeout,
                )
            )
        parsed[attr] = tuple(hooks)
    return Hooks(**parsed)


def _parse_id_mappings(raw: Any, where: str) -> tuple[IdMapping, ...]:
    mappings = []
    for index, item in enumerate(_typed(raw, list, where, [])):
        item = _typed(item, dict, f"{where}[{index}]")
        values = [
            _typed(item.get(key), int, f"{where}[{index}].{key}")
            for key in ("containerID", "hostID", "size")
        ]
        if None in values:
            raise _fail(f"{where}[{index}]", "needs containerID, hostID and size")
        mappings.append(IdMapping(*values))
    return tuple(mappings)


def _parse_devices(raw: Any) -> tuple[Device, ...]:
    devices = []
    for index, item in enumerate(_typed(raw, list, "linux.devices", [])):
        where = f"linux.devices[{index}]"
        item = _typed(item, dict, where)
        path = _typed(item.get("path"), str, f"{where}.path")
        if not path or not path.startswith("/dev/"):
            raise _fail(f"{where}.path", f'"{path}" must be a path under /dev')
        kind = _typed(item.get("type"), str, f"{where}.type")
        if kind not in ("c", "b", "u", "p"):
            raise _fail(f"{where}.type", f'unknown device type "{kind}" (use c, b, u or p)')
        major = _typed(item.get("major"), int, f"{where}.major", 0)
        minor = _typed(item.get("minor"), int, f"{where}.minor", 0)
        if kind != "p" and (item.get("major") is None or item.get("minor") is None):
            raise _fail(where, "needs major and minor numbers")
        devices.append(
            Device(
                path=os.path.normpath(path),
                type=kind,
                major=major,
                minor=minor,
                file_mode=_typed(item.get("fileMode"), int, f"{where}.fileMode"),
                uid=_typed(item.get("uid"), int, f"{where}.uid"),
                gid=_typed(item.get("gid"), int, f"{where}.gid"),
            )
        )
    return tuple(devices)


def _parse_linux(raw: Any) -> Linux:
    raw = _typed(raw, dict, "linux", {})
    namespaces = []
    seen = set()
    for index, item in enumerate(_typed(raw.get("namespaces"), list, "linux.namespaces", [])):
        where = f"linux.namespaces[{index}]"
        item = _typed(item, dict, where)
        kind = _typed(item.get("type"), str, f"{where}.type")
        if kind not in NAMESPACE_FLAGS:
            raise _fail(
                f"{where}.type",
                f'unknown namespace type "{kind}" (use one of {", ".join(NAMESPACE_FLAGS)})',
            )
        if kind in seen:
            raise _fail(f"{where}.type", f'namespace "{kind}" is listed twice')
        seen.add(kind)
        path = _typed(item.get("path"), str, f"{where}.path", "")
        if path and not os.path.exists(path):
            raise NotFound(f"config.json: {where}.path: {path} does not exist")
        namespaces.append(Namespace(kind, path))

    propagation = _typed(raw.get("rootfsPropagation"), str, "linux.rootfsPropagation", "")
    if propagation and propagation not in _PROPAGATION_VALUES:
        raise _fail("linux.rootfsPropagation", f'unknown propagation "{propagation}"')
    sysctl = _typed(raw.get("sysctl"), dict, "linux.sysctl", {})
    for key, value in sysctl.items():
        _typed(value, str, f"linux.sysctl.{key}")

    resources = None
    if raw.get("resources") is not None:
        from estiba.runtime.cgroups import Resources

        resources = Resources.from_spec(raw.get("resources"))
    seccomp = parse_seccomp(raw)

    return Linux(
        namespaces=tuple(namespaces),
        uid_mappings=_parse_id_mappings(raw.get("uidMappings"), "linux.uidMappings"),
        gid_mappings=_parse_id_mappings(raw.get("gidMappings"), "linux.gidMappings"),
        devices=_parse_devices(raw.get("devices")),
        cgroups_path=_typed(raw.get("cgroupsPath"), str, "linux.cgroupsPath", ""),
        resources=resources,
        rootfs_propagation=propagation,
        seccomp=seccomp,
        sysctl=dict(sysctl),
        masked_paths=tuple(_strings(raw.get("maskedPaths"), "linux.maskedPaths")),
        readonly_paths=tuple(_strings(raw.get("readonlyPaths"), "linux.readonlyPaths")),
        mount_label=_typed(raw.get("mountLabel"), str, "linux.mountLabel", ""),
    )


_PROPAGATION_VALUES = {
    "private": sc.MS_PRIVATE,
    "rprivate": sc.MS_PRIVATE | sc.MS_REC,
    "shared": sc.MS_SHARED,
    "rshared": sc.MS_SHARED | sc.MS_REC,
    "slave": sc.MS_SLAVE,
    "rslave": sc.MS_SLAVE | sc.MS_REC,
    "unbindable": sc.MS_UNBINDABLE,
    "runbindable": sc.MS_UNBINDABLE | sc.MS_REC,
}


def propagation_flags(name: str) -> int:
    return _PROPAGATION_VALUES[name]


def parse_seccomp(raw_linux: Any) -> Any:
    """The SeccompConfig of a config.json's `linux` object, or None (exec needs no more)."""
    if not isinstance(raw_linux, dict) or raw_linux.get("seccomp") is None:
        return None
    from estiba.runtime.seccomp import SeccompConfig

    return SeccompConfig.from_spec(raw_linux["seccomp"], where="config.json: linux.seccomp")


def parse_spec(raw: Any, bundle: str) -> Spec:
    """Validate a decoded config.json; `bundle` anchors a relative root.path."""
    raw = _typed(raw, dict, "top level")
    version = _typed(raw.get("ociVersion"), str, "ociVersion")
    if not version:
        raise _fail("ociVersion", "is required")
    root = _typed(raw.get("root"), dict, "root")
    if not root or not root.get("path"):
        raise _fail("root.path", "is required")
    root_path = _typed(root.get("path"), str, "root.path")
    if not os.path.isabs(root_path):
        root_path = os.path.join(bundle, root_path)
    root_path = os.path.realpath(root_path)
    if not os.path.isdir(root_path):
        raise NotFound(
            f"config.json: root.path: rootfs {root_path} does not exist",
            hint="create it or point root.path at the container's root filesystem",
        )
    process = parse_process(raw["process"]) if raw.get("process") is not None else None
    annotations = _typed(raw.get("annotations"), dict, "annotations", {})
    linux = _parse_linux(raw.get("linux"))
    if linux.namespace("mount") is None:
        raise _fail("linux.namespaces", 'must include a "mount" namespace')
    if linux.namespace("user") is not None and not linux.namespace("user").path:
        if not linux.uid_mappings or not linux.gid_mappings:
            raise _fail("linux.uidMappings", "a new user namespace needs uidMappings and gidMappings")
    return Spec(
        oci_version=version,
        root_path=root_path,
        root_readonly=bool(_typed(root.get("readonly"), bool, "root.readonly", False)),
        process=process,
        hostname=_typed(raw.get("hostname"), str, "hostname", ""),
        domainname=_typed(raw.get("domainname"), str, "domainname", ""),
        mounts=_parse_mounts(raw.get("mounts")),
        hooks=parse_hooks(raw.get("hooks")),
        annotations=dict(annotations),
        linux=linux,
    )


def read_config(bundle: str) -> dict:
    """Read and decode `<bundle>/config.json`."""
    path = os.path.join(bundle, "config.json")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError as exc:
        raise NotFound(f"bundle {bundle}: no config.json", hint="run `estiba-runtime spec` there") from exc
    except OSError as exc:
        raise NotFound(f"bundle {bundle}: cannot read config.json: {exc.strerror}") from exc
    try:
        return json.loads(data)
    except ValueError as exc:
        raise InvalidArgument(f"{path}: invalid JSON: {exc}") from exc


def load_bundle(bundle: str) -> tuple[Spec, dict]:
    """Read, decode and validate a bundle's config.json; returns the typed spec and the raw dict."""
    bundle = os.path.abspath(bundle)
    if not os.path.isdir(bundle):
        raise NotFound(f"bundle {bundle} does not exist")
    raw = read_config(bundle)
    return parse_spec(raw, bundle), raw
