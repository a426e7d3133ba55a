"""Freezing and resetting an active snapshot without mounts (no root): the layer keeps its
directory, the key comes back empty on top, a failed reset changes nothing, and frozen
layers are collected only when nothing names them or stands on them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.errors import NotFound
from estiba.snapshots import Kind, OverlaySnapshotter, layer_dirs
from estiba.snapshots import frozen


@pytest.fixture
def sn(tmp_path: Path) -> Iterator[OverlaySnapshotter]:
    snapshotter = OverlaySnapshotter(tmp_path / "root", overlay_options=())
    yield snapshotter
    snapshotter.close()


def _image(sn: OverlaySnapshotter) -> str:
    upper = layer_dirs(sn.prepare("image-staging")).upper
    Path(upper, "base").write_text("image")
    sn.commit("image", "image-staging")
    return "image"


def test_freeze_commits_in_place_and_stacks_an_empty_upper(sn: OverlaySnapshotter) -> None:
    image = _image(sn)
    upper = layer_dirs(sn.prepare("c", image, labels={"owner": "c"})).upper
    Path(upper, "written").write_text("1 GB, say")
    layer = frozen.freeze(sn, "c", set())
    assert sn.layer_path(layer) == Path(upper)  # the same directory: nothing copied
    assert (Path(upper) / "written").read_text() == "1 GB, say"
    info = sn.stat("c")
    assert info.kind is Kind.ACTIVE and info.parent == layer and info.labels == {"owner": "c"}
    assert sn.stat(layer).kind is Kind.COMMITTED and frozen.FROZEN_LABEL in sn.stat(layer).labels
    dirs = layer_dirs(sn.mounts("c"))
    assert list(Path(dirs.upper).iterdir()) == [] and dirs.lowers == (upper, str(sn.layer_path(image)))
    assert frozen.own_layers(sn, "c") == [layer] and frozen.image_parent(sn, "c") == image
    assert sn.usage(layer).size == len("1 GB, say")
    assert frozen.own_usage(sn, "c").size == len("1 GB, say")


def test_a_failed_reset_leaves_the_container_as_it_was(sn: OverlaySnapshotter) -> None:
    image = _image(sn)
    upper = layer_dirs(sn.prepare("c", image)).upper
    Path(upper, "kept").write_text("x")
    with pytest.raises(NotFound):
        sn.reset("c", "no-such-layer")
    assert layer_dirs(sn.mounts("c")).upper == upper and Path(upper, "kept").read_text() == "x"
    assert sn.stat("c").parent == image
    sn.reset("c", None)
    assert sn.stat("c").parent is None and not Path(upper).exists()


def test_collect_keeps_what_is_named_or_stood_on(sn: OverlaySnapshotter) -> None:
    image = _image(sn)
    sn.prepare("c", image)
    first = frozen.freeze(sn, "c", set())
    second = frozen.freeze(sn, "c", set())
    sn.prepare("copy", first)
    frozen.collect(sn, second, set())  # c stands on it
    assert {second, first} <= {info.name for info in sn.walk()}
    sn.reset("c", image)
    frozen.collect(sn, second, {first})
    names = {info.name for info in sn.walk()}
    assert second not in names and first in names
    sn.remove("copy")
    frozen.collect(sn, first, {first})  # named by a snapshot
    assert first in {info.name for info in sn.walk()}
    frozen.sweep(sn, set())
    assert {info.name for info in sn.walk()} == {"image", "c"}
    frozen.collect(sn, image, set())  # an image's layer is never collected
    assert "image" in {info.name for info in sn.walk()}
