"""An in-memory ImageBackend for the API's tests: canned images, recorded calls."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from estiba.api.types import (
    Filters,
    ImageDeleteItem,
    ImageListOptions,
    ImportOptions,
    Progress,
    PruneReport,
    PullOptions,
)
from estiba.errors import Conflict, NotFound, Unauthorized


@dataclass
class FakeImage:
    id: str
    tags: list[str]
    size: int = 1_234_567
    created: int = field(default_factory=lambda: int(time.time()) - 3600)


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _full(reference: str) -> str:
    return reference if ":" in reference.rsplit("/", 1)[-1] else f"{reference}:latest"


class FakeImages:
    def __init__(self, in_use: set[str] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.images: dict[str, FakeImage] = {}
        self.in_use = in_use if in_use is not None else set()
        self.loaded: list[bytes] = []
        self.add("busybox:latest")

    def add(self, tag: str) -> FakeImage:
        image = FakeImage(_digest(tag), [_full(tag)])
        self.images[image.id] = image
        return image

    def record(self, method: str, **arguments: Any) -> None:
        self.calls.append((method, arguments))

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == method]

    def last(self, method: str) -> dict[str, Any]:
        return self.calls_of(method)[-1]

    def find(self, ref: str) -> FakeImage:
        for image in self.images.values():
            if ref == image.id or _full(ref) in image.tags or image.id.startswith("sha256:" + ref):
                return image
        raise NotFound(f"No such image: {ref}")

    def summary(self, image: FakeImage) -> dict[str, Any]:
        return {
            "Id": image.id,
            "ParentId": "",
            "RepoTags": image.tags,
            "RepoDigests": [],
            "Created": image.created,
            "Size": image.size,
            "SharedSize": -1,
            "VirtualSize": image.size,
            "Labels": {},
            "Containers": -1,
        }

    async def list_images(self, options: ImageListOptions) -> list[dict[str, Any]]:
        self.record("list_images", options=options)
        return [self.summary(image) for image in self.images.values()]

    async def inspect_image(self, ref: str) -> dict[str, Any]:
        self.record("inspect_image", ref=ref)
        image = self.find(ref)
        return {
            "Id": image.id,
            "RepoTags": image.tags,
            "Created": "2024-01-01T00:00:00Z",
            "Size": image.size,
            "Os": "linux",
            "Architecture": "amd64",
            "Config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
            "RootFS": {"Type": "layers", "Layers": [_digest("layer")]},
        }

    async def image_history(self, ref: str) -> list[dict[str, Any]]:
        self.record("image_history", ref=ref)
        image = self.find(ref)
        return [
            {
                "Id": image.id,
                "Created": image.created,
                "CreatedBy": 'CMD ["sh"]',
                "Tags": image.tags,
                "Size": 0,
                "Comment": "",
            },
        ]

    async def tag_image(self, ref: str, *, repo: str, tag: str) -> None:
        self.record("tag_image", ref=ref, repo=repo, tag=tag)
        repo = repo.removeprefix("docker.io/").removeprefix("library/")
        self.find(ref).tags.append(f"{repo}:{tag or 'latest'}")

    async def remove_image(self, ref: str, *, force: bool, prune: bool) -> list[ImageDeleteItem]:
        self.record("remove_image", ref=ref, force=force, prune=prune)
        image = self.find(ref)
        if not force and any(tag in self.in_use for tag in image.tags):
            raise Conflict(
                f'conflict: unable to remove repository reference "{ref}" '
                f"(must force) - container is using its referenced image {image.id[7:19]}"
            )
        del self.images[image.id]
        return [ImageDeleteItem(untagged=t) for t in image.tags] + [
            ImageDeleteItem(deleted=image.id)
        ]

    async def pull_image(self, options: PullOptions) -> AsyncIterator[Progress]:
        self.record("pull_image", options=options)
        if options.image.startswith("private/") and not options.auth.username:
            raise Unauthorized("pull access denied for private/app: log in first")
        name = options.image.removeprefix("docker.io/").removeprefix("library/")
        reference = f"{name}:{options.tag}" if options.tag else _full(name)

        async def progress() -> AsyncIterator[Progress]:
            tag = reference.rsplit(":", 1)[-1]
            yield Progress(status=f"Pulling from library/{name}", id=tag)
            yield Progress(
                status="Downloading", id="abc123", progress="[=>  ]", current=10, total=100
            )
            if options.image.startswith("broken"):
                raise NotFound("manifest unknown: the registry has no such tag")
            self.add(reference)
            yield Progress(status=f"Status: Downloaded newer image for {reference}")

        return progress()

    async def import_image(
        self, source: AsyncIterator[bytes] | str, options: ImportOptions
    ) -> AsyncIterator[Progress]:
        self.record(
            "import_image", source=source if isinstance(source, str) else "<body>", options=options
        )

        async def progress() -> AsyncIterator[Progress]:
            data = (
                source.encode() if isinstance(source, str) else b"".join([c async for c in source])
            )
            image = self.add(f"{options.repo or 'imported'}:{options.tag or 'latest'}")
            self.loaded.append(data)
            yield Progress(status=image.id)

        return progress()

    async def save_images(self, refs: list[str]) -> AsyncIterator[bytes]:
        self.record("save_images", refs=refs)
        images = [self.find(ref) for ref in refs]
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            manifest = json.dumps(
                [{"Config": i.id[7:] + ".json", "RepoTags": i.tags, "Layers": []} for i in images]
            ).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(manifest)
            tar.addfile(info, io.BytesIO(manifest))

        async def chunks() -> AsyncIterator[bytes]:
            data = buffer.getvalue()
            for offset in range(0, len(data), 1024):
                yield data[offset : offset + 1024]

        return chunks()

    async def load_images(
        self, data: AsyncIterator[bytes], *, quiet: bool
    ) -> AsyncIterator[Progress]:
        self.record("load_images", quiet=quiet)

        async def progress() -> AsyncIterator[Progress]:
            body = b"".join([chunk async for chunk in data])
            self.loaded.append(body)
            with tarfile.open(fileobj=io.BytesIO(body)) as tar:
                member = tar.extractfile("manifest.json")
                assert member is not None
                manifest = json.load(member)
            for entry in manifest:
                for tag in entry["RepoTags"]:
                    self.add(tag)
                    yield Progress(stream=f"Loaded image: {tag}\n")

        return progress()

    async def prune_images(self, filters: Filters) -> PruneReport:
        self.record("prune_images", filters=filters)
        dangling = [i for i in self.images.values() if not i.tags]
        for image in dangling:
            del self.images[image.id]
        return PruneReport(
            tuple(ImageDeleteItem(deleted=i.id) for i in dangling), sum(i.size for i in dangling)
        )
