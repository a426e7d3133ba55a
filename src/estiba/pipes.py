"""A bounded in-memory pipe between a producer and a consumer thread."""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["Pipe"]


class Pipe:
    """Bytes from a producer (`put`, `close`: the event loop receiving an upload or a
    download) to a consumer thread (`read`: unpacking them), holding at most about
    `limit` bytes, so that data is unpacked as it arrives instead of spooled to disk
    first. The consumer calls `abandon` when it stops (done or failed), which releases a
    producer waiting for room; `put` then answers False."""

    def __init__(self, limit: int = 8 << 20) -> None:
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # into the first chunk: the bytes before it were read
        self._size = 0
        self._limit = limit
        self._eof = False
        self._abandoned = False
        self._cond = threading.Condition()

    def has_room(self) -> bool:
        with self._cond:
            return self._size < self._limit or self._abandoned

    def put(self, data: bytes) -> bool:
        """Queue `data`, waiting for room; False once the reader has stopped or after
        `close`."""
        with self._cond:
            while self._size >= self._limit and not self._abandoned and not self._eof:
                self._cond.wait()
            if self._abandoned or self._eof:
                return False
            self._chunks.append(data)
            self._size += len(data)
            self._cond.notify_all()
            return True

    def close(self) -> None:
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def abandon(self) -> None:
        with self._cond:
            self._abandoned = True
            self._chunks.clear()
            self._offset = self._size = 0
            self._cond.notify_all()

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (everything up to the end when negative), waiting for some;
        b"" at the end. A positive size may get fewer bytes: callers loop."""
        out: list[bytes] = []
        with self._cond:
            while True:
                while not self._chunks and not self._eof:
                    self._cond.wait()
                if not self._chunks:
                    break
                chunk, start = self._chunks[0], self._offset
                if 0 <= size < len(chunk) - start:
                    # Part of the first chunk: an offset into it, not a copy of its rest
                    # (reads are often far smaller than chunks).
                    self._offset += size
                    piece = chunk[start:start + size]
                else:
                    self._chunks.popleft()
                    self._offset = 0
                    piece = chunk[start:] if start else chunk
                self._size -= len(piece)
                out.append(piece)
                if size >= 0:
                    break
            self._cond.notify_all()
        return b"".join(out)
