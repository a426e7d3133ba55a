"""A spec from build_spec runs under estiba-runtime and under runc, and the container sees
what a `docker run` container sees: its user and groups, Docker's default capability set
(CapEff 00000000a80425fb), seccomp in filter mode, a 64 MiB /dev/shm, /proc/kcore and the
other masked files under /dev/null, its hostname and its environment. Needs root; skipped otherwise.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.engine.config import ContainerConfig, ImageConfig
from estiba.engine.ocispec import build_spec
from estiba.runtime.specgen import write_bundle
from tests.conftest import copy_tree

pytestmark = pytest.mark.timeout(120)

IMAGE = ImageConfig.from_oci(
    {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]}
)
# Docker's 14 default capabilities as a mask: what `docker run` shows in CapEff.
DOCKER_DEFAULT_CAPS = "00000000a80425fb"

PROBE = """
id
grep -E '^(CapEff|CapBnd|CapPrm|Seccomp|NoNewPrivs):' /proc/self/status
grep ' /dev/shm ' /proc/mounts
for p in /proc/kcore /proc/keys /proc/timer_list; do [ -e $p ] && stat -c 'masked %n %F %t:%T' $p; done
echo "hostname $(hostname)"
env | sort
"""


@pytest.fixture
def bundle_base() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="estiba-ocispec-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def docker_bundle(base: Path, rootfs: Path, body: dict) -> tuple[Path, str]:
    """A bundle for `body` (an API create body) the way the engine will write one."""
    container_id = uuid.uuid4().hex + uuid.uuid4().hex
    bundle = base / container_id[:12]
    bundle.mkdir()
    copy_tree(rootfs, bundle / "rootfs")
    etc = {
        "hostname": f"{container_id[:12]}\n",
        "hosts": "127.0.0.1\tlocalhost\n",
        "resolv.conf": "nameserver 127.0.0.1\n",
    }
    for name, text in etc.items():
        (bundle / name).write_text(text)
    config = ContainerConfig.from_api({"Image": "busybox", "Cmd": ["/bin/sh", "-c", PROBE], **body})
    spec = build_spec(
        IMAGE,
        config,
        config.host_config,
        rootfs=str(bundle / "rootfs"),
        container_id=container_id,
        hostname=container_id[:12],
        etc_files={name: str(bundle / name) for name in etc},
        init_path=None,
    )
    write_bundle(bundle, spec)
    return bundle, container_id


def probe(runtime, base: Path, rootfs: Path, body: dict) -> tuple[str, str]:
    bundle, container_id = docker_bundle(base, rootfs, body)
    result = runtime.run(bundle, f"ocispec-{container_id[:12]}", check=True)
    return result.stdout, container_id[:12]


@pytest.mark.parametrize("runtime_name", ["estiba", "runc"])
def test_default_container_looks_like_docker(request, runtime_name, busybox_rootfs, bundle_base) -> None:
    runtime = request.getfixturevalue("estiba_runtime" if runtime_name == "estiba" else "runc")
    body = {"Env": ["FOO=bar"], "HostConfig": {"NetworkMode": "none"}}
    out, short_id = probe(runtime, bundle_base, busybox_rootfs, body)
    lines = out.splitlines()

    assert lines[0] == "uid=0(root) gid=0(root) groups=0(root)"
    assert f"CapEff:\t{DOCKER_DEFAULT_CAPS}" in lines
    assert f"CapBnd:\t{DOCKER_DEFAULT_CAPS}" in lines
    assert "Seccomp:\t2" in lines
    assert "NoNewPrivs:\t0" in lines
    shm = next(line for line in lines if " /dev/shm " in line)
    assert "size=65536k" in shm and "nosuid" in shm and "noexec" in shm
    # /dev/null over each masked file (this VM's kernel has no /proc/kcore: no line then).
    masked = [line for line in lines if line.startswith("masked ")]
    assert masked and all(line.endswith(" character special file 1:3") for line in masked), masked
    assert f"hostname {short_id}" in lines
    assert f"HOSTNAME={short_id}" in lines
    assert "FOO=bar" in lines
    assert "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" in lines


@pytest.mark.parametrize("runtime_name", ["estiba", "runc"])
def test_user_caps_and_options_reach_the_container(
    request, runtime_name, busybox_rootfs, bundle_base
) -> None:
    runtime = request.getfixturevalue("estiba_runtime" if runtime_name == "estiba" else "runc")
    body = {
        "User": "estiba",
        "Hostname": "web",
        "Tty": False,
        "HostConfig": {
            "NetworkMode": "none",
            "GroupAdd": ["users"],
            "CapDrop": ["ALL"],
            "CapAdd": ["CHOWN"],
            "ShmSize": 8 << 20,
            "SecurityOpt": ["no-new-privileges"],
        },
    }
    out, _ = probe(runtime, bundle_base, busybox_rootfs, body)
    lines = out.splitlines()

    assert lines[0] == "uid=1000(estiba) gid=1000(estiba) groups=100(users),1000(estiba),2000(extra)"
    # Not root: nothing effective or permitted, as after execve; CHOWN alone bounds it.
    assert "CapEff:\t0000000000000000" in lines and "CapPrm:\t0000000000000000" in lines
    assert "CapBnd:\t0000000000000001" in lines
    assert "NoNewPrivs:\t1" in lines and "Seccomp:\t2" in lines
    assert "size=8192k" in next(line for line in lines if " /dev/shm " in line)
    assert "hostname web" in lines and "HOSTNAME=web" in lines
