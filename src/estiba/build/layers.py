"""The build's filesystem work, synchronous (the builder runs it in threads):

    ImageState            an image under construction: its config and its layers
    commit_step           a step's result recorded as an image (a layer, or none)
    filesystem_step       a root from the parent's layers, changed by a function (COPY,
                          ADD, WORKDIR), its changes made a layer; undone on failure
    mounted_view          another image's root, read-only, for COPY --from
    layer_of_upper        a writable layer as an image layer, None when nothing changed

Every mount, snapshot and directory made here is released through an ExitStack.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from estiba.content import Descriptor
from estiba.errors import Conflict, NotFound
from estiba.images.model import ContainerConfig, History, ImageConfig

__all__ = [
    "HIDDEN",
    "ImageState",
    "commit_step",
    "filesystem_step",
    "layer_of_upper",
    "mounted_view",
    "scratch_state",
]

# What the runtime puts in a container's writable layer as mount points: not content.
HIDDEN = frozenset({"etc/hostname", "etc/hosts", "etc/resolv.conf", ".dockerenv", "etc/mtab", "dev/console"})


@dataclass(frozen=True)
class ImageState:
    """The image a stage has reached: its id ("" for scratch before any step), config
    and layer blobs (in order)."""

    image_id: str
    config: ImageConfig
    layers: tuple[Descriptor, ...]

    @property
    def run_config(self) -> ContainerConfig:
        return self.config.config


def scratch_state() -> ImageState:
    from estiba.images.manifest import host_platform

    platform = host_platform()
    config = ImageConfig(architecture=platform.architecture, os=platform.os, variant=platform.variant)
    return ImageState("", config, ())


def image_state(images: Any, image_id: str) -> ImageState:
    config = images.config(image_id)
    layers = tuple(descriptor for _, descriptor in images.layers(image_id))
    return ImageState(image_id, config, layers)


def commit_step(
    images: Any,
    state: ImageState,
    run_config: ContainerConfig,
    created_by: str,
    layer: tuple[Descriptor, str] | None,
) -> ImageState:
    """Record the step's image: the parent's config with the new run config, a history
    entry (empty_layer without a layer), the layer if any; parent = the step's parent."""
    from estiba.images.assemble import now_rfc3339, write_image

    created = now_rfc3339()
    history = History(created=created, created_by=created_by, empty_layer=layer is None)
    diff_ids = state.config.diff_ids + ((layer[1],) if layer else ())
    layers = state.layers + ((layer[0],) if layer else ())
    config = replace(
        state.config, config=run_config, diff_ids=diff_ids,
        history=(*state.config.history, history), created=created,
    )  # fmt: skip
    manifest = write_image(images.content, config, list(layers))
    image = images.add(manifest.digest, parent=state.image_id or None)
    return ImageState(image.id, config, layers)


def top_chain(images: Any, snapshots: Any, state: ImageState) -> str | None:
    """The committed snapshot of the image's top layer (unpacking what is missing)."""
    from estiba.images.layers import open_layer
    from estiba.snapshots import unpack_image_layers

    layers = [
        (diff_id, partial(open_layer, images.content, descriptor))
        for diff_id, descriptor in zip(state.config.diff_ids, state.layers)
    ]
    return unpack_image_layers(snapshots, layers)


def meaningful(upper: Path, hidden: frozenset[str] = HIDDEN) -> bool:
    """Whether a writable layer holds a change: anything but the runtime's mount points
    and the directories holding them."""
    from estiba.snapshots.archive import walk

    holders = {h.rsplit("/", 1)[0] for h in hidden if "/" in h}
    for rel, _path, st in walk(upper):
        if rel in hidden and (stat.S_ISREG(st.st_mode) and st.st_size == 0 or stat.S_ISDIR(st.st_mode)):
            continue
        if rel in holders and stat.S_ISDIR(st.st_mode):
            continue
        return True
    return False


def layer_of_upper(images: Any, upper: Path) -> tuple[Descriptor, str] | None:
    """The writable layer `upper` as a layer blob, or None when nothing changed."""
    from estiba.images.layers import import_tar
    from estiba.snapshots.commit import layer_from_upper_without

    if not meaningful(upper):
        return None
    with layer_from_upper_without(upper, HIDDEN) as stream:
        return import_tar(stream, images.content)


def _scratch_dir(parent: Path, prefix: str) -> Path:
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))


def filesystem_step(
    images: Any,
    snapshots: Any,
    state: ImageState,
    workdir: Path,
    change: Callable[[Path], None],
) -> tuple[Descriptor, str] | None:
    """Mount a writable root over the image, let `change` write into it, and return its
    changes as a layer (None when there are none). The new layer's snapshot is kept as
    the next chain's, so the following step does not unpack it again."""
    from estiba.snapshots import layer_dirs, mounted

    parent = top_chain(images, snapshots, state)
    key = f"build-{os.getpid()}-{uuid.uuid4().hex[:12]}"
    with contextlib.ExitStack() as undo:
        mounts = snapshots.prepare(key, parent)
        undo.callback(_remove_snapshot, snapshots, key)
        target = _scratch_dir(workdir, "root-")
        undo.callback(_remove_empty_dir, target)
        # `mounted` unmounts what it mounted, also a bind mount that os.path.ismount
        # cannot see (same filesystem): the root of a snapshot with no parent.
        with mounted(mounts, target):
            change(target)
        upper = layer_dirs(mounts).upper
        assert upper is not None
        layer = layer_of_upper(images, Path(upper))
        if layer is not None:
            keep_as_snapshot(snapshots, key, Path(upper), state, layer[1])
        return layer


def keep_as_snapshot(snapshots: Any, key: str, upper: Path, state: ImageState, diff_id: str) -> None:
    """Commit the active snapshot `key` (unmounted) as the new layer's chain snapshot, so
    that the next step need not unpack the layer it just made. The runtime's empty mount
    points go first: the snapshot then holds what the layer holds."""
    from estiba.snapshots import chain_ids

    for rel in HIDDEN:
        path = upper / rel
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_size == 0:
                os.unlink(path)
            elif stat.S_ISDIR(st.st_mode):
                os.rmdir(path)  # only when empty
    chain = chain_ids([*state.config.diff_ids, diff_id])[-1]
    with contextlib.suppress(Conflict):
        snapshots.commit(chain, key)  # the key is gone then; on Conflict its owner removes it


def _remove_empty_dir(path: Path) -> None:
    """rmdir, never rmtree: a mount left on it must not take a snapshot's files along."""
    with contextlib.suppress(OSError):
        os.rmdir(path)


def _remove_snapshot(snapshots: Any, key: str) -> None:
    with contextlib.suppress(NotFound):
        snapshots.remove(key)


@contextlib.contextmanager
def mounted_view(images: Any, snapshots: Any, state: ImageState, workdir: Path) -> Iterator[Path]:
    """The image's root, mounted read-only on a private directory while the block runs."""
    from estiba.snapshots import mounted

    parent = top_chain(images, snapshots, state)
    target = _scratch_dir(workdir, "view-")
    with contextlib.ExitStack() as undo:
        undo.callback(_remove_empty_dir, target)
        if parent is None:
            yield target  # scratch: an empty root
            return
        key = f"build-view-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        mounts = snapshots.view(key, parent)
        undo.callback(_remove_snapshot, snapshots, key)
        undo.enter_context(mounted(mounts, target))
        yield target
