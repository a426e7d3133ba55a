"""File writes that readers in other processes can trust: all of the file or none of it."""

from __future__ import annotations

import os


def atomic_write(path: str, data: bytes, mode: int = 0o644, *, durable: bool = True) -> None:
    """Write `data` to a temporary file beside `path` and rename it over `path`.

    With `durable`, the file and its directory are fsynced too, so the write survives a
    crash (STYLE habit 7). Files that describe processes (pids, a runtime's state in /run)
    pass `durable=False`: a crash that loses them ends those processes anyway.
    """
    directory = os.path.dirname(path) or "."
    tmp = f"{path}.tmp{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if durable:
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
