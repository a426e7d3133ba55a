"""Snapshots of stopped containers freeze their writable layer in place (issue 5): the
files come back exactly on restore (the exported tree's checksums), copies from a
snapshot and from a stopped container get the right files, removing a snapshot breaks
neither the container nor later snapshots, diff and commit see the frozen files, a
restarted daemon keeps all of it, and removing the containers leaves no layer, row or
mount behind."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"), pytest.mark.timeout(240)]

# Appends a line at every start, so each start changes the tree.
SCRIPT = "mkdir -p /app; date +%s%N >> /app/starts; [ -e /app/big ] || head -c 3000000 /dev/urandom > /app/big"
OLD_SCHEMA = """CREATE TABLE snapshots (container TEXT NOT NULL, name TEXT NOT NULL, created TEXT NOT NULL,
    image_id TEXT NOT NULL, config TEXT NOT NULL, host_config TEXT NOT NULL, labels TEXT NOT NULL,
    volumes TEXT NOT NULL DEFAULT '[]', size INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (container, name))"""


@pytest.fixture(scope="module")
def busybox(daemon: Estibad) -> Iterator[Estibad]:
    daemon.estiba("image", "bootstrap", "busybox")
    daemon.docker("create", "--name", "unpack", "busybox")  # the image's layer, once
    daemon.docker("rm", "unpack")
    yield daemon


def tree(daemon: Estibad, name: str) -> dict[str, tuple[object, ...]]:
    """The container's whole tree as `docker export` gives it: mode, owner, content."""
    raw = daemon.docker("export", name, timeout=120).stdout
    found: dict[str, tuple[object, ...]] = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        for member in archive:
            data = archive.extractfile(member).read() if member.isfile() else b""
            found[member.name] = (member.type, member.mode, member.uid, member.gid, member.linkname,
                                  hashlib.sha256(data).hexdigest())  # fmt: skip
    return found


def layers_on_disk(daemon: Estibad) -> set[str]:
    return set(os.listdir(daemon.data_root / "snapshots" / "snapshots"))


def catalog_rows(daemon: Estibad) -> int:
    path = daemon.data_root / "container-snapshots" / "catalog.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]


def mounts_under(daemon: Estibad) -> list[str]:
    with open("/proc/self/mountinfo") as info:
        return sorted(line for line in info if str(daemon.directory) in line)


def test_stopped_snapshots_restore_copy_remove_and_survive_a_restart(busybox: Estibad) -> None:
    layers, rows, mounts = layers_on_disk(busybox), catalog_rows(busybox), mounts_under(busybox)
    try:
        busybox.docker("run", "--name", "frz", "-e", "MODE=one", "busybox", "sh", "-c", SCRIPT)
        busybox.docker("exec", "frz", "true", check=False)  # stopped: refused, nothing else
        first = tree(busybox, "frz")
        busybox.estiba("snapshot", "create", "frz", "s1")
        assert tree(busybox, "frz") == first  # frozen in place: the same files

        busybox.docker("start", "-a", "frz")
        busybox.docker("cp", "-", "frz:/app", input=_tar("note", b"after s1\n"))
        second = tree(busybox, "frz")
        assert second != first and second["app/note"][-1] == hashlib.sha256(b"after s1\n").hexdigest()
        busybox.estiba("snapshot", "create", "frz", "s2")
        busybox.docker("start", "-a", "frz")
        busybox.docker("container", "update", "--cpu-shares", "512", "frz")
        third = tree(busybox, "frz")
        assert third not in (first, second)

        busybox.estiba("snapshot", "restore", "frz", "s1")
        assert tree(busybox, "frz") == first
        busybox.estiba("container", "copy", "frz/s2", "frz-s2")
        assert tree(busybox, "frz-s2") == second
        # A copy of the stopped container now: frozen too, and each goes its own way.
        busybox.estiba("container", "copy", "frz", "frz-now")
        busybox.docker("start", "-a", "frz-now")
        assert tree(busybox, "frz") == first and tree(busybox, "frz-now") != first

        # diff and commit see the files in frozen layers, not only the upper directory.
        diff = busybox.docker("diff", "frz").stdout.decode().splitlines()
        assert "A /app/big" in diff and "A /app/starts" in diff
        busybox.docker("commit", "frz", "frz-image:1")
        committed = busybox.docker("run", "--rm", "frz-image:1", "wc", "-c", "/app/big").stdout
        assert committed.split()[0] == b"3000000"

        # Removing the snapshot the container stands on breaks neither it nor s2.
        busybox.estiba("snapshot", "rm", "frz", "s1")
        assert tree(busybox, "frz") == first
        busybox.docker("start", "-a", "frz")
        busybox.estiba("snapshot", "restore", "frz", "s2")
        assert tree(busybox, "frz") == second
        assert b"MODE=one" in busybox.docker("inspect", "-f", "{{.Config.Env}}", "frz").stdout

        busybox.terminate()
        busybox.start()
        assert busybox.estiba("snapshot", "ls", "-q", "frz").stdout == b"s2\n"
        assert tree(busybox, "frz") == second and tree(busybox, "frz-s2") == second
        busybox.docker("start", "-a", "frz")
        busybox.estiba("snapshot", "restore", "frz", "s2")
        assert tree(busybox, "frz") == second
    finally:
        busybox.docker("rm", "-f", "frz", "frz-s2", "frz-now", check=False)
        busybox.docker("rmi", "frz-image:1", check=False)
    assert layers_on_disk(busybox) == layers
    assert catalog_rows(busybox) == rows
    assert mounts_under(busybox) == mounts


def test_a_snapshot_of_a_running_container_is_its_tree_at_that_moment(busybox: Estibad) -> None:
    layers = layers_on_disk(busybox)
    loop = "trap 'exit 0' TERM; echo one > /f; while true; do sleep 0.1; done"
    busybox.docker("run", "-d", "--name", "frz-run", "busybox", "sh", "-c", loop)
    try:
        busybox.estiba("snapshot", "create", "frz-run", "live")
        busybox.docker("exec", "frz-run", "sh", "-c", "echo two > /f")  # in place, in the upper
        busybox.estiba("container", "copy", "frz-run/live", "frz-live")
        assert b"one" in busybox.docker("export", "frz-live").stdout
        busybox.docker("stop", "frz-run")
        busybox.estiba("snapshot", "restore", "frz-run", "live")
        busybox.docker("start", "frz-run")
        assert busybox.docker("exec", "frz-run", "cat", "/f").stdout == b"one\n"
    finally:
        busybox.docker("rm", "-f", "frz-run", "frz-live", check=False)
    assert layers_on_disk(busybox) == layers


def _upper(daemon: Estibad, container_id: str) -> Path:
    root = daemon.data_root / "snapshots"
    with sqlite3.connect(f"file:{root / 'metadata.db'}?mode=ro", uri=True) as db:
        (snapshot_id,) = db.execute("SELECT id FROM snapshots WHERE name = ?", (container_id,)).fetchone()
    return root / "snapshots" / str(snapshot_id) / "fs"


def _tar(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o644
        archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_snapshots_from_before_frozen_layers_still_restore_and_copy(make_daemon: Callable[[], Estibad]) -> None:
    """A catalog row without a layer and its copied `fs` directory, as the old daemon left
    them, over a container that now stands on a frozen layer too."""
    busybox = make_daemon()  # its own: a daemon that made no snapshot yet
    busybox.start()
    busybox.estiba("image", "bootstrap", "busybox")
    busybox.docker("run", "--name", "frz-old", "busybox", "sh", "-c", "echo old > /state; rm /bin/vi")
    try:
        container_id = busybox.docker("inspect", "-f", "{{.Id}}", "frz-old").stdout.decode().strip()
        old = tree(busybox, "frz-old")
        inspected = json.loads(busybox.docker("inspect", "frz-old").stdout)[0]
        busybox.terminate()
        upper = _upper(busybox, container_id)
        catalog = busybox.data_root / "container-snapshots"
        assert not catalog.exists()  # this daemon made no snapshot yet
        (catalog / container_id / "legacy").mkdir(parents=True)
        subprocess.run(["cp", "-a", f"{upper}/.", str(catalog / container_id / "legacy" / "fs")], check=True)
        with sqlite3.connect(catalog / "catalog.db") as db:  # the old schema: no layer
            db.execute(OLD_SCHEMA)
            db.execute("INSERT INTO snapshots (container, name, created, image_id, config, host_config, labels)"
                       " VALUES (?, 'legacy', '2025-01-01T00:00:00Z', ?, ?, ?, '{}')",
                       (container_id, inspected["Image"], json.dumps(inspected["Config"]),
                        json.dumps(inspected["HostConfig"])))  # fmt: skip
        busybox.start()
        busybox.estiba("snapshot", "create", "frz-old", "frozen")  # now on a frozen layer
        busybox.docker("cp", "-", "frz-old:/", input=_tar("state", b"new\n"))
        assert tree(busybox, "frz-old") != old
        busybox.estiba("snapshot", "restore", "frz-old", "legacy")
        assert tree(busybox, "frz-old") == old
        busybox.estiba("container", "copy", "frz-old/legacy", "frz-old-copy")
        assert tree(busybox, "frz-old-copy") == old
    finally:
        busybox.docker("rm", "-f", "frz-old", "frz-old-copy", check=False)
    assert layers_on_disk(busybox) == {"1"}  # the image's layer alone
    assert catalog_rows(busybox) == 0
