"""`docker system df` from the system backend: layer sizes counted once, shared sizes,
container counts per image, and each container's writable layer from the snapshotter."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

from estiba.content import LocalContentStore
from estiba.daemon.system_backend import HostSystemBackend
from estiba.engine.events import EventBus
from estiba.engine.states import Event as Transition
from estiba.engine.store import ContainerRecord, ContainerStore
from estiba.errors import NotFound
from estiba.images import ImageStore
from estiba.snapshots import Info, Kind, Usage
from tests.unit.images._helpers import make_image


class FakeSnapshotter:
    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes

    def usage(self, key: str) -> Usage:
        if key not in self.sizes:
            raise NotFound(f"snapshot {key} does not exist")
        return Usage(self.sizes[key], 1)

    def stat(self, key: str) -> Info:  # no frozen layers below: SizeRw is the upper alone
        self.usage(key)
        return Info(key, Kind.ACTIVE, None, datetime.now(timezone.utc), datetime.now(timezone.utc))


def test_disk_usage_counts_shared_layers_once(tmp_path: Path) -> None:
    containers = ContainerStore(tmp_path / "containers.db")
    images = ImageStore(tmp_path / "images.db", LocalContentStore(tmp_path / "content"))
    try:
        first = make_image(images, "base layer", "first's own", refs=["first:1"])
        second = make_image(images, "base layer", "second's own", refs=["second:1"])
        for index, (name, image) in enumerate((("web", first), ("old", first))):
            containers.add(ContainerRecord(id=f"{index}" * 64, name=name, image_id=image,
                                           image_ref="first:1", created="2024-01-01T00:00Z"))
        containers.update_state("web", Transition.START, pid=10)
        system = HostSystemBackend(
            containers=containers, images=images, events=EventBus(), data_root=tmp_path,
            snapshotter=FakeSnapshotter({"0" * 64: 300}),
        )  # fmt: skip
        usage = asyncio.run(system.disk_usage())
    finally:
        containers.close()
        images.close()
    by_id = {i["Id"]: i for i in usage["Images"]}
    first_size = by_id[first]["Size"]
    assert set(by_id) == {first, second}
    base = by_id[first]["SharedSize"]
    assert base == by_id[second]["SharedSize"] > 0
    assert usage["LayersSize"] == by_id[first]["Size"] + by_id[second]["Size"] - base
    assert (by_id[first]["Containers"], by_id[second]["Containers"]) == (2, 0)
    sizes = {c["Names"][0]: (c["SizeRw"], c["SizeRootFs"]) for c in usage["Containers"]}
    assert sizes == {"/web": (300, 300 + first_size), "/old": (0, first_size)}
    assert usage["Volumes"] == [] and usage["BuildCache"] == []
