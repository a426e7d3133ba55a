"""Layer tars: made deterministically from a directory, imported from any compression."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import socket
import stat
import tarfile
from pathlib import Path

import pytest

from estiba.content import MemoryContentStore
from estiba.errors import InvalidArgument, NotFound, Unsupported
from estiba.images import diff_id_of, import_tar, layer_from_dir, open_layer
from estiba.images import mediatypes as mt
from estiba.images.layers import tarinfo_for

LONG = "d" * 120


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "empty").mkdir()
    (root / LONG).mkdir()
    (root / "bin/tool").write_bytes(b"#!/bin/sh\necho hi\n")
    (root / "bin/tool").chmod(0o4755)
    (root / "etc/conf").write_text("a=1\n")
    (root / "etc/conf").chmod(0o640)
    os.link(root / "etc/conf", root / "etc/conf.hard")
    os.symlink("../bin/tool", root / "etc/link")
    os.mkfifo(root / "etc/fifo")
    (root / "etc/ñandú").write_text("unicode\n")
    (root / LONG / ("f" * 150)).write_text("long\n")
    (root / "empty").chmod(0o1777)
    return root


def _members(store: MemoryContentStore, digest: str, media_type: str) -> list[tarfile.TarInfo]:
    from estiba.content import Descriptor

    with open_layer(store, Descriptor(media_type, digest, 0)) as reader:
        data = reader.read()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return tar.getmembers()


def test_layer_from_dir_entries(tree: Path) -> None:
    store = MemoryContentStore()
    blob, diff_id = layer_from_dir(tree, store)
    assert blob.media_type == mt.OCI_LAYER_GZIP
    members = {m.name: m for m in _members(store, blob.digest, blob.media_type)}
    names = list(members)
    assert names == sorted(names, key=lambda n: n.split("/")), "depth first, sorted"
    assert "bin" in members and members["bin"].isdir()
    assert members["bin/tool"].mode == 0o4755 and members["bin/tool"].isreg()
    assert members["etc/conf"].mode == 0o640
    assert members["etc/conf.hard"].islnk() and members["etc/conf.hard"].linkname == "etc/conf"
    assert members["etc/link"].issym() and members["etc/link"].linkname == "../bin/tool"
    assert members["etc/fifo"].isfifo()
    assert members["empty"].mode == 0o1777
    assert "etc/ñandú" in members
    assert f"{LONG}/{'f' * 150}" in members
    for member in members.values():
        assert (member.uid, member.gid) == (os.getuid(), os.getgid())
        assert member.uname == "" and member.gname == ""
    with store.open(blob.digest) as f:
        assert diff_id_of(f)[0] == diff_id


def test_layer_is_deterministic_with_clamped_mtime(tree: Path) -> None:
    store = MemoryContentStore()
    first = layer_from_dir(tree, store, mtime=1_000_000)
    os.utime(tree / "etc/conf", (2_000_000_000, 2_000_000_000))
    second = layer_from_dir(tree, store, mtime=1_000_000)
    assert first == second
    members = _members(store, first[0].digest, first[0].media_type)
    assert {m.mtime for m in members} == {1_000_000}


def test_uncompressed_layer_digest_is_its_diff_id(tree: Path) -> None:
    store = MemoryContentStore()
    blob, diff_id = layer_from_dir(tree, store, compression="none")
    assert blob.media_type == mt.OCI_LAYER and blob.digest == diff_id
    with pytest.raises(InvalidArgument, match="compression"):
        layer_from_dir(tree, store, compression="lz4")


def test_owner_mapping(tree: Path) -> None:
    store = MemoryContentStore()
    blob, _ = layer_from_dir(
        tree, store, ids=lambda path, uid, gid: (7, 8) if path == "bin" else (0, 0)
    )
    members = {m.name: m for m in _members(store, blob.digest, blob.media_type)}
    assert (members["bin"].uid, members["bin"].gid) == (7, 8)
    assert (members["etc/conf"].uid, members["etc/conf"].gid) == (0, 0)


def test_sockets_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(root / "s"))
        store = MemoryContentStore()
        blob, _ = layer_from_dir(root, store)
        assert _members(store, blob.digest, blob.media_type) == []
    finally:
        sock.close()


def test_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        layer_from_dir(tmp_path / "nope", MemoryContentStore())


@pytest.mark.parametrize(
    ("kind", "tar_type"), [(stat.S_IFCHR, tarfile.CHRTYPE), (stat.S_IFBLK, tarfile.BLKTYPE)]
)
def test_device_nodes(kind: int, tar_type: bytes) -> None:
    fake = os.stat_result(
        (kind | 0o620, 1, 1, 1, 0, 5, 0, 9, 9, 9), {"st_rdev": os.makedev(136, 7)}
    )
    info = tarinfo_for("dev/pts/7", fake)
    assert info is not None and info.type == tar_type
    assert (info.devmajor, info.devminor) == (136, 7)
    assert (info.mode, info.uid, info.gid, info.size) == (0o620, 0, 5, 0)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make device nodes")
def test_device_node_in_tree(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    os.mknod(root / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    store = MemoryContentStore()
    blob, _ = layer_from_dir(root, store)
    (member,) = _members(store, blob.digest, blob.media_type)
    assert member.ischr() and (member.devmajor, member.devminor) == (1, 3)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to set security.* xattrs")
def test_file_capabilities_are_kept(tmp_path: Path) -> None:
    root = tmp_path / "t"
    root.mkdir()
    (root / "ping").write_bytes(b"x")
    # VFS_CAP_REVISION_2 with cap_net_raw (bit 13) permitted and effective.
    cap = bytes.fromhex("0100000200200000000000000000000000000000")
    try:
        os.setxattr(root / "ping", "security.capability", cap)
    except OSError:
        pytest.skip("filesystem refuses security.capability")
    store = MemoryContentStore()
    blob, _ = layer_from_dir(root, store, compression="none")
    with store.open(blob.digest) as f, tarfile.open(fileobj=f) as tar:
        (member,) = tar.getmembers()
    assert (
        member.pax_headers["SCHILY.xattr.security.capability"].encode("utf-8", "surrogateescape")
        == cap
    )


# --- import_tar ----------------------------------------------------------------------------


def _plain_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"hello\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


PLAIN = _plain_tar()
PLAIN_DIGEST = "sha256:" + hashlib.sha256(PLAIN).hexdigest()


@pytest.mark.parametrize("compress", [lambda b: b, gzip.compress, bz2.compress, lzma.compress])
def test_import_tar_any_compression(compress) -> None:  # type: ignore[no-untyped-def]
    store = MemoryContentStore()
    blob, diff_id = import_tar(io.BytesIO(compress(PLAIN)), store)
    assert diff_id == PLAIN_DIGEST
    assert blob.media_type == mt.OCI_LAYER_GZIP
    with store.open(blob.digest) as f:
        assert gzip.decompress(f.read()) == PLAIN


def test_import_tar_uncompressed_output() -> None:
    store = MemoryContentStore()
    blob, diff_id = import_tar(io.BytesIO(PLAIN), store, compression="none")
    assert blob.digest == diff_id == PLAIN_DIGEST


@pytest.mark.parametrize("data", [b"not a tar at all" * 64, gzip.compress(b"garbage" * 100), b""])
def test_import_rejects_non_tars(data: bytes) -> None:
    store = MemoryContentStore()
    with pytest.raises(InvalidArgument, match="not a tar|corrupt"):
        import_tar(io.BytesIO(data), store)
    assert store.list() == []


def test_import_rejects_truncated_gzip() -> None:
    store = MemoryContentStore()
    with pytest.raises(InvalidArgument):
        import_tar(io.BytesIO(gzip.compress(PLAIN)[:-20]), store)
    assert store.list() == []


def test_zstd_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="zstd"):
        import_tar(io.BytesIO(b"\x28\xb5\x2f\xfd" + b"\0" * 100), MemoryContentStore())


def test_a_layers_size_is_its_files_unpacked_as_docker_counts_them() -> None:
    """Regular files' bytes and symlink targets; directories, hardlinks, devices and the
    tar's headers and padding count nothing; the digest is the whole tar's."""
    from estiba.images.layers import diff_id_and_files_size

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.addfile(_entry("dir", tarfile.DIRTYPE))
        data = b"x" * 1000
        info = _entry("dir/file", tarfile.REGTYPE)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
        archive.addfile(_entry("dir/hard", tarfile.LNKTYPE, "dir/file"))
        archive.addfile(_entry("link", tarfile.SYMTYPE, "dir/file"))
        archive.addfile(_entry("null", tarfile.CHRTYPE))
    raw = buffer.getvalue()
    digest, size = diff_id_and_files_size(io.BytesIO(gzip.compress(raw)))
    assert digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert size == 1000 + len("dir/file") and len(raw) > 5000
    # Not a tar (any blob can be a layer by digest): its bytes.
    assert diff_id_and_files_size(io.BytesIO(b"not a tar"))[1] == len(b"not a tar")


def _entry(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info
