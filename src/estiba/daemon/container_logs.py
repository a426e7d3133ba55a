"""Reading a container's json-file log (written by its shim) as the API's output chunks:
stdout/stderr selection, since/until, tail, and follow while the container runs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

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


def _read_rotated(path: str) -> tuple[list[bytes], int]:
    """Every line of the rotated files and the current one, and the current one's size."""
    lines: list[bytes] = []
    for index in range(_MAX_FILES, 0, -1):
        try:
            with open(f"{path}.{index}", "rb") as handle:
                lines.extend(handle.read().splitlines())
        except FileNotFoundError:
            continue
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        data = b""
    complete = data[: data.rfind(b"\n") + 1]
    lines.extend(complete.splitlines())
    return lines, len(complete)


def _read_from(path: str, offset: int) -> tuple[list[bytes], int]:
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            if size < offset:  # rotated: start the new file from its beginning
                offset = 0
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return [], 0
    complete = data[: data.rfind(b"\n") + 1]
    return complete.splitlines(), offset + len(complete)


async def log_chunks(path: str, options: LogsOptions, running: Callable[[], bool]) -> AsyncIterator[OutputChunk]:
    lines, offset = await asyncio.to_thread(_read_rotated, path)
    for chunk in select_entries(lines, options):
        yield chunk
    if not options.follow:
        return
    follow = LogsOptions(options.stdout, options.stderr, False, options.since_ns, options.until_ns, None)
    while True:
        alive = await asyncio.to_thread(running)
        lines, offset = await asyncio.to_thread(_read_from, path, offset)
        for chunk in select_entries(lines, follow):
            yield chunk
        if not alive:
            return
        await asyncio.sleep(FOLLOW_INTERVAL)
