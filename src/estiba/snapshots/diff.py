"""What a container changed, read from its overlay upper directory: the change list
(`docker diff`), a new layer tar (`docker commit`) and a whole-tree tar (`docker export`)."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, NamedTuple

from estiba.snapshots.archive import END_OF_ARCHIVE, TarWriter, guarded, tar_reader, walk
from estiba.snapshots.base import Mount
from estiba.snapshots.lowers import (
    OPAQUE_MARKER,
    WHITEOUT_PREFIX,
    LayerStack,
    is_opaque,
    is_whiteout,
)
from estiba.snapshots.mount import layer_dirs


class Change(NamedTuple):
    """One changed path: A(dded), C(hanged) or D(eleted), path absolute in the container."""

    kind: Literal["A", "C", "D"]
    path: str


def changes(
    lowers: Sequence[str | os.PathLike[str]], upper: str | os.PathLike[str]
) -> list[Change]:
    """The changes an overlay upper directory makes to its lower layers (top first).

    As Docker reports them: a whiteout is D; an entry absent from the lowers is A, present
    is C; a directory is C when its owner, mode or mtime differ or when it gained or lost
    an entry. An opaque directory that replaced a lower one is C, with a D for each lower
    entry it hides. Sorted depth-first by name, a directory before its entries.
    """
    below = LayerStack(lowers)
    found: dict[str, str] = {}

    def record(rel: str, kind: str) -> None:
        found[rel] = kind
        parent = rel.rpartition("/")[0]
        if kind in ("A", "D") and parent:
            found.setdefault(parent, "C")

    for rel, path, st in walk(Path(upper)):
        if is_whiteout(st):
            record(rel, "D")
            continue
        lower = below.lookup(rel)
        if lower is None:
            record(rel, "A")
        elif not stat.S_ISDIR(st.st_mode) or not stat.S_ISDIR(lower[1].st_mode):
            record(rel, "C")
        elif is_opaque(path):
            found[rel] = "C"
            for name in below.listdir(rel):
                if not os.path.lexists(path / name):
                    record(f"{rel}/{name}", "D")
        elif _directory_changed(st, lower[1]):
            found.setdefault(rel, "C")
    ordered = sorted(found.items(), key=lambda item: [os.fsencode(p) for p in item[0].split("/")])
    return [Change(kind, "/" + rel) for rel, kind in ordered]  # type: ignore[arg-type]


def mount_changes(mounts: Sequence[Mount]) -> list[Change]:
    """`changes` for an active snapshot, from the mounts its snapshotter returned."""
    dirs = layer_dirs(mounts)
    if dirs.upper is None:
        return []
    return changes(dirs.lowers, dirs.upper)


def layer_from_upper(upper: str | os.PathLike[str]) -> io.BufferedReader:
    """An OCI layer tar (uncompressed) of an overlay upper directory, streamed as read:
    whiteout devices become `.wh.<name>` entries and opaque directories get a
    `.wh..wh..opq` entry. Hash it while storing it to get its diff_id."""
    return tar_reader(guarded(layer_chunks(Path(upper)), f"layer from {upper}"))


def export(root: str | os.PathLike[str]) -> io.BufferedReader:
    """A tar of a whole (mounted) filesystem tree, as `docker export` writes it."""
    return tar_reader(guarded(_export_chunks(Path(root)), f"export of {root}"))


def layer_chunks(upper: Path, hidden: frozenset[str] = frozenset()) -> Iterator[bytes]:
    """The layer tar of `upper` block by block; the entries named in `hidden` (relative
    paths) are left out when they are empty files or directories: mount points."""
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


def _export_chunks(root: Path) -> Iterator[bytes]:
    writer = TarWriter()
    for rel, path, st in walk(root):
        yield from writer.entry(rel, path, st)
    yield END_OF_ARCHIVE


def _directory_changed(upper: os.stat_result, lower: os.stat_result) -> bool:
    return (
        upper.st_mode != lower.st_mode
        or upper.st_uid != lower.st_uid
        or upper.st_gid != lower.st_gid
        or upper.st_mtime_ns != lower.st_mtime_ns
    )
