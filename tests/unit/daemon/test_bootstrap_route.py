"""POST /estiba/images/bootstrap through the real app, over the store-backed image backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.api.backend import Backends
from estiba.content import LocalContentStore
from estiba.daemon.images_backend import StoreImageBackend
from estiba.images import ImageStore
from tests.unit.api.harness import ApiHarness

HAS_BUSYBOX = Path("/bin/busybox").exists()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    store = ImageStore(tmp_path / "images.db", LocalContentStore(tmp_path / "content"))
    yield store
    store.close()


def harness_over(store: ImageStore, tmp_path: Path) -> ApiHarness:
    harness = ApiHarness()
    images = StoreImageBackend(store, tmpdir=tmp_path / "tmp")
    harness.backends = Backends(harness.engine, harness.engine, harness.engine, images)
    return harness


def test_bad_requests(store: ImageStore, tmp_path: Path) -> None:
    async def scenario(client):  # type: ignore[no-untyped-def]
        return (
            await client.post("/estiba/images/bootstrap"),
            await client.post("/v1.41/estiba/images/bootstrap?name=alpine"),
        )

    missing, unknown = harness_over(store, tmp_path).run(scenario)
    assert missing.status == 400 and "name" in missing.message
    assert unknown.status == 400 and "alpine" in unknown.message


def test_backend_without_bootstrap_is_501() -> None:
    async def scenario(client):  # type: ignore[no-untyped-def]
        return await client.post("/estiba/images/bootstrap?name=busybox")

    assert ApiHarness().run(scenario).status == 501


@pytest.mark.skipif(not HAS_BUSYBOX, reason="needs the host's /bin/busybox (busybox-static)")
def test_bootstrap_busybox(store: ImageStore, tmp_path: Path) -> None:
    async def scenario(client):  # type: ignore[no-untyped-def]
        return await client.post("/estiba/images/bootstrap?name=busybox")

    reply = harness_over(store, tmp_path).run(scenario, timeout=60)
    assert reply.status == 201
    assert reply.json["RepoTags"] == ["busybox:latest"]
    assert store.get("busybox:latest").id == reply.json["Id"]
