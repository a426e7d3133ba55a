"""Tar streams in and out of a tree held as a `Root`: what `docker cp` and volume export and
import carry. Every path is resolved inside the root (`estiba.snapshots.inroot`), so an
archive entry with `..` or a symlink placed in the tree never reaches outside it.

    tar_path(root, path, rebase)   the entry at `path` (and its tree) named `rebase/...`
    extract_tar(root, dest, f)     the archive `f` unpacked into the directory `dest`
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from estiba.errors import Conflict, InvalidArgument, NotFound, SystemFault
from estiba.snapshots.archive import END_OF_ARCHIVE, TarWriter
from estiba.snapshots.compression import CHUNK
from estiba.snapshots.inroot import Root, fd_path, split, walk_fd

__all__ = ["ExtractOptions", "entry_parts", "extract_tar", "tar_path"]


def tar_path(root: Root, path: str, rebase: str) -> Iterator[bytes]:
    """The entry `path` (its last symlink not followed) named `rebase`, and when it is a
    directory everything under it as `rebase/...`; an empty `rebase` names the entries
    by their path below `path` only."""
    writer = TarWriter()
    parts = split(path)
    holder = root.open("/".join(parts[:-1]), follow=True) if parts else os.dup(root.fd)
    try:
        name = parts[-1] if parts else ""
        st = os.stat(name, dir_fd=holder, follow_symlinks=False) if name else os.fstat(holder)
        top = fd_path(holder, name)
        prefix = rebase.strip("/")
        if prefix and prefix != ".":
            yield from writer.entry(prefix, top, st)
        elif prefix == ".":
            yield from writer.entry(".", top, st)
        if stat.S_ISDIR(st.st_mode):
            flags = os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            directory = os.open(name, flags, dir_fd=holder) if name else os.dup(holder)
            try:
                for rel, child, child_st in walk_fd(directory):
                    entry = f"{prefix}/{rel}" if prefix else rel
                    yield from writer.entry(entry, child, child_st)
            finally:
                os.close(directory)
    except FileNotFoundError as exc:
        raise NotFound(f"no such file or directory: {path}") from exc
    finally:
        os.close(holder)
    yield END_OF_ARCHIVE


@dataclass(frozen=True)
class ExtractOptions:
    """`no_overwrite_dir_non_dir`: refuse to replace a directory by a non-directory or the
    reverse (docker cp's default). `owner`: (uid, gid) for every entry; None keeps the
    archive's."""

    no_overwrite_dir_non_dir: bool = False
    owner: tuple[int, int] | None = None


def entry_parts(name: str) -> list[str]:
    """The components of an archive entry below the extraction point; InvalidArgument for
    one that would land outside it (`../x`, `a/../../x`). A leading `/` is dropped."""
    cleaned = posixpath.normpath("/" + name.lstrip("/")) if name else "/"
    if ".." in split(posixpath.normpath(name.lstrip("/") or ".")):
        raise InvalidArgument(f"archive entry {name!r} is outside of the extraction point")
    return split(cleaned)


def extract_tar(root: Root, dest: str, stream: BinaryIO, options: ExtractOptions = ExtractOptions()) -> int:
    """Unpack the archive (plain or compressed) into the directory `dest`; return the
    number of entries written."""
    base = split(root.resolve(dest, follow=True))
    directories: list[tuple[list[str], tarfile.TarInfo]] = []
    count = 0
    try:
        with tarfile.open(fileobj=stream, mode="r|*") as archive:
            for member in archive:
                parts = entry_parts(member.name)
                if not parts:
                    continue
                _extract_one(root, base + parts, base, member, archive, options)
                if member.isdir():
                    directories.append((base + parts, member))
                count += 1
    except tarfile.TarError as exc:
        raise InvalidArgument(f"not a valid tar archive: {exc}") from exc
    for parts, member in reversed(directories):  # after their entries changed them
        with contextlib.suppress(OSError, NotFound, InvalidArgument):
            holder, name = root.parent("/".join(parts))
            try:
                os.utime(name, (member.mtime, member.mtime), dir_fd=holder, follow_symlinks=False)
            finally:
                os.close(holder)
    return count


def _extract_one(
    root: Root,
    parts: list[str],
    base: list[str],
    member: tarfile.TarInfo,
    archive: tarfile.TarFile,
    options: ExtractOptions,
) -> None:
    holder = root.makedirs("/".join(parts[:-1]))
    name = parts[-1]
    try:
        try:
            existing = os.stat(name, dir_fd=holder, follow_symlinks=False)
        except FileNotFoundError:
            existing = None
        if existing is not None:
            was_dir = stat.S_ISDIR(existing.st_mode)
            if was_dir and member.isdir():
                pass
            elif options.no_overwrite_dir_non_dir and was_dir != member.isdir():
                path = "/" + "/".join(parts)
                if was_dir:
                    raise Conflict(f'cannot overwrite directory "{path}" with non-directory "{member.name}"')
                raise Conflict(f'cannot overwrite non-directory "{path}" with directory "{member.name}"')
            elif was_dir:
                shutil.rmtree(name, dir_fd=holder)
            else:
                os.unlink(name, dir_fd=holder)
        _create(root, holder, name, base, member, archive, exists=existing is not None)
        _attributes(holder, name, member, options.owner)
    except OSError as exc:
        raise SystemFault(f"extracting {member.name}: {exc.strerror}") from exc
    finally:
        os.close(holder)


def _create(
    root: Root,
    holder: int,
    name: str,
    base: list[str],
    member: tarfile.TarInfo,
    archive: tarfile.TarFile,
    *,
    exists: bool,
) -> None:
    mode = member.mode & 0o7777
    if member.isdir():
        if not exists or not stat.S_ISDIR(os.stat(name, dir_fd=holder, follow_symlinks=False).st_mode):
            os.mkdir(name, 0o700, dir_fd=holder)
    elif member.isreg():
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=holder)
        with os.fdopen(fd, "wb") as target:
            source = archive.extractfile(member)
            if source is not None:
                while chunk := source.read(CHUNK):
                    target.write(chunk)
    elif member.issym():
        os.symlink(member.linkname, name, dir_fd=holder)
    elif member.islnk():
        source_parts = base + entry_parts(member.linkname)
        source_holder, source_name = root.parent("/".join(source_parts))
        try:
            os.link(source_name, name, src_dir_fd=source_holder, dst_dir_fd=holder, follow_symlinks=False)
        finally:
            os.close(source_holder)
    elif member.ischr() or member.isblk():
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
        os.mknod(name, kind | mode, os.makedev(member.devmajor, member.devminor), dir_fd=holder)
    elif member.isfifo():
        os.mkfifo(name, mode, dir_fd=holder)
    else:
        raise InvalidArgument(f"archive entry {member.name!r}: unsupported type {member.type!r}")


def _attributes(holder: int, name: str, member: tarfile.TarInfo, owner: tuple[int, int] | None) -> None:
    if member.islnk():
        return  # the linked inode keeps its own
    uid, gid = owner if owner is not None else (member.uid, member.gid)
    if os.geteuid() == 0:
        os.chown(name, uid, gid, dir_fd=holder, follow_symlinks=False)
    if member.issym():
        with contextlib.suppress(OSError):
            os.utime(name, (member.mtime, member.mtime), dir_fd=holder, follow_symlinks=False)
        return
    if member.isdir() or member.isreg():
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_DIRECTORY if member.isdir() else 0)
        fd = os.open(name, flags, dir_fd=holder)
        try:
            os.chmod(fd, member.mode & 0o7777)
            for key, value in member.pax_headers.items():
                if key.startswith("SCHILY.xattr."):
                    with contextlib.suppress(OSError):
                        os.setxattr(fd, key[len("SCHILY.xattr."):], value.encode("utf-8", "surrogateescape"))
            if member.isreg():
                os.utime(fd, (member.mtime, member.mtime))
        finally:
            os.close(fd)
