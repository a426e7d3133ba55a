"""The overlay snapshotter with real mounts (root): image layers unpacked once, container
roots mounted with overlay, copy-on-write, whiteouts, diff, commit and re-apply, views,
parallel prepares, many layers, and no mount left behind by any test."""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from estiba.snapshots import (
    Change,
    OverlaySnapshotter,
    export,
    layer_dirs,
    layer_from_upper,
    mount_changes,
    mounted,
    unpack_image_layers,
)
from tests.unit.snapshots.layers import (
    OneWay,
    compress,
    digest,
    directory,
    file,
    layer,
    opaque,
    symlink,
    tree,
    whiteout,
)

BASE = layer(
    directory("etc"), file("etc/os-release", b"ID=estiba\n"), file("etc/motd", b"ola\n"),
    directory("usr"), directory("usr/bin"), file("usr/bin/tool", b"v1", mode=0o755),
    symlink("bin", "usr/bin"), directory("var"), directory("var/cache"), file("var/cache/old", b"o"),
)
TOP = layer(
    directory("etc"), file("etc/app.conf", b"port=80\n"), whiteout("etc/motd"),
    directory("var"), opaque("var/cache"), file("var/cache/new", b"n"),
)


def mountinfo_under(path: Path) -> list[str]:
    """Lines of /proc/self/mountinfo that mention `path` (as mount point or in options).
    Filtered so that other engineers' mounts on this shared machine do not interfere."""
    with open("/proc/self/mountinfo") as info:
        return sorted(line for line in info if str(path) in line)


@pytest.fixture
def base_dir(tmp_path: Path) -> Iterator[Path]:
    """tmp_path, asserting that no mount under it survives the test."""
    before = mountinfo_under(tmp_path)
    yield tmp_path
    assert mountinfo_under(tmp_path) == before


@pytest.fixture
def sn(base_dir: Path) -> Iterator[OverlaySnapshotter]:
    snapshotter = OverlaySnapshotter(base_dir / "root")
    yield snapshotter
    snapshotter.close()


def unpack(sn: OverlaySnapshotter, *layers: bytes) -> str:
    blobs = [(digest(raw), (lambda raw=raw: OneWay(compress(raw, "gzip")))) for raw in layers]
    top = unpack_image_layers(sn, blobs)
    assert top is not None
    return top


def target(base: Path, name: str) -> Path:
    path = base / "mnt" / name
    path.mkdir(parents=True)
    return path


def test_container_root_is_copy_on_write_over_shared_layers(sn: OverlaySnapshotter, base_dir: Path) -> None:
    image = unpack(sn, BASE, TOP)
    mounts = sn.prepare("c1", image)
    dirs = layer_dirs(mounts)
    lowers_before = [tree(Path(d)) for d in dirs.lowers]
    with mounted(mounts, target(base_dir, "c1")) as root:
        root = Path(root)
        assert (root / "etc/os-release").read_bytes() == b"ID=estiba\n"
        assert (root / "etc/app.conf").read_bytes() == b"port=80\n"
        assert not (root / "etc/motd").exists()  # whited out by the top layer
        assert os.listdir(root / "var/cache") == ["new"]  # opaque in the top layer
        assert (root / "bin/tool").read_bytes() == b"v1"
        (root / "etc/os-release").write_bytes(b"ID=changed\n")
        (root / "etc/app.conf").unlink()
        (root / "srv").mkdir()
        (root / "srv/index.html").write_bytes(b"<h1>ola</h1>")
        assert mount_changes(mounts) == [
            Change("C", "/etc"), Change("D", "/etc/app.conf"), Change("C", "/etc/os-release"),
            Change("A", "/srv"), Change("A", "/srv/index.html"),
        ]
    assert Path(dirs.upper, "etc/os-release").read_bytes() == b"ID=changed\n"
    assert os.lstat(Path(dirs.upper, "etc/app.conf")).st_rdev == 0  # a whiteout
    assert [tree(Path(d)) for d in dirs.lowers] == lowers_before  # layers untouched
    assert sn.usage("c1").size == len(b"ID=changed\n") + len(b"<h1>ola</h1>")


def test_commit_to_a_layer_and_apply_it_reproduces_the_tree(sn: OverlaySnapshotter, base_dir: Path) -> None:
    image = unpack(sn, BASE, TOP)
    mounts = sn.prepare("c1", image)
    with mounted(mounts, target(base_dir, "c1")) as root:
        root = Path(root)
        (root / "etc/os-release").write_bytes(b"ID=committed\n")
        (root / "etc/app.conf").unlink()
        subprocess.run(["rm", "-rf", str(root / "usr")], check=True)  # then recreate: opaque
        (root / "usr/bin").mkdir(parents=True)
        (root / "usr/bin/tool").write_bytes(b"v2")
        os.symlink("tool", root / "usr/bin/alias")
        expected = tree(root)
    stream = layer_from_upper(layer_dirs(mounts).upper)
    new_layer = stream.read()
    assert b".wh.app.conf" in new_layer and b".wh..wh..opq" in new_layer
    child = unpack(sn, BASE, TOP, new_layer)
    reproduced = sn.prepare("c2", child)
    with mounted(reproduced, target(base_dir, "c2")) as root:
        assert tree(Path(root)) == expected
        assert not (Path(root) / "usr/bin/bin").exists()


def test_views_are_read_only(sn: OverlaySnapshotter, base_dir: Path) -> None:
    base = unpack(sn, BASE)
    image = unpack(sn, BASE, TOP)
    for key, parent in (("v-one", base), ("v-two", image)):
        with mounted(sn.view(key, parent), target(base_dir, key)) as root:
            assert (Path(root) / "etc/os-release").exists()
            with pytest.raises(OSError) as raised:
                (Path(root) / "etc/x").write_bytes(b"no")
            assert raised.value.errno == errno.EROFS


def test_a_snapshot_without_parent_is_a_writable_bind(sn: OverlaySnapshotter, base_dir: Path) -> None:
    mounts = sn.prepare("scratch")
    with mounted(mounts, target(base_dir, "scratch")) as root:
        (Path(root) / "hello").write_bytes(b"x")
    assert Path(layer_dirs(mounts).upper, "hello").read_bytes() == b"x"


def test_remove_after_unmount_leaves_no_directory(sn: OverlaySnapshotter, base_dir: Path) -> None:
    image = unpack(sn, BASE)
    snaps = base_dir / "root" / "snapshots"
    kept = sorted(os.listdir(snaps))
    mounts = sn.prepare("c", image)
    with mounted(mounts, target(base_dir, "c")) as root:
        (Path(root) / "etc/new").write_bytes(b"x")
    sn.remove("c")
    assert sorted(os.listdir(snaps)) == kept


def test_parallel_containers_on_one_image_stay_apart(sn: OverlaySnapshotter, base_dir: Path) -> None:
    image = unpack(sn, BASE, TOP)
    with ThreadPoolExecutor(4) as pool:
        all_mounts = list(pool.map(lambda i: sn.prepare(f"c{i}", image), range(8)))
    roots = [target(base_dir, f"c{i}") for i in range(8)]
    with _all_mounted(all_mounts, roots):
        for i, root in enumerate(roots):
            (root / "etc/who").write_text(str(i))
        for i, root in enumerate(roots):
            assert (root / "etc/who").read_text() == str(i)
    for i in range(8):
        sn.remove(f"c{i}")


def test_more_layers_than_one_page_of_mount_data(base_dir: Path) -> None:
    long_root = base_dir / ("r" * 100) / ("o" * 100)
    sn = OverlaySnapshotter(long_root)
    try:
        layers = [layer(file(f"layer{i}", str(i).encode())) for i in range(30)]
        image = unpack(sn, *layers)
        mounts = sn.prepare("c", image)
        assert len(",".join(mounts[0].options)) > os.sysconf("SC_PAGESIZE")
        with mounted(mounts, target(base_dir, "c")) as root:
            assert sorted(os.listdir(root)) == sorted(f"layer{i}" for i in range(30))
            (Path(root) / "written").write_bytes(b"w")
        assert Path(layer_dirs(mounts).upper, "written").exists()
    finally:
        sn.close()


def test_busybox_image_runs_in_a_container_root(sn: OverlaySnapshotter, base_dir: Path, busybox_rootfs: Path) -> None:
    raw = export(busybox_rootfs).read()
    image = unpack(sn, raw)
    assert image == "sha256:" + hashlib.sha256(raw).hexdigest()
    mounts = sn.prepare("bb", image)
    with mounted(mounts, target(base_dir, "bb")) as root:
        subprocess.run(["chroot", root, "/bin/sh", "-c", "echo ola > /tmp/x && rm /etc/hostname"], check=True)
        assert mount_changes(mounts) == [
            Change("C", "/etc"), Change("D", "/etc/hostname"), Change("C", "/tmp"), Change("A", "/tmp/x")]


class _all_mounted:
    def __init__(self, all_mounts, roots) -> None:  # noqa: ANN001
        self._pairs = list(zip(all_mounts, roots))
        self._stack: list = []

    def __enter__(self) -> None:
        for mounts, root in self._pairs:
            context = mounted(mounts, root)
            context.__enter__()
            self._stack.append(context)

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        while self._stack:
            self._stack.pop().__exit__(None, None, None)


def test_a_same_filesystem_bind_mount_is_seen_and_unmounted(tmp_path) -> None:
    """os.path.ismount misses a bind mount from the same filesystem; the engine must not
    (it would leave the mount and then delete files through it)."""
    import subprocess

    from estiba.daemon.rootfs import unmount_rootfs
    from estiba.snapshots.mount import is_mount_point

    source = tmp_path / "layer"
    source.mkdir()
    (source / "keep").write_text("data")
    target = tmp_path / "root with space"
    target.mkdir()
    subprocess.run(["mount", "--bind", str(source), str(target)], check=True)
    try:
        assert is_mount_point(target) and not os.path.ismount(target)
        unmount_rootfs(target)
        assert not is_mount_point(target)
        assert (source / "keep").read_text() == "data"
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)
