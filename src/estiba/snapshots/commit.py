"""A container's writable layer as an image layer (`docker commit`) and as a snapshot of its
own (container snapshots and copies): the upper directory, read as overlay wrote it.

`layer_from_upper_without` is `layer_from_upper` minus the runtime's mount points (the
empty /etc/hosts and friends that dockerd keeps in its init layer). `copy_upper` copies
an upper directory into another snapshot's layer directory as it is (whiteouts, opaque
directories, owners, modes, hardlinks, xattrs), reflinked where the filesystem can.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

from estiba.errors import SystemFault
from estiba.snapshots.archive import guarded, tar_reader
from estiba.snapshots.diff import layer_chunks

__all__ = ["copy_upper", "layer_from_upper_without"]


def layer_from_upper_without(upper: str | os.PathLike[str], hidden: frozenset[str]) -> io.BufferedReader:
    """An OCI layer tar of `upper` without the entries named in `hidden` (relative paths)
    when they are empty files or directories: mount points, not content."""
    return tar_reader(guarded(layer_chunks(Path(upper), hidden), f"layer from {upper}"))


def copy_upper(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Copy the tree `source` into the (empty) directory `target`, everything kept; cp(1)
    does it with reflinks where the filesystem shares blocks."""
    argv = ["cp", "-a", "--reflink=auto", "--", f"{os.fspath(source)}/.", os.fspath(target)]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
        raise SystemFault(f"copying {source}: {reason}")
