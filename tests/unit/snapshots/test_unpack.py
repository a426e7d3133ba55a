"""chain_ids and unpack_image_layers on a real overlay snapshotter (no mounts needed)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from estiba.errors import InvalidArgument
from estiba.snapshots import Kind, OverlaySnapshotter, chain_ids, layer_dirs, unpack_image_layers
from tests.unit.snapshots.layers import OneWay, compress, digest, directory, file, layer, whiteout

BASE = layer(directory("etc"), file("etc/os-release", b"ID=estiba\n"), file("etc/motd", b"hi"))
TOP = layer(directory("etc"), file("etc/app.conf", b"port=80\n"), whiteout("etc/motd"))


class Blobs:
    """Layer blobs by diff_id, counting how often each is opened."""

    def __init__(self, *layers: bytes, compression: str = "gzip") -> None:
        self.data = {digest(raw): compress(raw, compression) for raw in layers}
        self.opened: list[str] = []

    def entry(self, diff_id: str, blob: bytes | None = None) -> tuple[str, object]:
        def open_blob() -> OneWay:
            self.opened.append(diff_id)
            return OneWay(self.data[diff_id] if blob is None else blob)

        return diff_id, open_blob


@pytest.fixture
def sn(tmp_path: Path) -> Iterator[OverlaySnapshotter]:
    snapshotter = OverlaySnapshotter(tmp_path / "root")
    yield snapshotter
    snapshotter.close()


def test_chain_ids_follow_the_oci_image_spec() -> None:
    a, b, c = ("sha256:" + ch * 64 for ch in "abc")
    ab = "sha256:" + hashlib.sha256(f"{a} {b}".encode()).hexdigest()
    abc = "sha256:" + hashlib.sha256(f"{ab} {c}".encode()).hexdigest()
    assert chain_ids([a, b, c]) == [a, ab, abc]
    with pytest.raises(InvalidArgument):
        chain_ids(["md5:abc"])


def test_unpacks_each_layer_once_and_shares_it(sn: OverlaySnapshotter) -> None:
    blobs = Blobs(BASE, TOP)
    layers = [blobs.entry(digest(BASE)), blobs.entry(digest(TOP))]
    top = unpack_image_layers(sn, layers)
    assert top == chain_ids([digest(BASE), digest(TOP)])[-1]
    assert [i.kind for i in sn.walk()] == [Kind.COMMITTED, Kind.COMMITTED]
    assert sn.stat(top).parent == digest(BASE)
    assert unpack_image_layers(sn, layers) == top
    assert blobs.opened == [digest(BASE), digest(TOP)]  # the second image opened nothing


def test_an_image_sharing_a_base_unpacks_only_its_own_layer(sn: OverlaySnapshotter) -> None:
    other = layer(file("srv/index.html", b"<h1>ola</h1>"))
    blobs = Blobs(BASE, TOP, other)
    unpack_image_layers(sn, [blobs.entry(digest(BASE)), blobs.entry(digest(TOP))])
    unpack_image_layers(sn, [blobs.entry(digest(BASE)), blobs.entry(digest(other))])
    assert blobs.opened == [digest(BASE), digest(TOP), digest(other)]
    assert len(sn.walk()) == 3


def test_the_snapshot_holds_the_layer_with_overlay_whiteouts(sn: OverlaySnapshotter) -> None:
    blobs = Blobs(BASE, TOP, compression="zstd")
    top = unpack_image_layers(sn, [blobs.entry(digest(BASE)), blobs.entry(digest(TOP))])
    dirs = layer_dirs(sn.prepare("container", top))
    upper_of_top, base = dirs.lowers
    assert Path(upper_of_top, "etc/app.conf").read_bytes() == b"port=80\n"
    assert os.path.exists(Path(base, "etc/motd"))
    assert os.lstat(Path(upper_of_top, "etc/motd")).st_rdev == 0


def test_wrong_content_is_refused_and_leaves_nothing(sn: OverlaySnapshotter, tmp_path: Path) -> None:
    blobs = Blobs(BASE, TOP)
    with pytest.raises(InvalidArgument, match="not that layer"):
        unpack_image_layers(sn, [blobs.entry(digest(BASE), blob=compress(TOP, "gzip"))])
    assert sn.walk() == []
    assert os.listdir(tmp_path / "root" / "snapshots") == []


def test_a_broken_blob_leaves_nothing(sn: OverlaySnapshotter) -> None:
    blobs = Blobs(BASE)
    with pytest.raises(InvalidArgument):
        unpack_image_layers(sn, [blobs.entry(digest(BASE), blob=b"\x1f\x8bnot gzip")])
    assert sn.walk() == []


def test_no_layers_means_no_parent(sn: OverlaySnapshotter) -> None:
    assert unpack_image_layers(sn, []) is None


def test_concurrent_unpacks_of_one_image_agree(sn: OverlaySnapshotter) -> None:
    blobs = Blobs(BASE, TOP)
    layers = [blobs.entry(digest(BASE)), blobs.entry(digest(TOP))]
    with ThreadPoolExecutor(4) as pool:
        tops = set(pool.map(lambda _: unpack_image_layers(sn, layers), range(4)))
    assert len(tops) == 1
    assert sorted(i.kind for i in sn.walk()) == [Kind.COMMITTED, Kind.COMMITTED]
