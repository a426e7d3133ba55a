"""Overlay's on-disk vocabulary (whiteouts, opaque directories) and `LayerStack`, which reads
stacked layer directories the way overlay would merge them, without mounting anything.

A layer directory marks a deleted entry with a whiteout (a 0:0 character device of the
same name) and a replaced directory with the xattr trusted.overlay.opaque=y.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from pathlib import Path

OPAQUE_XATTR = "trusted.overlay.opaque"
OVERLAY_XATTR_PREFIX = "trusted.overlay."
WHITEOUT_PREFIX = ".wh."  # the OCI (tar) forms of the same two things
OPAQUE_MARKER = ".wh..wh..opq"


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: str | os.PathLike[str]) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP, errno.ENOENT, errno.EPERM):
            return False
        raise


def lstat_or_none(path: str | os.PathLike[str]) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


class LayerStack:
    """Layer directories, top first, read as one merged tree. Paths are relative, "/"-separated,
    and never followed through symlinks: callers resolve symlinks one component at a time."""

    def __init__(self, layers: Sequence[str | os.PathLike[str]]) -> None:
        self.layers = [Path(layer) for layer in layers]
        self._ancestry: dict[tuple[int, str], tuple[bool, bool]] = {}

    def lookup(self, rel: str) -> tuple[Path, os.stat_result] | None:
        """The topmost layer holding `rel` and its lstat, or None when absent or whited out."""
        for index, layer in enumerate(self.layers):
            hidden, last = self._ancestors(index, rel)
            if hidden:
                return None
            st = lstat_or_none(layer / rel)
            if st is not None:
                return None if is_whiteout(st) else (layer, st)
            if last:
                return None
        return None

    def listdir(self, rel: str) -> list[str]:
        """Names in the merged directory `rel` (empty when it is absent or not a directory)."""
        first_seen: dict[str, bool] = {}  # name -> is a whiteout, from the topmost layer
        for index, layer in enumerate(self.layers):
            hidden, last = self._ancestors(index, rel)
            if hidden:
                break
            directory = layer / rel
            st = lstat_or_none(directory)
            if st is None:
                if last:
                    break
                continue
            if not stat.S_ISDIR(st.st_mode):
                break
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.name not in first_seen:
                        first_seen[entry.name] = is_whiteout(entry.stat(follow_symlinks=False))
            if last or is_opaque(directory):
                break
        return sorted(name for name, whiteout in first_seen.items() if not whiteout)

    def _ancestors(self, index: int, rel: str) -> tuple[bool, bool]:
        """(hidden, last) for `rel` in layer `index`: hidden when an ancestor there is a
        whiteout or a non-directory; last when an ancestor there is an opaque directory."""
        parent = rel.rpartition("/")[0]
        if not parent:
            return False, False
        key = (index, parent)
        cached = self._ancestry.get(key)
        if cached is not None:
            return cached
        hidden, last = self._ancestors(index, parent)
        if not hidden:
            st = lstat_or_none(self.layers[index] / parent)
            if st is not None:
                if not stat.S_ISDIR(st.st_mode):
                    hidden = True
                elif is_opaque(self.layers[index] / parent):
                    last = True
        self._ancestry[key] = (hidden, last)
        return hidden, last
