"""Pulling an image: manifest (and index, for one platform), config, then the layers,
three at a time, each verified against its digest by the content store before it is
committed, and unpacked into snapshots in order while later layers still download.

The image record is written last, in one transaction, so a failed pull leaves no image;
the blobs and snapshots the failed pull made are removed again (`_Undo`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from estiba.api.types import Progress
from estiba.content import Descriptor, Platform
from estiba.distribution._tasks import first_error, settled
from estiba.distribution.claims import BlobClaims
from estiba.distribution.fetch import BlobFetcher
from estiba.distribution.platforms import describe, select_manifest
from estiba.distribution.progress import Emit, LayerProgress, short, status
from estiba.distribution.repository import Repository
from estiba.distribution.transport import TransferInterrupted
from estiba.errors import EstibaError, InvalidArgument, NotFound, Unsupported
from estiba.images import ImageStore, Manifest, Reference, parse_manifest
from estiba.images import mediatypes as mt
from estiba.images.model import ImageConfig
from estiba.pipes import Pipe

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PullRequest:
    reference: Reference  # with a tag or a digest
    platform: Platform


@dataclass(frozen=True)
class PullResult:
    image_id: str
    digest: str  # of what the tag names: the index, or the manifest
    new: bool


class Puller:
    """Pulls into an image store; `snapshotter` (optional) gets the layers unpacked."""

    def __init__(
        self,
        store: ImageStore,
        *,
        snapshotter: Any = None,
        max_concurrent_downloads: int = 3,
        attempts: int = 3,
        retry_delay: float = 0.5,
    ) -> None:
        self.store = store
        self.content = store.content
        self.snapshotter = snapshotter
        self.limit = asyncio.Semaphore(max(1, max_concurrent_downloads))
        self.fetcher = BlobFetcher(self.content, attempts=attempts, retry_delay=retry_delay)
        self.claims = BlobClaims()
        self._inflight: dict[str, asyncio.Future[tuple[str, int] | None]] = {}

    async def pull(self, repo: Repository, request: PullRequest, emit: Emit) -> PullResult:
        ref = request.reference
        what = ref.familiar()
        emit(status(f"Pulling from {ref.path}", ref.tag or ref.digest or ""))
        top = await repo.get_manifest(ref.digest or ref.tag or "latest")
        fetched = top
        if top.media_type in mt.INDEXES:
            index = parse_manifest(top.data, top.media_type)
            chosen = select_manifest(index, request.platform, what)  # type: ignore[arg-type]
            fetched = await repo.get_manifest(chosen.digest)
            if fetched.media_type not in mt.MANIFESTS:
                raise Unsupported(f"{what}: nested index for {describe(request.platform)}")
        manifest = parse_manifest(fetched.data, fetched.media_type)
        assert isinstance(manifest, Manifest)
        _check_manifest(manifest, repo, what)
        undo = _Undo(self.store, self.snapshotter)
        needed = [manifest.config.digest, fetched.digest, *(x.digest for x in manifest.layers)]
        self.claims.claim(needed)
        try:
            config = await self._config(repo, manifest.config, undo, what)
            if len(config.diff_ids) != len(manifest.layers):
                raise InvalidArgument(
                    f"{what} from {repo.session.registry}: {len(manifest.layers)} layers "
                    f"but the config lists {len(config.diff_ids)}"
                )
            existed = await asyncio.to_thread(self.content.exists, fetched.digest)
            verified: dict[str, tuple[str, int]] = {}
            await self._layers(repo, manifest.layers, config.diff_ids, undo, emit, what, verified)
            if not existed:
                await asyncio.to_thread(
                    self.content.write, fetched.data, expected=fetched.digest,
                    media_type=fetched.media_type,
                )  # fmt: skip
                undo.blobs.append(fetched.digest)
            refs = [ref.repository().with_digest(top.digest)]
            if ref.tag:
                refs.insert(0, ref.repository().with_tag(ref.tag))
            image = await asyncio.to_thread(
                self.store.add, fetched.digest, refs=refs, verified=verified
            )
        except BaseException as exc:
            self.claims.abandon(undo.blobs)
            await asyncio.to_thread(undo.remove_snapshots)
            if not isinstance(exc, (TransferInterrupted, asyncio.CancelledError)):
                # Kept bytes are for resuming a transfer that broke, not a failed pull.
                await asyncio.to_thread(undo.discard_partials, needed)
            raise
        finally:
            free = self.claims.release(needed)
            if free:
                await asyncio.to_thread(undo.remove_blobs, free)
        emit(status(f"Digest: {top.digest}"))
        return PullResult(image.id, top.digest, not existed)

    async def _config(
        self, repo: Repository, descriptor: Descriptor, undo: _Undo, what: str
    ) -> ImageConfig:
        if not await asyncio.to_thread(self.content.exists, descriptor.digest):
            undo.blobs.append(descriptor.digest)
            await self.fetcher.fetch(repo, descriptor, None, what)
        data = await asyncio.to_thread(_read_small, self.content, descriptor.digest)
        return ImageConfig.from_bytes(data)

    async def _layers(
        self,
        repo: Repository,
        layers: Sequence[Descriptor],
        diff_ids: Sequence[str],
        undo: _Undo,
        emit: Emit,
        what: str,
        verified: dict[str, tuple[str, int]],
    ) -> None:
        downloads: dict[str, asyncio.Task[None]] = {}
        try:
            await self._run_layers(
                repo, layers, diff_ids, downloads, undo, emit, what, verified
            )
        except BaseExceptionGroup as group:
            raise first_error(group) from None

    async def _run_layers(
        self,
        repo: Repository,
        layers: Sequence[Descriptor],
        diff_ids: Sequence[str],
        downloads: dict[str, asyncio.Task[None]],
        undo: _Undo,
        emit: Emit,
        what: str,
        verified: dict[str, tuple[str, int]],
    ) -> None:
        existing: set[str] = set()
        streamed = await self._streamable(layers, diff_ids)
        async with asyncio.TaskGroup() as group:
            for layer in layers:
                if layer.digest in downloads:
                    continue
                if await asyncio.to_thread(self.content.exists, layer.digest):
                    existing.add(layer.digest)
                    emit(status("Already exists", layer.digest))
                    downloads[layer.digest] = group.create_task(_nothing())
                    continue
                emit(status("Pulling fs layer", layer.digest))
                downloads[layer.digest] = group.create_task(
                    self._fetch_layer(repo, layer, undo, emit, what, verified, streamed.get(layer.digest))
                )
            fetched = {d for d in downloads if d not in existing}
            for digest in set(streamed) - fetched:  # it was there after all
                streamed.pop(digest).abandon()
            group.create_task(
                self._unpack_in_order(layers, diff_ids, downloads, fetched, undo, emit, streamed)
            )

    async def _streamable(self, layers: Sequence[Descriptor], diff_ids: Sequence[str]) -> dict[str, Pipe]:
        """The layer that can be unpacked while it downloads, with its pipe: the lowest one
        without a snapshot, when every layer below it has one (the first layer of a new
        image, the one layer of a single-layer image, the new top of an image built on a
        base already here). The others wait for their blob, since their parents do."""
        if self.snapshotter is None:
            return {}
        from estiba.snapshots.unpack import chain_ids

        for layer, chain in zip(layers, chain_ids(list(diff_ids))):
            if not await asyncio.to_thread(_has_snapshot, self.snapshotter, chain):
                if await asyncio.to_thread(self.content.exists, layer.digest):
                    return {}
                return {layer.digest: Pipe()}
        return {}

    async def _fetch_layer(
        self,
        repo: Repository,
        layer: Descriptor,
        undo: _Undo,
        emit: Emit,
        what: str,
        verified: dict[str, tuple[str, int]],
        tee: Pipe | None = None,
    ) -> None:
        shared = self._inflight.get(layer.digest)
        if shared is not None:
            if tee is not None:
                tee.close()  # not ours to stream: unpacked from the blob once it is in
            if await _outcome_of(shared, emit, layer, verified):
                return  # another pull fetched it for us
        # Registered before waiting for a download slot, so that a concurrent pull of
        # an image with this layer waits for this download rather than starting its own.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[str, int] | None] = loop.create_future()
        self._inflight[layer.digest] = future
        try:
            diff = await self._fetch_in_turn(repo, layer, undo, emit, what, tee)
        except BaseException as exc:
            _settle(future, exc)
            raise
        else:
            future.set_result(diff)
        finally:
            if self._inflight.get(layer.digest) is future:
                del self._inflight[layer.digest]
        if diff is not None:
            verified[layer.digest] = diff
        emit(status("Download complete", layer.digest))

    async def _fetch_in_turn(
        self, repo: Repository, layer: Descriptor, undo: _Undo, emit: Emit, what: str,
        tee: Pipe | None = None,
    ) -> tuple[str, int] | None:
        if self.limit.locked():
            emit(status("Waiting", layer.digest))
        try:
            async with self.limit:
                if await asyncio.to_thread(self.content.exists, layer.digest):
                    return None
                progress = LayerProgress(emit, layer.digest, layer.size, "Downloading")
                undo.blobs.append(layer.digest)  # before: a cancelled pull may still commit it
                return await self.fetcher.fetch(repo, layer, progress, what, tee)
        finally:
            if tee is not None:
                tee.close()

    async def _unpack_in_order(
        self,
        layers: Sequence[Descriptor],
        diff_ids: Sequence[str],
        downloads: dict[str, asyncio.Task[None]],
        fetched: set[str],
        undo: _Undo,
        emit: Emit,
        streamed: dict[str, Pipe] | None = None,
    ) -> None:
        """Layers are applied bottom first, each as soon as it and those below are in;
        a streamed layer (see _streamable) while it downloads."""
        from estiba.snapshots.unpack import chain_ids, unpack_image_layers

        streamed = streamed or {}
        try:
            chains = chain_ids(list(diff_ids))
            fetching = set(fetched)
            for index, layer in enumerate(layers):
                pipe = streamed.pop(layer.digest, None)
                if pipe is not None and self.snapshotter is not None:
                    if await self._unpack_streamed(layer, diff_ids[: index + 1], layers[: index + 1],
                                                   pipe, chains[index], undo, emit):
                        await downloads[layer.digest]  # the blob verified and committed too
                        emit(status("Pull complete", layer.digest))
                        fetching.discard(layer.digest)
                        continue
                await downloads[layer.digest]
                fetched = layer.digest in fetching
                if self.snapshotter is None:
                    if fetched:
                        emit(status("Pull complete", layer.digest))
                    continue
                pairs = [
                    (diff_id, _opener(self.content, below.digest))
                    for diff_id, below in zip(diff_ids[: index + 1], layers[: index + 1])
                ]
                fresh = not await asyncio.to_thread(_has_snapshot, self.snapshotter, chains[index])
                if fresh:
                    emit(Progress(status="Extracting", id=short(layer.digest), current=0,
                                  total=layer.size))  # fmt: skip
                    undo.snapshots.append(chains[index])
                    await settled(unpack_image_layers, self.snapshotter, pairs)
                if fetched:
                    emit(status("Pull complete", layer.digest))
                fetching.discard(layer.digest)
        except BaseException:
            # A download failed (or the pull was cancelled) while this waited for a layer
            # below the streamed one: release the streamed download, which may be waiting
            # for room in its pipe, or the task group would wait for it for ever.
            for pipe in streamed.values():
                pipe.abandon()
            raise

    async def _unpack_streamed(
        self, layer: Descriptor, diff_ids: Sequence[str], layers: Sequence[Descriptor], pipe: Pipe,
        chain: str, undo: _Undo, emit: Emit,
    ) -> bool:
        """Unpack `layer` from its download as it arrives; False when that did not give the
        layer (the stream was cut or resumed, or the download failed): the caller then
        waits for the blob and unpacks it from the store, as for any other layer."""
        from estiba.snapshots.unpack import unpack_image_layers

        pairs = [(diff_id, _opener(self.content, below.digest)) for diff_id, below in zip(diff_ids[:-1], layers)]
        pairs.append((diff_ids[-1], lambda: _PipeReader(pipe)))
        emit(Progress(status="Extracting", id=short(layer.digest), current=0, total=layer.size))
        undo.snapshots.append(chain)
        try:
            await settled(unpack_image_layers, self.snapshotter, pairs)
        except EstibaError as exc:
            log.info("layer %s: unpacking it as it arrived failed (%s); unpacking the blob", layer.digest, exc)
            return False
        finally:
            pipe.abandon()  # a download still going no longer waits for the unpack
        return True


class _PipeReader:
    """The consumer's side of a pipe, as the unpack opens a blob: closing it abandons."""

    def __init__(self, pipe: Pipe) -> None:
        self._pipe = pipe

    def read(self, size: int = -1) -> bytes:
        return self._pipe.read(size)

    def close(self) -> None:
        self._pipe.abandon()


class _Undo:
    """What a failed pull made and must take back: the blobs it fetched (once no other
    pull needs them, see BlobClaims) and the snapshots it unpacked."""

    def __init__(self, store: ImageStore, snapshotter: Any) -> None:
        self.store = store
        self.snapshotter = snapshotter
        self.blobs: list[str] = []
        self.snapshots: list[str] = []

    def remove_snapshots(self) -> None:
        for chain in reversed(self.snapshots):
            with contextlib.suppress(EstibaError, OSError):
                self.snapshotter.remove(chain)

    def discard_partials(self, digests: Sequence[str]) -> None:
        discard = getattr(self.store.content, "discard_resumable", None)
        for digest in digests if discard is not None else ():
            with contextlib.suppress(EstibaError, OSError):
                discard(digest)

    def remove_blobs(self, digests: Sequence[str]) -> None:
        for digest in digests:
            with contextlib.suppress(EstibaError, OSError):
                if not self.store.blob_referenced(digest):
                    self.store.content.delete(digest)


async def _outcome_of(
    shared: asyncio.Future[tuple[str, int] | None],
    emit: Emit,
    layer: Descriptor,
    verified: dict[str, tuple[str, int]],
) -> bool:
    """Wait for another pull's download of the same blob; False if it did not make it."""
    emit(status("Waiting", layer.digest))
    try:
        diff = await asyncio.shield(shared)
    except asyncio.CancelledError:
        if not shared.cancelled():
            raise  # we were cancelled ourselves
        return False
    except EstibaError:
        return False
    if diff is not None:
        verified[layer.digest] = diff
    emit(status("Download complete", layer.digest))
    return True


def _settle(future: asyncio.Future[Any], exc: BaseException) -> None:
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
        future.exception()  # marked as seen: nobody may be waiting for it


def _check_manifest(manifest: Manifest, repo: Repository, what: str) -> None:
    if manifest.config.media_type not in mt.CONFIGS:
        raise Unsupported(
            f"{what} from {repo.session.registry}: unsupported config media type "
            f"{manifest.config.media_type!r}"
        )
    for layer in manifest.layers:
        if layer.media_type not in mt.LAYERS:
            raise Unsupported(
                f"{what} from {repo.session.registry}: unsupported layer media type "
                f"{layer.media_type!r}"
            )


def _read_small(content: Any, digest: str) -> bytes:
    from estiba.content import read_blob

    return read_blob(content, digest)


def _opener(content: Any, digest: str) -> Callable[[], Any]:
    return lambda: content.open(digest)


def _has_snapshot(snapshotter: Any, name: str) -> bool:
    try:
        snapshotter.stat(name)
    except NotFound:
        return False
    return True


async def _nothing() -> None:
    return None
