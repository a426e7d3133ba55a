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
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

from estiba.errors import SystemFault
from estiba.snapshots.archive import END_OF_ARCHIVE, TarWriter, guarded, tar_reader, walk
from estiba.snapshots.lowers import OPAQUE_MARKER, WHITEOUT_PREFIX, is_opaque, is_whiteout

__all__ = ["copy_upper", "layer_from_upper_without"]


def layer_from_upper_without(upper: str | os.PathLike[str], hidden: frozenset[str]) -> io.BufferedReader:
    """An OCI layer tar of `upper` without the entries named in `hidden` (relative paths)
    when they are empty files or directories: mount points, not content."""
    return tar_reader(guarded(_chunks(Path(upper), hidden), f"layer from {upper}"))


def _chunks(upper: Path, hidden: frozenset[str]) -> Iterator[bytes]:
    writer = TarWriter()
    for rel, path, st in walk(upper):
        if rel in hidden and (stat.S_ISDIR(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_size == 0)):
            continue
        if is_whiteout(st):
            directory, _, name = rel.rpartition("/")
            marker = f"{directory}/{WHITEOUT_PREFIX}{name}" if directory else WHITEOUT_PREFIX + name
            yield writer.marker(marker, st)
            continue
        yield from writer.entry(rel, path, st)
        if stat.S_ISDIR(st.st_mode) and is_opaque(path):
            yield writer.marker(f"{rel}/{OPAQUE_MARKER}", st)
    yield END_OF_ARCHIVE


def copy_upper(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Copy the tree `source` into the (empty) directory `target`, everything kept; cp(1)
    does it with reflinks where the filesystem shares blocks."""
    argv = ["cp", "-a", "--reflink=auto", "--", f"{os.fspath(source)}/.", os.fspath(target)]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {result.returncode}"
        raise SystemFault(f"copying {source}: {reason}")
