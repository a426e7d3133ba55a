"""An in-memory ContentStore: the same contract as the local one, for tests and scratch work."""

from __future__ import annotations

import io
import threading
from types import TracebackType
from typing import BinaryIO

from estiba.content._ingest import Ingest
from estiba.content.descriptor import OCTET_STREAM, Descriptor, check_digest
from estiba.content.store import StoreBase
from estiba.errors import InvalidArgument, NotFound


class MemoryContentStore(StoreBase):
    """Blobs in a dict; commits are atomic under a lock."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def open(self, digest: str) -> BinaryIO:
        return io.BytesIO(self._get(digest))

    def info(self, digest: str) -> Descriptor:
        return Descriptor(OCTET_STREAM, digest, len(self._get(digest)))

    def exists(self, digest: str) -> bool:
        return check_digest(digest) in self._blobs

    def delete(self, digest: str) -> None:
        with self._lock:
            if self._blobs.pop(check_digest(digest), None) is None:
                raise NotFound(f"blob {digest} not found")

    def list(self) -> list[Descriptor]:
        with self._lock:
            items = sorted(self._blobs.items())
        return [Descriptor(OCTET_STREAM, digest, len(data)) for digest, data in items]

    def _get(self, digest: str) -> bytes:
        try:
            return self._blobs[check_digest(digest)]
        except KeyError as exc:
            raise NotFound(f"blob {digest} not found") from exc

    def _publish(self, digest: str, data: bytes) -> None:
        with self._lock:
            self._blobs.setdefault(digest, data)


class MemoryWriter:
    """Buffers the bytes of one ingestion until commit."""

    def __init__(self, store: MemoryContentStore, ingest: Ingest) -> None:
        self._store = store
        self._ingest = ingest
        self._buffer = io.BytesIO()
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
        self._buffer.write(data)
        return len(data)

    def commit(self) -> Descriptor:
        self._check_open()
        try:
            descriptor = self._ingest.verified()
        except InvalidArgument:
            self.abort()
            raise
        self._store._publish(descriptor.digest, self._buffer.getvalue())
        self._done = True
        return descriptor

    def abort(self) -> None:
        self._done = True
        self._buffer = io.BytesIO()

    def __enter__(self) -> MemoryWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._done:
            self.abort()

    def _check_open(self) -> None:
        if self._done:
            raise InvalidArgument("content writer is already committed or aborted")


# The writer class is defined after the store that names it.
MemoryContentStore.writer_class = MemoryWriter
