"""Resolve a path inside a root directory without ever leaving it.

Symlinks are followed as if `root` were `/`, and `..` stops at `root`, so a container's
own symlinks cannot redirect a mount, a device node or a copy to a path on the host
(the CVE-2018-15664 class of bugs). The result may name a file that does not exist yet.
"""

from __future__ import annotations

import errno
import os

_MAX_SYMLINKS = 255


def secure_join(root: str, unsafe: str) -> str:
    """Return `root` joined with `unsafe`, every symlink resolved within `root`."""
    root = os.path.abspath(root)
    pending = [part for part in unsafe.split("/") if part]
    resolved: list[str] = []
    links = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(root, *resolved, part)
        try:
            target = os.readlink(candidate)
        except OSError as exc:
            if exc.errno in (errno.EINVAL, errno.ENOENT, errno.ENOTDIR):
                resolved.append(part)
                continue
            raise
        links += 1
        if links > _MAX_SYMLINKS:
            raise OSError(errno.ELOOP, f"too many symlinks resolving {unsafe} in {root}")
        if target.startswith("/"):
            resolved = []
        pending = [p for p in target.split("/") if p] + pending
    return os.path.join(root, *resolved)
