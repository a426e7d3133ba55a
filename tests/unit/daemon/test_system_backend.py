"""/version, /info and /events from the system backend over temporary stores."""

from __future__ import annotations

import asyncio
import platform
from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba import __version__
from estiba.api.types import ContainerListOptions, ExecStartOptions
from estiba.content import LocalContentStore
from estiba.daemon.no_containers import NoContainers
from estiba.daemon.system_backend import HostSystemBackend, engine_id, go_arch
from estiba.engine.events import EventBus
from estiba.engine.states import Event as Transition
from estiba.engine.store import ContainerRecord, ContainerStore
from estiba.errors import NotFound, Unsupported
from estiba.images import ImageStore
from tests.unit.images._helpers import make_image


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[ContainerStore, ImageStore]]:
    containers = ContainerStore(tmp_path / "containers.db")
    images = ImageStore(tmp_path / "images.db", LocalContentStore(tmp_path / "content"))
    yield containers, images
    containers.close()
    images.close()


def backend(
    tmp_path: Path, stores: tuple[ContainerStore, ImageStore], bus: EventBus
) -> HostSystemBackend:
    containers, images = stores
    return HostSystemBackend(
        containers=containers,
        images=images,
        events=bus,
        data_root=tmp_path,
        default_runtime="runc",
    )


def test_version_has_real_figures(tmp_path: Path, stores) -> None:
    version = asyncio.run(backend(tmp_path, stores, EventBus()).version())
    assert version.version == __version__
    assert version.os == "linux"
    assert version.arch == go_arch()
    assert version.kernel_version == platform.release()


def test_go_arch_names() -> None:
    assert go_arch("x86_64") == "amd64"
    assert go_arch("aarch64") == "arm64"


def test_info_counts_containers_and_images(tmp_path: Path, stores) -> None:
    containers, images = stores
    make_image(images, "a", refs=["busybox:latest"])
    make_image(images, "b")
    for index, name in enumerate(("one", "two", "three")):
        record = ContainerRecord(
            id=f"{index}" * 64, name=name, image_id="x", image_ref="x", created="2024-01-01T00:00Z"
        )
        containers.add(record)
    containers.update_state("one", Transition.START, pid=10)
    containers.update_state("two", Transition.START, pid=11)
    containers.update_state("two", Transition.PAUSE)
    info = asyncio.run(backend(tmp_path, stores, EventBus()).info())
    assert info["Containers"] == 3
    counts = (info["ContainersRunning"], info["ContainersPaused"], info["ContainersStopped"])
    assert counts == (1, 1, 1)
    assert info["Images"] == 2
    assert info["Driver"] == "overlay"
    assert info["CgroupDriver"] == "cgroupfs"
    assert info["CgroupVersion"] in ("1", "2")
    assert info["DockerRootDir"] == str(tmp_path)
    assert info["NCPU"] >= 1 and info["MemTotal"] > 0
    assert info["KernelVersion"] == platform.release()
    assert info["DefaultRuntime"] == "runc"
    assert info["ServerVersion"] == __version__
    assert info["ID"] == engine_id(tmp_path)


def test_engine_id_is_kept(tmp_path: Path) -> None:
    first = engine_id(tmp_path)
    assert engine_id(tmp_path) == first and len(first) == 36


def test_events_replay_and_follow(tmp_path: Path, stores) -> None:
    bus = EventBus()
    system = backend(tmp_path, stores, bus)
    bus.publish("image", "tag", "sha256:1", {"name": "busybox:latest"})

    async def read_two() -> list[str]:
        stream = await system.events(since_ns=0, until_ns=None)
        bus.publish("image", "delete", "sha256:1")
        found = [event.action async for event, _ in zip_count(stream, 2)]
        await stream.aclose()
        return found

    assert asyncio.run(read_two()) == ["tag", "delete"]


async def zip_count(stream, count):  # type: ignore[no-untyped-def]
    index = 0
    async for event in stream:
        yield event, index
        index += 1
        if index == count:
            return


def test_until_in_the_past_replays_and_ends(tmp_path: Path, stores) -> None:
    bus = EventBus()
    system = backend(tmp_path, stores, bus)
    bus.publish("image", "tag", "sha256:1")

    async def read_all() -> list[str]:
        stream = await system.events(since_ns=None, until_ns=bus.clock())
        return [event.action async for event in stream]

    assert asyncio.run(read_all()) == ["tag"]


def test_no_containers_yet() -> None:
    backend = NoContainers()
    assert asyncio.run(backend.list_containers(ContainerListOptions(all=True))) == []
    with pytest.raises(NotFound, match="No such container: web"):
        asyncio.run(backend.inspect_container("web", size=False))
    with pytest.raises(NotFound, match="No such container: web"):
        asyncio.run(
            backend.remove_container("web", force=True, remove_volumes=False, remove_link=False)
        )
    with pytest.raises(NotFound, match="No such exec instance"):
        asyncio.run(backend.start_exec("abc", ExecStartOptions()))
    with pytest.raises(Unsupported, match="shim"):
        asyncio.run(backend.create_container({}, name=None, platform=None))
