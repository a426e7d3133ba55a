"""Bad bundles: each `create` fails with one clear line and a non-zero exit, and leaves nothing.

"Nothing" is checked from the host, before and after, for what a half-made container
could leave: its directory under the runtime's --root, cgroup directories named after it
in every hierarchy, mounts of its bundle or state in the host's mountinfo, and live
processes that belong to it. The same bundle goes through estiba-runtime and runc.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

CGROUP_ROOT = "/sys/fs/cgroup"


def container_id(prefix: str) -> str:
    """A unique id, so that cgroup and process checks cannot see another test's container."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def cgroup_dirs(cid: str) -> list[str]:
    """Cgroup directories named after the container in every hierarchy: runc's default is
    /<id>, estiba-runtime's /estiba/<id>."""
    found: list[str] = []
    for pattern in (f"{CGROUP_ROOT}/*/{cid}", f"{CGROUP_ROOT}/*/*/{cid}", f"{CGROUP_ROOT}/{cid}"):
        found += glob.glob(pattern)
    return sorted(found)


def mounts_mentioning(*needles: str) -> list[str]:
    with open("/proc/self/mountinfo") as handle:
        return [line for line in handle if any(needle in line for needle in needles)]


def live_processes_of(cid: str) -> list[str]:
    """Processes (zombies aside) whose command line or cgroup names the container.

    Zombies are left out: a runtime cannot reap a container process that was reparented
    to the host's init (this sandbox's init reaps them about once a second), and a
    zombie holds no resources but its pid.
    """
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
            if stat[stat.rindex(b")") + 2 :].split()[0] in (b"Z", b"X"):
                continue
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmdline = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open(f"/proc/{name}/cgroup") as handle:
                cgroup = handle.read()
        except (OSError, ValueError):
            continue
        if cid in cmdline or f"/{cid}\n" in cgroup:
            found.append(f"{name}: {cmdline.strip()}")
    return found


class Leftovers:
    """A snapshot of what a container `cid` of `runtime` (with `bundle`) has on the host."""

    def __init__(self, runtime, cid: str, bundle: Path) -> None:
        self.runtime, self.cid, self.bundle = runtime, cid, bundle

    def snapshot(self) -> dict[str, list[str]]:
        return {
            "state": sorted(os.listdir(self.runtime.root)),
            "cgroups": cgroup_dirs(self.cid),
            "mounts": mounts_mentioning(str(self.bundle), str(self.runtime.root), self.cid),
            "processes": live_processes_of(self.cid),
        }

    def assert_same_as(self, before: dict[str, list[str]], timeout: float = 5.0) -> None:
        """Equal to `before`, allowing a killed process a moment to finish dying."""
        deadline = time.monotonic() + timeout
        after = self.snapshot()
        while after != before and time.monotonic() < deadline:
            time.sleep(0.1)
            after = self.snapshot()
        assert after == before


# Each case: what to break in a fresh bundle, and words estiba-runtime's line must contain.
def _no_rootfs(bundle: Path) -> None:
    shutil.rmtree(bundle / "rootfs")


def _invalid_json(bundle: Path) -> None:
    (bundle / "config.json").write_text('{"ociVersion": "1.0.2", "process": {')


def _edit_config(bundle: Path, edit) -> None:
    path = bundle / "config.json"
    spec = json.loads(path.read_text())
    edit(spec)
    path.write_text(json.dumps(spec))


def _unknown_namespace(bundle: Path) -> None:
    _edit_config(bundle, lambda spec: spec["linux"]["namespaces"].append({"type": "foo"}))


def _missing_bind_source(bundle: Path) -> None:
    mount = {"destination": "/data", "type": "bind", "source": "/nonexistent-estiba/src",
             "options": ["rbind"]}
    _edit_config(bundle, lambda spec: spec["mounts"].append(mount))


def _destination_under_a_file(bundle: Path) -> None:
    mount = {"destination": "/etc/passwd/sub", "type": "tmpfs", "source": "tmpfs"}
    _edit_config(bundle, lambda spec: spec["mounts"].append(mount))


def _missing_binary(bundle: Path) -> None:
    _edit_config(bundle, lambda spec: spec["process"].update(args=["/bin/no-such-binary"]))


def _missing_binary_in_path(bundle: Path) -> None:
    _edit_config(bundle, lambda spec: spec["process"].update(args=["no-such-binary"]))


BAD_BUNDLES = {
    "no-rootfs": (_no_rootfs, ["rootfs", "does not exist"]),
    "invalid-json": (_invalid_json, ["config.json", "invalid JSON"]),
    "unknown-namespace": (_unknown_namespace, ["linux.namespaces", '"foo"']),
    "missing-bind-source": (_missing_bind_source, ["/nonexistent-estiba/src", "/data"]),
    "destination-under-a-file": (_destination_under_a_file, ["/etc/passwd/sub", "Not a directory"]),
    "missing-binary": (_missing_binary, ["/bin/no-such-binary", "no such file"]),
    "missing-binary-in-path": (_missing_binary_in_path, ["no-such-binary", "not found in $PATH"]),
}


@pytest.mark.parametrize("case", list(BAD_BUNDLES))
def test_bad_bundle_fails_in_one_line_and_leaves_nothing(any_runtime, make_bundle, case) -> None:
    breaks, words = BAD_BUNDLES[case]
    bundle = make_bundle(args=["/bin/echo", "never"])
    breaks(bundle)
    cid = container_id("bad")
    leftovers = Leftovers(any_runtime, cid, bundle)
    before = leftovers.snapshot()

    result = any_runtime.create(bundle, cid)

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    if any_runtime.name == "estiba":
        assert lines[0].startswith("estiba-runtime: ")
        for word in words:
            assert word in lines[0]
    leftovers.assert_same_as(before)
    assert any_runtime.cmd("state", cid).returncode != 0
    assert any_runtime.output(cid) == ""  # the program never ran


def test_bad_bundle_through_run_leaves_nothing(any_runtime, make_bundle) -> None:
    bundle = make_bundle(args=["/bin/echo", "never"])
    _missing_binary(bundle)  # fails last of all: after cgroups, mounts and hooks
    cid = container_id("badrun")
    leftovers = Leftovers(any_runtime, cid, bundle)
    before = leftovers.snapshot()

    result = any_runtime.run(bundle, cid)

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stdout == ""
    leftovers.assert_same_as(before)


def test_failed_create_frees_the_id(any_runtime, make_bundle) -> None:
    broken = make_bundle(args=["/bin/no-such-binary"])
    good = make_bundle(args=["/bin/echo", "second try"])
    cid = container_id("retry")

    assert any_runtime.create(broken, cid).returncode == 1
    result = any_runtime.run(good, cid)

    assert (result.returncode, result.stdout) == (0, "second try\n")


def test_missing_bundle_directory(any_runtime, tmp_path) -> None:
    cid = container_id("nobundle")

    result = any_runtime.create(tmp_path / "not-there", cid)

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert os.listdir(any_runtime.root) == []
    assert cgroup_dirs(cid) == []
