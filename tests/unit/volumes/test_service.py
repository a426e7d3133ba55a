"""The volume service on a temporary data root: rows and directories together, in-use
refusals, prune's two modes, clone, rename, export and import (contained)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.errors import Conflict, InvalidArgument, NotFound
from estiba.volumes import LocalDriver, VolumeService, VolumeStore
from estiba.volumes.binds import MountRequest, parse_bind
from estiba.volumes.options import VolumeFilters

CONTAINER = "c" * 64


class Events:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def publish(self, kind: str, action: str, actor: str, attributes: dict) -> None:
        self.seen.append((action, actor))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[VolumeService]:
    store = VolumeStore(tmp_path / "volumes.db")
    yield VolumeService(store, LocalDriver(tmp_path / "volumes"), events=Events())
    store.close()


def test_create_is_idempotent_and_makes_the_directory(service: VolumeService, tmp_path: Path) -> None:
    first = service.create("data", labels={"a": "b"})
    again = service.create("data")
    assert first == again
    assert Path(first.mountpoint) == tmp_path / "volumes" / "data" / "_data"
    assert Path(first.mountpoint).is_dir()
    assert not first.anonymous


def test_anonymous_volumes_get_a_random_name(service: VolumeService) -> None:
    volume = service.create()
    assert len(volume.name) == 64 and volume.anonymous


def test_remove_refused_while_in_use_even_forced(service: VolumeService, tmp_path: Path) -> None:
    service.attach(CONTAINER, [parse_bind("data:/data")])
    with pytest.raises(Conflict, match="volume is in use"):
        service.remove("data", force=True)
    service.release(CONTAINER, remove_anonymous=True)
    assert service.get("data")  # named volumes outlive rm -v
    service.remove("data")
    assert not (tmp_path / "volumes" / "data").exists()
    with pytest.raises(NotFound):
        service.get("data")
    service.remove("data", force=True)  # gone already: fine when forced


def test_release_removes_anonymous_volumes_only_with_rm_v(service: VolumeService) -> None:
    service.attach(CONTAINER, [MountRequest(kind="volume", target="/anon")])
    (name,) = service.names_used_by(CONTAINER)
    service.release(CONTAINER, remove_anonymous=False)
    assert service.get(name).anonymous
    service.attach(CONTAINER, [MountRequest(kind="volume", target="/anon", source=name)])
    service.release(CONTAINER, remove_anonymous=True)
    with pytest.raises(NotFound):
        service.get(name)


def test_attach_undoes_the_volumes_it_made(service: VolumeService, tmp_path: Path) -> None:
    bad = MountRequest(kind="bind", target="/x", source=str(tmp_path / "missing"))
    with pytest.raises(InvalidArgument, match="bind source path does not exist"):
        service.attach(CONTAINER, [MountRequest(kind="volume", target="/a"), bad])
    assert service.list() == []


def test_bind_sources_from_dash_v_are_made(service: VolumeService, tmp_path: Path) -> None:
    service.attach(CONTAINER, [parse_bind(f"{tmp_path}/made/here:/x")])
    assert (tmp_path / "made" / "here").is_dir()
    (mount,) = service.container_mounts(CONTAINER, None)
    assert mount["source"] == f"{tmp_path}/made/here" and mount["destination"] == "/x"


def test_prune_anonymous_by_default_all_with_the_filter(service: VolumeService) -> None:
    service.create("named")
    anonymous = service.create()
    service.create("used")
    service.attach(CONTAINER, [parse_bind("used:/u")])
    deleted, _ = service.prune(VolumeFilters())
    assert deleted == [anonymous.name]
    deleted, _ = service.prune(VolumeFilters(all=True))
    assert deleted == ["named"]
    assert [v.name for v in service.list()] == ["used"]


def test_list_filters(service: VolumeService) -> None:
    service.create("aa", labels={"k": "v"})
    service.create("bb")
    service.attach(CONTAINER, [parse_bind("bb:/b")])
    assert [v.name for v in service.list(VolumeFilters(dangling=True))] == ["aa"]
    assert [v.name for v in service.list(VolumeFilters(labels=("k=v",)))] == ["aa"]


def test_clone_rename_export_import(service: VolumeService) -> None:
    source = service.create("src")
    (Path(source.mountpoint) / "file").write_text("hello")
    clone = service.clone("src", "copy")
    assert (Path(clone.mountpoint) / "file").read_text() == "hello"
    renamed = service.rename("copy", "moved")
    assert (Path(renamed.mountpoint) / "file").read_text() == "hello"
    with pytest.raises(NotFound):
        service.get("copy")
    out = io.BytesIO()
    service.export("moved", out)
    out.seek(0)
    imported = service.import_("fresh", out)
    assert (Path(imported.mountpoint) / "file").read_text() == "hello"


def test_rename_refused_while_in_use(service: VolumeService) -> None:
    service.attach(CONTAINER, [parse_bind("busy:/b")])
    with pytest.raises(Conflict):
        service.rename("busy", "other")


def test_import_never_writes_outside_the_volume(service: VolumeService, tmp_path: Path) -> None:
    volume = service.create("target")
    (Path(volume.mountpoint) / "out").symlink_to(tmp_path)
    for name in ("../../escaped", "out/escaped"):
        data = io.BytesIO()
        with tarfile.open(fileobj=data, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
        data.seek(0)
        try:
            service.import_("target", data)
        except (InvalidArgument, NotFound):
            pass
    assert not (tmp_path / "escaped").exists()
    assert not (tmp_path / "volumes" / "escaped").exists()


def test_cleanup_removes_orphan_directories(service: VolumeService, tmp_path: Path) -> None:
    service.create("kept")
    (tmp_path / "volumes" / "orphan" / "_data").mkdir(parents=True)
    service.cleanup()
    assert sorted(p.name for p in (tmp_path / "volumes").iterdir()) == ["kept"]


def test_disk_usage_reports_sizes_and_references(service: VolumeService) -> None:
    volume = service.create("sized")
    (Path(volume.mountpoint) / "f").write_bytes(b"x" * 100)
    service.attach(CONTAINER, [parse_bind("sized:/s")])
    (document,) = service.disk_usage()
    assert document["UsageData"] == {"Size": 100, "RefCount": 1}
