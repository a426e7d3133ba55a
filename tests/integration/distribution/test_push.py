"""Pushes from the registry service to a real docker-registry: chunked uploads, blobs the
registry has, and the round trip back into an empty store with the same digests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from estiba.content import LocalContentStore
from estiba.distribution.registries import RegistryOptions
from estiba.distribution.service import RegistryService
from estiba.images import ImageStore
from tests.integration.distribution.registry import Registry, skopeo
from tests.unit.images._helpers import make_image


def run(store: ImageStore, operation: str, *args: str, **options: int) -> list:
    async def go() -> list:
        service = RegistryService(store, RegistryOptions(**options))
        try:
            stream = await getattr(service, operation)(*args)
            return [message async for message in stream]
        finally:
            await service.close()

    return asyncio.run(go())


def test_chunked_push_then_pull_into_an_empty_store(tmp_path: Path, registry: Registry) -> None:
    source = ImageStore(tmp_path / "a.db", LocalContentStore(tmp_path / "a"))
    name = f"{registry.host}/chunked/app:1"
    image_id = make_image(source, "x" * 300_000, "y" * 1000, refs=[name])
    manifest_digest = source.get(image_id).manifest.digest

    messages = run(source, "push", name, chunk_size=64 << 10)
    statuses = [m.status for m in messages]
    assert statuses.count("Pushed") == 2
    assert '"PATCH /v2/chunked/app/blobs/uploads/' in registry.log.read_text()
    aux = [m.aux for m in messages if m.aux][0]
    assert aux["Digest"] == manifest_digest and aux["Tag"] == "1"
    again = [m.status for m in run(source, "push", name)]
    assert again.count("Layer already exists") == 2

    inspected = skopeo("inspect", "--tls-verify=false", f"docker://{name}")
    assert inspected.returncode == 0, inspected.stderr
    assert json.loads(inspected.stdout)["Digest"] == manifest_digest

    target = ImageStore(tmp_path / "b.db", LocalContentStore(tmp_path / "b"))
    run(target, "pull", name)
    pulled = target.get(name)
    assert pulled.id == image_id and pulled.manifest.digest == manifest_digest
    assert [d.digest for d in target.content.list()] == [d.digest for d in source.content.list()]
