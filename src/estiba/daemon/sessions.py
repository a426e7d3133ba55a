"""`SocketSession`: the API's `Session` over a shim attach socket (container attach or exec).

The shim speaks Docker's stream already (8-byte frames without a tty, raw bytes with
one); this decodes it into `OutputChunk`s, passes stdin through, and shuts the socket's
write side for "no more stdin", which the shim turns into closing the process's stdin
when it was opened StdinOnce.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from estiba.api.types import OutputChunk, StreamKind

__all__ = ["SocketSession", "decode_stream"]

_HEADER = 8


def decode_stream(buffer: bytearray, data: bytes, tty: bool) -> list[OutputChunk]:
    """Chunks for `data` received after what `buffer` holds (kept for a partial frame)."""
    if tty:
        return [OutputChunk(StreamKind.STDOUT, data)] if data else []
    buffer += data
    chunks = []
    while len(buffer) >= _HEADER:
        stream = buffer[0]
        length = int.from_bytes(buffer[4:8], "big")
        if len(buffer) < _HEADER + length:
            break
        payload = bytes(buffer[_HEADER:_HEADER + length])
        del buffer[:_HEADER + length]
        kind = StreamKind.STDERR if stream == 2 else StreamKind.STDOUT
        chunks.append(OutputChunk(kind, payload))
    return chunks


class SocketSession:
    def __init__(
        self,
        sock: socket.socket,
        *,
        tty: bool,
        stdin: bool,
        detach_keys: str = "",
        before: AsyncIterator[OutputChunk] | None = None,
        on_end: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._tty = tty
        self._stdin = stdin
        self._detach_keys = detach_keys
        self._before = before
        self._on_end = on_end
        self._closed = False

    @property
    def tty(self) -> bool:
        return self._tty

    @property
    def stdin(self) -> bool:
        return self._stdin

    @property
    def detach_keys(self) -> str:
        return self._detach_keys

    @property
    def output(self) -> AsyncIterator[OutputChunk]:
        return self._output()

    async def _output(self) -> AsyncIterator[OutputChunk]:
        if self._before is not None:
            async for chunk in self._before:
                yield chunk
        loop = asyncio.get_running_loop()
        buffer = bytearray()
        while not self._closed:
            try:
                data = await loop.sock_recv(self._sock, 65536)
            except (ConnectionError, OSError):
                break
            if not data:
                break
            for chunk in decode_stream(buffer, data, self._tty):
                yield chunk
        if self._on_end is not None:
            await self._on_end()

    async def write_stdin(self, data: bytes) -> None:
        if self._stdin and not self._closed:
            with contextlib.suppress(OSError):
                await asyncio.get_running_loop().sock_sendall(self._sock, data)

    async def close_stdin(self) -> None:
        if self._stdin and not self._closed:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_WR)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._sock.close()


class LogOnlySession:
    """An attach with logs=1 and stream=0: the log replayed, nothing live."""

    def __init__(self, tty: bool, chunks: AsyncIterator[Any] | None) -> None:
        self._tty = tty
        self._chunks = chunks

    tty = property(lambda self: self._tty)
    stdin = property(lambda self: False)
    detach_keys = property(lambda self: "")

    @property
    def output(self) -> AsyncIterator[Any]:
        return self._output()

    async def _output(self) -> AsyncIterator[Any]:
        if self._chunks is not None:
            async for chunk in self._chunks:
                yield chunk

    async def write_stdin(self, data: bytes) -> None:
        return None

    async def close_stdin(self) -> None:
        return None

    async def close(self) -> None:
        return None
