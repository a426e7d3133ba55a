"""Layer tars: make one from a directory, import one from a stream, read one uncompressed.

A layer is stored as a blob (gzip-compressed by default) and named in the image config by
its diff_id, the sha256 of the uncompressed tar. Tars made here are deterministic: entries
in sorted order, numeric owners only, no user or group names, optional clamped mtimes.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import stat
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from estiba.content import ContentStore, ContentWriter, Descriptor
from estiba.errors import InvalidArgument, NotFound, SystemFault, Unsupported
from estiba.images import mediatypes as mt

CHUNK = 1 << 20
# Only this xattr is kept in layers, as Docker does: file capabilities (ping, newuidmap...).
_KEPT_XATTRS = ("security.capability",)

IdMap = Callable[[str, int, int], tuple[int, int]]


def layer_from_dir(
    root_dir: str | os.PathLike[str],
    content: ContentStore,
    *,
    compression: str = "gzip",
    mtime: int | None = None,
    ids: IdMap | None = None,
) -> tuple[Descriptor, str]:
    """Tar the tree under `root_dir` into a layer blob; return (blob descriptor, diff_id).

    `mtime` clamps every timestamp to at most that value (reproducible builds); `ids` maps
    (path, uid, gid) to the owner recorded in the tar, for trees built without root.
    """
    root = Path(root_dir)
    if not root.is_dir():
        raise NotFound(f"layer source {root} is not a directory")
    with _layer_sink(content, compression) as sink:
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            hardlinks: dict[tuple[int, int], str] = {}
            for rel, path, st in _walk(root):
                _add_entry(tar, hardlinks, rel, path, st, mtime, ids)
        return sink.finish()


def import_tar(
    stream: BinaryIO, content: ContentStore, *, compression: str = "gzip"
) -> tuple[Descriptor, str]:
    """Store a tar (plain, gzip, bzip2 or xz) as a layer blob; return (descriptor, diff_id).

    The tar is read through once, checking that it is a well-formed archive.
    """
    plain = uncompressed(stream)
    with _layer_sink(content, compression) as sink:
        tee = _TeeReader(plain, sink)
        try:
            with tarfile.open(fileobj=tee, mode="r|") as tar:
                for _member in tar:
                    pass
        except tarfile.TarError as exc:
            raise InvalidArgument(f"cannot import: not a tar archive ({exc})") from exc
        except (EOFError, OSError, lzma.LZMAError) as exc:
            raise InvalidArgument(f"cannot import: corrupt compressed stream ({exc})") from exc
        while tee.read(CHUNK):
            pass
        return sink.finish()


def uncompressed(stream: BinaryIO) -> BinaryIO:
    """A reader of the tar inside `stream`, whatever its compression (sniffed from magic)."""
    peek = _Peekable(stream)
    head = peek.peek(6)
    if head.startswith(b"\x1f\x8b"):
        return _Decompressed(gzip.GzipFile(fileobj=peek, mode="rb"), peek)  # type: ignore[arg-type]
    if head.startswith(b"BZh"):
        return _Decompressed(bz2.BZ2File(peek, mode="rb"), peek)  # type: ignore[arg-type]
    if head.startswith(b"\xfd7zXZ\x00"):
        return _Decompressed(lzma.LZMAFile(peek, mode="rb"), peek)  # type: ignore[arg-type]
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        raise Unsupported("zstd-compressed layers are not supported yet: use gzip")
    return peek  # type: ignore[return-value]


def open_layer(content: ContentStore, layer: Descriptor) -> BinaryIO:
    """The uncompressed tar of a layer blob."""
    return uncompressed(content.open(layer.digest))


def diff_id_of(stream: BinaryIO) -> tuple[str, int]:
    """(sha256 digest, size) of the uncompressed tar inside `stream`."""
    digest = hashlib.sha256()
    size = 0
    reader = uncompressed(stream)
    try:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    except (EOFError, OSError, lzma.LZMAError) as exc:
        raise InvalidArgument(f"corrupt compressed layer ({exc})") from exc
    return "sha256:" + digest.hexdigest(), size


def diff_id_and_files_size(stream: BinaryIO) -> tuple[str, int]:
    """(sha256 digest of the uncompressed tar inside `stream`, the size of its files once
    unpacked). The size is Docker's (overlay2 measures the unpacked layer directory): the
    bytes of regular files and the target lengths of symlinks; a directory, a hardlink and
    a device count nothing. A blob that is no tar counts its bytes."""
    hashing = _Counting(uncompressed(stream))
    size = 0
    try:
        try:
            with tarfile.open(fileobj=hashing, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    if member.isreg():
                        size += member.size
                    elif member.issym():
                        size += len(os.fsencode(member.linkname))
        except tarfile.TarError:
            size = -1
        while hashing.read(CHUNK):
            pass
    except (EOFError, OSError, lzma.LZMAError) as exc:
        raise InvalidArgument(f"corrupt compressed layer ({exc})") from exc
    return "sha256:" + hashing.digest.hexdigest(), size if size >= 0 else hashing.count


class _Counting:
    """A reader that hashes and counts what is read through it."""

    def __init__(self, reader: BinaryIO) -> None:
        self._reader = reader
        self.digest = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._reader.read(size)
        self.digest.update(chunk)
        self.count += len(chunk)
        return chunk


def unpacked_size(content: ContentStore, layer: Descriptor, diff_id: str) -> int:
    """The size of the layer's files unpacked (`diff_id_and_files_size`), after checking
    that it is the tar `diff_id` names."""
    with content.open(layer.digest) as reader:
        got, size = diff_id_and_files_size(reader)
    if got != diff_id:
        raise InvalidArgument(
            f"layer {layer.digest} does not unpack to its diff_id: expected {diff_id}, got {got}"
        )
    return size


def media_type_for(compression: str) -> str:
    if compression == "gzip":
        return mt.OCI_LAYER_GZIP
    if compression == "none":
        return mt.OCI_LAYER
    raise InvalidArgument(f"unsupported layer compression {compression!r}: use gzip or none")


# --- writing -----------------------------------------------------------------------------


class _LayerSink:
    """Where tar bytes go: hashed for the diff_id, then compressed into a content writer."""

    def __init__(self, writer: ContentWriter, compression: str) -> None:
        self._writer = writer
        self._diff = hashlib.sha256()
        self._gzip = (
            gzip.GzipFile(fileobj=writer, mode="wb", mtime=0, filename="", compresslevel=6)  # type: ignore[arg-type]
            if compression == "gzip"
            else None
        )

    def write(self, data: bytes) -> int:
        self._diff.update(data)
        (self._gzip or self._writer).write(data)
        return len(data)

    def finish(self) -> tuple[Descriptor, str]:
        if self._gzip is not None:
            self._gzip.close()
        return self._writer.commit(), "sha256:" + self._diff.hexdigest()

    def __enter__(self) -> _LayerSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._writer.abort()


def _layer_sink(content: ContentStore, compression: str) -> _LayerSink:
    return _LayerSink(content.writer(media_type=media_type_for(compression)), compression)


def _walk(root: Path) -> Iterator[tuple[str, Path, os.stat_result]]:
    """Every entry under root (not root itself), depth first, names sorted bytewise."""
    return _walk_children(root, "")


def _walk_children(directory: Path, prefix: str) -> Iterator[tuple[str, Path, os.stat_result]]:
    try:
        names = sorted(os.listdir(directory), key=os.fsencode)
    except OSError as exc:
        raise SystemFault(f"cannot list {directory}: {exc.strerror}") from exc
    for name in names:
        path = directory / name
        st = os.lstat(path)
        yield prefix + name, path, st
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_children(path, prefix + name + "/")


def tarinfo_for(
    rel: str,
    st: os.stat_result,
    *,
    link_target: str = "",
    hardlink_to: str | None = None,
    mtime: int | None = None,
    ids: IdMap | None = None,
) -> tarfile.TarInfo | None:
    """The tar header for one entry, from its lstat; None for kinds a layer skips (sockets)."""
    info = tarfile.TarInfo(rel)
    info.mode = stat.S_IMODE(st.st_mode)
    uid, gid = ids(rel, st.st_uid, st.st_gid) if ids else (st.st_uid, st.st_gid)
    info.uid, info.gid = uid, gid
    info.uname = info.gname = ""
    info.mtime = int(st.st_mtime) if mtime is None else min(int(st.st_mtime), mtime)
    kind = stat.S_IFMT(st.st_mode)
    if hardlink_to is not None:
        info.type, info.linkname, info.size = tarfile.LNKTYPE, hardlink_to, 0
    elif kind == stat.S_IFREG:
        info.type, info.size = tarfile.REGTYPE, st.st_size
    elif kind == stat.S_IFDIR:
        info.type = tarfile.DIRTYPE
    elif kind == stat.S_IFLNK:
        info.type, info.linkname = tarfile.SYMTYPE, link_target
    elif kind in (stat.S_IFCHR, stat.S_IFBLK):
        info.type = tarfile.CHRTYPE if kind == stat.S_IFCHR else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    elif kind == stat.S_IFIFO:
        info.type = tarfile.FIFOTYPE
    else:
        return None
    return info


def _add_entry(
    tar: tarfile.TarFile,
    hardlinks: dict[tuple[int, int], str],
    rel: str,
    path: Path,
    st: os.stat_result,
    mtime: int | None,
    ids: IdMap | None,
) -> None:
    hardlink_to = None
    if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
        # The first name of a file with several names carries the data; later ones link to it.
        first = hardlinks.setdefault((st.st_dev, st.st_ino), rel)
        hardlink_to = first if first != rel else None
    link_target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else ""
    info = tarinfo_for(
        rel, st, link_target=link_target, hardlink_to=hardlink_to, mtime=mtime, ids=ids
    )
    if info is None:
        return
    info.pax_headers = _xattrs(path)
    if info.type == tarfile.REGTYPE:
        try:
            with open(path, "rb") as f:
                tar.addfile(info, f)
        except OSError as exc:
            raise SystemFault(f"cannot read {path}: {exc.strerror}") from exc
    else:
        tar.addfile(info)


def _xattrs(path: Path) -> dict[str, str]:
    headers = {}
    for name in _KEPT_XATTRS:
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        headers["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return headers


# --- reading -----------------------------------------------------------------------------


class _TeeReader:
    """Reads from a stream and copies everything read into a sink."""

    def __init__(self, source: BinaryIO, sink: _LayerSink) -> None:
        self._source = source
        self._sink = sink

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        if data:
            self._sink.write(data)
        return data


class _Decompressed:
    """A decompressing reader that also closes the stream under it."""

    def __init__(self, reader: BinaryIO, source: _Peekable) -> None:
        self._reader = reader
        self._source = source

    def read(self, size: int = -1) -> bytes:
        return self._reader.read(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._reader.close()
        self._source.close()

    def __enter__(self) -> _Decompressed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Peekable:
    """A reader that can look at its first bytes without consuming them (for magic numbers)."""

    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self._buffer = b""

    def peek(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self._source.read(size - len(self._buffer))
            if not chunk:
                break
            self._buffer += chunk
        return self._buffer[:size]

    def read(self, size: int = -1) -> bytes:
        if self._buffer:
            if size < 0:
                data, self._buffer = self._buffer + self._source.read(), b""
                return data
            data, self._buffer = self._buffer[:size], self._buffer[size:]
            return data
        return self._source.read(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> _Peekable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
