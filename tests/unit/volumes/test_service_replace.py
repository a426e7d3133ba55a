"""VolumeService.replace_from: one volume's data becomes an exact copy of another's
(compose's project snapshots), refused while a running container uses the target, and a
failed copy leaves the target's old data in place."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.errors import Conflict, InvalidArgument, NotFound, SystemFault
from estiba.volumes import LocalDriver, VolumeService, VolumeStore
from estiba.volumes.binds import parse_bind

CONTAINER = "c" * 64


@pytest.fixture
def running() -> set[str]:
    return set()


@pytest.fixture
def service(tmp_path: Path, running: set[str]) -> Iterator[VolumeService]:
    store = VolumeStore(tmp_path / "volumes.db")
    yield VolumeService(store, LocalDriver(tmp_path / "volumes"), running=lambda c: c in running)
    store.close()


def _files(root: Path) -> dict[str, str]:
    found = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            found[str(path.relative_to(root))] = path.read_text()
    return found


def test_the_target_gets_exactly_the_source_data(service: VolumeService) -> None:
    source = Path(service.create("snap").mountpoint)
    (source / "kept").mkdir()
    (source / "kept" / "a.txt").write_text("from the snapshot")
    (source / "b.txt").write_text("b")
    os.chmod(source / "b.txt", 0o600)
    target = Path(service.create("data").mountpoint)
    (target / "b.txt").write_text("changed since")
    (target / "new.txt").write_text("written after the snapshot")
    (target / "gone").mkdir()

    service.replace_from("data", "snap")

    assert _files(target) == {"kept/a.txt": "from the snapshot", "b.txt": "b"}
    assert sorted(os.listdir(target)) == ["b.txt", "kept"]  # no staging directory left
    assert os.stat(target / "b.txt").st_mode & 0o777 == 0o600
    assert _files(source) == {"kept/a.txt": "from the snapshot", "b.txt": "b"}  # untouched


def test_refused_while_a_running_container_uses_the_target(service: VolumeService, running: set[str]) -> None:
    service.create("snap")
    service.attach(CONTAINER, [parse_bind("data:/data")])
    (Path(service.get("data").mountpoint) / "f").write_text("live")
    running.add(CONTAINER)
    with pytest.raises(Conflict, match=r"volume data is in use by running containers"):
        service.replace_from("data", "snap")
    assert (Path(service.get("data").mountpoint) / "f").read_text() == "live"
    running.clear()
    service.replace_from("data", "snap")  # a stopped user is fine
    assert os.listdir(service.get("data").mountpoint) == []


def test_unknown_volumes_and_itself(service: VolumeService) -> None:
    service.create("data")
    with pytest.raises(NotFound):
        service.replace_from("data", "missing")
    with pytest.raises(NotFound):
        service.replace_from("missing", "data")
    with pytest.raises(InvalidArgument, match="its own"):
        service.replace_from("data", "data")


def test_a_failed_copy_leaves_the_old_data(service: VolumeService, tmp_path: Path) -> None:
    source = Path(service.create("snap").mountpoint)
    target = Path(service.create("data").mountpoint)
    (target / "old.txt").write_text("old")
    os.rmdir(source)  # cp fails: the source directory is gone
    with pytest.raises(SystemFault):
        service.replace_from("data", "snap")
    assert os.listdir(target) == ["old.txt"]
