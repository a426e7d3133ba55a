"""Small filesystem chores the snapshotter needs: robust tree removal, directory fsync and
disk usage."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path

from estiba.snapshots.base import Usage


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Delete a tree whatever its modes (a layer may hold 0500 directories); absent is fine."""
    if not os.path.lexists(path):
        return
    if not os.path.isdir(path) or os.path.islink(path):
        os.unlink(path)
        return
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except PermissionError:  # only without root: open every directory up, then retry
        os.chmod(path, 0o700)
        for directory, subdirectories, _ in os.walk(path):
            for name in subdirectories:
                child = os.path.join(directory, name)
                if not os.path.islink(child):  # os.walk lists links to directories too
                    os.chmod(child, 0o700)
        shutil.rmtree(path)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a directory's entries (a rename, a new child) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def disk_usage(path: str | os.PathLike[str]) -> Usage:
    """Apparent size of the non-directories under `path` and its inode count, each hardlinked
    inode once (what Docker reports as SizeRw)."""
    size, seen = 0, set()
    pending = [Path(path)]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                continue
            raise
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            if stat.S_ISDIR(st.st_mode):
                pending.append(Path(entry.path))
            else:
                size += st.st_size
    return Usage(size, len(seen))
