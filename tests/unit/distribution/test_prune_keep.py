"""`image prune --keep N [--until T]`: per repository, the N newest images stay."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from estiba.content import LocalContentStore
from estiba.daemon.images_backend import StoreImageBackend
from estiba.images import ImageStore
from tests.unit.images._helpers import make_image


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[StoreImageBackend]:
    store = ImageStore(tmp_path / "images.db", LocalContentStore(tmp_path / "content"))
    yield StoreImageBackend(store, tmpdir=tmp_path / "tmp")
    store.close()


def tags(backend: StoreImageBackend) -> set[str]:
    return {tag for image in backend.store.list() for tag in image.repo_tags}


def add(backend: StoreImageBackend, text: str, day: int, *refs: str) -> str:
    return make_image(backend.store, text, refs=refs, created=f"2024-01-{day:02d}T00:00:00Z")


def test_keep_newest_per_repository(backend: StoreImageBackend) -> None:
    add(backend, "a1", 1, "app:1")
    add(backend, "a2", 2, "app:2")
    old = add(backend, "a3", 3, "app:3")
    add(backend, "a4", 4, "app:4", "other:x")
    add(backend, "o1", 1, "other:old")
    report = asyncio.run(backend.prune_images({"keep": ("2",)}))
    assert tags(backend) == {"app:3", "app:4", "other:x", "other:old"}
    untagged = {item.untagged for item in report.deleted if item.untagged}
    assert untagged == {"app:1", "app:2"}
    assert len([item for item in report.deleted if item.deleted]) == 2
    assert report.space_reclaimed > 0
    assert backend.store.exists(old)


def test_keep_with_until_only_removes_older_images(backend: StoreImageBackend) -> None:
    add(backend, "a1", 1, "app:1")
    add(backend, "a2", 5, "app:2")
    add(backend, "a3", 6, "app:3")
    asyncio.run(backend.prune_images({"keep": ("1",), "until": ("2024-01-03T00:00:00Z",)}))
    assert tags(backend) == {"app:2", "app:3"}


def test_keep_zero_and_bad_values(backend: StoreImageBackend) -> None:
    from estiba.errors import InvalidArgument

    add(backend, "a1", 1, "app:1")
    with pytest.raises(InvalidArgument):
        asyncio.run(backend.prune_images({"keep": ("x",)}))
    asyncio.run(backend.prune_images({"keep": ("0",)}))
    assert tags(backend) == set()
