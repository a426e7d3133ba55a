"""Performing the mounts a snapshotter returns (`mount_all`, `unmount`, `mounted`), and
reading their layer directories back out of them (`layer_dirs`).

The snapshotter only computes mounts; this is the thin last step that touches the kernel,
through the runtime's injectable `Syscalls` object so unit tests can record the calls.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from estiba.errors import (
    Conflict,
    EstibaError,
    Forbidden,
    InvalidArgument,
    NotFound,
    SystemFault,
    Unsupported,
)
from estiba.runtime import syscalls as sc
from estiba.snapshots.base import Mount

# Option -> (clears the flag?, flag). Anything else is filesystem data ("lowerdir=...").
_FLAG_OPTIONS: dict[str, tuple[bool, int]] = {
    "defaults": (False, 0),
    "ro": (False, sc.MS_RDONLY),
    "rw": (True, sc.MS_RDONLY),
    "bind": (False, sc.MS_BIND),
    "rbind": (False, sc.MS_BIND | sc.MS_REC),
    "nosuid": (False, sc.MS_NOSUID),
    "suid": (True, sc.MS_NOSUID),
    "nodev": (False, sc.MS_NODEV),
    "dev": (True, sc.MS_NODEV),
    "noexec": (False, sc.MS_NOEXEC),
    "exec": (True, sc.MS_NOEXEC),
    "sync": (False, sc.MS_SYNCHRONOUS),
    "async": (True, sc.MS_SYNCHRONOUS),
    "dirsync": (False, sc.MS_DIRSYNC),
    "noatime": (False, sc.MS_NOATIME),
    "atime": (True, sc.MS_NOATIME),
    "nodiratime": (False, sc.MS_NODIRATIME),
    "diratime": (True, sc.MS_NODIRATIME),
    "relatime": (False, sc.MS_RELATIME),
    "norelatime": (True, sc.MS_RELATIME),
    "strictatime": (False, sc.MS_STRICTATIME),
    "nostrictatime": (True, sc.MS_STRICTATIME),
}

# Flags a read-only bind mount must be remounted with (a bind mount ignores them at first).
_REMOUNT_FLAGS = (
    sc.MS_RDONLY | sc.MS_NOSUID | sc.MS_NODEV | sc.MS_NOEXEC | sc.MS_NOATIME | sc.MS_NODIRATIME
)

# mount(2) copies at most one page of filesystem data, NUL included.
_DATA_LIMIT = os.sysconf("SC_PAGESIZE") - 1


@dataclass(frozen=True)
class LayerDirs:
    """The directories behind a snapshot's mounts: its writable layer and its lowers."""

    upper: str | None
    lowers: tuple[str, ...]
    work: str | None = None


def parse_options(options: Sequence[str]) -> tuple[int, str]:
    """Split mount options into mount(2) flags and the comma-joined filesystem data."""
    flags, data = 0, []
    for option in options:
        known = _FLAG_OPTIONS.get(option)
        if known is None:
            data.append(option)
        elif known[0]:
            flags &= ~known[1]
        else:
            flags |= known[1]
    return flags, ",".join(data)


def layer_dirs(mounts: Sequence[Mount]) -> LayerDirs:
    """The layer directories of one snapshot mount (bind or overlay), without mounting it."""
    if len(mounts) != 1:
        raise Unsupported(f"expected one snapshot mount, got {len(mounts)}")
    mount = mounts[0]
    if mount.type == "bind":
        if mount.readonly:
            return LayerDirs(upper=None, lowers=(mount.source,))
        return LayerDirs(upper=mount.source, lowers=())
    if mount.type == "overlay":
        lowers = tuple((mount.option("lowerdir") or "").split(":"))
        upper, work = mount.option("upperdir"), mount.option("workdir")
        return LayerDirs(upper, tuple(d for d in lowers if d), work)
    raise Unsupported(f"mount type {mount.type} has no layer directories")


def mount_all(
    mounts: Sequence[Mount], target: str | os.PathLike[str], *, syscalls: sc.Syscalls | None = None
) -> None:
    """Mount each of `mounts` on `target`, in order; on failure undo the ones done."""
    kernel = syscalls if syscalls is not None else sc.Syscalls()
    target = os.fspath(target)
    done = 0
    try:
        for mount in mounts:
            _mount_one(kernel, mount, target)
            done += 1
    except BaseException:
        for _ in range(done):
            try:
                kernel.umount2(target, sc.MNT_DETACH)
            except OSError:
                pass
        raise


def unmount(
    target: str | os.PathLike[str], *, detach: bool = False, syscalls: sc.Syscalls | None = None
) -> None:
    """Unmount the top mount on `target` (lazily with `detach`)."""
    kernel = syscalls if syscalls is not None else sc.Syscalls()
    target = os.fspath(target)
    try:
        kernel.umount2(target, sc.MNT_DETACH if detach else 0)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise InvalidArgument(f"{target} is not a mount point") from exc
        raise _translate(exc, f"unmount {target}") from exc


def is_mount_point(target: str | os.PathLike[str]) -> bool:
    """Whether something is mounted on `target`, from /proc/self/mountinfo.

    os.path.ismount compares device numbers, so it misses a bind mount from the same
    filesystem (a snapshot without parents is one); the kernel's table does not.
    """
    wanted = os.path.realpath(target)
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as table:
        for line in table:
            point = line.split(" ", 5)[4]
            if "\\" in point:  # octal escapes for space, tab, newline and backslash
                point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), point)
            if point == wanted:
                return True
    return False


@contextmanager
def mounted(
    mounts: Sequence[Mount], target: str | os.PathLike[str], *, syscalls: sc.Syscalls | None = None
) -> Iterator[str]:
    """Mount for the duration of a block; a busy target is detached rather than leaked."""
    mount_all(mounts, target, syscalls=syscalls)
    try:
        yield os.fspath(target)
    finally:
        for _ in mounts:
            try:
                unmount(target, syscalls=syscalls)
            except Conflict:
                unmount(target, detach=True, syscalls=syscalls)


def compact_lowerdirs(data: str) -> tuple[str, str]:
    """(directory, data) with overlay's lowerdirs made relative to their common directory.

    Used when the data is longer than a page: the mount then runs in a child process
    whose working directory is that common directory, as containerd does.
    """
    options = data.split(",")
    index = next((i for i, o in enumerate(options) if o.startswith("lowerdir=")), None)
    if index is None:
        raise InvalidArgument(f"mount data is {len(data)} bytes, over the {_DATA_LIMIT} limit")
    lowers = options[index][len("lowerdir=") :].split(":")
    common = os.path.commonpath(lowers) if len(lowers) > 1 else os.path.dirname(lowers[0])
    options[index] = "lowerdir=" + ":".join(os.path.relpath(d, common) for d in lowers)
    compacted = ",".join(options)
    if len(os.fsencode(compacted)) > _DATA_LIMIT:
        raise InvalidArgument(
            f"too many layers for one overlay mount ({len(lowers)})",
            hint="flatten the image or commit fewer layers",
        )
    return common, compacted


def _mount_one(kernel: sc.Syscalls, mount: Mount, target: str) -> None:
    flags, data = parse_options(mount.options)
    try:
        if mount.type == "bind" or flags & sc.MS_BIND:
            kernel.mount(mount.source, target, None, flags & ~_REMOUNT_FLAGS | sc.MS_BIND, None)
            if flags & _REMOUNT_FLAGS:
                remount = (flags & _REMOUNT_FLAGS) | sc.MS_REMOUNT | sc.MS_BIND
                kernel.mount(None, target, None, remount, None)
        elif len(os.fsencode(data)) > _DATA_LIMIT:
            directory, data = compact_lowerdirs(data)
            _mount_in_directory(kernel, directory, mount.source, target, mount.type, flags, data)
        else:
            kernel.mount(mount.source, target, mount.type, flags, data or None)
    except OSError as exc:
        raise _translate(exc, f"mount {mount.type} on {target}") from exc


def _mount_in_directory(
    kernel: sc.Syscalls,
    directory: str,
    source: str,
    target: str,
    fstype: str,
    flags: int,
    data: str,
) -> None:
    """mount(2) from a forked child that chdirs first, so relative paths resolve there
    without changing the working directory of this (possibly threaded) process."""
    target = os.path.abspath(target)
    pid = os.fork()
    if pid == 0:  # child: only syscalls, then _exit
        code = 0
        try:
            os.chdir(directory)
            kernel.mount(source, target, fstype, flags, data)
        except OSError as exc:
            code = exc.errno or 255
        except BaseException:
            code = 255
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise OSError(code, f"mount {fstype} on {target}: {os.strerror(code)}")


def _translate(exc: OSError, what: str) -> EstibaError:
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    message = f"{what}: {reason}"
    if exc.errno == errno.ENOENT:
        return NotFound(message)
    if exc.errno == errno.EBUSY:
        return Conflict(message, hint="stop what uses it first")
    if exc.errno in (errno.EPERM, errno.EACCES):
        return Forbidden(message, hint="mounting needs root (CAP_SYS_ADMIN)")
    if exc.errno == errno.EINVAL:
        return InvalidArgument(message)
    return SystemFault(message)
