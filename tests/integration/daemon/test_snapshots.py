"""LXD-style snapshots and copies with the estiba CLI: snapshot, change, restore (the tree's
checksums come back), copies from the present and from a snapshot, and nothing left
behind when the container goes."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"), pytest.mark.timeout(180)]

LOOP = "trap 'exit 0' TERM; while true; do sleep 0.1; done"
CHECKSUMS = "find / -xdev -type f ! -path '/proc/*' | sort | xargs md5sum"


@pytest.fixture(scope="module")
def busybox(daemon: Estibad) -> Iterator[Estibad]:
    daemon.estiba("image", "bootstrap", "busybox")
    yield daemon


def _sums(daemon: Estibad, name: str) -> bytes:
    return daemon.docker("exec", name, "sh", "-c", CHECKSUMS).stdout


def _snapshotter_layers(daemon: Estibad) -> set[str]:
    """The snapshot directories on disk (image layers, containers' upper and frozen layers)."""
    return set(os.listdir(daemon.data_root / "snapshots" / "snapshots"))


def test_snapshot_change_restore(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "sn1", "-e", "MODE=first", "busybox", "sh", "-c", LOOP)
    try:
        busybox.docker("exec", "sn1", "sh", "-c", "mkdir /app; echo one > /app/a; echo two > /app/b; rm /bin/vi")
        before = _sums(busybox, "sn1")
        assert busybox.estiba("snapshot", "create", "sn1").stdout == b"snap0\n"
        assert busybox.estiba("snapshot", "create", "sn1", "second").stdout == b"second\n"
        listed = busybox.estiba("snapshot", "ls", "sn1").stdout.decode().splitlines()
        assert [line.split()[0] for line in listed] == ["NAME", "snap0", "second"]
        busybox.docker("exec", "sn1", "sh", "-c", "echo changed > /app/a; rm /app/b; echo new > /app/c; rm /bin/ls")
        assert _sums(busybox, "sn1") != before
        refused = busybox.estiba("snapshot", "restore", "sn1", "snap0", check=False)
        assert refused.returncode != 0 and b"running" in refused.stderr
        busybox.estiba("snapshot", "restore", "--force", "sn1", "snap0")
        assert busybox.docker("inspect", "-f", "{{.State.Running}}", "sn1").stdout == b"true\n"
        assert _sums(busybox, "sn1") == before
        # A stopped container: configuration goes back too.
        busybox.docker("stop", "sn1")
        busybox.estiba("snapshot", "restore", "sn1", "second")
        assert b"MODE=first" in busybox.docker("inspect", "-f", "{{.Config.Env}}", "sn1").stdout
        busybox.estiba("snapshot", "rm", "sn1", "second")
        assert busybox.estiba("snapshot", "ls", "-q", "sn1").stdout == b"snap0\n"
        missing = busybox.estiba("snapshot", "restore", "sn1", "second", check=False)
        assert missing.returncode != 0
    finally:
        busybox.docker("rm", "-f", "sn1", check=False)


def test_copies_from_now_and_from_a_snapshot(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "cp-src", "--label", "app=web", "busybox", "sh", "-c", LOOP)
    try:
        busybox.docker("exec", "cp-src", "sh", "-c", "echo then > /state")
        busybox.estiba("snapshot", "create", "cp-src", "s1")
        busybox.docker("exec", "cp-src", "sh", "-c", "echo now > /state")
        copied = busybox.estiba("container", "copy", "cp-src", "cp-now").stdout.decode().strip()
        busybox.estiba("container", "copy", "cp-src/s1", "cp-then")
        source = json.loads(busybox.docker("inspect", "cp-src").stdout)[0]
        copy = json.loads(busybox.docker("inspect", "cp-now").stdout)[0]
        assert copy["Id"] == copied != source["Id"]
        assert copy["State"]["Status"] == "created"
        assert copy["Config"]["Labels"] == {"app": "web"} and copy["Config"]["Cmd"] == source["Config"]["Cmd"]
        busybox.docker("start", "cp-now", "cp-then")
        assert busybox.docker("exec", "cp-now", "cat", "/state").stdout == b"now\n"
        assert busybox.docker("exec", "cp-then", "cat", "/state").stdout == b"then\n"
        assert busybox.docker("exec", "cp-now", "hostname").stdout.strip() == copied[:12].encode()
        # The copy's changes are its own: diff sees them, the source does not see its writes.
        busybox.docker("exec", "cp-then", "sh", "-c", "echo mine > /only-in-copy")
        assert b"A /state" in busybox.docker("diff", "cp-then").stdout
        assert busybox.docker("exec", "cp-src", "ls", "/only-in-copy", check=False).returncode != 0
        taken = busybox.estiba("container", "copy", "cp-src", "cp-now", check=False)
        assert taken.returncode != 0 and b"already in use" in taken.stderr
    finally:
        busybox.docker("rm", "-f", "cp-src", "cp-now", "cp-then", check=False)


def test_removing_a_container_removes_its_snapshots(busybox: Estibad) -> None:
    layers_before = _snapshotter_layers(busybox)
    busybox.docker("create", "--name", "sn-gone", "busybox", "true")
    container_id = busybox.docker("inspect", "-f", "{{.Id}}", "sn-gone").stdout.decode().strip()
    busybox.estiba("snapshot", "create", "sn-gone", "x")
    directory = busybox.data_root / "container-snapshots" / container_id
    # Its frozen layer and its new upper directory.
    assert directory.is_dir() and len(_snapshotter_layers(busybox)) == len(layers_before) + 2
    busybox.docker("rm", "sn-gone")
    deadline = time.monotonic() + 5
    while directory.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not directory.exists()
    assert _snapshotter_layers(busybox) == layers_before
    with open("/proc/self/mountinfo") as mounts:
        assert str(busybox.directory) + "/run/exports" not in mounts.read()


def test_include_volumes_on_snapshot_and_copy(busybox: Estibad) -> None:
    busybox.docker("run", "-d", "--name", "snv", "-v", "appdata:/data", "-v", "/anon", "busybox", "sh", "-c", LOOP)
    try:
        busybox.docker("exec", "snv", "sh", "-c", "echo v1 > /data/f; echo a1 > /anon/f")
        busybox.estiba("snapshot", "create", "--include-volumes", "snv", "withdata")
        listed = busybox.estiba("snapshot", "ls", "--format", "{{.Volumes}}", "snv").stdout.decode()
        assert "appdata" in listed
        busybox.docker("exec", "snv", "sh", "-c", "echo v2 > /data/f; echo a2 > /anon/f")
        busybox.estiba("snapshot", "restore", "--force", "snv", "withdata")
        assert busybox.docker("exec", "snv", "cat", "/data/f", "/anon/f").stdout == b"v1\na1\n"
        # A copy with its own clones of the volumes; without, named volumes are shared.
        busybox.estiba("container", "copy", "--include-volumes", "snv", "snv-own")
        busybox.estiba("container", "copy", "snv", "snv-shared")
        busybox.docker("start", "snv-own", "snv-shared")
        busybox.docker("exec", "snv-own", "sh", "-c", "echo own > /data/f")
        assert busybox.docker("exec", "snv", "cat", "/data/f").stdout == b"v1\n"
        assert busybox.docker("exec", "snv-own", "cat", "/anon/f").stdout == b"a1\n"
        busybox.docker("exec", "snv-shared", "sh", "-c", "echo shared > /data/f")
        assert busybox.docker("exec", "snv", "cat", "/data/f").stdout == b"shared\n"
        own = json.loads(busybox.docker("inspect", "snv-own").stdout)[0]
        assert "snv-own-appdata:/data" in own["HostConfig"]["Binds"]
    finally:
        busybox.docker("rm", "-f", "-v", "snv", "snv-own", "snv-shared", check=False)
        busybox.docker("volume", "rm", "appdata", "snv-own-appdata", check=False)
    left = busybox.docker("volume", "ls", "-q").stdout.decode().split()
    assert left == []
