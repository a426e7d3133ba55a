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
            self._size = 0
            self._cond.notify_all()

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative), waiting for them; b"" at
        the end of the upload."""
        out: list[bytes] = []
        wanted = size if size >= 0 else -1
        with self._cond:
            while wanted != 0:
                while not self._chunks and not self._eof:
                    self._cond.wait()
                if not self._chunks:
                    break
                chunk = self._chunks.popleft()
                if 0 <= wanted < len(chunk):
                    self._chunks.appendleft(chunk[wanted:])
                    chunk = chunk[:wanted]
                self._size -= len(chunk)
                out.append(chunk)
                if wanted > 0:
                    wanted -= len(chunk)
                if size >= 0 and out:
                    break  # a short read is enough: callers loop
            self._cond.notify_all()
        return b"".join(out)
