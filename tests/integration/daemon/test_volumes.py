"""Volumes end to end with the docker CLI and ours: the volume commands, data that outlives
its container, -v/--mount/--volumes-from, copy-up, read-only mounts, rm -v, prune, df,
Estiba's clone/rename/export/import, and nothing left behind.

Needs root (mounts, namespaces); skipped otherwise.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.daemon.conftest import Estibad

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"), pytest.mark.timeout(180)]


@pytest.fixture(scope="module")
def busybox(daemon: Estibad) -> Iterator[Estibad]:
    daemon.estiba("image", "bootstrap", "busybox")
    yield daemon


def _names(daemon: Estibad) -> set[str]:
    return set(daemon.docker("volume", "ls", "-q").stdout.decode().split())


def _rows(daemon: Estibad, table: str) -> int:
    with sqlite3.connect(daemon.data_root / "volumes.db") as db:
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _mounted(path: Path) -> bool:
    with open("/proc/self/mountinfo") as mounts:
        return any(line.split()[4] == str(path) for line in mounts)


def test_volume_commands(busybox: Estibad) -> None:
    assert busybox.docker("volume", "create", "--label", "tier=db", "vol-a").stdout == b"vol-a\n"
    assert busybox.estiba("volume", "create", "vol-b").stdout == b"vol-b\n"
    document = json.loads(busybox.docker("volume", "inspect", "vol-a").stdout)[0]
    assert document["Driver"] == "local" and document["Labels"] == {"tier": "db"}
    assert document["Mountpoint"] == str(busybox.data_root / "volumes" / "vol-a" / "_data")
    assert Path(document["Mountpoint"]).is_dir()
    listed = busybox.estiba("volume", "ls").stdout.decode().splitlines()
    assert listed[0].split() == ["DRIVER", "VOLUME", "NAME"] and "local     vol-a" in listed
    assert busybox.docker("volume", "ls", "-q", "-f", "label=tier=db").stdout == b"vol-a\n"
    assert busybox.estiba("volume", "ls", "-q", "-f", "name=b").stdout == b"vol-b\n"
    missing = busybox.docker("volume", "inspect", "nope", check=False)
    assert missing.returncode != 0 and b"no such volume" in missing.stderr
    bad = busybox.docker("volume", "create", "-o", "colour=red", "vol-c", check=False)
    assert bad.returncode != 0 and b'invalid option: "colour"' in bad.stderr
    busybox.docker("volume", "rm", "vol-a")
    busybox.estiba("volume", "rm", "vol-b")
    assert not (busybox.data_root / "volumes" / "vol-a").exists()
    assert busybox.docker("volume", "rm", "-f", "vol-a").returncode == 0


def test_named_volume_outlives_its_container_and_is_busy_while_used(busybox: Estibad) -> None:
    busybox.docker("run", "--name", "v1", "-v", "keep:/data", "busybox", "sh", "-c", "echo kept > /data/f")
    busy = busybox.docker("volume", "rm", "keep", check=False)
    assert busy.returncode != 0 and b"volume is in use" in busy.stderr
    busybox.docker("rm", "-v", "v1")
    assert "keep" in _names(busybox)  # rm -v never removes a named volume
    again = busybox.docker("run", "--rm", "-v", "keep:/data:ro", "busybox", "sh", "-c",
                           "cat /data/f; echo x > /data/g 2>/dev/null || echo refused")
    assert again.stdout == b"kept\nrefused\n"
    busybox.docker("volume", "rm", "keep")


def test_anonymous_volumes_go_with_rm_v(busybox: Estibad) -> None:
    before = _names(busybox)
    busybox.docker("run", "--name", "v2", "-v", "/scratch", "busybox", "sh", "-c", "echo x > /scratch/f")
    (anonymous,) = _names(busybox) - before
    mounts = json.loads(busybox.docker("inspect", "v2").stdout)[0]["Mounts"]
    assert [(m["Type"], m["Name"], m["Destination"]) for m in mounts] == [("volume", anonymous, "/scratch")]
    busybox.docker("rm", "-v", "v2")
    assert _names(busybox) == before
    assert not (busybox.data_root / "volumes" / anonymous).exists()
    busybox.docker("run", "--rm", "-v", "/scratch", "busybox", "true")  # --rm takes it too
    assert _names(busybox) == before


def test_host_bind_keeps_the_file_after_the_container(busybox: Estibad, tmp_path: Path) -> None:
    # The seed's example: run --rm -v ~/dserver03_datos:/var/datos; the file stays on the host.
    datos = tmp_path / "dserver03_datos"
    for cli in (busybox.docker, busybox.estiba):
        cli("run", "--rm", "-v", f"{datos}:/var/datos", "busybox", "sh", "-c", f"echo {cli.__name__} > /var/datos/f")
        assert (datos / "f").read_text() == f"{cli.__name__}\n"
    ro = busybox.docker("run", "--rm", "-v", f"{datos}:/var/datos:ro", "busybox", "sh", "-c",
                        "touch /var/datos/g 2>/dev/null || echo refused")
    assert ro.stdout == b"refused\n" and not (datos / "g").exists()


def test_copy_up_fills_a_new_volume_unless_nocopy(busybox: Estibad) -> None:
    shown = busybox.docker("run", "--rm", "-v", "etc-copy:/etc", "busybox", "cat", "/etc/passwd").stdout
    assert b"root:" in shown
    assert (busybox.data_root / "volumes" / "etc-copy" / "_data" / "passwd").exists()
    empty = busybox.docker("run", "--rm", "--mount", "type=volume,src=etc-none,dst=/etc,volume-nocopy",
                           "busybox", "ls", "/etc", check=False).stdout
    assert b"passwd" not in empty
    busybox.docker("volume", "rm", "etc-copy", "etc-none")


def test_mount_flag_volumes_from_and_tmpfs(busybox: Estibad, tmp_path: Path) -> None:
    (tmp_path / "in").write_text("bound\n")
    busybox.estiba("run", "-d", "--name", "v3", "--mount", "type=volume,src=shared,dst=/shared",
                   "--mount", f"type=bind,src={tmp_path},dst=/host,readonly",
                   "--mount", "type=tmpfs,dst=/fast,tmpfs-size=1m", "busybox", "sh", "-c",
                   "echo one > /shared/f; exec sleep 1000")
    try:
        result = busybox.docker("run", "--rm", "--volumes-from", "v3:ro", "busybox", "sh", "-c",
                                "sleep 0.3; cat /shared/f /host/in; touch /shared/x 2>/dev/null || echo ro")
        assert result.stdout == b"one\nbound\nro\n"
        fs = busybox.docker("exec", "v3", "sh", "-c", "grep ' /fast ' /proc/mounts").stdout
        assert b"tmpfs" in fs
        missing = busybox.docker("run", "--rm", "--mount", "type=bind,src=/no/such/dir,dst=/x", "busybox",
                                 "true", check=False)
        assert missing.returncode != 0 and b"bind source path does not exist" in missing.stderr
    finally:
        busybox.docker("rm", "-f", "v3")
        busybox.docker("volume", "rm", "shared")


def test_image_volumes_become_anonymous_volumes(busybox: Estibad) -> None:
    busybox.docker("run", "--name", "v4", "busybox", "sh", "-c", "mkdir /vol; echo seeded > /vol/f")
    busybox.docker("commit", "-c", "VOLUME /vol", "v4", "withvol:1")
    busybox.docker("rm", "v4")
    before = _names(busybox)
    shown = busybox.docker("run", "--name", "v5", "withvol:1", "cat", "/vol/f").stdout
    assert shown == b"seeded\n"  # copied up from the image
    assert len(_names(busybox) - before) == 1
    busybox.docker("rm", "-v", "v5")
    busybox.docker("rmi", "withvol:1")
    assert _names(busybox) == before


def test_device_volume_mounted_only_while_used(busybox: Estibad) -> None:
    busybox.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=2m", "ram")
    data = busybox.data_root / "volumes" / "ram" / "_data"
    assert not _mounted(data)
    busybox.docker("run", "-d", "--name", "v6", "-v", "ram:/ram", "busybox", "sh", "-c",
                   "echo x > /ram/f; exec sleep 1000")
    try:
        assert _mounted(data)
        assert b"tmpfs" in busybox.docker("exec", "v6", "sh", "-c", "grep ' /ram ' /proc/mounts").stdout
    finally:
        busybox.docker("rm", "-f", "v6")
    assert not _mounted(data)
    busybox.docker("volume", "rm", "ram")


def test_prune_and_system_df(busybox: Estibad) -> None:
    busybox.docker("volume", "create", "named-unused")
    busybox.docker("create", "--name", "v7", "-v", "/anon", "-v", "named-used:/used", "busybox", "true")
    busybox.docker("run", "--rm", "-v", "sized:/s", "busybox", "sh", "-c", "head -c 10000 /dev/zero > /s/f")
    try:
        df = json.loads(busybox.docker("system", "df", "-v", "--format", "{{json .}}").stdout)
        sizes = {v["Name"]: v for v in df["Volumes"]}
        assert sizes["sized"]["Size"] in ("10kB", "10.00kB")
        usage = busybox.estiba("system", "df").stdout.decode()
        assert "Local Volumes" in usage
        # Our CLI prunes the anonymous unused ones; -a every unused one.
        busybox.docker("create", "--name", "v8", "-v", "/gone", "busybox", "true")
        busybox.docker("rm", "v8")  # without -v: its anonymous volume stays, unused
        pruned = busybox.estiba("volume", "prune", "-f").stdout.decode()
        assert "named-unused" not in pruned and "Total reclaimed space" in pruned
        assert {"named-unused", "named-used", "sized"} <= _names(busybox)
        busybox.estiba("volume", "prune", "-a", "-f")
        assert "named-unused" not in _names(busybox) and "named-used" in _names(busybox)
        # docker CLI 28 speaks API 1.41 to us: dockerd then prunes every unused volume.
        busybox.docker("volume", "create", "old-client")
        busybox.docker("volume", "prune", "-f")
        assert "old-client" not in _names(busybox)
    finally:
        busybox.docker("rm", "-v", "v7")
        busybox.docker("volume", "rm", "named-used")


def test_clone_rename_export_import(busybox: Estibad, tmp_path: Path) -> None:
    busybox.docker("run", "--rm", "-v", "orig:/d", "busybox", "sh", "-c", "echo data > /d/f; ln -s / /d/root")
    busybox.estiba("volume", "clone", "orig", "twin")
    busybox.estiba("volume", "rename", "twin", "renamed")
    assert busybox.docker("run", "--rm", "-v", "renamed:/d", "busybox", "cat", "/d/f").stdout == b"data\n"
    archive = busybox.estiba("volume", "export", "renamed").stdout
    assert sorted(tarfile.open(fileobj=io.BytesIO(archive)).getnames()) == ["f", "root"]
    (tmp_path / "v.tar").write_bytes(archive)
    busybox.estiba("volume", "import", "imported", str(tmp_path / "v.tar"))
    assert busybox.docker("run", "--rm", "-v", "imported:/d", "busybox", "cat", "/d/f").stdout == b"data\n"
    # An archive that climbs out, or writes through the volume's own symlink to /.
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tar:
        for name in ("../../../evil", "root/tmp/evil2"):
            info = tarfile.TarInfo(name)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
    (tmp_path / "evil.tar").write_bytes(evil.getvalue())
    busybox.estiba("volume", "import", "imported", str(tmp_path / "evil.tar"), check=False)
    assert not (busybox.data_root / "evil").exists() and not Path("/tmp/evil2").exists()
    busy = busybox.estiba("volume", "rename", "orig", "orig", check=False)
    assert busy.returncode != 0
    for name in ("orig", "renamed", "imported"):
        busybox.docker("volume", "rm", name)


def test_cp_reaches_into_a_running_containers_volume(busybox: Estibad, tmp_path: Path) -> None:
    busybox.docker("run", "-d", "--name", "v9", "-v", "cpvol:/data", "-v", f"{tmp_path}:/ro:ro", "busybox",
                   "sleep", "1000")
    try:
        (tmp_path / "f").write_text("into the volume\n")
        busybox.docker("cp", str(tmp_path / "f"), "v9:/data/")
        assert busybox.docker("exec", "v9", "cat", "/data/f").stdout == b"into the volume\n"
        assert (busybox.data_root / "volumes" / "cpvol" / "_data" / "f").exists()
        busybox.docker("cp", "v9:/data/f", str(tmp_path / "back"))
        assert (tmp_path / "back").read_text() == "into the volume\n"
        refused = busybox.docker("cp", str(tmp_path / "f"), "v9:/ro/", check=False)
        assert refused.returncode != 0 and b"read-only" in refused.stderr
    finally:
        busybox.docker("rm", "-f", "v9")
        busybox.docker("volume", "rm", "cpvol")


def test_nothing_left_behind(busybox: Estibad) -> None:
    for name in list(_names(busybox)):
        busybox.docker("volume", "rm", "-f", name, check=False)
    assert _names(busybox) == set()
    assert _rows(busybox, "volumes") == 0 and _rows(busybox, "container_mounts") == 0
    assert sorted(os.listdir(busybox.data_root / "volumes")) == []
    with open("/proc/self/mountinfo") as mounts:
        assert str(busybox.data_root / "volumes") not in mounts.read()
