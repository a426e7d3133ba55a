"""The content store contract and its local implementation: blobs on disk, by sha256.

Layout under the store's root::

    blobs/sha256/<hex>    committed blobs, read-only, named by their digest
    ingest/<tmp>          writes in progress; never visible through open/info/list
                          (left-overs a day old are removed when the store opens)
"""

from __future__ import annotations

import errno
import os
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol, runtime_checkable

from estiba.content._ingest import Ingest, Source, copy_into
from estiba.content.descriptor import OCTET_STREAM, Descriptor, check_digest, digest_hex
from estiba.errors import InvalidArgument, NotFound, SystemFault

MAX_METADATA_SIZE = 8 << 20
# Staging files this old belong to writers that died (a crash mid-pull); nobody resumes them.
STALE_INGEST_SECONDS = 24 * 3600


@runtime_checkable
class ContentWriter(Protocol):
    """One ingestion: bytes go in through `write`, `commit` makes them a blob.

    Use it as a context manager: leaving the block without a commit (or with an exception)
    aborts, and an aborted write leaves nothing behind.
    """

    @property
    def digest(self) -> str:
        """The digest of what was written so far."""
        ...

    @property
    def offset(self) -> int:
        """How many bytes were written so far."""
        ...

    def write(self, data: bytes) -> int: ...

    def commit(self) -> Descriptor:
        """Verify size and digest against what the writer was opened with, then publish.

        A mismatch raises InvalidArgument and aborts. Committing content that is already
        in the store succeeds and returns the existing blob's descriptor.
        """
        ...

    def abort(self) -> None: ...

    def __enter__(self) -> ContentWriter: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


@runtime_checkable
class ContentStore(Protocol):
    """Blobs addressed by their sha256 digest.

    Lifecycle of a blob: an ingestion (`writer()`, or `write()` for a whole stream) hashes
    the bytes as they arrive into a private staging area; `commit` checks the expected
    size and digest, makes the data durable and only then publishes it under its digest,
    atomically. From then on `open`, `info`, `exists` and `list` see it, and its bytes never
    change, until `delete` removes it. Nothing half-written is ever visible, and writing
    content that is already there is a no-op that returns its descriptor.

    Descriptors returned here carry the media type the writer was given, or
    `application/octet-stream`: the store keeps bytes, not meaning.
    """

    def writer(
        self,
        *,
        expected: str | None = None,
        size: int | None = None,
        media_type: str = OCTET_STREAM,
    ) -> ContentWriter: ...

    def write(
        self,
        data: Source,
        *,
        expected: str | None = None,
        size: int | None = None,
        media_type: str = OCTET_STREAM,
    ) -> Descriptor:
        """Ingest bytes or a readable stream; verify and commit it; return its descriptor."""
        ...

    def open(self, digest: str) -> BinaryIO:
        """A binary reader over the blob (NotFound when it is not there)."""
        ...

    def info(self, digest: str) -> Descriptor: ...

    def exists(self, digest: str) -> bool: ...

    def delete(self, digest: str) -> None:
        """Remove the blob (NotFound when it is not there)."""
        ...

    def list(self) -> list[Descriptor]:
        """Every committed blob, sorted by digest."""
        ...


def write_blob(
    store: ContentStore,
    data: Source,
    *,
    expected: str | None = None,
    size: int | None = None,
    media_type: str = OCTET_STREAM,
) -> Descriptor:
    """The one way every implementation ingests a whole source: skip it if already stored."""
    if expected is not None and store.exists(expected):
        existing = store.info(expected)
        if size is not None and size != existing.size:
            raise InvalidArgument(
                f"size mismatch for {expected}: expected {size} bytes, got {existing.size}"
            )
        return existing.with_media_type(media_type)
    with store.writer(expected=expected, size=size, media_type=media_type) as writer:
        copy_into(data, writer)
        return writer.commit()


def read_blob(store: ContentStore, digest: str, *, max_size: int = MAX_METADATA_SIZE) -> bytes:
    """The whole blob, for small metadata (manifests, configs); re-verified on the way in."""
    info = store.info(digest)
    if info.size > max_size:
        raise InvalidArgument(f"blob {digest} is {info.size} bytes, more than {max_size} allowed")
    with store.open(digest) as reader:
        data = reader.read(max_size + 1)
    ingest = Ingest(digest, info.size, OCTET_STREAM)
    try:
        ingest.add(data)
        ingest.verified()
    except InvalidArgument as exc:
        raise SystemFault(f"blob {digest} is corrupt on disk: {exc}") from exc
    return data


class StoreBase:
    """`writer` and `write` for every store: a store names its writer class, and a
    whole-blob write is a writer fed from the source."""

    writer_class: type

    def writer(
        self,
        *,
        expected: str | None = None,
        size: int | None = None,
        media_type: str = OCTET_STREAM,
    ) -> ContentWriter:
        return self.writer_class(self, Ingest(expected, size, media_type))

    def write(
        self,
        data: Source,
        *,
        expected: str | None = None,
        size: int | None = None,
        media_type: str = OCTET_STREAM,
    ) -> Descriptor:
        return write_blob(self, data, expected=expected, size=size, media_type=media_type)


class LocalContentStore(StoreBase):
    """A ContentStore in a directory: `<root>/blobs/sha256/<hex>`, staged in `<root>/ingest`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._blobs = self.root / "blobs" / "sha256"
        self._ingest = self.root / "ingest"
        try:
            self._blobs.mkdir(parents=True, exist_ok=True)
            self._ingest.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SystemFault(
                f"cannot create content store at {self.root}: {exc.strerror}"
            ) from exc
        self._remove_stale_ingests()

    def __repr__(self) -> str:
        return f"LocalContentStore({str(self.root)!r})"

    def path(self, digest: str) -> Path:
        """Where the blob lives (NotFound when it is not there)."""
        path = self._blobs / digest_hex(digest)
        if not path.is_file():
            raise NotFound(f"blob {digest} not found")
        return path

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self._blobs / digest_hex(digest), "rb")
        except FileNotFoundError as exc:
            raise NotFound(f"blob {digest} not found") from exc
        except OSError as exc:
            raise SystemFault(f"cannot open blob {digest}: {exc.strerror}") from exc

    def info(self, digest: str) -> Descriptor:
        try:
            st = os.stat(self._blobs / digest_hex(digest))
        except FileNotFoundError as exc:
            raise NotFound(f"blob {digest} not found") from exc
        return Descriptor(OCTET_STREAM, digest, st.st_size)

    def exists(self, digest: str) -> bool:
        return (self._blobs / digest_hex(digest)).is_file()

    def delete(self, digest: str) -> None:
        try:
            os.unlink(self._blobs / digest_hex(digest))
        except FileNotFoundError as exc:
            raise NotFound(f"blob {digest} not found") from exc
        except OSError as exc:
            raise SystemFault(f"cannot delete blob {digest}: {exc.strerror}") from exc

    def list(self) -> list[Descriptor]:
        found = []
        with os.scandir(self._blobs) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False) and len(entry.name) == 64:
                    digest = "sha256:" + entry.name
                    try:
                        check_digest(digest)
                    except InvalidArgument:
                        continue
                    found.append(Descriptor(OCTET_STREAM, digest, entry.stat().st_size))
        return sorted(found, key=lambda d: d.digest)

    def resumable_writer(
        self, *, expected: str, size: int | None = None, media_type: str = OCTET_STREAM
    ) -> ContentWriter:
        """A writer that resumes an earlier, suspended ingestion of `expected` (see
        ResumableWriter); a plain writer when another one holds that blob's staging file."""
        ingest = Ingest(expected, size, media_type)
        try:
            return ResumableWriter(self, ingest)
        except BlockingIOError:
            return LocalWriter(self, Ingest(expected, size, media_type))
        except OSError as exc:
            raise _write_fault(exc) from exc

    def discard_resumable(self, expected: str) -> None:
        """Drop the bytes a suspended ingestion of `expected` kept, unless a writer is
        using them right now."""
        import fcntl

        path = self._ingest / f"{digest_hex(expected)}.partial"
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(path)
        except BlockingIOError:
            pass
        finally:
            os.close(fd)

    def _remove_stale_ingests(self) -> None:
        cutoff = time.time() - STALE_INGEST_SECONDS
        with os.scandir(self._ingest) as entries:
            for entry in entries:
                try:
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        os.unlink(entry.path)
                except OSError:
                    continue

    # --- used by LocalWriter -------------------------------------------------------------

    def _stage(self) -> tuple[BinaryIO, Path]:
        fd, name = tempfile.mkstemp(dir=self._ingest, prefix="ingest-")
        return os.fdopen(fd, "wb"), Path(name)

    def _publish(self, staged: Path, digest: str) -> None:
        """Move a synced staging file into place and make the rename itself durable."""
        target = self._blobs / digest_hex(digest)
        os.chmod(staged, 0o444)
        os.rename(staged, target)
        _fsync_dir(self._blobs)


class LocalWriter:
    """A write into `<root>/ingest`, committed by fsync, verify, rename, fsync of the dir."""

    def __init__(self, store: LocalContentStore, ingest: Ingest) -> None:
        self._store = store
        self._ingest = ingest
        self._file, self._staged = store._stage()
        self._done = False

    @property
    def digest(self) -> str:
        return self._ingest.digest

    @property
    def offset(self) -> int:
        return self._ingest.offset

    def write(self, data: bytes) -> int:
        self._check_open()
        try:
            self._ingest.add(data)
        except InvalidArgument:
            self.abort()
            raise
        try:
            self._file.write(data)
        except OSError as exc:
            self.abort()
            raise _write_fault(exc) from exc
        return len(data)

    def commit(self) -> Descriptor:
        self._check_open()
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            descriptor = self._ingest.verified()
            if self._store.exists(descriptor.digest):
                self._discard()
            else:
                self._store._publish(self._staged, descriptor.digest)
        except InvalidArgument:
            self.abort()
            raise
        except OSError as exc:
            self.abort()
            raise _write_fault(exc) from exc
        self._done = True
        return descriptor

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._discard()

    def __enter__(self) -> LocalWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.abort()

    def _discard(self) -> None:
        self._file.close()
        try:
            os.unlink(self._staged)
        except FileNotFoundError:
            pass

    def _check_open(self) -> None:
        if self._done:
            raise InvalidArgument("content writer is already committed or aborted")


class ResumableWriter(LocalWriter):
    """A LocalWriter staged in `ingest/<hex>.partial`, named by the digest it expects, so
    that an ingestion cut short (a pull killed half way) can go on where it stopped.

    Opening it re-hashes the bytes already there and starts `offset` after them; `suspend`
    keeps them for the next try; `abort` (and a failed verification) removes them. An
    exclusive lock on the file keeps two writers of the same blob apart.
    """

    def __init__(self, store: LocalContentStore, ingest: Ingest) -> None:
        import fcntl

        assert ingest.expected is not None
        self._store = store
        self._ingest = ingest
        self._done = False
        self._staged = store._ingest / f"{digest_hex(ingest.expected)}.partial"
        fd = os.open(self._staged, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise
        self._file = os.fdopen(fd, "r+b")
        self._rehash()

    def _rehash(self) -> None:
        kept = 0
        while chunk := self._file.read(CHUNK):
            if self._ingest.size is not None and kept + len(chunk) > self._ingest.size:
                break
            self._ingest.add(chunk)
            kept += len(chunk)
        self._file.seek(kept)
        self._file.truncate(kept)

    def suspend(self) -> None:
        """Stop, keeping the bytes written so far for a later writer of the same blob."""
        if self._done:
            return
        if self._ingest.offset == 0:
            self.abort()
            return
        self._done = True
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        finally:
            self._file.close()


CHUNK = 1 << 20


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_fault(exc: OSError) -> SystemFault:
    if exc.errno == errno.ENOSPC:
        return SystemFault("no space left for the content store: free some disk space")
    return SystemFault(f"cannot write to the content store: {exc.strerror}")


# The writer class is defined after the store that names it.
LocalContentStore.writer_class = LocalWriter
