"""The diff_id of a layer computed while its blob downloads: the bytes are decompressed
(gzip, zstd or none, told by their first bytes) and hashed as they arrive, so the image
store needs no second pass over the blob to check it against the config's diff_ids."""

from __future__ import annotations

import hashlib
import zlib
from typing import Any

from estiba.snapshots.compression import detect


class DiffIdHasher:
    """Feed it the blob's bytes in order; `result()` is (diff_id, tar size), or None when
    it could not follow (an unknown compression, a resumed transfer): then the store checks."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._size = 0
        self._kind: str | None = None
        self._decoder: Any = None
        self._failed = False
        self._head = b""

    def update(self, data: bytes) -> None:
        if self._failed or not data:
            return
        try:
            if self._kind is None:
                self._head += data
                if len(self._head) < 6:
                    return
                self._kind = detect(self._head)
                if self._kind not in ("gzip", "zstd", "none"):
                    self._failed = True
                    return
                data, self._head = self._head, b""
            self._feed(data)
        except Exception:  # a broken stream: the store's own check will say what is wrong
            self._failed = True

    def _feed(self, data: bytes) -> None:
        if self._kind == "none":
            self._add(data)
            return
        while data:
            if self._decoder is None:
                self._decoder = self._new_decoder()
            self._add(self._decoder.decompress(data))
            data = b""
            if self._decoder_done():
                data = self._decoder.unused_data  # the next gzip member or zstd frame
                self._decoder = None

    def _new_decoder(self) -> Any:
        if self._kind == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        import zstandard

        return zstandard.ZstdDecompressor().decompressobj()

    def _decoder_done(self) -> bool:
        return bool(getattr(self._decoder, "eof", False))

    def _add(self, data: bytes) -> None:
        self._hash.update(data)
        self._size += len(data)

    def result(self) -> tuple[str, int] | None:
        if self._failed:
            return None
        if self._kind is None:  # fewer than 6 bytes in all: an uncompressed blob
            if self._head:
                return None
            return "sha256:" + self._hash.hexdigest(), self._size
        if self._decoder is not None and not self._decoder_done():
            return None  # cut short
        return "sha256:" + self._hash.hexdigest(), self._size
