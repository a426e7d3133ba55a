"""What every content writer shares: hashing as bytes arrive and the checks made at commit."""

from __future__ import annotations

import hashlib
from typing import BinaryIO, Protocol

from estiba.content.descriptor import Descriptor, check_digest
from estiba.errors import InvalidArgument

CHUNK = 1 << 20

Source = bytes | bytearray | memoryview | BinaryIO


class Sink(Protocol):
    def write(self, data: bytes) -> object: ...


class Ingest:
    """Counts and hashes the bytes of one write; refuses them once they pass the declared size."""

    def __init__(self, expected: str | None, size: int | None, media_type: str) -> None:
        if expected is not None:
            check_digest(expected)
        if size is not None and size < 0:
            raise InvalidArgument(f"invalid size {size}: must not be negative")
        self.expected = expected
        self.size = size
        self.media_type = media_type
        self.offset = 0
        self._hash = hashlib.sha256()

    @property
    def digest(self) -> str:
        """The digest of the bytes written so far."""
        return "sha256:" + self._hash.hexdigest()

    def add(self, data: bytes) -> None:
        self.offset += len(data)
        if self.size is not None and self.offset > self.size:
            raise InvalidArgument(
                f"size mismatch{self._for()}: expected {self.size} bytes, "
                f"got at least {self.offset}"
            )
        self._hash.update(data)

    def verified(self) -> Descriptor:
        """The descriptor of what was written, if it matches the expected size and digest."""
        if self.size is not None and self.offset != self.size:
            raise InvalidArgument(
                f"size mismatch{self._for()}: expected {self.size} bytes, got {self.offset}"
            )
        digest = self.digest
        if self.expected is not None and digest != self.expected:
            raise InvalidArgument(f"digest mismatch: expected {self.expected}, got {digest}")
        return Descriptor(self.media_type, digest, self.offset)

    def _for(self) -> str:
        return f" for {self.expected}" if self.expected else ""


def copy_into(source: Source, write: Sink) -> None:
    """Feed bytes-like data, or everything a readable stream yields, to `write`."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        for start in range(0, len(view), CHUNK):
            write.write(bytes(view[start : start + CHUNK]))
        return
    read = getattr(source, "read", None)
    if read is None:
        raise InvalidArgument(f"cannot write {type(source).__name__}: want bytes or a stream")
    while True:
        chunk = read(CHUNK)
        if not chunk:
            return
        write.write(bytes(chunk))
