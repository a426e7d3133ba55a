"""Paths inside a root directory, opened without ever leaving it: openat2(RESOLVE_IN_ROOT)
semantics by walking one component at a time with O_NOFOLLOW and directory descriptors.

A symlink met on the way is read and resolved as if the root were `/`; `..` stops at the
root. Every step is relative to a descriptor already held, so a container that swaps a
directory for a symlink meanwhile cannot redirect the walk to the host (the CVE-2018-15664
class of bugs). `cp`, volume import and the container snapshot code go through here.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from estiba.errors import InvalidArgument, NotFound, SystemFault

__all__ = ["Root", "fd_path", "walk_fd"]

_MAX_LINKS = 40  # the kernel's own limit of symlinks in one resolution
_PATH_FLAGS = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


def fd_path(fd: int, name: str = "") -> Path:
    """A path naming `name` inside the directory `fd` through /proc's magic link: the
    kernel starts from the descriptor's own directory, whatever its path is now. The
    pid, not `self`, so that a child process (cp) can use it while we hold `fd`."""
    base = f"/proc/{os.getpid()}/fd/{fd}"
    return Path(f"{base}/{name}" if name else base)


def split(path: str) -> list[str]:
    return [part for part in path.split("/") if part and part != "."]


class Root:
    """A directory held open as the `/` of the paths given to it. Close it (or use `with`)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        try:
            self.fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as exc:
            raise NotFound(f"{path}: {exc.strerror}") from exc

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- resolving ------------------------------------------------------------------

    def open(self, path: str, *, follow: bool = True) -> int:
        """An O_PATH descriptor of `path` (its last symlink followed when `follow`);
        NotFound when a component is missing or not a directory. The caller closes it."""
        stack = [os.dup(self.fd)]
        pending = split(path)
        links = 0
        try:
            while pending:
                part = pending.pop(0)
                if part == "..":
                    if len(stack) > 1:
                        os.close(stack.pop())
                    continue
                try:
                    fd = os.open(part, _PATH_FLAGS, dir_fd=stack[-1])
                except (FileNotFoundError, NotADirectoryError) as exc:
                    raise NotFound(f"no such file or directory: {path}") from exc
                st = os.fstat(fd)
                if stat.S_ISLNK(st.st_mode) and (pending or follow):
                    target = os.readlink(part, dir_fd=stack[-1])
                    os.close(fd)
                    links += 1
                    if links > _MAX_LINKS:
                        raise InvalidArgument(f"too many levels of symbolic links: {path}")
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop())
                    pending = split(target) + pending
                    continue
                if pending and not stat.S_ISDIR(st.st_mode):
                    os.close(fd)
                    raise NotFound(f"not a directory: {path}")
                stack.append(fd)
            return stack.pop()
        finally:
            for fd in stack:
                os.close(fd)

    def resolve(self, path: str, *, follow: bool = True) -> str:
        """The path, "/"-rooted, that `path` names once its symlinks are resolved in the root
        (the last one only when `follow`); components that do not exist are kept as given."""
        parts: list[str] = []
        pending = split(path)
        links = 0
        while pending:
            part = pending.pop(0)
            if part == "..":
                if parts:
                    parts.pop()
                continue
            try:
                st = self._lstat(parts, part)
            except NotFound:
                parts.append(part)
                continue
            if stat.S_ISLNK(st.st_mode) and (pending or follow):
                target = self._readlink(parts, part)
                links += 1
                if links > _MAX_LINKS:
                    raise InvalidArgument(f"too many levels of symbolic links: {path}")
                if target.startswith("/"):
                    parts = []
                pending = split(target) + pending
                continue
            parts.append(part)
        return "/" + "/".join(parts)

    def _lstat(self, parts: list[str], name: str) -> os.stat_result:
        directory = self.open("/".join(parts), follow=True) if parts else os.dup(self.fd)
        try:
            return os.stat(name, dir_fd=directory, follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise NotFound(name) from exc
        finally:
            os.close(directory)

    def _readlink(self, parts: list[str], name: str) -> str:
        directory = self.open("/".join(parts), follow=True) if parts else os.dup(self.fd)
        try:
            return os.readlink(name, dir_fd=directory)
        finally:
            os.close(directory)

    def lstat(self, path: str) -> os.stat_result:
        fd = self.open(path, follow=False)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def parent(self, path: str) -> tuple[int, str]:
        """(O_PATH descriptor of the directory holding `path`, its last name). The last
        name is never followed; the root itself has no parent (InvalidArgument)."""
        parts = split(path)
        while parts and parts[-1] == "..":
            raise InvalidArgument(f"{path}: a path ending in .. has no name to create")
        if not parts:
            raise InvalidArgument(f"{path}: the root has no parent directory")
        directory = self.open("/".join(parts[:-1]), follow=True)
        if not stat.S_ISDIR(os.fstat(directory).st_mode):
            os.close(directory)
            raise NotFound(f"not a directory: {path}")
        return directory, parts[-1]

    def makedirs(self, path: str, mode: int = 0o755) -> int:
        """An O_PATH descriptor of the directory `path`, made (with its parents) when
        missing; symlinks on the way are followed inside the root."""
        current = os.dup(self.fd)
        done: list[str] = []
        try:
            for part in split(path):
                done.append(part)
                if part != "..":
                    try:
                        os.mkdir(part, mode, dir_fd=current)
                    except FileExistsError:
                        pass
                os.close(current)
                current = -1
                current = self.open("/".join(done), follow=True)
                if not stat.S_ISDIR(os.fstat(current).st_mode):
                    raise InvalidArgument(f"{'/' + '/'.join(done)} exists and is not a directory")
            result, current = current, -1
            return result
        finally:
            if current >= 0:
                os.close(current)


def reopen(fd: int, flags: int) -> int:
    """A real descriptor (O_RDONLY, O_DIRECTORY...) for an O_PATH one, same inode."""
    try:
        return os.open(fd_path(fd), flags | os.O_CLOEXEC)
    except OSError as exc:
        raise SystemFault(f"reopen: {exc.strerror}") from exc


def walk_fd(directory: int) -> Iterator[tuple[str, Path, os.stat_result]]:
    """`estiba.snapshots.archive.walk` over a directory descriptor: (relative name, a
    /proc path through the parent's descriptor, lstat), a directory before its entries,
    names in byte order. Subdirectories are opened with O_NOFOLLOW from their parent."""
    yield from _walk_children(directory, "")


def _walk_children(directory: int, prefix: str) -> Iterator[tuple[str, Path, os.stat_result]]:
    reader = reopen(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        names = sorted(os.listdir(reader), key=os.fsencode)
        for name in names:
            try:
                st = os.stat(name, dir_fd=reader, follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed meanwhile
            rel = f"{prefix}/{name}" if prefix else name
            yield rel, fd_path(reader, name), st
            if stat.S_ISDIR(st.st_mode):
                try:
                    child = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=reader)
                except OSError as exc:
                    if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                        continue  # replaced meanwhile: not followed
                    raise
                try:
                    yield from _walk_children(child, rel)
                finally:
                    os.close(child)
    finally:
        os.close(reader)
