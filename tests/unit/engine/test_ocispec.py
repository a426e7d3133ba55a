"""build_spec writes the config.json dockerd 20.10.24 writes for the same container.

The expected fragments were taken from the config.json files dockerd 20.10.24 (Debian's
docker.io, with containerd 1.6 and runc 1.1.5) handed to runc for the same `docker run`
options on the same busybox image; only the cgroup parent (/estiba, not /docker) and
the paths of the rootfs and /etc files differ. Every spec built here is also checked
against the OCI runtime spec's JSON schema.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from estiba.engine.config import ContainerConfig, ImageConfig
from estiba.engine.devices import Node
from estiba.engine.machine import Machine
from estiba.engine.ocispec import build_spec
from estiba.errors import InvalidArgument, Unavailable
from estiba.runtime.seccomp import default_docker_profile, docker_profile_to_oci

SCHEMA_DIR = Path(
    os.environ.get(
        "ESTIBA_OCI_SCHEMA_DIR",
        Path(__file__).resolve().parents[4] / "shared/reference/oci-runtime-spec-schema",
    )
)

CID = "61728d1a5df7565d8e4709bdec9574eee7519402196ad0863988e77cf7b024fd"
ETC = {"resolv.conf": "/ctr/resolv.conf", "hostname": "/ctr/hostname", "hosts": "/ctr/hosts"}
IMAGE = ImageConfig.from_oci(
    {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]}
)
# moby's default set, in its order; and every capability Docker 20.10 knew (not
# PERFMON, BPF and CHECKPOINT_RESTORE, which Docker 23 and estiba grant with ALL).
DEFAULT_CAPS = (
    "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FSETID CAP_FOWNER CAP_MKNOD CAP_NET_RAW CAP_SETGID CAP_SETUID "
    "CAP_SETFCAP CAP_SETPCAP CAP_NET_BIND_SERVICE CAP_SYS_CHROOT CAP_KILL CAP_AUDIT_WRITE"
).split()
ALL_CAPS_20_10 = (
    "CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID "
    "CAP_SETUID CAP_SETPCAP CAP_LINUX_IMMUTABLE CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_ADMIN "
    "CAP_NET_RAW CAP_IPC_LOCK CAP_IPC_OWNER CAP_SYS_MODULE CAP_SYS_RAWIO CAP_SYS_CHROOT "
    "CAP_SYS_PTRACE CAP_SYS_PACCT CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_NICE CAP_SYS_RESOURCE "
    "CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_MKNOD CAP_LEASE CAP_AUDIT_WRITE CAP_AUDIT_CONTROL "
    "CAP_SETFCAP CAP_MAC_OVERRIDE CAP_MAC_ADMIN CAP_SYSLOG CAP_WAKE_ALARM CAP_BLOCK_SUSPEND "
    "CAP_AUDIT_READ"
).split()


class FakeDevices:
    """A /dev of a few nodes: path -> Node; directories are implied."""

    def __init__(self, nodes: dict[str, Node], links: dict[str, str] | None = None) -> None:
        self.nodes = dict(nodes)
        self.links = links or {}

    def lstat(self, path: str) -> Node:
        if path in self.links:
            return Node("l")
        if path in self.nodes:
            return self.nodes[path]
        if any(p.startswith(path + "/") for p in [*self.nodes, *self.links]):
            return Node("d", mode=0o755)
        raise FileNotFoundError(2, "No such file or directory", path)

    def listdir(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        return sorted(
            {p[len(prefix) :].split("/")[0] for p in [*self.nodes, *self.links] if p.startswith(prefix)}
        )

    def realpath(self, path: str) -> str:
        return self.links.get(path, path)


DEVICES = FakeDevices(
    {
        "/dev/null": Node("c", 1, 3, 0o666),
        "/dev/fuse": Node("c", 10, 229, 0o600),
        "/dev/console": Node("c", 5, 1, 0o600),
        "/dev/loop0": Node("b", 7, 0, 0o660, 0, 6),
        "/dev/cpu/0/cpuid": Node("c", 203, 0, 0o600),
        "/dev/pts/0": Node("c", 136, 0, 0o620),
        "/dev/shm/file": Node("f"),
        "/dev/initctl": Node("p", mode=0o600),
        "/dev/snd/pcm": Node("c", 116, 2, 0o660, 0, 29),
        "/dev/snd/timer": Node("c", 116, 33, 0o660, 0, 29),
    },
    links={"/dev/stdin": "/proc/self/fd/0", "/dev/nul": "/dev/null"},
)
MACHINE = Machine(
    cpu_count=2, cpus=frozenset({0, 1}), mems=frozenset({0}), last_cap=40, kernel=(6, 1), devices=DEVICES
)


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("rootfs")
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nestiba:x:1000:1000::/home/estiba:/bin/sh\n"
    )
    (root / "etc/group").write_text("root:x:0:\nusers:x:100:\nextra:x:2000:estiba\n")
    return str(root)


@pytest.fixture(scope="module")
def validator():
    if not (SCHEMA_DIR / "config-schema.json").exists():
        pytest.skip(f"OCI runtime schemas not found in {SCHEMA_DIR} (set ESTIBA_OCI_SCHEMA_DIR)")
    import jsonschema
    from referencing import Registry
    from referencing.jsonschema import DRAFT4

    registry = Registry()
    for path in SCHEMA_DIR.glob("*.json"):
        registry = registry.with_resource(
            path.resolve().as_uri(), DRAFT4.create_resource(json.loads(path.read_text()))
        )
    return jsonschema.Draft4Validator(
        {"$ref": (SCHEMA_DIR / "config-schema.json").resolve().as_uri()}, registry=registry
    )


@pytest.fixture
def build(rootfs: str, validator):
    def make(body: dict[str, Any], *, image: ImageConfig = IMAGE, **overrides: Any) -> dict[str, Any]:
        config = ContainerConfig.from_api({"Image": "busybox", "Cmd": ["sleep", "100"], **body})
        arguments: dict[str, Any] = {
            "rootfs": rootfs,
            "container_id": CID,
            "hostname": CID[:12],
            "etc_files": ETC,
            "init_path": "/usr/bin/docker-init",
            "seccomp_arch": "amd64",
            "machine": MACHINE,
            **overrides,
        }
        spec = build_spec(image, config, config.host_config, **arguments)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(spec)]
        assert errors == [], errors
        json.dumps(spec)  # plain JSON data only
        return spec

    return make


def seccomp_for(caps: list[str]) -> dict[str, Any]:
    return docker_profile_to_oci(default_docker_profile(), capabilities=caps, arch="amd64", kernel=(6, 1))


def mount(destination: str, kind: str, source: str, *options: str) -> dict[str, Any]:
    return {"destination": destination, "type": kind, "source": source, "options": list(options)}


def default_mounts(shm: str = "size=67108864") -> list[dict[str, Any]]:
    return [
        mount("/proc", "proc", "proc", "nosuid", "noexec", "nodev"),
        mount("/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755", "size=65536k"),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5",
        ),
        mount("/sys", "sysfs", "sysfs", "nosuid", "noexec", "nodev", "ro"),
        mount("/sys/fs/cgroup", "cgroup", "cgroup", "ro", "nosuid", "noexec", "nodev"),
        mount("/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec", "nodev"),
        mount("/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev", "mode=1777", shm),
    ]


def etc_mounts(*extra: str) -> list[dict[str, Any]]:
    names = ("resolv.conf", "hostname", "hosts")
    return [mount(f"/etc/{name}", "bind", f"/ctr/{name}", "rbind", *extra, "rprivate") for name in names]


def test_default_container_is_dockerds(build, rootfs: str) -> None:
    """`docker run --network none busybox sleep 100`, whole."""
    expected = {
        "ociVersion": "1.0.2-dev",
        "process": {
            "user": {"uid": 0, "gid": 0, "additionalGids": [0]},
            "args": ["sleep", "100"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOSTNAME=61728d1a5df7",
            ],
            "cwd": "/",
            "capabilities": {"bounding": DEFAULT_CAPS, "effective": DEFAULT_CAPS, "permitted": DEFAULT_CAPS},
            "oomScoreAdj": 0,
        },
        "root": {"path": rootfs},
        "hostname": "61728d1a5df7",
        "mounts": default_mounts() + etc_mounts(),
        "linux": {
            "sysctl": {
                "net.ipv4.ip_unprivileged_port_start": "0",
                "net.ipv4.ping_group_range": "0 2147483647",
            },
            "resources": {
                "devices": [
                    {"allow": False, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 9, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 1, "minor": 8, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 5, "minor": 0, "access": "rwm"},
                    {"allow": True, "type": "c", "major": 5, "minor": 1, "access": "rwm"},
                    {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
                ],
                "memory": {"disableOOMKiller": False},
                "cpu": {"shares": 0},
                "blockIO": {"weight": 0},
            },
            "cgroupsPath": f"/estiba/{CID}",
            "namespaces": [{"type": t} for t in ("mount", "network", "uts", "pid", "ipc")],
            "seccomp": seccomp_for(DEFAULT_CAPS),
            "maskedPaths": [
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
            ],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    spec = build({"HostConfig": {"NetworkMode": "none"}})
    assert spec == expected
    # Same key order too, so the files compare line by line.
    assert json.dumps(spec) == json.dumps(expected)


def at(spec: dict[str, Any], path: str) -> Any:
    """spec["a"]["b"][0] for "a.b.0"; KeyError text for a missing key."""
    value: Any = spec
    for part in path.split("."):
        if isinstance(value, list):
            value = value[int(part)]
        elif part in value:
            value = value[part]
        else:
            return "<absent>"
    return value


# (`docker run` options, as an API body) -> {spec path: dockerd's value}
SCENARIOS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "tty": (
        {"Tty": True, "HostConfig": {"ConsoleSize": [0, 0]}},
        {
            "process.terminal": True,
            "process.consoleSize": "<absent>",
            "process.env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOSTNAME=61728d1a5df7",
                "TERM=xterm",
            ],
        },
    ),
    "tty with a size (Docker 23)": (
        {"Tty": True, "HostConfig": {"ConsoleSize": [24, 80]}},
        {"process.consoleSize": {"height": 24, "width": 80}},
    ),
    "-u estiba": (
        {"User": "estiba"},
        {
            "process.user": {"uid": 1000, "gid": 1000, "additionalGids": [1000, 2000]},
            "process.capabilities": {"bounding": DEFAULT_CAPS},
        },
    ),
    "-u 1000:2000 --group-add 100": (
        {"User": "1000:2000", "HostConfig": {"GroupAdd": ["100"]}},
        {"process.user": {"uid": 1000, "gid": 2000, "additionalGids": [2000, 100]}},
    ),
    "-u 4242": ({"User": "4242"}, {"process.user": {"uid": 4242, "gid": 0, "additionalGids": [0]}}),
    "--cap-drop ALL --cap-add net_admin --cap-add CAP_SYS_ADMIN": (
        {"HostConfig": {"CapDrop": ["ALL"], "CapAdd": ["net_admin", "CAP_SYS_ADMIN"]}},
        {
            "process.capabilities.bounding": ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"],
            "linux.seccomp": seccomp_for(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]),
        },
    ),
    "--cap-add chown,net_admin --cap-drop kill": (
        {"HostConfig": {"CapAdd": ["CAP_CHOWN", "CAP_NET_ADMIN"], "CapDrop": ["CAP_KILL"]}},
        {
            "process.capabilities.permitted": [c for c in DEFAULT_CAPS if c != "CAP_KILL"]
            + ["CAP_CHOWN", "CAP_NET_ADMIN"]
        },
    ),
    "--cap-add ALL --cap-drop MKNOD": (
        {"HostConfig": {"CapAdd": ["ALL"], "CapDrop": ["MKNOD"]}},
        {
            "process.capabilities.bounding": [c for c in ALL_CAPS_20_10 if c != "CAP_MKNOD"]
            + ["CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"]
        },
    ),
    "--security-opt seccomp=unconfined --security-opt no-new-privileges": (
        {"HostConfig": {"SecurityOpt": ["seccomp=unconfined", "no-new-privileges"]}},
        {"linux.seccomp": "<absent>", "process.noNewPrivileges": True},
    ),
    "-m 64m --memory-reservation 32m --cpus 1.5 --cpu-shares 512 --cpuset-* 0 --pids-limit 50 ...": (
        {
            "HostConfig": {
                "Memory": 64 << 20,
                "MemoryReservation": 32 << 20,
                "NanoCpus": 1_500_000_000,
                "CpuShares": 512,
                "CpusetCpus": "0",
                "CpusetMems": "0",
                "PidsLimit": 50,
                "OomKillDisable": True,
                "OomScoreAdj": 100,
            }
        },
        {
            "linux.resources.memory": {
                "limit": 67108864,
                "reservation": 33554432,
                "swap": 134217728,
                "disableOOMKiller": True,
            },
            "linux.resources.cpu": {
                "shares": 512,
                "quota": 150000,
                "period": 100000,
                "cpus": "0",
                "mems": "0",
            },
            "linux.resources.pids": {"limit": 50},
            "process.oomScoreAdj": 100,
        },
    ),
    "-m 64m --memory-swap -1 --cpu-quota 50000 --cpu-period 20000 --pids-limit -1": (
        {
            "HostConfig": {
                "Memory": 64 << 20,
                "MemorySwap": -1,
                "CpuQuota": 50000,
                "CpuPeriod": 20000,
                "PidsLimit": -1,
            }
        },
        {
            "linux.resources.memory": {"limit": 67108864, "disableOOMKiller": False},
            "linux.resources.cpu": {"shares": 0, "quota": 50000, "period": 20000},
            "linux.resources.pids": "<absent>",
        },
    ),
    "-m 64m --memory-swap 100m --pids-limit 0": (
        {"HostConfig": {"Memory": 64 << 20, "MemorySwap": 100 << 20, "PidsLimit": 0}},
        {"linux.resources.memory": {"limit": 67108864, "swap": 104857600, "disableOOMKiller": False}},
    ),
    "--ulimit nofile=1024:2048 --ulimit nproc=100 --ulimit core=-1": (
        {
            "HostConfig": {
                "Ulimits": [
                    {"Name": "nofile", "Soft": 1024, "Hard": 2048},
                    {"Name": "nproc", "Soft": 100, "Hard": 100},
                    {"Name": "core", "Soft": -1, "Hard": -1},
                ]
            }
        },
        {
            "process.rlimits": [
                {"type": "RLIMIT_NOFILE", "hard": 2048, "soft": 1024},
                {"type": "RLIMIT_NPROC", "hard": 100, "soft": 100},
                {"type": "RLIMIT_CORE", "hard": 2**64 - 1, "soft": 2**64 - 1},
            ]
        },
    ),
    "--read-only --init --tmpfs /tmp --tmpfs /run:rw,size=10m --shm-size 128m -w /tmp -e ... -h --domainname --sysctl": (
        {
            "Env": ["FOO=bar", "PATH=/bin:/x"],
            "WorkingDir": "/tmp",
            "Hostname": "myhost",
            "Domainname": "example.com",
            "HostConfig": {
                "Sysctls": {"net.ipv4.ip_forward": "1"},
                "ReadonlyRootfs": True,
                "Init": True,
                "Tmpfs": {"/tmp": "", "/run": "rw,size=10m"},
                "ShmSize": 128 << 20,
            },
        },
        {
            "process.args": ["/sbin/docker-init", "--", "sleep", "100"],
            "process.cwd": "/tmp",
            "process.env": ["PATH=/bin:/x", "HOSTNAME=myhost", "FOO=bar"],
            "root.readonly": True,
            "hostname": "myhost",
            "linux.sysctl": {
                "kernel.domainname": "example.com",
                "net.ipv4.ip_forward": "1",
                "net.ipv4.ip_unprivileged_port_start": "0",
                "net.ipv4.ping_group_range": "0 2147483647",
            },
            "mounts": default_mounts("size=134217728")
            + [
                mount("/sbin/docker-init", "bind", "/usr/bin/docker-init", "bind", "ro"),
                mount("/tmp", "tmpfs", "tmpfs", "noexec", "nosuid", "nodev", "rprivate"),
                mount("/run", "tmpfs", "tmpfs", "noexec", "nosuid", "nodev", "rprivate", "rw", "size=10m"),
            ]
            + etc_mounts("ro"),
        },
    ),
    "--network host --ipc host --pid host --uts host": (
        {"HostConfig": {"NetworkMode": "host", "IpcMode": "host", "PidMode": "host", "UTSMode": "host"}},
        {
            "linux.namespaces": [{"type": "mount"}],
            "hostname": "<absent>",
            "linux.sysctl": "<absent>",
            "process.env.1": "HOSTNAME=61728d1a5df7",
            "mounts": default_mounts()[:6]
            + etc_mounts()
            + [mount("/dev/shm", "bind", "/dev/shm", "rbind", "rprivate")],
        },
    ),
    "--cgroupns private --ipc private": (
        {"HostConfig": {"CgroupnsMode": "private", "IpcMode": "private"}},
        {"linux.namespaces": [{"type": t} for t in ("mount", "network", "uts", "pid", "ipc", "cgroup")]},
    ),
    "--device /dev/fuse --device /dev/null:/dev/mynull:r": (
        {
            "HostConfig": {
                "Devices": [
                    {"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"},
                    {"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull", "CgroupPermissions": "r"},
                ]
            }
        },
        {
            "linux.devices": [
                {
                    "path": "/dev/fuse",
                    "type": "c",
                    "major": 10,
                    "minor": 229,
                    "fileMode": 384,
                    "uid": 0,
                    "gid": 0,
                },
                {
                    "path": "/dev/mynull",
                    "type": "c",
                    "major": 1,
                    "minor": 3,
                    "fileMode": 438,
                    "uid": 0,
                    "gid": 0,
                },
            ],
            "linux.resources.devices.8": {
                "allow": True,
                "type": "c",
                "major": 10,
                "minor": 229,
                "access": "rwm",
            },
            "linux.resources.devices.9": {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "r"},
        },
    ),
    "--entrypoint '' busybox sleep 100": ({"Entrypoint": [""]}, {"process.args": ["sleep", "100"]}),
    "--entrypoint sleep busybox 100": (
        {"Entrypoint": ["sleep"], "Cmd": ["100"]},
        {"process.args": ["sleep", "100"]},
    ),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_matches_dockerd(build, name: str) -> None:
    body, expected = SCENARIOS[name]
    host = {"NetworkMode": "none", **body.get("HostConfig", {})}
    spec = build({**body, "HostConfig": host})
    assert {path: at(spec, path) for path in expected} == expected


def test_privileged_gets_everything(build) -> None:
    spec = build(
        {
            "HostConfig": {
                "Privileged": True,
                "Devices": [
                    {"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse"},
                    {"PathOnHost": "/dev/null", "PathInContainer": "/dev/null2"},
                ],
            }
        },
        machine=Machine(last_cap=37, kernel=(6, 1), devices=DEVICES),
    )
    assert spec["process"]["capabilities"] == {
        "bounding": ALL_CAPS_20_10,
        "effective": ALL_CAPS_20_10,
        "permitted": ALL_CAPS_20_10,
    }
    linux = spec["linux"]
    assert "seccomp" not in linux and "maskedPaths" not in linux and "readonlyPaths" not in linux
    assert linux["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    # containerd's HostDevices: sorted, recursive, no console, pts, shm, FIFOs or links.
    assert [(d["path"], d["type"]) for d in linux["devices"]] == [
        ("/dev/cpu/0/cpuid", "c"),
        ("/dev/fuse", "c"),
        ("/dev/loop0", "b"),
        ("/dev/null", "c"),
        ("/dev/snd/pcm", "c"),
        ("/dev/snd/timer", "c"),
        ("/dev/null2", "c"),
    ]
    assert linux["devices"][2] == {
        "path": "/dev/loop0",
        "type": "b",
        "major": 7,
        "minor": 0,
        "fileMode": 0o660,
        "uid": 0,
        "gid": 6,
    }
    mounts = {m["destination"]: m["options"] for m in spec["mounts"]}
    assert mounts["/sys"] == ["nosuid", "noexec", "nodev"] and mounts["/sys/fs/cgroup"] == [
        "nosuid",
        "noexec",
        "nodev",
    ]
    assert [ns["type"] for ns in linux["namespaces"]] == ["mount", "network", "uts", "pid", "ipc"]


def test_device_directories_and_links(build) -> None:
    spec = build(
        {
            "HostConfig": {
                "Devices": [
                    {"PathOnHost": "/dev/snd", "PathInContainer": "/dev/sound", "CgroupPermissions": "rw"},
                    {"PathOnHost": "/dev/nul", "PathInContainer": "/dev/nul"},
                ]
            }
        }
    )
    assert [(d["path"], d["minor"]) for d in spec["linux"]["devices"]] == [
        ("/dev/sound/pcm", 2),
        ("/dev/sound/timer", 33),
        ("/dev/nul", 3),
    ]
    assert spec["linux"]["resources"]["devices"][8:] == [
        {"allow": True, "type": "c", "major": 116, "minor": 2, "access": "rw"},
        {"allow": True, "type": "c", "major": 116, "minor": 33, "access": "rw"},
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
    ]


@pytest.mark.parametrize(
    ("device", "message"),
    [
        (
            "/dev/nosuch",
            'error gathering device information while adding custom device "/dev/nosuch": no such file or directory',
        ),
        (
            "/dev/shm/file",
            'error gathering device information while adding custom device "/dev/shm/file": not a device node',
        ),
    ],
)
def test_missing_devices_fail_like_dockerd(build, device: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as failure:
        build({"HostConfig": {"Devices": [{"PathOnHost": device}]}})
    assert str(failure.value) == message


def test_device_cgroup_rules_follow_the_devices(build) -> None:
    spec = build({"HostConfig": {"DeviceCgroupRules": ["c 1:3 mr", "a *:* rwm"]}})
    assert spec["linux"]["resources"]["devices"][8:] == [
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "mr"},
        {"allow": True, "type": "a", "major": -1, "minor": -1, "access": "rwm"},
    ]


def test_joins_namespaces_it_is_given(build) -> None:
    spec = build(
        {
            "HostConfig": {
                "NetworkMode": "container:web",
                "IpcMode": "container:web",
                "PidMode": "container:web",
            }
        },
        namespace_paths={"network": "/proc/42/ns/net", "ipc": "/proc/42/ns/ipc", "pid": "/proc/42/ns/pid"},
    )
    assert spec["linux"]["namespaces"] == [
        {"type": "mount"},
        {"type": "network", "path": "/proc/42/ns/net"},
        {"type": "uts"},
        {"type": "pid", "path": "/proc/42/ns/pid"},
        {"type": "ipc", "path": "/proc/42/ns/ipc"},
    ]
    # Another container's network: no network sysctls of our own.
    assert "sysctl" not in spec["linux"]
    assert build({"HostConfig": {"NetworkMode": "bridge"}}, namespace_paths={"network": "/run/netns/x"})[
        "linux"
    ]["namespaces"][1] == {"type": "network", "path": "/run/netns/x"}
    with pytest.raises(
        InvalidArgument, match="cannot join the pid namespace of container db: it is not running"
    ):
        build({"HostConfig": {"PidMode": "container:db"}})


def test_init_needs_a_binary_and_a_pid_namespace(build) -> None:
    with pytest.raises(Unavailable, match="no init binary"):
        build({"HostConfig": {"Init": True}}, init_path=None)
    spec = build({"HostConfig": {"Init": True, "PidMode": "host"}})
    assert spec["process"]["args"] == ["sleep", "100"]
    assert "/sbin/docker-init" not in [m["destination"] for m in spec["mounts"]]


def test_own_mounts_replace_defaults(build) -> None:
    spec = build(
        {
            "HostConfig": {
                "Tmpfs": {"/dev/shm": "size=1m"},
                "Mounts": [
                    {
                        "Type": "tmpfs",
                        "Target": "/cache",
                        "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o700},
                    }
                ],
            }
        },
        extra_mounts=[
            mount("/etc/hosts", "bind", "/srv/hosts", "rbind", "ro"),
            mount("/data/deep", "bind", "/srv/deep", "rbind"),
            mount("/data", "bind", "/srv/data", "rbind"),
        ],
    )
    # Sorted by depth, ties in dockerd's order: binds, /etc files, tmpfs.
    places = [(m["destination"], m["source"]) for m in spec["mounts"]]
    assert places[6:] == [
        ("/data", "/srv/data"),
        ("/cache", "tmpfs"),
        ("/etc/hosts", "/srv/hosts"),
        ("/data/deep", "/srv/deep"),
        ("/etc/resolv.conf", "/ctr/resolv.conf"),
        ("/etc/hostname", "/ctr/hostname"),
        ("/dev/shm", "tmpfs"),
    ]
    assert spec["mounts"][7]["options"] == ["noexec", "nosuid", "nodev", "rprivate", "mode=700", "size=1m"]
    # A /dev of one's own takes everything under /dev with it.
    devless = build({"HostConfig": {"Tmpfs": {"/dev": ""}}})
    assert [m["destination"] for m in devless["mounts"]][:4] == ["/proc", "/sys", "/sys/fs/cgroup", "/dev"]


def test_ipc_none_has_no_shm(build) -> None:
    spec = build({"HostConfig": {"IpcMode": "none"}})
    assert "/dev/shm" not in [m["destination"] for m in spec["mounts"]]
    assert {"type": "ipc"} in spec["linux"]["namespaces"]


def test_environment_rules(build) -> None:
    spec = build({"Env": ["HOSTNAME=mine", "PATH", "A=1", "A=2", "TERM=dumb"], "Tty": True})
    assert spec["process"]["env"] == ["HOSTNAME=mine", "TERM=dumb", "A=1", "A=2"]
    image = ImageConfig.from_oci({"Env": ["PATH=/img", "LANG=C.UTF-8"], "Cmd": ["sh"]})
    assert build({"Env": ["LANG"]}, image=image)["process"]["env"] == ["PATH=/img", "HOSTNAME=61728d1a5df7"]


def test_working_dir_is_cleaned(build) -> None:
    assert build({"WorkingDir": "/srv/../app//x/"})["process"]["cwd"] == "/app/x"
    image = ImageConfig.from_oci({"WorkingDir": "/img", "Cmd": ["sh"], "User": "estiba"})
    spec = build({"Cmd": None}, image=image)
    assert (spec["process"]["cwd"], spec["process"]["args"], spec["process"]["user"]["uid"]) == (
        "/img",
        ["sh"],
        1000,
    )


def test_paths_annotations_and_cgroup_parent(build) -> None:
    spec = build(
        {
            "HostConfig": {
                "MaskedPaths": [],
                "ReadonlyPaths": ["/proc/sys"],
                "Annotations": {"b": "2", "a": "1"},
                "CgroupParent": "/tenants/x",
            }
        }
    )
    assert "maskedPaths" not in spec["linux"] and spec["linux"]["readonlyPaths"] == ["/proc/sys"]
    assert list(spec["annotations"].items()) == [("a", "1"), ("b", "2")]
    assert spec["linux"]["cgroupsPath"] == f"/tenants/x/{CID}"


def test_custom_seccomp_profile(build) -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_PTRACE"]}},
        ],
    }
    spec = build({"HostConfig": {"SecurityOpt": ["seccomp=" + json.dumps(profile)]}})
    assert spec["linux"]["seccomp"] == {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}],
    }


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ({"NanoCpus": 3 * 10**9}, "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
        ({"CpusetCpus": "1-2"}, "Requested CPUs are not available - requested 1-2, available: 0-1"),
        (
            {"CpusetMems": "0-99999999999"},
            "Requested memory nodes are not available - requested 0-99999999999, available: 0",
        ),
    ],
)
def test_machine_limits(build, host: dict, message: str) -> None:
    with pytest.raises(InvalidArgument) as failure:
        build({"HostConfig": host})
    assert str(failure.value) == message


def test_etc_files_are_named(build) -> None:
    with pytest.raises(InvalidArgument, match="etc_files: unknown file 'passwd'"):
        build({}, etc_files={"passwd": "/x"})
    assert [m["destination"] for m in build({}, etc_files={})["mounts"]][-1] == "/dev/shm"


def test_user_errors_come_through(build) -> None:
    with pytest.raises(
        InvalidArgument, match="^unable to find user nobody: no matching entries in passwd file$"
    ):
        build({"User": "nobody"})


def test_machine_and_device_tree_of_this_host() -> None:
    machine = Machine.detect()
    assert machine.cpu_count == len(machine.cpus) >= 1 and 0 in machine.mems
    assert machine.last_cap is None or machine.last_cap >= 36
    null = machine.devices.lstat("/dev/null")
    assert (null.kind, null.major, null.minor) == ("c", 1, 3)
    assert machine.devices.lstat("/dev").kind == "d" and "null" in machine.devices.listdir("/dev")
