"""`SocketSession`: the API's `Session` over a shim attach socket (container attach or exec).

The shim speaks Docker's stream already (8-byte frames without a tty, raw bytes with
one); this decodes it into `OutputChunk`s, passes stdin through, and shuts the socket's
write side for "no more stdin", which the shim turns into closing the process's stdin
when it was opened StdinOnce without a tty. `StartOnFirstUse` wraps one whose process
is started only once the API has answered the request (exec start).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from estiba.api.types import OutputChunk, StreamKind
from estiba.errors import EstibaError

__all__ = ["SocketSession", "StartOnFirstUse", "decode_stream"]

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


class StartOnFirstUse:
    """A session whose process starts when the API first uses it, not when it is made.

    The API makes the session, then sends the status line, then pumps output and stdin;
    starting in between would let the first output overtake the status line (see
    EngineExecs.start_exec). `start` runs once, whichever of output and stdin comes first;
    closed before that, the process never starts.
    """

    def __init__(
        self,
        start: Callable[[], Awaitable[SocketSession]],
        *,
        tty: bool,
        stdin: bool,
        detach_keys: str = "",
    ) -> None:
        self._start = start
        self._started: asyncio.Future[SocketSession] | None = None
        self._tty = tty
        self._stdin = stdin
        self._detach_keys = detach_keys
        self._closed = False

    tty = property(lambda self: self._tty)
    stdin = property(lambda self: self._stdin)
    detach_keys = property(lambda self: self._detach_keys)

    async def _session(self) -> SocketSession:
        if self._started is None:
            self._started = asyncio.ensure_future(self._start())
        return await asyncio.shield(self._started)

    @property
    def output(self) -> AsyncIterator[OutputChunk]:
        return self._output()

    async def _output(self) -> AsyncIterator[OutputChunk]:
        if self._closed:
            return
        try:
            session = await self._session()
        except EstibaError as exc:
            # Too late for a status code: dockerd writes the error to the stream's stdout.
            yield OutputChunk(StreamKind.STDOUT, f"{exc}\r\n".encode())
            return
        async for chunk in session.output:
            yield chunk

    async def write_stdin(self, data: bytes) -> None:
        if not self._closed:
            await (await self._session()).write_stdin(data)

    async def close_stdin(self) -> None:
        if not self._closed:
            await (await self._session()).close_stdin()

    async def close(self) -> None:
        self._closed = True
        if self._started is None:
            return
        try:
            session = await self._started
        except Exception:
            return  # it failed to start: nothing to close
        await session.close()


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
