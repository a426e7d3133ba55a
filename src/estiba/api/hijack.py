"""Docker's hijacked connections: attach and exec start turn HTTP into raw stdio.

After the request has been read and checked, the status line goes out by hand:
`101 UPGRADED` when the client asked for `Connection: Upgrade` / `Upgrade: tcp`, a plain
`200 OK` otherwise. From then on the socket carries the process's output one way (framed
unless it has a TTY) and the client's stdin the other, until the output ends.

The connection is taken from aiohttp by swapping the transport's protocol: aiohttp's own
protocol would close the socket when the client half-closes after its last stdin byte
(`docker run -i` does), and the process's remaining output would be lost. aiohttp's
protocol still hears `connection_lost`, so its bookkeeping stays right. Bytes a client
sends before it has read the status line are not carried over; Docker's clients (the CLI,
docker-py) wait for the status line before they send stdin.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import Iterable

from aiohttp import web

from estiba.api.routes import Version
from estiba.api.streams import aclose, encode_output, frame
from estiba.api.types import Session, StreamKind
from estiba.errors import EstibaError, InvalidArgument

__all__ = [
    "DEFAULT_DETACH_KEYS",
    "MULTIPLEXED_STREAM",
    "RAW_STREAM",
    "HijackedConnection",
    "hijack",
    "parse_detach_keys",
    "run_session",
    "stream_media_type",
]

RAW_STREAM = "application/vnd.docker.raw-stream"
MULTIPLEXED_STREAM = "application/vnd.docker.multiplexed-stream"
DEFAULT_DETACH_KEYS = b"\x10\x11"  # ctrl-p, ctrl-q

_READ_LIMIT = 1 << 16
_HANGUP_CHECK_INTERVAL = 0.25  # seconds


def stream_media_type(tty: bool, version: Version) -> str:
    """dockerd names framed output "multiplexed" from API 1.42; before, all is "raw"."""
    return MULTIPLEXED_STREAM if not tty and version >= (1, 42) else RAW_STREAM


def parse_detach_keys(spec: str) -> bytes:
    """`ctrl-p,ctrl-q` or `a,ctrl-@` as bytes; empty means Docker's default."""
    if spec == "":
        return DEFAULT_DETACH_KEYS
    keys = bytearray()
    for part in spec.split(","):
        lowered = part.lower()
        if len(part) == 1:
            keys.append(ord(part))
        elif lowered.startswith("ctrl-") and len(part) == 6:
            code = ord(lowered[5].upper()) if lowered[5].isalpha() else ord(lowered[5])
            if not 0x40 <= code <= 0x5F:
                raise InvalidArgument(f"Invalid escape keys ({spec}) provided")
            keys.append(code - 0x40)
        else:
            raise InvalidArgument(f"Invalid escape keys ({spec}) provided")
    return bytes(keys)


class HijackedConnection(asyncio.Protocol):
    """The client's socket after the HTTP exchange: raw bytes both ways, with half-close."""

    def __init__(self, transport: asyncio.Transport, previous: asyncio.BaseProtocol) -> None:
        self._transport = transport
        self._previous = previous
        self._buffer = bytearray()
        self._eof = False
        self._lost = False
        self._readable = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self.closed = asyncio.Event()

    # asyncio.Protocol

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        self._readable.set()
        if len(self._buffer) > _READ_LIMIT:
            self._transport.pause_reading()

    def eof_received(self) -> bool:
        self._eof = True
        self._readable.set()
        self._watch_hangup()
        return True  # keep our side open: the output still has to go out

    def _watch_hangup(self) -> None:
        """After the client's EOF, look now and then whether it closed for good.

        EOF alone may be a half-close (`docker run -i` at the end of its stdin) after
        which the client still reads. A unix socket whose peer closed both ways reports
        POLLHUP; without this, a client gone from a silent process would only be noticed
        at the next write.
        """
        if self._lost:
            return
        sock = self._transport.get_extra_info("socket")
        if sock is None:
            return
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLHUP)
        if poller.poll(0):
            self._transport.abort()  # connection_lost follows
        else:
            asyncio.get_running_loop().call_later(_HANGUP_CHECK_INTERVAL, self._watch_hangup)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = self._eof = True
        self._readable.set()
        self._writable.set()
        self.closed.set()
        self._previous.connection_lost(exc)

    # the session's side

    async def read(self) -> bytes:
        """The next bytes from the client; b"" once it half-closed or went away."""
        while not self._buffer and not self._eof:
            self._readable.clear()
            await self._readable.wait()
        data = bytes(self._buffer)
        self._buffer.clear()
        if not self._lost:
            self._transport.resume_reading()
        return data

    async def write(self, data: bytes) -> None:
        if self._lost:
            raise ConnectionResetError("the client went away")
        self._transport.write(data)
        await self._writable.wait()

    def close(self) -> None:
        self._transport.close()


def hijack(
    request: web.Request, media_type: str, headers: Iterable[tuple[str, str]] = ()
) -> HijackedConnection:
    """Answer the request by hand and take its connection over."""
    transport = request.transport
    if transport is None or transport.is_closing():
        raise ConnectionResetError("the client went away before the stream started")
    upgrade = request.headers.get("Upgrade", "").lower() == "tcp" and "upgrade" in (
        request.headers.get("Connection", "").lower()
    )
    status = "HTTP/1.1 101 UPGRADED" if upgrade else "HTTP/1.1 200 OK"
    lines = [status, f"Content-Type: {media_type}"]
    if upgrade:
        lines += ["Connection: Upgrade", "Upgrade: tcp"]
    lines += [f"{name}: {value}" for name, value in headers]
    connection = HijackedConnection(transport, transport.get_protocol())
    transport.set_protocol(connection)
    transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    return connection


async def run_session(
    connection: HijackedConnection,
    session: Session,
    *,
    stdin: bool,
    detach_keys: bytes = DEFAULT_DETACH_KEYS,
) -> None:
    """Pump a session until its output ends, the client detaches or goes away; then close
    the session (the process goes on) and the connection."""
    output = asyncio.ensure_future(_pump_output(connection, session))
    client = asyncio.ensure_future(_pump_input(connection, session, stdin, detach_keys))
    gone = asyncio.ensure_future(connection.closed.wait())
    try:
        done, _ = await asyncio.wait({output, client, gone}, return_when=asyncio.FIRST_COMPLETED)
        # The client half-closing (end of its stdin) must not cut the output short.
        if done == {client} and not _detached(client):
            await asyncio.wait({output, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (output, client, gone):
            task.cancel()
        await asyncio.gather(output, client, gone, return_exceptions=True)
        try:
            await session.close()
        finally:
            connection.close()


def _detached(client: asyncio.Future[bool]) -> bool:
    return not client.cancelled() and client.exception() is None and client.result()


async def _pump_output(connection: HijackedConnection, session: Session) -> None:
    tty = session.tty
    try:
        async for chunk in session.output:
            await connection.write(encode_output(chunk, tty=tty))
    except EstibaError as exc:
        # Too late for a status code: tell the client in its error stream, as dockerd does.
        message = f"Error attaching: {exc}\n".encode()
        await connection.write(message if tty else frame(StreamKind.STDERR, message))
    except ConnectionError:
        pass
    finally:
        await aclose(session.output)


async def _pump_input(
    connection: HijackedConnection, session: Session, stdin: bool, detach_keys: bytes
) -> bool:
    """Forward the client's bytes; True when it typed the detach keys."""
    matched = 0  # how many bytes of the detach keys the last bytes matched
    while True:
        data = await connection.read()
        if not data:
            if stdin:
                if matched:
                    await session.write_stdin(detach_keys[:matched])
                await session.close_stdin()
            return False
        if not stdin:
            continue  # nobody listens; keep reading to notice when the client leaves
        forward = bytearray()
        for byte in data:
            if detach_keys and byte == detach_keys[matched]:
                matched += 1
                if matched == len(detach_keys):
                    if forward:
                        await session.write_stdin(bytes(forward))
                    return True
                continue
            if matched:
                # A partial match that broke off was ordinary input after all.
                forward += detach_keys[:matched]
                matched = 0
                if detach_keys and byte == detach_keys[0]:
                    matched = 1
                    continue
            forward.append(byte)
        if forward:
            await session.write_stdin(bytes(forward))
