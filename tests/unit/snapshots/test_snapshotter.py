"""The Snapshotter conformance suite (lifecycle, errors, usage, walk, concurrency), run
against every implementation, plus the overlay snapshotter's layout, mounts and crash
recovery. Nothing here mounts, so none of it needs root."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.snapshots import Kind, Mount, OverlaySnapshotter, Snapshotter, Usage, layer_dirs

FACTORIES: dict[str, Callable[[Path], Snapshotter]] = {
    "overlay": lambda root: OverlaySnapshotter(root),
}


@pytest.fixture(params=sorted(FACTORIES))
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Snapshotter]]:
    made: list[Snapshotter] = []

    def factory() -> Snapshotter:
        snapshotter = FACTORIES[request.param](tmp_path / "root")
        made.append(snapshotter)
        return snapshotter

    yield factory
    for snapshotter in made:
        snapshotter.close()


@pytest.fixture
def sn(make: Callable[[], Snapshotter]) -> Snapshotter:
    return make()


def write(mounts: list[Mount], name: str, data: bytes = b"x") -> None:
    """Write into an active snapshot's own layer, as an unpack would (no mount)."""
    upper = layer_dirs(mounts).upper
    assert upper is not None
    Path(upper, name).write_bytes(data)


def committed_chain(sn: Snapshotter, names: list[str]) -> None:
    parent = None
    for name in names:
        write(sn.prepare(f"tmp-{name}", parent), name)
        sn.commit(name, f"tmp-{name}")
        parent = name


# --- conformance ---------------------------------------------------------------------


def test_satisfies_the_protocol(sn: Snapshotter) -> None:
    assert isinstance(sn, Snapshotter)


def test_prepare_commit_and_stat(sn: Snapshotter) -> None:
    sn.prepare("a-key", labels={"role": "base"})
    info = sn.stat("a-key")
    assert (info.name, info.kind, info.parent, dict(info.labels)) == ("a-key", Kind.ACTIVE, None, {"role": "base"})
    sn.commit("a", "a-key", labels={"extra": "1"})
    info = sn.stat("a")
    assert (info.kind, dict(info.labels)) == (Kind.COMMITTED, {"role": "base", "extra": "1"})
    with pytest.raises(NotFound):
        sn.stat("a-key")
    sn.prepare("b-key", "a")
    assert sn.stat("b-key").parent == "a"


def test_mounts_returns_what_prepare_returned(sn: Snapshotter) -> None:
    committed_chain(sn, ["l1", "l2"])
    first = sn.prepare("c", "l2")
    assert sn.mounts("c") == first
    view = sn.view("v", "l2")
    assert sn.mounts("v") == view


def test_errors_of_the_lifecycle(sn: Snapshotter) -> None:
    committed_chain(sn, ["base"])
    sn.prepare("active", "base")
    sn.view("view", "base")
    with pytest.raises(Conflict):
        sn.prepare("active", "base")
    with pytest.raises(Conflict):
        sn.prepare("base")
    with pytest.raises(NotFound):
        sn.prepare("x", "no-such-parent")
    with pytest.raises(InvalidArgument):
        sn.prepare("x", "active")  # parents must be committed
    with pytest.raises(InvalidArgument):
        sn.commit("frozen", "view")  # views cannot be committed
    with pytest.raises(Conflict):
        sn.commit("base", "active")  # name taken
    with pytest.raises(NotFound):
        sn.commit("y", "no-such-key")
    with pytest.raises(InvalidArgument):
        sn.mounts("base")  # committed snapshots are not mounted directly
    with pytest.raises(NotFound):
        sn.remove("no-such-key")
    with pytest.raises(InvalidArgument):
        sn.prepare("")


def test_remove_refuses_parents_of_other_snapshots(sn: Snapshotter) -> None:
    committed_chain(sn, ["base", "top"])
    with pytest.raises(Conflict):
        sn.remove("base")
    sn.remove("top")
    sn.remove("base")
    assert sn.walk() == []


def test_walk_lists_every_snapshot(sn: Snapshotter) -> None:
    committed_chain(sn, ["base"])
    sn.prepare("active", "base")
    sn.view("view", "base")
    assert sorted((i.name, i.kind) for i in sn.walk()) == [
        ("active", Kind.ACTIVE), ("base", Kind.COMMITTED), ("view", Kind.VIEW)]


def test_usage_measures_active_and_remembers_committed(sn: Snapshotter) -> None:
    mounts = sn.prepare("k")
    assert sn.usage("k") == Usage(0, 0)
    write(mounts, "f", b"12345")
    upper = layer_dirs(mounts).upper
    os.link(Path(upper, "f"), Path(upper, "g"))  # a hardlink counts once
    assert sn.usage("k") == Usage(5, 1)
    sn.commit("c", "k")
    assert sn.usage("c") == Usage(5, 1)


def test_state_survives_reopening(make: Callable[[], Snapshotter]) -> None:
    first = make()
    committed_chain(first, ["base"])
    mounts = first.prepare("c", "base")
    first.close()
    second = make()
    assert second.stat("base").kind is Kind.COMMITTED
    assert second.mounts("c") == mounts


def test_parallel_prepares_of_one_parent(sn: Snapshotter) -> None:
    committed_chain(sn, ["base"])
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: sn.prepare(f"c{i}", "base"), range(24)))
    uppers = {layer_dirs(m).upper for m in results}
    assert len(uppers) == 24
    assert len(sn.walk()) == 25


def test_racing_prepares_of_one_key_make_one_snapshot(sn: Snapshotter) -> None:
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def race() -> None:
        barrier.wait()
        try:
            sn.prepare("same")
            outcomes.append("made")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=race) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["made"]


# --- the overlay snapshotter's own layout and mounts ---------------------------------


@pytest.fixture
def overlay(tmp_path: Path) -> Iterator[OverlaySnapshotter]:
    sn = OverlaySnapshotter(tmp_path / "root", overlay_options=("index=off",))
    yield sn
    sn.close()


def test_mounts_by_shape(overlay: OverlaySnapshotter, tmp_path: Path) -> None:
    snaps = tmp_path / "root" / "snapshots"
    [single] = overlay.prepare("k1")
    assert single == Mount("bind", f"{snaps}/1/fs", ("rw", "rbind"))
    overlay.commit("l1", "k1")
    [view1] = overlay.view("v1", "l1")
    assert view1 == Mount("bind", f"{snaps}/1/fs", ("ro", "rbind"))
    overlay.prepare("k2", "l1")
    overlay.commit("l2", "k2")
    [active] = overlay.prepare("c", "l2")
    assert active.type == "overlay" and active.source == "overlay"
    assert active.option("lowerdir") == f"{snaps}/3/fs:{snaps}/1/fs"  # top first
    assert active.option("upperdir") == f"{snaps}/4/fs"
    assert active.option("workdir") == f"{snaps}/4/work"
    assert "index=off" in active.options
    [view2] = overlay.view("v2", "l2")
    assert view2.readonly and view2.option("upperdir") is None
    assert view2.option("lowerdir") == f"{snaps}/3/fs:{snaps}/1/fs"


def test_layout_and_remove_leaves_no_directory(overlay: OverlaySnapshotter, tmp_path: Path) -> None:
    snaps = tmp_path / "root" / "snapshots"
    assert (tmp_path / "root" / "metadata.db").exists()
    overlay.prepare("k")
    assert sorted(os.listdir(snaps / "1")) == ["fs", "work"]
    overlay.view("v")
    assert sorted(os.listdir(snaps / "2")) == ["fs"]
    (snaps / "1" / "fs" / "sub").mkdir()
    (snaps / "1" / "fs" / "sub" / "f").touch()
    (snaps / "1" / "fs" / "sub").chmod(0o500)  # removal copes with read-only directories
    overlay.remove("k")
    overlay.remove("v")
    assert os.listdir(snaps) == []


def test_new_layer_root_keeps_the_parent_root_mode(overlay: OverlaySnapshotter, tmp_path: Path) -> None:
    mounts = overlay.prepare("k")
    os.chmod(layer_dirs(mounts).upper, 0o700)
    overlay.commit("base", "k")
    upper = layer_dirs(overlay.prepare("c", "base")).upper
    assert os.stat(upper).st_mode & 0o777 == 0o700


def test_orphans_from_a_crash_are_cleaned_at_start(tmp_path: Path) -> None:
    root = tmp_path / "root"
    sn = OverlaySnapshotter(root)
    sn.prepare("keep")
    sn.close()
    snaps = root / "snapshots"
    for orphan in ("new-abc123", "rm-7", "42"):  # half made, half removed, row rolled back
        (snaps / orphan / "fs").mkdir(parents=True)
    (snaps / "42" / "fs" / "file").write_text("x")
    sn = OverlaySnapshotter(root)
    assert sorted(os.listdir(snaps)) == ["1"]
    assert sn.stat("keep").kind is Kind.ACTIVE
    sn.close()


def test_a_refused_prepare_leaves_no_directory(overlay: OverlaySnapshotter, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        overlay.prepare("k", labels={"bad": 1})  # type: ignore[dict-item]
    assert os.listdir(tmp_path / "root" / "snapshots") == []


def test_root_with_mount_separators_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        OverlaySnapshotter(tmp_path / "a:b")


def test_processes_sharing_a_root_prepare_in_parallel(tmp_path: Path) -> None:
    root = tmp_path / "root"
    sn = OverlaySnapshotter(root)
    committed_chain(sn, ["base"])
    script = (
        "import sys\n"
        "from estiba.snapshots import OverlaySnapshotter\n"
        "sn = OverlaySnapshotter(sys.argv[1])\n"
        "for i in range(10):\n"
        "    sn.prepare(f'{sys.argv[2]}-{i}', 'base')\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", script, str(root), f"p{n}"]) for n in range(3)]
    assert [w.wait(timeout=60) for w in workers] == [0, 0, 0]
    assert len(sn.walk()) == 31
    assert len(os.listdir(root / "snapshots")) == 31
    sn.close()
