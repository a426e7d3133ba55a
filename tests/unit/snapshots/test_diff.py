"""changes, layer_from_upper and export, on upper and lower directories built by hand
(an overlay upper directory is an ordinary directory with whiteouts in it)."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
from pathlib import Path

import pytest

from estiba.snapshots import Change, apply_layer, changes, export, layer_from_upper, mount_changes
from estiba.snapshots.base import Mount
from estiba.snapshots.lowers import OPAQUE_XATTR
from tests.unit.snapshots.layers import OneWay, directory, file, layer, tree

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def whiteout_device(path: Path) -> None:
    os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))  # allowed without CAP_MKNOD since Linux 5.8


def copy_up(lower: Path, upper: Path, rel: str) -> None:
    """What overlay does before a write: the directory chain, same metadata, in upper."""
    parts = rel.split("/")
    chain = ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]
    for sub in chain:
        (upper / sub).mkdir(exist_ok=True)
    for sub in reversed(chain):  # overlay restores the parents' times after a copy-up
        shutil.copystat(lower / sub, upper / sub)


def modify(lower: Path, upper: Path, rel: str, data: bytes) -> None:
    """Change a lower file as a container would: copy-up, write; the parents' times stay."""
    parent = rel.rpartition("/")[0]
    copy_up(lower, upper, parent)
    (upper / rel).write_bytes(data)
    copy_up(lower, upper, parent)


@pytest.fixture
def layers(tmp_path: Path) -> tuple[Path, Path]:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    lower.mkdir()
    upper.mkdir()
    apply_layer(OneWay(layer(
        directory("etc"), file("etc/passwd", b"root"), file("etc/motd", b"hi"),
        directory("usr"), directory("usr/bin"), file("usr/bin/sh", b"sh"),
        directory("a"), directory("a-b"),
    )), lower)
    return lower, upper


def test_added_changed_and_deleted_like_docker(layers: tuple[Path, Path]) -> None:
    lower, upper = layers
    copy_up(lower, upper, "etc")
    (upper / "etc/passwd").write_bytes(b"root\nnew")
    whiteout_device(upper / "etc/motd")
    (upper / "etc/new").write_bytes(b"n")
    modify(lower, upper, "usr/bin/sh", b"patched")  # its parents keep their metadata
    (upper / "tmp").mkdir()
    (upper / "tmp/a").touch()
    assert changes([lower], upper) == [
        Change("C", "/etc"),
        Change("D", "/etc/motd"),
        Change("A", "/etc/new"),
        Change("C", "/etc/passwd"),
        Change("A", "/tmp"),
        Change("A", "/tmp/a"),
        Change("C", "/usr/bin/sh"),
    ]


def test_order_is_depth_first_by_name(layers: tuple[Path, Path]) -> None:
    lower, upper = layers
    copy_up(lower, upper, "a")
    copy_up(lower, upper, "a-b")
    (upper / "a-b/y").touch()
    (upper / "a/x").touch()
    assert [c.path for c in changes([lower], upper)] == ["/a", "/a/x", "/a-b", "/a-b/y"]


def test_a_directory_whose_mode_changed_is_reported(layers: tuple[Path, Path]) -> None:
    lower, upper = layers
    copy_up(lower, upper, "usr")
    os.chmod(upper / "usr", 0o700)
    assert changes([lower], upper) == [Change("C", "/usr")]


def test_whiteouts_in_lower_layers_hide_entries(tmp_path: Path, layers: tuple[Path, Path]) -> None:
    lower, upper = layers
    middle = tmp_path / "middle"
    middle.mkdir()
    copy_up(lower, middle, "etc")
    whiteout_device(middle / "etc/motd")
    copy_up(lower, upper, "etc")
    (upper / "etc/motd").write_bytes(b"back")
    assert Change("A", "/etc/motd") in changes([middle, lower], upper)


def test_mount_changes_reads_an_overlay_mount(layers: tuple[Path, Path]) -> None:
    lower, upper = layers
    (upper / "new").touch()
    mount = Mount("overlay", "overlay", (f"lowerdir={lower}", f"upperdir={upper}", "workdir=/w"))
    assert mount_changes([mount]) == [Change("A", "/new")]
    assert mount_changes([Mount("bind", str(upper), ("ro", "rbind"))]) == []


@root_only
def test_opaque_directory_hides_every_lower_entry(layers: tuple[Path, Path]) -> None:
    lower, upper = layers
    (upper / "etc").mkdir()
    os.setxattr(upper / "etc", OPAQUE_XATTR, b"y")
    (upper / "etc/only").touch()
    assert changes([lower], upper) == [
        Change("C", "/etc"), Change("D", "/etc/motd"), Change("A", "/etc/only"), Change("D", "/etc/passwd")]


def read_tar(stream: io.BufferedReader) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=stream, mode="r|") as archive:
        return [m for m in archive]


def test_layer_from_upper_writes_whiteouts_links_and_xattrs(layers: tuple[Path, Path]) -> None:
    lower, upper = layers
    copy_up(lower, upper, "etc")
    whiteout_device(upper / "etc/motd")
    (upper / "etc/new").write_bytes(b"new")
    os.link(upper / "etc/new", upper / "etc/new2")
    os.symlink("new", upper / "etc/link")
    os.setxattr(upper / "etc/new", "user.tag", b"v")
    members = read_tar(layer_from_upper(upper))
    by_name = {m.name: m for m in members}
    assert [m.name for m in members] == ["etc", "etc/link", "etc/.wh.motd", "etc/new", "etc/new2"]
    assert by_name["etc/new2"].islnk() and by_name["etc/new2"].linkname == "etc/new"
    assert by_name["etc/link"].issym() and by_name["etc/link"].linkname == "new"
    assert by_name["etc/new"].pax_headers["SCHILY.xattr.user.tag"] == "v"
    assert by_name["etc/.wh.motd"].isreg() and by_name["etc/.wh.motd"].size == 0


def test_layer_from_upper_round_trips_through_apply(tmp_path: Path, layers: tuple[Path, Path]) -> None:
    lower, upper = layers
    copy_up(lower, upper, "etc")
    whiteout_device(upper / "etc/motd")
    (upper / "etc/passwd").write_bytes(os.urandom(3000))
    os.chmod(upper / "etc/passwd", 0o600)
    (upper / "srv/deep").mkdir(parents=True)
    os.symlink("/etc/passwd", upper / "srv/deep/pw")
    os.mkfifo(upper / "srv/fifo")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    apply_layer(layer_from_upper(upper), fresh, lowers=[lower])
    assert tree(fresh) == tree(upper)


def test_export_round_trips_a_whole_tree(tmp_path: Path, layers: tuple[Path, Path]) -> None:
    lower, _ = layers
    os.link(lower / "etc/passwd", lower / "etc/passwd-")
    copy = tmp_path / "copy"
    copy.mkdir()
    stream = export(lower)
    apply_layer(stream, copy, flatten=True)
    assert tree(copy) == tree(lower)
    assert os.stat(copy / "etc/passwd").st_ino == os.stat(copy / "etc/passwd-").st_ino


def test_export_streams_large_files_in_small_reads(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    data = os.urandom(3 * 1024 * 1024 + 17)
    (root / "big").write_bytes(data)
    stream = export(root)
    chunks = []
    while chunk := stream.read(65536):
        chunks.append(chunk)
    [member] = read_tar(io.BufferedReader(io.BytesIO(b"".join(chunks))))  # type: ignore[arg-type]
    assert member.size == len(data)
