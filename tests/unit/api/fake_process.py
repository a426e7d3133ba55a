"""A pretend process for the fake engine: a few commands, stdin, output listeners, exit.

Commands: `echo WORDS`, `cat` (echoes stdin until it closes), `true`, `false`, and
`sh -c "echo a; echo b >&2; exit 3"` (echo to stdout or stderr and exit, in order);
anything else runs until it is killed.
"""

from __future__ import annotations

import asyncio
import shlex
import time
from collections.abc import AsyncIterator, Callable

from estiba.api.types import OutputChunk, StreamKind

_END = None


class FakeProcess:
    def __init__(
        self,
        cmd: list[str],
        *,
        tty: bool = False,
        on_output: Callable[[OutputChunk], None] | None = None,
        on_exit: Callable[[int], None] | None = None,
    ) -> None:
        self.cmd = list(cmd)
        self.tty = tty
        self.status = "created"
        self.exit_code: int | None = None
        self.stdin_received = bytearray()
        self._stdin_pending = bytearray()
        self._stdin_closed = False
        self._listeners: list[asyncio.Queue[OutputChunk | None]] = []
        self._on_output = on_output
        self._on_exit = on_exit

    # --- lifecycle ----------------------------------------------------------------

    def start(self) -> None:
        self.status = "running"
        program, args = (self.cmd[0], self.cmd[1:]) if self.cmd else ("", [])
        if program == "echo":
            self.emit(StreamKind.STDOUT, (" ".join(args) + "\n").encode())
            self.exit(0)
        elif program in ("true", "false"):
            self.exit(0 if program == "true" else 1)
        elif program == "sh" and args[:1] == ["-c"] and len(args) == 2:
            self._run_script(args[1])
        elif program == "cat":
            pending, self._stdin_pending = bytes(self._stdin_pending), bytearray()
            if pending:
                self.feed_stdin(pending)
            if self._stdin_closed:
                self.exit(0)

    def _run_script(self, script: str) -> None:
        for statement in script.split(";"):
            words = shlex.split(statement)
            if not words:
                continue
            if words[0] == "exit":
                self.exit(int(words[1]) if len(words) > 1 else 0)
                return
            if words[0] == "echo":
                to_stderr = words[-1] == ">&2"
                text = " ".join(words[1:-1] if to_stderr else words[1:]) + "\n"
                stream = StreamKind.STDERR if to_stderr and not self.tty else StreamKind.STDOUT
                self.emit(stream, text.encode())
        self.exit(0)

    def exit(self, code: int) -> None:
        if self.status == "exited":
            return
        self.status = "exited"
        self.exit_code = code
        for queue in self._listeners:
            queue.put_nowait(_END)
        if self._on_exit is not None:
            self._on_exit(code)

    # --- stdio --------------------------------------------------------------------

    def emit(self, stream: StreamKind, data: bytes) -> None:
        chunk = OutputChunk(StreamKind.STDOUT if self.tty else stream, data, time.time_ns())
        if self._on_output is not None:
            self._on_output(chunk)
        for queue in self._listeners:
            queue.put_nowait(chunk)

    def feed_stdin(self, data: bytes) -> None:
        self.stdin_received += data
        if self.status == "running" and self.cmd[:1] == ["cat"]:
            self.emit(StreamKind.STDOUT, data)
        elif self.status == "created":
            self._stdin_pending += data

    def close_stdin(self) -> None:
        self._stdin_closed = True
        if self.status == "running" and self.cmd[:1] == ["cat"]:
            self.exit(0)

    def subscribe(self) -> asyncio.Queue[OutputChunk | None]:
        """A queue of live output, ended by None at exit (at once if it already exited)."""
        queue: asyncio.Queue[OutputChunk | None] = asyncio.Queue()
        if self.status == "exited":
            queue.put_nowait(_END)
        else:
            self._listeners.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[OutputChunk | None]) -> None:
        if queue in self._listeners:
            self._listeners.remove(queue)


class FakeSession:
    """A Session onto a FakeProcess; records what happened to it."""

    def __init__(
        self,
        process: FakeProcess,
        *,
        stdin: bool,
        detach_keys: str = "",
        replay: list[OutputChunk] | None = None,
        follow: bool = True,
        streams: frozenset[StreamKind] = frozenset({StreamKind.STDOUT, StreamKind.STDERR}),
    ) -> None:
        self.process = process
        self._stdin = stdin
        self._detach_keys = detach_keys
        self.closed = False
        self.stdin_closed = False
        # Subscribe now, not when the API starts reading: nothing printed in between is lost.
        self._queue = process.subscribe() if follow else None
        self._output = self._produce(list(replay or ()), streams)

    @property
    def tty(self) -> bool:
        return self.process.tty

    @property
    def stdin(self) -> bool:
        return self._stdin

    @property
    def detach_keys(self) -> str:
        return self._detach_keys

    @property
    def output(self) -> AsyncIterator[OutputChunk]:
        return self._output

    async def _produce(
        self, replay: list[OutputChunk], streams: frozenset[StreamKind]
    ) -> AsyncIterator[OutputChunk]:
        try:
            for chunk in replay:
                if chunk.stream in streams:
                    yield chunk
            while self._queue is not None and (chunk := await self._queue.get()) is not _END:
                if chunk.stream in streams:
                    yield chunk
        finally:
            self._unsubscribe()

    def _unsubscribe(self) -> None:
        if self._queue is not None:
            self.process.unsubscribe(self._queue)

    async def write_stdin(self, data: bytes) -> None:
        self.process.feed_stdin(data)

    async def close_stdin(self) -> None:
        self.stdin_closed = True
        self.process.close_stdin()

    async def close(self) -> None:
        self.closed = True
        self._unsubscribe()
