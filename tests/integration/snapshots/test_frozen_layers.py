"""Frozen layers with real overlay mounts (root): freezing a container's upper in place keeps
its tree exactly, later writes never reach a frozen layer, a squash of a chain shows the same
tree (whiteouts, opaque directories, a directory over a file, hardlinks, owners, modes,
times), a too deep chain is squashed, unused layers are collected, and sizes count each
inode once."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.snapshots import Change, OverlaySnapshotter, changes, layer_dirs, mounted
from estiba.snapshots import frozen
from tests.integration.snapshots.test_overlay_mounts import BASE, TOP, mountinfo_under, unpack

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (overlay mounts)")


@pytest.fixture
def sn(tmp_path: Path) -> Iterator[OverlaySnapshotter]:
    before = mountinfo_under(tmp_path)
    snapshotter = OverlaySnapshotter(tmp_path / "root")
    yield snapshotter
    snapshotter.close()
    assert mountinfo_under(tmp_path) == before


def signature(root: Path) -> dict[str, tuple[object, ...]]:
    """Everything a container sees of its tree, by path (inode numbers aside)."""
    found: dict[str, tuple[object, ...]] = {}
    for directory, names, files in os.walk(root):
        for name in sorted(names + files):
            path = Path(directory, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                content: object = hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(path)
            else:
                content = None
            times = st.st_mtime_ns if not stat.S_ISLNK(st.st_mode) else None
            found[str(path.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, content, times, st.st_nlink
                                                  if stat.S_ISREG(st.st_mode) else None)  # fmt: skip
    return found


def seen(sn: OverlaySnapshotter, key: str, tmp_path: Path) -> dict[str, tuple[object, ...]]:
    target = tmp_path / "mnt" / key
    target.mkdir(parents=True, exist_ok=True)
    with mounted(sn.mounts(key), target) as root:
        return signature(Path(root))


def write(sn: OverlaySnapshotter, key: str, tmp_path: Path, script: str) -> None:
    target = tmp_path / "mnt" / key
    target.mkdir(parents=True, exist_ok=True)
    with mounted(sn.mounts(key), target) as root:
        subprocess.run(["sh", "-ec", script], cwd=root, check=True)


def test_freeze_keeps_the_tree_and_a_squash_reproduces_it(sn: OverlaySnapshotter, tmp_path: Path) -> None:
    image = unpack(sn, BASE, TOP)
    sn.prepare("c", image)
    write(sn, "c", tmp_path, """
        echo changed > etc/os-release; rm etc/app.conf
        mkdir srv; echo ola > srv/index.html; ln srv/index.html srv/hard; chown 7:8 srv/hard
        rm -rf usr; mkdir -p usr/bin; echo v2 > usr/bin/new; chmod 0751 usr/bin
        ln -s ../srv/index.html etc/link; setfattr -n user.k -v v etc 2>/dev/null || true
    """)
    first = seen(sn, "c", tmp_path)
    upper_before = layer_dirs(sn.mounts("c")).upper

    l1 = frozen.freeze(sn, "c", set())
    assert frozen.own_layers(sn, "c") == [l1] and seen(sn, "c", tmp_path) == first
    assert os.listdir(layer_dirs(sn.mounts("c")).upper) == []
    write(sn, "c", tmp_path, """
        echo again > etc/os-release; echo more >> srv/index.html
        rm -rf srv; echo "now a file" > srv; mkdir var/cache/deep; touch -d @1000 var/cache/deep
    """)
    second = seen(sn, "c", tmp_path)
    assert Path(upper_before, "srv/index.html").read_bytes() == b"ola\n"  # frozen: untouched

    l2 = frozen.freeze(sn, "c", set())
    write(sn, "c", tmp_path, "rm srv; mkdir srv; echo fresh > srv/other; rm -rf var/cache")
    third = seen(sn, "c", tmp_path)
    assert "srv/index.html" not in third and "srv/other" in third and "var/cache" not in third
    l3 = frozen.freeze(sn, "c", set())
    assert frozen.own_layers(sn, "c") == [l3, l2, l1] and seen(sn, "c", tmp_path) == third

    # One layer with the files of three: the same tree over the same image.
    squashed = frozen.squash(sn, frozen.own_layers(sn, "c"), image)
    sn.prepare("d", squashed)
    assert seen(sn, "d", tmp_path) == third
    with frozen.own_view(sn, "c") as dirs:
        found = changes(dirs.lowers, dirs.upper)
    assert Change("D", "/var/cache") in found and Change("A", "/srv/other") in found
    assert Change("D", "/etc/app.conf") in found and Change("C", "/etc/os-release") in found

    # A restore points the container at an older layer; the newer ones go unless named.
    sn.reset("c", l2)
    assert seen(sn, "c", tmp_path) == second
    frozen.collect(sn, l3, {l1})
    names = {info.name for info in sn.walk()}
    assert l3 not in names and {l1, l2, squashed} <= names
    sn.remove("d")
    frozen.collect(sn, squashed, set())
    sn.reset("c", l1)
    frozen.sweep(sn, {l1})
    assert {info.name for info in sn.walk()} == {*(i.name for i in sn.walk() if "frozen" not in i.name), l1}
    assert l2 not in {info.name for info in sn.walk()}
    assert seen(sn, "c", tmp_path) == first


def test_a_deep_chain_is_squashed_and_keeps_its_files(sn: OverlaySnapshotter, tmp_path: Path) -> None:
    image = unpack(sn, BASE, TOP)
    sn.prepare("c", image)
    named: set[str] = set()
    for round_ in range(6):
        write(sn, "c", tmp_path, f"echo {round_} > f{round_}; rm -f f{round_ - 2}")
        expected = seen(sn, "c", tmp_path)
        named.add(frozen.freeze(sn, "c", named, max_lowers=4))
        assert len(layer_dirs(sn.mounts("c")).lowers) <= 4
        assert seen(sn, "c", tmp_path) == expected
    assert sorted(name for name in expected if name.startswith("f")) == ["f4", "f5"]
    frozen.sweep(sn, set())  # the container still stands on its layers
    assert seen(sn, "c", tmp_path) == expected
    sn.remove("c")
    frozen.sweep(sn, set())
    assert not [info for info in sn.walk() if frozen.FROZEN_LABEL in info.labels]


def test_own_usage_counts_the_upper_and_frozen_layers_each_inode_once(sn: OverlaySnapshotter, tmp_path: Path) -> None:
    image = unpack(sn, BASE, TOP)
    sn.prepare("c", image)
    write(sn, "c", tmp_path, "head -c 300000 /dev/zero > a; ln a b")
    frozen.freeze(sn, "c", set())
    write(sn, "c", tmp_path, "head -c 5000 /dev/zero > c; truncate -s 1000000 sparse")
    assert frozen.own_usage(sn, "c").size == 300000 + 5000 + 1000000


def test_the_kernel_mounts_every_depth_freezes_reach_with_the_real_limits(sn: OverlaySnapshotter, tmp_path: Path) -> None:
    """Freeze after freeze with the real limits: the chain is squashed before mount(2)
    refuses its options, and every file written along the way is still there."""
    image = unpack(sn, BASE, TOP)
    sn.prepare("c", image)
    deepest, squashes = 0, 0
    target = tmp_path / "mnt" / "deep"
    target.mkdir(parents=True)
    for index in range(150):
        Path(layer_dirs(sn.mounts("c")).upper, f"f{index}").write_text(str(index))  # stopped: no mount
        with mounted(sn.mounts("c"), target) as root:  # every depth reached mounts
            assert len(list(Path(root).glob("f*"))) == index + 1
        before = len(layer_dirs(sn.mounts("c")).lowers)
        frozen.freeze(sn, "c", set())
        after = len(layer_dirs(sn.mounts("c")).lowers)
        squashes += after < before
        deepest = max(deepest, after)
    assert squashes >= 1 and deepest > 10
    with mounted(sn.mounts("c"), target) as root:
        assert sorted(int(p.name[1:]) for p in Path(root).glob("f*")) == list(range(150))
