"""apply_layer: formats, diff_id, file types and attributes, whiteouts, and every escape."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from estiba.errors import InvalidArgument
from estiba.snapshots import apply_layer
from estiba.snapshots.lowers import OPAQUE_XATTR, is_whiteout
from tests.unit.snapshots.layers import (
    MTIME,
    OneWay,
    chardev,
    compress,
    digest,
    directory,
    fifo,
    file,
    hardlink,
    layer,
    opaque,
    symlink,
    whiteout,
)

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    path = tmp_path / "dest"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to dest that no layer may touch."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret").write_text("keep")
    return path


def apply(data: bytes, dest: Path, **kw) -> str:
    return apply_layer(OneWay(data), dest, **kw)


BASIC = layer(
    directory("etc", mode=0o750),
    file("etc/hostname", b"estiba\n", mode=0o640),
    directory("usr"),
    directory("usr/bin"),
    file("usr/bin/tool", b"#!/bin/sh\n", mode=0o755),
    hardlink("usr/bin/tool2", "usr/bin/tool"),
    symlink("bin", "usr/bin"),
    fifo("run.fifo", mode=0o620),
)


@pytest.mark.parametrize("kind", ["none", "gzip", "zstd", "bzip2", "xz"])
def test_every_compression_unpacks_and_reports_the_uncompressed_digest(dest: Path, kind: str) -> None:
    assert apply(compress(BASIC, kind), dest) == digest(BASIC)
    assert (dest / "etc/hostname").read_bytes() == b"estiba\n"


def test_diff_id_covers_the_padding_after_the_end_of_archive(dest: Path) -> None:
    padded = BASIC + b"\0" * 4096
    assert apply(padded, dest) == digest(padded)


def test_files_modes_times_links_and_fifos(dest: Path) -> None:
    apply(BASIC, dest)
    assert stat.S_IMODE(os.stat(dest / "etc").st_mode) == 0o750
    assert stat.S_IMODE(os.stat(dest / "etc/hostname").st_mode) == 0o640
    assert os.stat(dest / "etc").st_mtime == MTIME  # set after its children were written
    assert os.stat(dest / "usr/bin/tool").st_mtime == MTIME
    tool, tool2 = os.stat(dest / "usr/bin/tool"), os.stat(dest / "usr/bin/tool2")
    assert (tool.st_ino, tool.st_nlink) == (tool2.st_ino, 2)
    assert os.readlink(dest / "bin") == "usr/bin"
    assert stat.S_ISFIFO(os.lstat(dest / "run.fifo").st_mode)
    assert stat.S_IMODE(os.lstat(dest / "run.fifo").st_mode) == 0o620


def test_entries_through_a_symlinked_parent_land_at_its_target(dest: Path) -> None:
    apply(layer(directory("usr"), directory("usr/lib"), symlink("lib", "usr/lib"), file("lib/libc.so", b"c")), dest)
    assert (dest / "usr/lib/libc.so").read_bytes() == b"c"
    assert os.path.islink(dest / "lib")


def test_absolute_symlink_in_a_parent_resolves_inside_the_root(dest: Path, outside: Path) -> None:
    apply(layer(symlink("escape", str(outside)), file("escape/secret", b"pwned")), dest)
    assert (outside / "secret").read_text() == "keep"
    assert (dest / outside.relative_to("/") / "secret").read_bytes() == b"pwned"


def test_a_later_entry_replaces_a_symlink_instead_of_writing_through_it(dest: Path, outside: Path) -> None:
    apply(layer(symlink("f", str(outside / "secret")), file("f", b"new")), dest)
    assert (outside / "secret").read_text() == "keep"
    assert not os.path.islink(dest / "f") and (dest / "f").read_bytes() == b"new"


def test_a_file_replaces_a_directory_and_a_directory_keeps_its_entries(dest: Path) -> None:
    apply(layer(directory("a"), file("a/x"), file("a", b"now a file"), directory("b"), file("b/y"), directory("b", mode=0o700)), dest)
    assert (dest / "a").read_bytes() == b"now a file"
    assert (dest / "b/y").exists() and stat.S_IMODE(os.stat(dest / "b").st_mode) == 0o700


def test_missing_parent_directories_are_created(dest: Path) -> None:
    apply(layer(file("deep/er/file", b"x")), dest)
    assert (dest / "deep/er/file").read_bytes() == b"x"
    assert stat.S_IMODE(os.stat(dest / "deep").st_mode) == 0o755


def test_user_xattrs_are_kept_and_overlay_xattrs_are_ignored(dest: Path) -> None:
    xattrs = {"user.note": b"\xffbinary\x00", "trusted.overlay.opaque": b"y"}
    apply(layer(directory("d", xattrs=xattrs)), dest)
    assert os.getxattr(dest / "d", "user.note") == b"\xffbinary\x00"
    assert "trusted.overlay.opaque" not in os.listxattr(dest / "d")


def test_whiteout_becomes_an_overlay_whiteout_device(dest: Path) -> None:
    apply(layer(directory("etc"), whiteout("etc/motd")), dest)
    assert is_whiteout(os.lstat(dest / "etc/motd"))
    assert not (dest / "etc/.wh.motd").exists()


def test_aufs_metadata_entries_are_skipped(dest: Path) -> None:
    apply(layer(directory(".wh..wh.plnk"), file(".wh..wh.plnk/123.4")), dest)
    assert list(dest.iterdir()) == []


def test_flatten_mode_deletes_what_whiteouts_name(dest: Path) -> None:
    apply(layer(directory("etc"), file("etc/motd"), file("etc/keep"), directory("var"), file("var/log")), dest, flatten=True)
    apply(layer(whiteout("etc/motd"), opaque("var"), file("var/new")), dest, flatten=True)
    assert sorted(os.listdir(dest / "etc")) == ["keep"]
    assert sorted(os.listdir(dest / "var")) == ["new"]


def test_flatten_whiteouts_spare_entries_of_the_same_layer(dest: Path) -> None:
    apply(layer(directory("d"), file("d/old")), dest, flatten=True)
    apply(layer(directory("d"), file("d/mine"), opaque("d"), file("x"), whiteout("x")), dest, flatten=True)
    assert sorted(os.listdir(dest / "d")) == ["mine"]
    assert (dest / "x").exists()


def test_lower_layers_supply_missing_parents_and_symlinks(tmp_path: Path, dest: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    apply(layer(directory("usr", mode=0o711), directory("usr/lib", mode=0o705), symlink("lib", "usr/lib")), lower)
    apply(layer(file("lib/new.so", b"so")), dest, lowers=[lower])
    assert (dest / "usr/lib/new.so").read_bytes() == b"so"
    assert stat.S_IMODE(os.stat(dest / "usr").st_mode) == 0o711
    assert stat.S_IMODE(os.stat(dest / "usr/lib").st_mode) == 0o705
    assert os.stat(dest / "usr").st_mtime == MTIME
    assert not (dest / "lib").exists()  # the symlink stays in the lower layer


# --- escapes: each must fail with InvalidArgument naming the entry, touching nothing ---


ESCAPES = {
    "absolute name": lambda out: [file(f"{out}/secret", b"pwned")],
    "dot-dot name": lambda out: [file("../outside/secret", b"pwned")],
    "dot-dot inside name": lambda out: [directory("a"), file("a/../../outside/secret", b"pwned")],
    "symlinked parent climbing out": lambda out: [symlink("up", "../outside"), file("up/secret", b"pwned")],
    "symlink chain climbing out": lambda out: [
        directory("a"), symlink("a/b", ".."), symlink("c", "a/b/.."), file("c/outside/secret", b"pwned")],
    "hardlink to absolute path": lambda out: [hardlink("steal", f"{out}/secret")],
    "hardlink with dot-dot": lambda out: [hardlink("steal", "../outside/secret")],
    "hardlink through symlink out": lambda out: [symlink("up", "../outside"), hardlink("steal", "up/secret")],
    "whiteout through symlink out": lambda out: [symlink("up", "../outside"), whiteout("up/secret")],
    "opaque through symlink out": lambda out: [symlink("up", "../outside"), opaque("up")],
    "symlink loop": lambda out: [symlink("loop", "loop"), file("loop/x")],
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_escapes_are_refused(dest: Path, outside: Path, name: str) -> None:
    entries = ESCAPES[name](outside)
    with pytest.raises(InvalidArgument) as raised:
        apply(layer(*entries), dest)
    assert entries[-1].name in str(raised.value)
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_text() == "keep"
    assert os.stat(outside / "secret").st_nlink == 1


def test_hardlink_to_a_missing_target_is_refused(dest: Path) -> None:
    with pytest.raises(InvalidArgument, match="not in this layer"):
        apply(layer(hardlink("a", "nowhere")), dest)


def test_a_parent_that_is_a_file_is_refused(dest: Path) -> None:
    with pytest.raises(InvalidArgument, match="not a directory"):
        apply(layer(file("f"), file("f/x")), dest)


@pytest.mark.parametrize("data", [b"", b"not a tar at all" * 100, b"\x1f\x8b\x08\x00garbage"])
def test_broken_input_is_an_invalid_argument(dest: Path, data: bytes) -> None:
    with pytest.raises(InvalidArgument):
        apply(data, dest)


def test_truncated_gzip_is_an_invalid_argument(dest: Path) -> None:
    data = compress(layer(file("big", os.urandom(200_000))), "gzip")
    with pytest.raises(InvalidArgument):
        apply(data[: len(data) // 2], dest)


# --- root: owners, set-id bits, devices, opaque directories ---------------------------


@root_only
def test_owners_and_setuid_bits(dest: Path) -> None:
    apply(layer(file("su", b"x", mode=0o4755, uid=1000, gid=2000), symlink("l", "su", uid=7, gid=8)), dest)
    st = os.stat(dest / "su")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1000, 2000, 0o4755)
    assert (os.lstat(dest / "l").st_uid, os.lstat(dest / "l").st_gid) == (7, 8)


@root_only
def test_device_nodes(dest: Path) -> None:
    apply(layer(directory("dev"), chardev("dev/null", 1, 3)), dest)
    st = os.lstat(dest / "dev/null")
    assert stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    assert stat.S_IMODE(st.st_mode) == 0o666


@root_only
def test_opaque_marker_sets_the_overlay_xattr(tmp_path: Path, dest: Path) -> None:
    lower = tmp_path / "lower"
    lower.mkdir()
    apply(layer(directory("var", mode=0o751), file("var/old")), lower)
    apply(layer(opaque("var"), file("var/new")), dest, lowers=[lower])
    assert os.getxattr(dest / "var", OPAQUE_XATTR) == b"y"
    assert stat.S_IMODE(os.stat(dest / "var").st_mode) == 0o751
    assert sorted(os.listdir(dest / "var")) == ["new"]
