"""Test helpers: layer tars built in memory from entry descriptions, streams that cannot
seek, and tree snapshots for comparing directories."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

MTIME = 1_600_000_000


@dataclass
class Entry:
    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    linkname: str = ""
    mtime: int = MTIME
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)


def file(name: str, data: bytes = b"", mode: int = 0o644, **kw) -> Entry:
    return Entry(name, tarfile.REGTYPE, data, mode, **kw)


def directory(name: str, mode: int = 0o755, **kw) -> Entry:
    return Entry(name, tarfile.DIRTYPE, mode=mode, **kw)


def symlink(name: str, target: str, **kw) -> Entry:
    return Entry(name, tarfile.SYMTYPE, mode=0o777, linkname=target, **kw)


def hardlink(name: str, target: str, **kw) -> Entry:
    return Entry(name, tarfile.LNKTYPE, linkname=target, **kw)


def fifo(name: str, mode: int = 0o600) -> Entry:
    return Entry(name, tarfile.FIFOTYPE, mode=mode)


def chardev(name: str, major: int, minor: int, mode: int = 0o666) -> Entry:
    return Entry(name, tarfile.CHRTYPE, mode=mode, devmajor=major, devminor=minor)


def whiteout(path: str) -> Entry:
    directory_name, _, base = path.rpartition("/")
    return file(f"{directory_name}/.wh.{base}" if directory_name else f".wh.{base}")


def opaque(path: str) -> Entry:
    return file(f"{path}/.wh..wh..opq")


def layer(*entries: Entry) -> bytes:
    """An uncompressed PAX tar of `entries`, in order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.type
            info.mode = entry.mode
            info.uid, info.gid = entry.uid, entry.gid
            info.mtime = entry.mtime
            info.linkname = entry.linkname
            info.devmajor, info.devminor = entry.devmajor, entry.devminor
            for key, value in entry.xattrs.items():
                info.pax_headers["SCHILY.xattr." + key] = value.decode("utf-8", "surrogateescape")
            if entry.type == tarfile.REGTYPE:
                info.size = len(entry.data)
                archive.addfile(info, io.BytesIO(entry.data))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def compress(data: bytes, kind: str) -> bytes:
    if kind == "gzip":
        return gzip.compress(data)
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    if kind == "bzip2":
        return bz2.compress(data)
    if kind == "xz":
        return lzma.compress(data)
    return data


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class OneWay:
    """A read-only, non-seekable stream, as a network download would be."""

    def __init__(self, data: bytes, chunk: int = 7777) -> None:
        self._data = memoryview(data)
        self._chunk = chunk

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = len(self._data)
        size = min(size, self._chunk)
        out, self._data = bytes(self._data[:size]), self._data[size:]
        return out

    def close(self) -> None:
        pass


def tree(root: Path, *, times: bool = True) -> dict[str, tuple]:
    """path -> (type, mode, uid, gid, [mtime], content or link target or rdev, xattrs)."""
    found = {}
    for directory, names, files in os.walk(root):
        for name in sorted(names + files):
            path = Path(directory, name)
            st = os.lstat(path)
            rel = str(path.relative_to(root))
            if stat.S_ISREG(st.st_mode):
                content = path.read_bytes()
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(path)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                content = st.st_rdev
            else:
                content = None
            try:
                attrs = {k: os.getxattr(path, k, follow_symlinks=False)
                         for k in os.listxattr(path, follow_symlinks=False)}
            except OSError:
                attrs = {}
            mtime = int(st.st_mtime) if times and not stat.S_ISLNK(st.st_mode) else None
            found[rel] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                          mtime, content, tuple(sorted(attrs.items())))
    return found
