"""The json-file log driver, as Docker writes it: one JSON object per line, rotated by size.

    {"log":"hello\\n","stream":"stdout","time":"2024-05-01T10:00:00.123456789Z"}

Output is cut into lines like Docker's copier does: each complete line is one entry (its
newline included), a line longer than 16 KiB is written in 16 KiB pieces without a
newline, and what is left when a stream ends is written as it is. Before an entry is
written, a file that has reached `max_size` is rotated: log.json -> log.json.1 -> ...,
keeping `max_files` files in all (Docker's max-size/max-file). Entries are written with
one write(2) each batch, to an O_APPEND file, so a reader never sees half a line.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable

from estiba.shim.statedir import rfc3339nano

PARTIAL_LIMIT = 16 * 1024
STREAMS = ("stdout", "stderr")


def encode_entry(chunk: bytes, stream: str, time_text: str) -> bytes:
    """One log line; invalid UTF-8 becomes U+FFFD, as Go's encoder does."""
    text = chunk.decode("utf-8", "replace")
    return (
        json.dumps({"log": text, "stream": stream, "time": time_text}, ensure_ascii=False, separators=(",", ":"))
        + "\n"
    ).encode()


class LineSplitter:
    """Cuts one stream's bytes into Docker's log chunks: whole lines, or 16 KiB pieces."""

    def __init__(self, limit: int = PARTIAL_LIMIT) -> None:
        self.limit = limit
        self.pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self.pending + data
        chunks = []
        start = 0
        while True:
            newline = buffer.find(b"\n", start, start + self.limit)
            if newline >= 0:
                chunks.append(buffer[start : newline + 1])
                start = newline + 1
            elif len(buffer) - start >= self.limit:
                chunks.append(buffer[start : start + self.limit])
                start += self.limit
            else:
                break
        self.pending = buffer[start:]
        return chunks

    def flush(self) -> list[bytes]:
        rest, self.pending = self.pending, b""
        return [rest] if rest else []


class JsonFileLog:
    """Appends entries to `path`, rotating at `max_size` bytes (0: never) into `max_files` files."""

    def __init__(
        self,
        path: str,
        max_size: int = 10 * 1024 * 1024,
        max_files: int = 3,
        *,
        clock: Callable[[], str] = rfc3339nano,
    ) -> None:
        self.path = path
        self.max_size = max_size
        self.max_files = max(1, max_files)
        self.clock = clock
        self.splitters = {stream: LineSplitter() for stream in STREAMS}
        self.fd = self._open()
        self.size = os.fstat(self.fd).st_size

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640)

    def write(self, stream: str, data: bytes) -> None:
        self._emit(stream, self.splitters[stream].feed(data))

    def flush(self, stream: str | None = None) -> None:
        """Write what is left of a stream (or of all) without waiting for its newline."""
        for name in (stream,) if stream else STREAMS:
            self._emit(name, self.splitters[name].flush())

    def _emit(self, stream: str, chunks: list[bytes]) -> None:
        if not chunks:
            return
        now = self.clock()
        batch = bytearray()
        for chunk in chunks:
            entry = encode_entry(chunk, stream, now)
            if self.max_size and self.size + len(batch) >= self.max_size:
                self._write(bytes(batch))
                batch.clear()
                if self.size >= self.max_size:
                    self._rotate()
            batch += entry
        self._write(bytes(batch))

    def _write(self, data: bytes) -> None:
        if not data:
            return
        view = memoryview(data)
        while view:
            written = os.write(self.fd, view)
            view = view[written:]
        self.size += len(data)

    def _rotate(self) -> None:
        os.close(self.fd)
        if self.max_files == 1:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        else:
            for index in range(self.max_files - 1, 0, -1):
                older = f"{self.path}.{index - 1}" if index > 1 else self.path
                with contextlib.suppress(FileNotFoundError):
                    os.replace(older, f"{self.path}.{index}")
        self.fd = self._open()
        self.size = 0

    def close(self) -> None:
        self.flush()
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def read_entries(path: str, max_files: int = 1) -> list[dict]:
    """Every entry of a log and its rotated files, oldest first (for tests and tools)."""
    entries = []
    for index in range(max_files - 1, -1, -1):
        name = f"{path}.{index}" if index else path
        with contextlib.suppress(FileNotFoundError), open(name, "rb") as handle:
            entries.extend(json.loads(line) for line in handle if line.strip())
    return entries
