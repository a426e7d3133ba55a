"""The image backend over a real ImageStore in a temporary directory."""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from estiba.api.types import ImageDeleteItem, ImageListOptions, ImportOptions, PullOptions
from estiba.content import LocalContentStore
from estiba.daemon.images_backend import StoreImageBackend
from estiba.engine.events import EventBus
from estiba.errors import Conflict, InvalidArgument, NotFound, Unsupported
from estiba.images import ImageStore, ImageUser
from tests.unit.images._helpers import make_image

IN_USE: set[str] = set()


def users(image_id: str) -> list[ImageUser]:
    return [ImageUser("c" * 64, running=True)] if image_id in IN_USE else []


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    store = ImageStore(tmp_path / "images.db", LocalContentStore(tmp_path / "content"), users=users)
    yield store
    store.close()
    IN_USE.clear()


@pytest.fixture
def bus() -> EventBus:
    return EventBus()


@pytest.fixture
def backend(store: ImageStore, tmp_path: Path, bus: EventBus) -> StoreImageBackend:
    return StoreImageBackend(store, tmpdir=tmp_path / "tmp", events=bus)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def collect(stream: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in stream]


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 1000):
        yield data[start : start + 1000]


def tar_of(**files: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    return buf.getvalue()


def test_list_in_docker_summary_shape(store: ImageStore, backend: StoreImageBackend) -> None:
    image_id = make_image(store, "a", refs=["busybox:latest"], labels={"tier": "base"})
    (summary,) = run(backend.list_images(ImageListOptions()))
    assert summary["Id"] == image_id
    assert summary["RepoTags"] == ["busybox:latest"]
    assert summary["Labels"] == {"tier": "base"}
    assert summary["Created"] == 1704067200
    assert summary["Size"] > 0 and summary["Containers"] == -1


def test_list_filters(store: ImageStore, backend: StoreImageBackend) -> None:
    make_image(store, "a", refs=["busybox:latest"], labels={"tier": "base"})
    make_image(store, "b", refs=["web:1"], created="2024-02-01T00:00:00Z")
    dangling = make_image(store, "c", created="2024-03-01T00:00:00Z")

    def tags(**filters: tuple[str, ...]) -> list[list[str]]:
        found = run(backend.list_images(ImageListOptions(filters=filters)))
        return [s["RepoTags"] for s in found]

    assert tags(reference=("web",)) == [["web:1"]]
    assert tags(label=("tier=base",)) == [["busybox:latest"]]
    dangling_only = run(backend.list_images(ImageListOptions(filters={"dangling": ("true",)})))
    assert [s["Id"] for s in dangling_only] == [dangling]
    assert dangling_only[0]["RepoTags"] == ["<none>:<none>"]
    assert tags(dangling=("false",)) == [["web:1"], ["busybox:latest"]]
    assert tags(before=("web:1",)) == [["busybox:latest"]]
    with pytest.raises(InvalidArgument):
        tags(dangling=("maybe",))


def test_inspect_and_history(store: ImageStore, backend: StoreImageBackend) -> None:
    image_id = make_image(store, "a", refs=["busybox:latest"])
    document = run(backend.inspect_image("busybox"))
    assert document["Id"] == image_id
    assert document["RepoTags"] == ["busybox:latest"]
    assert document["Config"]["Cmd"] == ["sh"] and document["Config"]["Tty"] is False
    assert document["RootFS"]["Type"] == "layers" and len(document["RootFS"]["Layers"]) == 1
    assert (document["Os"], document["Architecture"]) == ("linux", "amd64")
    assert document["Created"] == "2024-01-01T00:00:00Z"
    (step,) = run(backend.image_history("busybox"))
    assert step["Id"] == image_id and step["CreatedBy"] == "ADD a"
    assert step["Tags"] == ["busybox:latest"]
    with pytest.raises(NotFound, match="No such image: nope"):
        run(backend.inspect_image("nope"))


def test_tag_and_remove_report(
    store: ImageStore, backend: StoreImageBackend, bus: EventBus
) -> None:
    image_id = make_image(store, "a", refs=["busybox:latest"])
    with bus.subscribe(since=0) as events:
        run(backend.tag_image("busybox", repo="mine/box", tag=""))
        assert store.get("mine/box:latest").id == image_id
        assert run(backend.remove_image("mine/box", force=False, prune=True)) == [
            ImageDeleteItem(untagged="mine/box:latest")
        ]
        report = run(backend.remove_image("busybox", force=False, prune=True))
        assert report == [
            ImageDeleteItem(untagged="busybox:latest"),
            ImageDeleteItem(deleted=image_id),
        ]
        actions = [events.get(0).action for _ in range(4)]
    assert actions == ["tag", "untag", "untag", "delete"]
    with pytest.raises(NotFound):
        run(backend.remove_image("busybox", force=False, prune=True))


def test_remove_refused_while_a_container_uses_it(
    store: ImageStore, backend: StoreImageBackend
) -> None:
    image_id = make_image(store, "a", refs=["busybox:latest"])
    IN_USE.add(image_id)
    with pytest.raises(Conflict):
        run(backend.remove_image(image_id, force=False, prune=True))
    assert store.exists(image_id)


def test_prune_removes_dangling_images_only(store: ImageStore, backend: StoreImageBackend) -> None:
    make_image(store, "a", refs=["busybox:latest"])
    dangling = make_image(store, "b")
    report = run(backend.prune_images({}))
    assert report.deleted == (ImageDeleteItem(deleted=dangling),)
    assert report.space_reclaimed > 0
    assert not store.exists(dangling) and store.exists("busybox")
    everything = run(backend.prune_images({"dangling": ("false",)}))
    assert [item.untagged for item in everything.deleted if item.untagged] == ["busybox:latest"]


def test_import_from_the_body_with_changes(store: ImageStore, backend: StoreImageBackend) -> None:
    options = ImportOptions(repo="imp:1", message="hello", changes=('CMD ["/bin/true"]', "ENV A=b"))
    (progress,) = run(collect(run(backend.import_image(chunks(tar_of(f="x")), options))))
    image = store.get("imp:1")
    assert progress.status == image.id
    config = store.config(image.id)
    assert config.config.cmd == ("/bin/true",) and config.config.env == ("A=b",)
    assert config.history[-1].comment == "hello"
    with pytest.raises(InvalidArgument):
        run(backend.import_image(chunks(b""), ImportOptions(changes=("RUN x",))))
    with pytest.raises(Unsupported):
        run(backend.import_image("http://example.com/x.tar", ImportOptions()))


def test_save_then_load_round_trip(store: ImageStore, backend: StoreImageBackend) -> None:
    image_id = make_image(store, "a", refs=["busybox:latest"])

    async def save() -> bytes:
        return b"".join(await collect(await backend.save_images(["busybox"])))

    archive = run(save())
    assert tarfile.open(fileobj=io.BytesIO(archive)).getmember("manifest.json")
    run(backend.remove_image("busybox", force=False, prune=True))
    progress = run(collect(run(backend.load_images(chunks(archive), quiet=True))))
    assert [p.stream for p in progress] == ["Loaded image: busybox:latest\n"]
    assert store.get("busybox").id == image_id
    with pytest.raises(NotFound):
        run(backend.save_images(["nope"]))


def test_pull_is_refused_with_a_hint(backend: StoreImageBackend) -> None:
    with pytest.raises(Unsupported, match="bootstrap"):
        run(backend.pull_image(PullOptions(image="busybox")))


def test_bootstrap_rejects_unknown_names(backend: StoreImageBackend) -> None:
    with pytest.raises(InvalidArgument):
        run(backend.bootstrap_image("alpine"))
