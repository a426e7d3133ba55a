"""Pushing an image: its blobs (skipped when the registry has them, mounted from another
repository of the same registry when it can, else uploaded whole or in chunks), then the
manifest under the tag, as stored: the bytes do not change, so neither does the digest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from estiba.api.types import Progress
from estiba.content import Descriptor, read_blob
from estiba.distribution.progress import Emit, LayerProgress, status
from estiba.distribution._tasks import first_error
from estiba.distribution.repository import Repository
from estiba.errors import InvalidArgument, Unavailable
from estiba.images import ImageStore, Manifest, Reference, parse_manifest, parse_reference

CHUNK = 1 << 20


@dataclass(frozen=True)
class PushResult:
    tag: str
    digest: str
    size: int


class Pusher:
    def __init__(
        self, store: ImageStore, *, max_concurrent_uploads: int = 5, chunk_size: int = 16 << 20
    ) -> None:
        self.store = store
        self.content = store.content
        self.limit = asyncio.Semaphore(max(1, max_concurrent_uploads))
        self.chunk_size = max(1, chunk_size)

    async def push(self, repo: Repository, target: Reference, emit: Emit) -> PushResult:
        """Push the local image named `target` (with its tag) to `repo` under that tag."""
        image = await asyncio.to_thread(self.store.get, str(target))
        data = await asyncio.to_thread(read_blob, self.content, image.manifest.digest)
        manifest = parse_manifest(data, image.manifest.media_type)
        if not isinstance(manifest, Manifest):
            raise InvalidArgument(f"{target.familiar()} is an index: cannot push it yet")
        sources = _mount_sources(image.repo_tags + image.repo_digests, target)
        layers = list(dict.fromkeys(manifest.layers))
        for layer in layers:
            emit(status("Preparing", layer.digest))
        try:
            async with asyncio.TaskGroup() as group:
                for layer in layers:
                    group.create_task(self._blob(repo, layer, sources, emit, show=True))
                group.create_task(self._blob(repo, manifest.config, sources, emit, show=False))
        except BaseExceptionGroup as failed:
            raise first_error(failed) from None
        tag = target.tag or "latest"
        digest = await repo.put_manifest(tag, data, manifest.media_type)
        if digest and digest != image.manifest.digest:
            raise Unavailable(
                f"push of {target.familiar()}: registry {repo.session.registry} stored the "
                f"manifest as {digest}, not {image.manifest.digest}"
            )
        digest = image.manifest.digest
        await asyncio.to_thread(
            self.store.add, digest, refs=[target.repository().with_digest(digest)]
        )
        emit(status(f"{tag}: digest: {digest} size: {len(data)}"))
        emit(Progress(aux={"Tag": tag, "Digest": digest, "Size": len(data)}))
        return PushResult(tag, digest, len(data))

    async def _blob(
        self,
        repo: Repository,
        blob: Descriptor,
        sources: Sequence[str],
        emit: Emit,
        *,
        show: bool,
    ) -> None:
        say = emit if show else (lambda message: None)
        if self.limit.locked():
            say(status("Waiting", blob.digest))
        async with self.limit:
            if await repo.blob_exists(blob.digest):
                say(status("Layer already exists", blob.digest))
                return
            location = None
            for source in sources:
                location = await repo.mount_blob(blob.digest, source)
                if location is None:
                    say(status(f"Mounted from {source}", blob.digest))
                    return
            location = location or await repo.start_upload()
            progress = LayerProgress(say, blob.digest, blob.size, "Pushing")
            await self._upload(repo, location, blob, progress)
            say(status("Pushed", blob.digest))

    async def _upload(
        self, repo: Repository, location: str, blob: Descriptor, progress: LayerProgress
    ) -> None:
        if blob.size <= self.chunk_size:
            body = self._reader(blob.digest, 0, blob.size, progress)
            await repo.finish_upload(location, blob.digest, body, blob.size)
            return
        start = 0
        while start < blob.size:
            length = min(self.chunk_size, blob.size - start)
            body = self._reader(blob.digest, start, length, progress)
            location = await repo.upload_chunk(location, body, start, length)
            start += length
        await repo.finish_upload(location, blob.digest, None, 0)

    def _reader(
        self, digest: str, start: int, length: int, progress: LayerProgress
    ) -> Callable[[], AsyncIterator[bytes]]:
        content = self.content

        async def read() -> AsyncIterator[bytes]:
            handle = await asyncio.to_thread(content.open, digest)
            try:
                await asyncio.to_thread(handle.seek, start)
                remaining = length
                while remaining > 0:
                    data = await asyncio.to_thread(handle.read, min(CHUNK, remaining))
                    if not data:
                        raise Unavailable(f"blob {digest} is shorter than its descriptor says")
                    remaining -= len(data)
                    progress.update(start + length - remaining)
                    yield data
            finally:
                handle.close()

        return read


def _mount_sources(names: Sequence[str], target: Reference) -> list[str]:
    """Other repositories of the target's registry that this image came from or went to."""
    found: list[str] = []
    for name in names:
        try:
            ref = parse_reference(name, default_tag=False)
        except InvalidArgument:
            continue
        if ref.domain == target.domain and ref.path != target.path and ref.path not in found:
            found.append(ref.path)
    return found
