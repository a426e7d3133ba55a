"""Frozen layers: a container's writable layer turned read-only in place, so that a
snapshot, a restore and a copy cost no file copy (issue 5).

A container's root is the image's layers under its *own* layers: its writable upper
directory and, below it, the layers frozen by earlier snapshots (committed snapshots
labelled `FROZEN_LABEL`). Freezing a stopped container commits its upper directory as
such a layer and stacks a new, empty upper on it (`OverlaySnapshotter.freeze`); a
snapshot is then just a name for that layer, a restore points the container at it again
(`reset`), a copy stacks a new container on it. A frozen layer is never written again:
writes go to an upper directory, and overlay copies a lower file up before changing it.

Several containers and snapshots may stand on one frozen layer: it is removed (`collect`)
once no snapshot names it and nothing stands on it. Every freeze adds a lower layer, and
overlay takes at most one page of mount options (and 500 lowers): `ensure_shallow`
squashes a chain that grew too deep into one layer (`squash`: a copy, the one step that
costs the data, once every few dozen snapshots). `own_usage` and `own_view` read a
container's own layers as one, for SizeRw, `docker diff` and `docker commit`.

A running container's overlay mount cannot change its upper directory; the daemon copies
that one (paused) into a new frozen layer instead (`estiba.daemon.container_snapshots`).
Nothing may have a stopped container's upper mounted while it is frozen.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
import subprocess
import tempfile
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

from estiba.errors import Conflict, NotFound, SystemFault
from estiba.snapshots._fs import remove_tree
from estiba.snapshots.base import Kind, Usage
from estiba.snapshots.lowers import OPAQUE_XATTR, OVERLAY_XATTR_PREFIX, is_opaque, lstat_or_none
from estiba.snapshots.mount import LayerDirs, layer_dirs

__all__ = [
    "FROZEN_LABEL",
    "MAX_LOWERS",
    "MAX_MOUNT_DATA",
    "collect",
    "ensure_shallow",
    "freeze",
    "image_parent",
    "merge_layers",
    "new_layer_name",
    "own_layers",
    "own_usage",
    "own_view",
    "squash",
    "sweep",
]

FROZEN_LABEL = "estiba.frozen-layer"
# Squash before a container's overlay options reach these (mount(2) copies one page of
# options; the kernel stacks at most 500 lowers). Leaves room for the image's own depth
# growing by a commit or two, and for the upper and work paths.
MAX_MOUNT_DATA = 3 * (os.sysconf("SC_PAGESIZE") - 1) // 4
MAX_LOWERS = 400


def new_layer_name() -> str:
    return f"frozen-{secrets.token_hex(16)}"


def own_layers(snapshotter: Any, key: str) -> list[str]:
    """The frozen layers under `key` that belong to containers (not to images), top first."""
    found: list[str] = []
    parent = snapshotter.stat(key).parent
    while parent is not None:
        info = snapshotter.stat(parent)
        if FROZEN_LABEL not in info.labels:
            break
        found.append(parent)
        parent = info.parent
    return found


def image_parent(snapshotter: Any, key: str) -> str | None:
    """The topmost image layer under `key` (its frozen layers skipped)."""
    own = own_layers(snapshotter, key)
    return snapshotter.stat(own[-1] if own else key).parent


def freeze(snapshotter: Any, key: str, referenced: Collection[str], *,
           max_lowers: int = MAX_LOWERS, max_data: int = MAX_MOUNT_DATA) -> str:  # fmt: skip
    """Freeze the (stopped, unmounted) active snapshot `key`: its files become a new frozen
    layer, returned by name, under a new empty upper. O(1) in the data; a chain grown too
    deep is squashed afterwards (`ensure_shallow`)."""
    name = new_layer_name()
    snapshotter.freeze(key, name, labels={FROZEN_LABEL: "1"})
    return ensure_shallow(snapshotter, key, referenced, max_lowers=max_lowers, max_data=max_data)


def ensure_shallow(snapshotter: Any, key: str, referenced: Collection[str], *,
                   max_lowers: int = MAX_LOWERS, max_data: int = MAX_MOUNT_DATA) -> str:  # fmt: skip
    """The layer `key` stands on, after squashing its own layers into one when its overlay
    mount is near the kernel's limits; `key`'s own upper must be empty (just frozen or
    just reset). The layers squashed stay while snapshots in `referenced` name them."""
    parent = snapshotter.stat(key).parent
    if not _too_deep(snapshotter, key, max_lowers, max_data):
        return parent
    own = own_layers(snapshotter, key)
    if len(own) < 2:
        raise Conflict(
            f"the image under snapshot {key} has too many layers for overlay",
            hint="squash the image (estiba export | estiba import) and recreate the container",
        )
    squashed = squash(snapshotter, own, image_parent(snapshotter, key))
    snapshotter.reset(key, squashed)
    collect(snapshotter, parent, referenced)
    return squashed


def squash(snapshotter: Any, layers: Sequence[str], base: str | None) -> str:
    """One new frozen layer over `base` with the files of `layers` (frozen, top first).

    The files are copied (reflinked where the filesystem can): a layer of hardlinks would
    show every file of the merged layers with one more link, to the containers on them.
    So a squash costs the data of the merged layers, once every few hundred snapshots."""
    from estiba.snapshots.commit import copy_upper

    name = new_layer_name()
    staging = f"squash-{name}"
    upper = layer_dirs(snapshotter.prepare(staging, base)).upper
    merged = Path(tempfile.mkdtemp(prefix="new-merge-", dir=Path(upper).parent.parent))
    try:
        merge_layers([snapshotter.layer_path(layer) for layer in layers], merged)
        copy_upper(merged, upper)  # the merged root's owner, mode and times too
        snapshotter.commit(name, staging, labels={FROZEN_LABEL: "1"})
    except BaseException:
        with contextlib.suppress(NotFound):
            snapshotter.remove(staging)
        raise
    finally:
        remove_tree(merged)
    return name


def collect(snapshotter: Any, name: str | None, referenced: Collection[str]) -> None:
    """Remove the frozen layer `name` and then its frozen ancestors, as long as no snapshot
    names them (`referenced`) and nothing else stands on them."""
    while name is not None and name not in referenced:
        try:
            info = snapshotter.stat(name)
        except NotFound:
            return
        if FROZEN_LABEL not in info.labels or info.kind is not Kind.COMMITTED:
            return
        try:
            snapshotter.remove(name)
        except Conflict:
            return  # a container, a copy or a later layer stands on it
        name = info.parent


def sweep(snapshotter: Any, referenced: Collection[str]) -> None:
    """`collect` every frozen layer: those no snapshot names and nothing stands on go."""
    for info in snapshotter.walk():
        if FROZEN_LABEL in info.labels and info.kind is Kind.COMMITTED:
            collect(snapshotter, info.name, referenced)


def own_usage(snapshotter: Any, key: str) -> Usage:
    """Disk used by `key`'s upper directory and its own frozen layers: what the container
    adds to its image (Docker's SizeRw). The upper is measured now, a frozen layer was
    measured when it froze (it never changes); no inode is in two of them (overlay copies
    a file up to a new inode, a squash copies), so the sum counts each inode once."""
    usages = [snapshotter.usage(key), *(snapshotter.usage(layer) for layer in own_layers(snapshotter, key))]
    return Usage(sum(u.size for u in usages), sum(u.inodes for u in usages))


@contextlib.contextmanager
def own_view(snapshotter: Any, key: str) -> Iterator[LayerDirs]:
    """`key`'s changes over its image as one upper directory over the image's layers: its
    upper itself when it has no frozen layers, otherwise a temporary merge (hardlinks)."""
    dirs = layer_dirs(snapshotter.mounts(key))
    own = len(own_layers(snapshotter, key))
    if not own or dirs.upper is None:
        yield dirs
        return
    # Beside the layers (hardlinks need one filesystem); named like the snapshotter's own
    # half-made directories, so a crash's leftover is cleaned up at its next start.
    parent = Path(dirs.upper).parent.parent
    merged = Path(tempfile.mkdtemp(prefix="new-merge-", dir=parent))
    try:
        merge_layers([dirs.upper, *dirs.lowers[:own]], merged)
        yield LayerDirs(upper=str(merged), lowers=dirs.lowers[own:])
    finally:
        remove_tree(merged)


# --- merging layers ---------------------------------------------------------------------


def merge_layers(layers: Sequence[str | os.PathLike[str]], target: str | os.PathLike[str]) -> None:
    """Write into the empty directory `target` one overlay layer equal to `layers` (top
    first) stacked: over the same lower layers it shows the same tree. Whiteouts and
    opaque directories are kept where they hide something below; non-directories are
    hardlinked, so the layers must never be written in place again (frozen layers are not).
    """
    target = Path(target)
    for layer in reversed([Path(layer) for layer in layers]):
        root = os.lstat(layer)
        _merge_directory(layer, target, opaque=False)
        _copy_metadata(layer, target, root)


def _merge_directory(source: Path, target: Path, *, opaque: bool) -> None:
    """Lay the entries of the directory `source` over the directory `target`."""
    if opaque:
        for name in os.listdir(target):
            remove_tree(target / name)
        os.setxattr(target, OPAQUE_XATTR, b"y", follow_symlinks=False)
    with os.scandir(source) as scan:
        entries = list(scan)
    for entry in entries:
        path, into = Path(entry.path), target / entry.name
        st = entry.stat(follow_symlinks=False)
        below = lstat_or_none(into)
        if not stat.S_ISDIR(st.st_mode):
            if below is not None:
                remove_tree(into)
            _link(path, into)
            continue
        # A directory over a non-directory (a file or a whiteout of a lower own layer)
        # hides everything below it: overlay stops its lookup there, so must the merge.
        replaces = below is not None and not stat.S_ISDIR(below.st_mode)
        if replaces:
            os.unlink(into)
        if below is None or replaces:
            os.mkdir(into, 0o700)
        _merge_directory(path, into, opaque=replaces or is_opaque(path))
        _copy_metadata(path, into, st)


def _copy_metadata(source: Path, target: Path, st: os.stat_result) -> None:
    """The upper directory's owner, mode, xattrs and times win in the merged view."""
    for name in os.listxattr(source, follow_symlinks=False):
        if name.startswith(OVERLAY_XATTR_PREFIX):
            continue
        os.setxattr(target, name, os.getxattr(source, name, follow_symlinks=False),
                    follow_symlinks=False)  # fmt: skip
    os.chown(target, st.st_uid, st.st_gid, follow_symlinks=False)
    os.chmod(target, stat.S_IMODE(st.st_mode))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
        return
    except OSError as exc:
        if exc.errno != errno.EMLINK:
            raise
    # The inode has as many links as the filesystem allows: a copy then, all kept.
    result = subprocess.run(["cp", "-a", "--reflink=auto", "--", str(source), str(target)],
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode != 0:
        raise SystemFault(f"copying {source}: {result.stderr.strip() or result.returncode}")


def _too_deep(snapshotter: Any, key: str, max_lowers: int, max_data: int) -> bool:
    mounts = snapshotter.mounts(key)
    data = ",".join(option for option in mounts[0].options if "=" in option)
    return len(layer_dirs(mounts).lowers) > max_lowers or len(data) > max_data
