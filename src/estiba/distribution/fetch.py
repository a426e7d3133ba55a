"""Fetching one blob into the content store: streamed, verified by the writer against its
digest and size before it is committed, resumed with Range when the connection breaks
(and, through the store's resumable writer, on the next pull), the layer's diff_id
hashed on the way."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from estiba.content import ContentWriter, Descriptor
from estiba.distribution._tasks import settled
from estiba.distribution.diffids import DiffIdHasher
from estiba.distribution.progress import LayerProgress, status
from estiba.distribution.repository import Repository
from estiba.distribution.transport import TransferInterrupted
from estiba.errors import InvalidArgument
from estiba.pipes import Pipe

log = logging.getLogger(__name__)

CHUNK = 1 << 20


class BlobFetcher:
    def __init__(self, content: Any, *, attempts: int = 3, retry_delay: float = 0.5) -> None:
        self.content = content
        self.attempts = attempts
        self.retry_delay = retry_delay

    async def fetch(
        self,
        repo: Repository,
        blob: Descriptor,
        progress: LayerProgress | None,
        what: str,
        tee: Pipe | None = None,
    ) -> tuple[str, int] | None:
        """Fetch a blob into the content store; resume with Range after a broken
        connection; the writer refuses any byte past the size and a wrong digest. Returns
        the diff_id and tar size hashed on the way, when the whole blob passed here.

        `tee` gets every byte of the blob in order as it arrives (for an unpack that runs
        alongside), then its end; when the bytes cannot be whole and in order (a transfer
        resumed from kept bytes, a registry that ignored a Range), it gets its end early,
        which the unpack takes for a cut layer (and the caller unpacks the blob instead)."""
        try:
            return await self._fetch_once(repo, blob, progress, what, tee)
        except _StaleResume:
            log.warning("blob %s: the bytes kept from an earlier pull were bad", blob.digest)
            return await self._fetch_once(repo, blob, progress, what, None)
        finally:
            if tee is not None:
                tee.close()

    async def _fetch_once(
        self,
        repo: Repository,
        blob: Descriptor,
        progress: LayerProgress | None,
        what: str,
        tee: Pipe | None = None,
    ) -> tuple[str, int] | None:
        writer: ContentWriter = await asyncio.to_thread(self._writer, blob)
        resumed = writer.offset > 0
        if resumed and tee is not None:
            tee.close()  # its first bytes were fetched by an earlier pull
        hasher: DiffIdHasher | None = DiffIdHasher() if writer.offset == 0 else None
        if writer.offset and progress is not None:
            progress.emit(status(f"Resuming from {writer.offset} bytes", blob.digest))
        try:
            for attempt in range(1, self.attempts + 1):
                if writer.offset == blob.size:
                    break  # every byte was kept from before: only the commit is left
                try:
                    reply, start = await repo.open_blob(blob.digest, writer.offset)
                    if start != writer.offset:  # the registry ignored the range
                        if tee is not None:
                            tee.close()
                        writer.abort()
                        writer = await asyncio.to_thread(self._writer, blob)
                        hasher = DiffIdHasher() if writer.offset == 0 else None
                    async for chunk in reply.chunks(CHUNK):
                        await settled(_write, writer, hasher, chunk, tee)
                        if progress is not None:
                            progress.update(writer.offset)
                    break
                except TransferInterrupted as exc:
                    if attempt == self.attempts:
                        raise TransferInterrupted(
                            f"pull of {what} failed: {exc.message}", hint=exc.hint
                        ) from exc
                    log.info("blob %s: %s; resuming at %d", blob.digest, exc, writer.offset)
                    await asyncio.sleep(self.retry_delay * attempt)
            if progress is not None:
                progress.update(writer.offset, force=True)
                progress.emit(status("Verifying Checksum", blob.digest))
            await settled(writer.commit)
            return hasher.result() if hasher is not None else None
        except InvalidArgument as exc:
            writer.abort()
            if resumed:  # perhaps only the kept bytes were wrong: once more, from scratch
                raise _StaleResume(exc.message) from exc
            raise InvalidArgument(
                f"pull of {what} from {repo.session.registry}: blob {blob.digest} "
                f"failed verification: {exc.message}",
                hint="the registry's copy is corrupt or was cut short",
            ) from exc
        except BaseException:
            # A broken or cancelled transfer keeps its bytes for the next pull, if it can.
            suspend = getattr(writer, "suspend", None)
            (suspend or writer.abort)()
            raise

    def _writer(self, blob: Descriptor) -> ContentWriter:
        resumable = getattr(self.content, "resumable_writer", None)
        if resumable is not None:
            return resumable(expected=blob.digest, size=blob.size, media_type=blob.media_type)
        return self.content.writer(
            expected=blob.digest, size=blob.size, media_type=blob.media_type
        )


class _StaleResume(InvalidArgument):
    """A blob resumed from kept bytes failed verification."""


def _write(writer: ContentWriter, hasher: DiffIdHasher | None, chunk: bytes, tee: Pipe | None) -> None:
    writer.write(chunk)
    if hasher is not None:
        hasher.update(chunk)
    if tee is not None:
        tee.put(chunk)  # False: the unpack stopped or the stream was cut; the blob goes on


