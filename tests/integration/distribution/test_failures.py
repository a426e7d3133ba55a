"""Pulls that must fail cleanly (or recover), against a fake registry in the test process:
the image store and the content store are left exactly as they were."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.content import LocalContentStore
from estiba.distribution.credentials import AuthConfig
from estiba.distribution.registries import RegistryOptions
from estiba.distribution.service import RegistryService
from estiba.errors import EstibaError, InvalidArgument, NotFound, Unauthorized, Unavailable
from estiba.images import ImageStore
from estiba.snapshots.overlay import OverlaySnapshotter
from estiba.snapshots.unpack import chain_ids
from tests.integration.distribution.fake_registry import FakeImage, FakeRegistry, make_image
from tests.integration.distribution.registry import free_port


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ImageStore]:
    images = ImageStore(tmp_path / "images.db", LocalContentStore(tmp_path / "content"))
    yield images
    images.close()


def fake(image: FakeImage | None = None) -> FakeRegistry:
    return FakeRegistry(image or make_image()).start()


def pull(
    store: ImageStore,
    registry: FakeRegistry,
    ref: str | None = None,
    *,
    auth: AuthConfig | None = None,
    snapshotter: object = None,
    **options: float,
) -> list:
    async def run() -> list:
        service = RegistryService(store, RegistryOptions(**options), snapshotter=snapshotter)
        try:
            stream = await service.pull(ref or f"{registry.host}/{registry.repo}:{registry.tag}",
                                        auth=auth)  # fmt: skip
            return [message async for message in stream]
        finally:
            await service.close()

    return asyncio.run(run())


def blobs(store: ImageStore) -> list[str]:
    return [d.digest for d in store.content.list()]


def ingests(store: ImageStore) -> list[str]:
    return sorted(p.name for p in (Path(store.content.root) / "ingest").iterdir())


def test_a_good_pull_records_the_image(store: ImageStore) -> None:
    registry = fake()
    try:
        messages = pull(store, registry)
    finally:
        registry.stop()
    image = store.get(f"{registry.host}/{registry.repo}:{registry.tag}")
    assert image.id == registry.image.config
    assert f"{registry.host}/{registry.repo}@{registry.image.digest}" in image.repo_digests
    statuses = [m.status for m in messages]
    assert "Pulling fs layer" in statuses and "Download complete" in statuses
    assert any(m.status == "Downloading" and m.total for m in messages)
    assert statuses[-1].startswith("Status: Downloaded newer image for")


def test_corrupt_blob_fails_and_leaves_nothing(store: ImageStore) -> None:
    registry = fake()
    registry.behaviour.corrupt.add(registry.image.layers[1])
    before = blobs(store)
    try:
        with pytest.raises(InvalidArgument) as failure:
            pull(store, registry)
    finally:
        registry.stop()
    message = str(failure.value)
    assert "digest mismatch" in message
    assert registry.host in message and f"{registry.repo}:{registry.tag}" in message
    assert blobs(store) == before
    assert ingests(store) == []
    assert store.list() == []


def test_unknown_manifest_media_type_is_refused(store: ImageStore) -> None:
    registry = fake()
    registry.add_manifest("weird", b'{"schemaVersion": 2, "mediaType": "application/x-weird"}',
                          "application/x-weird")  # fmt: skip
    try:
        with pytest.raises(EstibaError) as failure:
            pull(store, registry, f"{registry.host}/{registry.repo}:weird")
    finally:
        registry.stop()
    assert "unsupported manifest media type 'application/x-weird'" in str(failure.value)
    assert registry.host in str(failure.value)
    assert blobs(store) == []


def test_missing_tag_names_registry_and_reference(store: ImageStore) -> None:
    registry = fake()
    try:
        with pytest.raises(NotFound) as failure:
            pull(store, registry, f"{registry.host}/{registry.repo}:nope")
    finally:
        registry.stop()
    assert f"{registry.host}/{registry.repo}:nope" in str(failure.value)


def test_interrupted_blob_resumes_with_range(store: ImageStore) -> None:
    registry = fake(make_image(layer_count=1, layer_size=512 << 10))
    registry.behaviour.truncate_once.add(registry.image.layers[0])
    try:
        pull(store, registry)
    finally:
        registry.stop()
    assert registry.ranges and registry.ranges[0].startswith("bytes=")
    assert int(registry.ranges[0].split("=")[1].rstrip("-")) > 0
    assert store.exists(f"{registry.host}/{registry.repo}:{registry.tag}")


def test_a_hanging_registry_times_out(store: ImageStore) -> None:
    registry = fake()
    registry.behaviour.hang.add(registry.image.layers[0])
    try:
        with pytest.raises(Unavailable) as failure:
            pull(store, registry, read_timeout=0.5)
    finally:
        registry.stop()
    assert "timed out" in str(failure.value)
    assert registry.host in str(failure.value)
    assert blobs(store) == [] and store.list() == []


def test_downloads_run_three_at_a_time(store: ImageStore) -> None:
    registry = fake(make_image(layer_count=7, layer_size=4 << 10))
    registry.behaviour.delay = 0.3
    try:
        pull(store, registry)
    finally:
        registry.stop()
    assert registry.max_active == 3
    layer_gets = [p for m, p in registry.requests if m == "GET" and "/blobs/" in p]
    assert len(layer_gets) == len(set(layer_gets)) == 8  # 7 layers and the config, once each


def test_shared_layers_are_fetched_once(store: ImageStore) -> None:
    image = make_image(layer_count=2)
    registry = fake(image)
    try:
        pull(store, registry)
        registry.requests.clear()
        registry.add_manifest("2", image.manifest, "application/vnd.oci.image.manifest.v1+json")
        messages = pull(store, registry, f"{registry.host}/{registry.repo}:2")
    finally:
        registry.stop()
    assert not [p for m, p in registry.requests if "/blobs/" in p]
    assert messages[-1].status.startswith("Status: Image is up to date")


def test_401_without_credentials_is_a_clear_error(store: ImageStore) -> None:
    registry = fake()
    registry.behaviour.basic = ("user", "pw")
    try:
        with pytest.raises(Unauthorized) as failure:
            pull(store, registry)
        pull(store, registry, auth=AuthConfig("user", "pw"))
    finally:
        registry.stop()
    assert registry.host in str(failure.value)
    assert "authentication required" in str(failure.value)
    assert store.exists(f"{registry.host}/{registry.repo}:{registry.tag}")


def test_bearer_token_flow_caches_the_token(store: ImageStore) -> None:
    registry = fake()
    registry.behaviour.token = "tok-123"
    try:
        pull(store, registry)
    finally:
        registry.stop()
    assert len(registry.token_requests) == 1  # one scope, one token for the whole pull
    assert registry.token_requests[0] == {
        "service": "fake",
        "scope": f"repository:{registry.repo}:pull",
    }


def test_a_pull_cut_short_resumes_on_the_next_pull(store: ImageStore) -> None:
    registry = fake(make_image(layer_count=1, layer_size=512 << 10))
    layer = registry.image.layers[0]
    registry.behaviour.truncate_once.add(layer)
    try:
        with pytest.raises(Unavailable):
            pull(store, registry, download_attempts=1)
        assert ingests(store) == [layer.split(":")[1] + ".partial"]
        assert store.list() == []
        pull(store, registry)
    finally:
        registry.stop()
    assert len(registry.ranges) == 1 and int(registry.ranges[0][6:-1]) > 0
    assert store.exists(f"{registry.host}/{registry.repo}:{registry.tag}")
    assert ingests(store) == []


def test_docker_io_images_come_from_a_mirror(store: ImageStore) -> None:
    registry = fake()  # serves test/image:1, as a mirror of docker.io would
    down = f"127.0.0.1:{free_port()}"  # a first mirror that does not answer is skipped
    try:
        pull(store, registry, "test/image:1",
             mirrors=(f"http://{down}", f"http://{registry.host}"))  # fmt: skip
    finally:
        registry.stop()
    image = store.get("docker.io/test/image:1")
    assert image.id == registry.image.config
    assert "test/image@" + registry.image.digest in image.repo_digests


def test_search_uses_the_catalog_where_there_is_one(store: ImageStore, registry) -> None:
    from estiba.errors import Unsupported

    async def search(term: str) -> list:
        service = RegistryService(store)
        try:
            return await service.search(term)
        finally:
            await service.close()

    found = asyncio.run(search(f"{registry.host}/"))
    assert all(r["name"].startswith(registry.host + "/") for r in found)
    without = fake()
    try:
        with pytest.raises(Unsupported) as failure:
            asyncio.run(search(f"{without.host}/test"))
    finally:
        without.stop()
    assert without.host in str(failure.value) and "search" in str(failure.value)


def test_truncated_blob_fails_and_leaves_nothing(store: ImageStore) -> None:
    registry = fake()
    registry.behaviour.short.add(registry.image.layers[0])
    try:
        with pytest.raises(InvalidArgument) as failure:
            pull(store, registry)
    finally:
        registry.stop()
    message = str(failure.value)
    assert "size mismatch" in message and registry.host in message
    assert f"{registry.repo}:{registry.tag}" in message
    assert blobs(store) == [] and ingests(store) == [] and store.list() == []


def _sibling(registry: FakeRegistry, tag: str) -> str:
    """Another image in the fake registry sharing the first layer of its image."""
    import json as _json

    from tests.integration.distribution.fake_registry import sha256

    other = make_image(layer_count=1)
    base = _json.loads(registry.image.manifest)
    extra = _json.loads(other.manifest)
    config = _json.loads(registry.image.blobs[registry.image.config])
    other_config = _json.loads(other.blobs[other.config])
    config["rootfs"]["diff_ids"] = [config["rootfs"]["diff_ids"][0],
                                    other_config["rootfs"]["diff_ids"][0]]  # fmt: skip
    config["history"] = config["history"][:2]
    config_bytes = _json.dumps(config).encode()
    registry.image.blobs.update(other.blobs)
    registry.image.blobs[sha256(config_bytes)] = config_bytes
    manifest = {**base, "layers": [base["layers"][0], extra["layers"][0]],
                "config": {**base["config"], "digest": sha256(config_bytes),
                           "size": len(config_bytes)}}  # fmt: skip
    registry.add_manifest(tag, _json.dumps(manifest).encode(), base["mediaType"])
    return extra["layers"][0]["digest"]


def test_concurrent_pulls_share_a_layer_download(store: ImageStore) -> None:
    registry = fake(make_image(layer_count=2, layer_size=256 << 10))
    _sibling(registry, "2")
    registry.behaviour.delay = 0.3

    async def both() -> None:
        service = RegistryService(store)
        try:
            async def one(tag: str) -> None:
                stream = await service.pull(f"{registry.host}/{registry.repo}:{tag}")
                async for _ in stream:
                    pass

            await asyncio.gather(one("1"), one("2"))
        finally:
            await service.close()

    try:
        asyncio.run(both())
    finally:
        registry.stop()
    shared = registry.image.layers[0]
    gets = [p for m, p in registry.requests if m == "GET" and p.endswith(shared)]
    assert len(gets) == 1
    assert store.exists(f"{registry.host}/{registry.repo}:1")
    assert store.exists(f"{registry.host}/{registry.repo}:2")


def test_a_failed_pull_keeps_what_a_concurrent_pull_needs(store: ImageStore) -> None:
    registry = fake(make_image(layer_count=2, layer_size=256 << 10))
    broken = _sibling(registry, "2")
    registry.behaviour.corrupt.add(broken)
    registry.behaviour.delay = 0.3

    async def both() -> list:
        service = RegistryService(store)
        try:
            async def one(tag: str) -> None:
                stream = await service.pull(f"{registry.host}/{registry.repo}:{tag}")
                async for _ in stream:
                    pass

            return await asyncio.gather(one("1"), one("2"), return_exceptions=True)
        finally:
            await service.close()

    try:
        good, bad = asyncio.run(both())
    finally:
        registry.stop()
    assert good is None and isinstance(bad, InvalidArgument)
    image = store.get(f"{registry.host}/{registry.repo}:1")
    held = {image.id, image.manifest.digest, *registry.image.layers}
    assert set(blobs(store)) == held  # nothing of the failed pull is left, nothing missing


def test_bad_kept_bytes_are_dropped_and_fetched_again(store: ImageStore) -> None:
    registry = fake(make_image(layer_count=1, layer_size=64 << 10))
    layer = registry.image.layers[0]
    partial = Path(store.content.root) / "ingest" / (layer.split(":")[1] + ".partial")
    partial.write_bytes(b"garbage from an earlier, broken pull")
    try:
        pull(store, registry)
    finally:
        registry.stop()
    assert store.exists(f"{registry.host}/{registry.repo}:{registry.tag}")
    assert ingests(store) == []


# --- with a snapshotter: the lowest new layer is unpacked while it downloads ------------


@pytest.fixture
def snapshots(tmp_path: Path) -> OverlaySnapshotter:
    return OverlaySnapshotter(tmp_path / "snapshots")


def snapshot_names(snapshotter: OverlaySnapshotter) -> list[str]:
    return sorted(info.name for info in snapshotter.walk())


def test_a_single_layer_is_unpacked_as_it_downloads(store, snapshots, caplog) -> None:
    registry = fake(make_image(layer_count=1, layer_size=768 << 10))
    try:
        with caplog.at_level(logging.INFO, logger="estiba.distribution.pull"):
            pull(store, registry, snapshotter=snapshots)
    finally:
        registry.stop()
    assert "unpacking the blob" not in caplog.text  # the streamed unpack gave the layer
    diff_ids = json.loads(registry.image.blobs[registry.image.config])["rootfs"]["diff_ids"]
    assert snapshot_names(snapshots) == chain_ids(diff_ids)
    assert store.exists(f"{registry.host}/{registry.repo}:{registry.tag}")


def test_a_corrupt_streamed_layer_leaves_no_snapshot_and_no_blob(store, snapshots) -> None:
    registry = fake(make_image(layer_count=1, layer_size=256 << 10))
    registry.behaviour.corrupt.add(registry.image.layers[0])
    try:
        with pytest.raises(InvalidArgument, match="digest mismatch"):
            pull(store, registry, snapshotter=snapshots)
    finally:
        registry.stop()
    assert snapshot_names(snapshots) == [] and blobs(store) == [] and store.list() == []


def test_a_streamed_layer_cut_short_is_resumed_and_unpacked_from_the_blob(store, snapshots, caplog) -> None:
    registry = fake(make_image(layer_count=1, layer_size=512 << 10))
    registry.behaviour.truncate_once.add(registry.image.layers[0])
    try:
        with pytest.raises(Unavailable):
            pull(store, registry, snapshotter=snapshots, download_attempts=1)
        assert snapshot_names(snapshots) == []
        with caplog.at_level(logging.INFO, logger="estiba.distribution.pull"):
            pull(store, registry, snapshotter=snapshots)  # resumed: not streamable
    finally:
        registry.stop()
    assert "unpacking the blob" in caplog.text
    diff_ids = json.loads(registry.image.blobs[registry.image.config])["rootfs"]["diff_ids"]
    assert snapshot_names(snapshots) == chain_ids(diff_ids)


@pytest.mark.timeout(120)
def test_a_failed_lower_download_releases_the_streamed_one(store, snapshots) -> None:
    # The lower layer's snapshot is here but not its blob (a bootstrapped base pulled as
    # gzip): it downloads, and fails, while the layer above streams into a pipe that
    # nobody reads yet; the pull must fail, not wait for that pipe for ever.
    import gzip
    import io

    from estiba.snapshots.unpack import unpack_image_layers

    registry = fake(make_image(layer_count=2, layer_size=12 << 20))
    lower, upper = registry.image.layers
    diff_ids = json.loads(registry.image.blobs[registry.image.config])["rootfs"]["diff_ids"]
    tar = gzip.decompress(registry.image.blobs[lower])
    unpack_image_layers(snapshots, [(diff_ids[0], lambda: io.BytesIO(tar))])
    before = snapshot_names(snapshots)
    registry.behaviour.corrupt.add(lower)
    try:
        with pytest.raises(InvalidArgument, match="digest mismatch"):
            pull(store, registry, snapshotter=snapshots)
    finally:
        registry.stop()
    assert snapshot_names(snapshots) == before and store.list() == []
