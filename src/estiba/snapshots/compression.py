"""Reading a layer blob whatever its compression (gzip, zstd, bzip2, xz or none), detected
from its first bytes, as one uncompressed stream; `DigestReader` hashes what passes."""

from __future__ import annotations

import hashlib
from typing import Protocol

from estiba.errors import Unsupported

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
_BZIP2 = b"BZh"
_XZ = b"\xfd7zXZ\x00"

CHUNK = 1 << 20


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Prefixed:
    """A stream with the bytes already peeked from it put back in front."""

    def __init__(self, head: bytes, rest: Readable) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)


def _peek(stream: Readable, count: int) -> bytes:
    head = b""
    while len(head) < count:
        data = stream.read(count - len(head))
        if not data:
            break
        head += data
    return head


def detect(head: bytes) -> str:
    """The compression named by a stream's first bytes: gzip, zstd, bzip2, xz or none."""
    for name, magic in (("gzip", _GZIP), ("zstd", _ZSTD), ("bzip2", _BZIP2), ("xz", _XZ)):
        if head.startswith(magic):
            return name
    return "none"


def open_uncompressed(stream: Readable) -> Readable:
    """The uncompressed bytes of `stream`, decompressed on the fly as they are read."""
    head = _peek(stream, 6)
    source = _Prefixed(head, stream)
    kind = detect(head)
    if kind == "gzip":
        import gzip

        return gzip.GzipFile(fileobj=source, mode="rb")  # type: ignore[arg-type]
    if kind == "zstd":
        try:
            import zstandard
        except ImportError as exc:
            raise Unsupported("zstd layers need the zstandard package") from exc
        return zstandard.ZstdDecompressor().stream_reader(source, read_across_frames=True)
    if kind == "bzip2":
        import bz2

        return bz2.BZ2File(source)  # type: ignore[arg-type]
    if kind == "xz":
        import lzma

        return lzma.LZMAFile(source)  # type: ignore[arg-type]
    return source


class DigestReader:
    """Passes reads through and hashes every byte (sha256), counting them."""

    def __init__(self, stream: Readable) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._hash.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        """Read (and hash) whatever is left, such as the padding after a tar's end."""
        while self.read(CHUNK):
            pass

    @property
    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()


def decompression_errors() -> tuple[type[BaseException], ...]:
    """The exception types a broken compressed stream raises while being read."""
    import gzip
    import lzma
    import zlib

    errors: list[type[BaseException]] = [gzip.BadGzipFile, zlib.error, lzma.LZMAError, EOFError]
    try:
        import zstandard

        errors.append(zstandard.ZstdError)
    except ImportError:
        pass
    return tuple(errors)

