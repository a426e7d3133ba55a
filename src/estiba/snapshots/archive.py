"""Writing tar streams from directory trees without a temporary file: PAX headers from
lstat (numeric owners, second mtimes, xattrs), file data in chunks, hardlinks kept.

`tar_reader(chunks)` turns a generator of tar bytes into a readable binary file object,
so a layer or an export is produced while the reader consumes it.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

from estiba.errors import SystemFault
from estiba.snapshots.compression import CHUNK
from estiba.snapshots.lowers import OVERLAY_XATTR_PREFIX

_BLOCK = 512
END_OF_ARCHIVE = b"\0" * (2 * _BLOCK)


class _IteratorReader(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()


def tar_reader(chunks: Iterator[bytes]) -> io.BufferedReader:
    """A binary file object whose bytes are `chunks`, pulled as it is read."""
    return io.BufferedReader(_IteratorReader(chunks), CHUNK)


def walk(root: Path) -> Iterator[tuple[str, Path, os.stat_result]]:
    """(relative name, path, lstat) of everything under `root`, a directory before its
    entries, names in byte order: the order Docker writes layers and lists changes in."""
    stack = [("", _sorted_entries(root))]
    while stack:
        rel, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        child = f"{rel}/{entry.name}" if rel else entry.name
        st = entry.stat(follow_symlinks=False)
        yield child, Path(entry.path), st
        if stat.S_ISDIR(st.st_mode):
            stack.append((child, _sorted_entries(Path(entry.path))))


def _sorted_entries(directory: Path) -> Iterator[os.DirEntry]:
    with os.scandir(directory) as scan:
        return iter(sorted(scan, key=lambda e: os.fsencode(e.name)))


def xattrs(path: Path) -> dict[str, bytes]:
    """The extended attributes to carry in a tar, without overlay's own."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EPERM):
            return {}
        raise
    found = {}
    for name in sorted(names):
        if name.startswith(OVERLAY_XATTR_PREFIX):
            continue
        try:
            found[name] = os.getxattr(path, name, follow_symlinks=False)
        except OSError as exc:
            if exc.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EPERM):
                raise
    return found


class TarWriter:
    """Turns (name, path, lstat) into tar bytes; remembers inodes to write hardlinks."""

    def __init__(self) -> None:
        self._inodes: dict[tuple[int, int], str] = {}

    def entry(self, name: str, path: Path, st: os.stat_result) -> Iterator[bytes]:
        """The header and data of one filesystem entry (nothing for sockets)."""
        info = tarfile.TarInfo(name)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.mtime = int(st.st_mtime)
        mode = st.st_mode
        if stat.S_ISSOCK(mode):
            return
        key = (st.st_dev, st.st_ino)
        if not stat.S_ISDIR(mode) and st.st_nlink > 1 and key in self._inodes:
            info.type, info.linkname = tarfile.LNKTYPE, self._inodes[key]
        elif stat.S_ISREG(mode):
            info.type, info.size = tarfile.REGTYPE, st.st_size
        elif stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(path)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
        else:
            return
        if not stat.S_ISDIR(mode) and st.st_nlink > 1 and key not in self._inodes:
            self._inodes[key] = name
        if info.type != tarfile.LNKTYPE:
            for xattr, value in xattrs(path).items():
                info.pax_headers["SCHILY.xattr." + xattr] = value.decode("utf-8", "surrogateescape")
        yield header(info)
        if info.type == tarfile.REGTYPE and info.size:
            yield from _file_data(path, info.size)

    @staticmethod
    def marker(name: str, st: os.stat_result) -> bytes:
        """An empty regular file entry, such as a whiteout or an opaque marker."""
        info = tarfile.TarInfo(name)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.mtime = int(st.st_mtime)
        return header(info)


def header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _file_data(path: Path, size: int) -> Iterator[bytes]:
    """Exactly `size` bytes (a file that shrank meanwhile is padded with zeros), then padding."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as source:
        left = size
        while left:
            chunk = source.read(min(CHUNK, left))
            if not chunk:
                chunk = b"\0" * min(CHUNK, left)
            left -= len(chunk)
            yield chunk
    if size % _BLOCK:
        yield b"\0" * (_BLOCK - size % _BLOCK)


def guarded(chunks: Iterator[bytes], what: str) -> Iterator[bytes]:
    """Filesystem errors while streaming become SystemFault, raised to the reader."""
    try:
        yield from chunks
    except OSError as exc:
        raise SystemFault(f"{what}: {exc.filename or ''}: {exc.strerror}") from exc
