"""The default OCI bundle configuration, identical to what `runc spec` writes.

`default_spec` is pure (it returns a new dict on each call) so that estiba-runtime and runc
can be handed byte-for-byte the same bundle; `write_bundle` is the one step that touches
the filesystem, and writes config.json atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from estiba.errors import SystemFault

# runc 1.1.5 stamps its specs with this version; matching it keeps the two bundles equal.
OCI_VERSION = "1.0.2-dev"

_DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]

_MASKED_PATHS = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
]

_READONLY_PATHS = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
]


def default_spec(
    *,
    args: list[str] | None = None,
    terminal: bool = False,
    rootless: bool = False,
    rootfs: str = "rootfs",
    host_uid: int | None = None,
    host_gid: int | None = None,
) -> dict[str, Any]:
    """Return the config `runc spec` (or `runc spec --rootless`) writes.

    Differences from runc are only the arguments: `args` (runc: ["sh"]), `terminal`
    (runc: true) and `rootfs` (runc: "rootfs"). For a rootless spec, the single-id user
    namespace maps container root to `host_uid`/`host_gid`, which default to the caller's
    effective ids as in runc.
    """
    spec: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": terminal,
            "user": {"uid": 0, "gid": 0},
            "args": list(args) if args is not None else ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ],
            "cwd": "/",
            "capabilities": {
                "bounding": list(_DEFAULT_CAPS),
                "effective": list(_DEFAULT_CAPS),
                "permitted": list(_DEFAULT_CAPS),
                "ambient": list(_DEFAULT_CAPS),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": rootfs, "readonly": True},
        "hostname": "runc",
        "mounts": _default_mounts(),
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"},
                {"type": "network"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
            ],
            "maskedPaths": list(_MASKED_PATHS),
            "readonlyPaths": list(_READONLY_PATHS),
        },
    }
    if rootless:
        _make_rootless(
            spec,
            uid=os.geteuid() if host_uid is None else host_uid,
            gid=os.getegid() if host_gid is None else host_gid,
        )
    return spec


def write_bundle(bundle_dir: Path, spec: dict[str, Any]) -> Path:
    """Write `spec` as bundle_dir/config.json atomically and return the file's path.

    Other processes (runtimes, shims) read config.json, so it goes to a temporary file
    that is fsynced, renamed into place, and the directory fsynced.
    """
    bundle_dir = Path(bundle_dir)
    target = bundle_dir / "config.json"
    data = json.dumps(spec, indent="\t").encode()
    try:
        bundle_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".config.json.", dir=bundle_dir)
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, target)
        except BaseException:
            _unlink_quietly(tmp_name)
            raise
        dir_fd = os.open(bundle_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise SystemFault(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target


def _default_mounts() -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        },
        {
            "destination": "/sys/fs/cgroup",
            "type": "cgroup",
            "source": "cgroup",
            "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
        },
    ]


def _make_rootless(spec: dict[str, Any], *, uid: int, gid: int) -> None:
    """Apply runc's `ToRootless`: a user namespace instead of a network one, the caller's
    ids mapped to root, /sys bind-mounted, no uid=/gid= mount options, no cgroup settings."""
    linux = spec["linux"]
    namespaces = [ns for ns in linux["namespaces"] if ns["type"] not in ("network", "user")]
    namespaces.append({"type": "user"})
    linux["namespaces"] = namespaces
    linux["uidMappings"] = [{"containerID": 0, "hostID": uid, "size": 1}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": gid, "size": 1}]
    del linux["resources"]

    mounts = []
    for mount in spec["mounts"]:
        if os.path.normpath(mount["destination"]) == "/sys":
            mounts.append(
                {
                    "destination": "/sys",
                    "type": "none",
                    "source": "/sys",
                    "options": ["rbind", "nosuid", "noexec", "nodev", "ro"],
                }
            )
            continue
        if "options" in mount:
            mount["options"] = [
                opt for opt in mount["options"] if not opt.startswith(("gid=", "uid="))
            ]
        mounts.append(mount)
    spec["mounts"] = mounts

    # Key order as runc writes it: mappings come before namespaces.
    spec["linux"] = {
        "uidMappings": linux["uidMappings"],
        "gidMappings": linux["gidMappings"],
        **{k: v for k, v in linux.items() if k not in ("uidMappings", "gidMappings")},
    }


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
