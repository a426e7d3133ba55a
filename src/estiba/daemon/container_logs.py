"""Reading a container's json-file log (written by its shim) as the API's output chunks:
stdout/stderr selection, since/until, tail, and follow while the container runs."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable
from typing import BinaryIO

from estiba.api.types import LogsOptions, OutputChunk, StreamKind
from estiba.daemon.container_documents import parse_rfc3339_ns

__all__ = ["entry_chunk", "log_chunks", "select_entries"]

FOLLOW_INTERVAL = 0.1
_MAX_FILES = 10


def entry_chunk(line: bytes) -> OutputChunk | None:
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    kind = StreamKind.STDERR if entry.get("stream") == "stderr" else StreamKind.STDOUT
    return OutputChunk(kind, entry.get("log", "").encode(), parse_rfc3339_ns(entry.get("time", "")))


def _wanted(chunk: OutputChunk, options: LogsOptions) -> bool:
    if chunk.stream is StreamKind.STDOUT and not options.stdout:
        return False
    if chunk.stream is StreamKind.STDERR and not options.stderr:
        return False
    if options.since_ns and (chunk.time_ns or 0) < options.since_ns:
        return False
    if options.until_ns and (chunk.time_ns or 0) > options.until_ns:
        return False
    return True


def select_entries(lines: list[bytes], options: LogsOptions) -> list[OutputChunk]:
    chunks = [c for c in map(entry_chunk, lines) if c is not None and _wanted(c, options)]
    if options.tail is not None:
        chunks = chunks[-options.tail:] if options.tail > 0 else []
    return chunks


def _read_rotated(path: str) -> tuple[list[bytes], _LogTail]:
    """Every line of the rotated files and the current one; the current one stays open,
    after its last complete line, for following."""
    lines: list[bytes] = []
    for index in range(_MAX_FILES, 0, -1):
        try:
            with open(f"{path}.{index}", "rb") as handle:
                lines.extend(handle.read().splitlines())
        except FileNotFoundError:
            continue
    tail = _LogTail(path)
    lines.extend(tail.read())
    return lines, tail


class _LogTail:
    """The current log file, held open while it is followed.

    Holding it, rather than opening the path at each look, keeps what the shim wrote
    last readable when the file is rotated (renamed or unlinked) or the container is
    removed between two looks: `docker run` without -d reads a short-lived container's
    output through a follow that may only finish reading after the removal.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.handle: BinaryIO | None = None
        self._open()

    def _open(self) -> None:
        try:
            self.handle = open(self.path, "rb")
        except FileNotFoundError:
            self.handle = None

    def read(self) -> list[bytes]:
        """The complete lines written since the last read, across a rotation."""
        if self.handle is None:
            self._open()
            if self.handle is None:
                return []
        lines = self._complete_lines()
        if self._rotated():
            lines += self._complete_lines()  # written between that read and the rotation
            self.handle.close()
            self._open()
            if self.handle is not None:
                lines += self._complete_lines()
        return lines

    def _complete_lines(self) -> list[bytes]:
        assert self.handle is not None
        data = self.handle.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.handle.seek(len(complete) - len(data), os.SEEK_CUR)  # a partial line: next time
        return complete.splitlines()

    def _rotated(self) -> bool:
        assert self.handle is not None
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return False  # removed (or between a rename and the new file): keep reading ours
        return (current.st_dev, current.st_ino) != _identity(self.handle)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _identity(handle: BinaryIO) -> tuple[int, int]:
    status = os.fstat(handle.fileno())
    return status.st_dev, status.st_ino


async def log_chunks(path: str, options: LogsOptions, running: Callable[[], bool]) -> AsyncIterator[OutputChunk]:
    lines, tail = await asyncio.to_thread(_read_rotated, path)
    try:
        for chunk in select_entries(lines, options):
            yield chunk
        if not options.follow:
            return
        follow = LogsOptions(options.stdout, options.stderr, False, options.since_ns, options.until_ns, None)
        while True:
            # Whether it runs first, then read: what it wrote before ending is read too.
            alive = await asyncio.to_thread(running)
            for chunk in select_entries(await asyncio.to_thread(tail.read), follow):
                yield chunk
            if not alive:
                return
            await asyncio.sleep(FOLLOW_INTERVAL)
    finally:
        tail.close()
