"""Unpacking an image's layers once and sharing them: each layer becomes a committed
snapshot named by its chain id, and a layer whose snapshot exists is not unpacked again."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Callable, Sequence
from typing import BinaryIO

from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.snapshots.apply import apply_layer
from estiba.snapshots.base import Kind, Mount, Snapshotter
from estiba.snapshots.compression import Readable
from estiba.snapshots.mount import layer_dirs

OpenBlob = Callable[[], BinaryIO]


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """The OCI chain ids of a layer stack: chainID(L0) = diffID(L0) and
    chainID(Ln) = sha256(chainID(Ln-1) + " " + diffID(Ln))."""
    chains: list[str] = []
    for diff_id in diff_ids:
        _check_digest(diff_id)
        if not chains:
            chains.append(diff_id)
        else:
            digest = hashlib.sha256(f"{chains[-1]} {diff_id}".encode()).hexdigest()
            chains.append("sha256:" + digest)
    return chains


def apply_to_snapshot(mounts: Sequence[Mount], stream: Readable) -> str:
    """Unpack a layer into an active snapshot through its layer directories (no mount
    needed); return the layer's diff_id."""
    dirs = layer_dirs(mounts)
    if dirs.upper is None:
        raise InvalidArgument("cannot unpack a layer into a read-only snapshot")
    return apply_layer(stream, dirs.upper, lowers=dirs.lowers)


def unpack_image_layers(
    snapshotter: Snapshotter, layers: Sequence[tuple[str, OpenBlob]]
) -> str | None:
    """Make sure a committed snapshot exists for every layer of an image, bottom first;
    return the top chain id (the parent for containers), None for an image with no layers.

    `layers` pairs each expected diff_id with a function opening the layer blob. A layer
    whose content does not hash to its diff_id is refused (InvalidArgument) and its
    snapshot removed. Concurrent unpacks of the same layer are fine: the loser of the
    commit race drops its copy.
    """
    parent: str | None = None
    for chain, (diff_id, open_blob) in zip(chain_ids([d for d, _ in layers]), layers):
        if not _committed(snapshotter, chain):
            _unpack_one(snapshotter, chain, parent, diff_id, open_blob)
        parent = chain
    return parent


def _committed(snapshotter: Snapshotter, name: str) -> bool:
    try:
        info = snapshotter.stat(name)
    except NotFound:
        return False
    if info.kind is not Kind.COMMITTED:
        raise Conflict(f"snapshot {name} exists but is {info.kind.value}, not committed")
    return True


def _unpack_one(
    snapshotter: Snapshotter, chain: str, parent: str | None, diff_id: str, open_blob: OpenBlob
) -> None:
    key = f"extract-{os.getpid()}-{uuid.uuid4().hex[:12]} {chain}"
    mounts = snapshotter.prepare(key, parent, labels={"estiba.snapshot/diff-id": diff_id})
    try:
        with contextlib.closing(open_blob()) as blob:
            unpacked = apply_to_snapshot(mounts, blob)
        if unpacked != diff_id:
            raise InvalidArgument(
                f"layer {diff_id} unpacked to {unpacked}: the blob is not that layer"
            )
        try:
            snapshotter.commit(chain, key)
        except Conflict:  # another unpack committed the same layer first: use theirs
            snapshotter.remove(key)
    except BaseException:
        with contextlib.suppress(NotFound):
            snapshotter.remove(key)
        raise


def _check_digest(digest: str) -> None:
    algorithm, _, hexdigest = digest.partition(":")
    well_formed = len(hexdigest) == 64 and all(c in "0123456789abcdef" for c in hexdigest)
    if algorithm != "sha256" or not well_formed:
        raise InvalidArgument(f"diff_id {digest!r} is not a sha256 digest")
