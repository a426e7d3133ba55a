"""Docker's stream encodings and the streaming responses that carry them.

* Multiplexed output: each write is an 8-byte header (stream byte, three zero bytes,
  big-endian uint32 length) and the payload; a TTY's output goes raw instead.
* JSON streams: one JSON document per line (events, stats, pull/load progress).
* Byte streams: tar archives (export, save, archive).

Every streaming response closes the iterator it was given, also when the client leaves.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timezone
from typing import Any, TypeVar

from aiohttp import web

from estiba.api.types import OutputChunk, Progress, StreamKind
from estiba.errors import EstibaError

__all__ = [
    "FRAME_HEADER",
    "aclose",
    "encode_output",
    "frame",
    "json_line",
    "json_response",
    "progress_json",
    "read_frames",
    "rfc3339nano",
    "send_bytes_stream",
    "send_json_stream",
    "stream_failure",
    "timestamp_rfc3339nano",
]

log = logging.getLogger("estiba.api")

T = TypeVar("T")

FRAME_HEADER = struct.Struct(">BxxxI")


def frame(stream: StreamKind, data: bytes) -> bytes:
    """One multiplexed frame."""
    return FRAME_HEADER.pack(stream, len(data)) + data


def read_frames(data: bytes) -> Iterator[tuple[StreamKind, bytes]]:
    """Split a complete multiplexed stream into (stream, payload); for clients and tests."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < FRAME_HEADER.size:
            raise ValueError(f"truncated frame header at byte {offset}")
        kind, size = FRAME_HEADER.unpack_from(data, offset)
        offset += FRAME_HEADER.size
        if len(data) - offset < size:
            raise ValueError(f"truncated frame payload at byte {offset}")
        yield StreamKind(kind), data[offset : offset + size]
        offset += size


def timestamp_rfc3339nano(time_ns: int) -> str:
    """Docker's fixed-width log timestamp: 2006-01-02T15:04:05.000000000Z."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{nanos:09d}Z"


def rfc3339nano(time_ns: int) -> str:
    """Go's RFC3339Nano as encoding/json writes a time: trailing zeros trimmed."""
    stamp = timestamp_rfc3339nano(time_ns)[:-1].rstrip("0").rstrip(".")
    return stamp + "Z"


def encode_output(chunk: OutputChunk, *, tty: bool, timestamps: bool = False) -> bytes:
    """A chunk of output as it goes on the wire: framed unless `tty`, with the log
    timestamp in front when asked for."""
    data = chunk.data
    if timestamps and chunk.time_ns is not None:
        data = timestamp_rfc3339nano(chunk.time_ns).encode() + b" " + data
    if tty:
        return data
    return frame(chunk.stream, data)


def json_response(document: Any, *, status: int = 200) -> web.Response:
    """A JSON answer as dockerd sends it: Go's client reads an error body only when the
    Content-Type is exactly "application/json", without aiohttp's "; charset=utf-8"."""
    return web.Response(
        body=json_line(document), status=status, headers={"Content-Type": "application/json"}
    )


def json_line(document: Any) -> bytes:
    """One document of a JSON stream, as Go's json.Encoder writes it."""
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


def progress_json(message: Progress) -> dict[str, Any]:
    """A progress message in Docker's JSONMessage shape, empty fields left out."""
    document: dict[str, Any] = {}
    if message.stream:
        document["stream"] = message.stream
    if message.status:
        document["status"] = message.status
    if message.current is not None or message.total is not None:
        detail = {"current": message.current, "total": message.total}
        document["progressDetail"] = {k: v for k, v in detail.items() if v is not None}
    if message.progress:
        document["progress"] = message.progress
    if message.id:
        document["id"] = message.id
    if message.aux is not None:
        document["aux"] = message.aux
    return document


async def aclose(iterator: object) -> None:
    """Close an async iterator that can be closed (async generators can)."""
    close = getattr(iterator, "aclose", None)
    if close is not None:
        await close()


async def send_json_stream(
    request: web.Request,
    items: AsyncIterator[T],
    render: Callable[[T], Any],
    *,
    errors_in_stream: bool,
) -> web.StreamResponse:
    """Send each item as one JSON line, flushed as it comes.

    An error while reading `items` is reported in the stream as Docker's
    `{"errorDetail": ..., "error": ...}` when `errors_in_stream` (pull, import, load);
    other streams (events, stats) just end, and the error is logged.
    """
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        async for item in items:
            await response.write(json_line(render(item)))
    except (ConnectionError, asyncio.CancelledError):
        raise
    except Exception as exc:
        message = stream_failure(request, exc)
        if errors_in_stream:
            await response.write(json_line({"errorDetail": {"message": message}, "error": message}))
    finally:
        await aclose(items)
    await response.write_eof()
    return response


def stream_failure(request: web.Request, exc: Exception) -> str:
    """Log an error that struck after the status line went out; the message to report."""
    if isinstance(exc, EstibaError):
        log.warning("%s %s: stream ended: %s", request.method, request.path, exc)
        return str(exc)
    log.error("%s %s: stream failed: %s", request.method, request.path, exc, exc_info=exc)
    return f"internal error: {exc}"


async def send_bytes_stream(
    request: web.Request,
    chunks: AsyncIterator[bytes],
    *,
    content_type: str,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    """Send a byte stream (a tar) as it is produced. An error mid-stream cuts the
    connection, so that the client sees a truncated archive rather than a valid one."""
    response = web.StreamResponse(headers={"Content-Type": content_type, **(headers or {})})
    await response.prepare(request)
    try:
        async for chunk in chunks:
            await response.write(chunk)
    except (ConnectionError, asyncio.CancelledError):
        raise
    except Exception as exc:
        stream_failure(request, exc)
        response.force_close()
        if request.transport is not None:
            request.transport.close()
        return response
    finally:
        await aclose(chunks)
    await response.write_eof()
    return response
