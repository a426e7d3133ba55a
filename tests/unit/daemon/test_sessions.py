"""StartOnFirstUse: the exec'd process starts when the API first reads or writes the
session, after it has sent the status line, and a start that fails ends the stream with
the error as dockerd writes it."""

from __future__ import annotations

import asyncio
import socket

from estiba.api.types import OutputChunk, StreamKind
from estiba.daemon.sessions import SocketSession, StartOnFirstUse
from estiba.errors import NotFound


def test_the_process_starts_on_first_read_and_only_once() -> None:
    async def scenario() -> tuple[list[str], list[OutputChunk]]:
        calls: list[str] = []
        ours, theirs = socket.socketpair()

        async def start() -> SocketSession:
            calls.append("start")
            await asyncio.sleep(0)
            return SocketSession(ours, tty=True, stdin=True)

        session = StartOnFirstUse(start, tty=True, stdin=True)
        assert calls == [] and session.tty and session.stdin
        reading = asyncio.ensure_future(_collect(session))
        await session.write_stdin(b"typed")
        assert theirs.recv(5) == b"typed"
        theirs.sendall(b"printed")
        theirs.close()
        chunks = await reading
        await session.close()
        return calls, chunks

    calls, chunks = asyncio.run(scenario())
    assert calls == ["start"]
    assert b"".join(chunk.data for chunk in chunks) == b"printed"


def test_a_failed_start_is_written_to_stdout() -> None:
    async def scenario() -> list[OutputChunk]:
        async def start() -> SocketSession:
            raise NotFound('exec: "nope": executable file not found in $PATH')

        session = StartOnFirstUse(start, tty=False, stdin=False)
        chunks = await _collect(session)
        await session.close()
        return chunks

    assert asyncio.run(scenario()) == [
        OutputChunk(StreamKind.STDOUT, b'exec: "nope": executable file not found in $PATH\r\n')
    ]


def test_closed_before_use_never_starts() -> None:
    async def scenario() -> list[str]:
        calls: list[str] = []

        async def start() -> SocketSession:
            calls.append("start")
            raise AssertionError("must not start")

        session = StartOnFirstUse(start, tty=False, stdin=False)
        await session.close()
        assert await _collect(session) == []
        return calls

    assert asyncio.run(scenario()) == []


async def _collect(session: StartOnFirstUse) -> list[OutputChunk]:
    return [chunk async for chunk in session.output]
