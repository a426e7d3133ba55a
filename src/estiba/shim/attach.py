"""The attach protocol: the client's request line, the shim's answer, and Docker's frames.

A client connects to `attach.sock` and sends one JSON line, `{"stdin": bool, "stdout":
bool, "stderr": bool}`. The shim answers one JSON line, `{"ok": true, "tty": bool}`, once
the client is subscribed; from then on it sends the container's output and reads what the
client sends as the container's stdin. Without a tty the output is framed as Docker's
multiplexed stream: an 8-byte header (stream 1 = stdout, 2 = stderr, three zero bytes,
big-endian uint32 length) and the payload; with a tty it is the raw bytes.

`Subscriber` is the shim's side of one client connection (used by the monitor);
`FrameReader` decodes frames on the client's side.
"""

from __future__ import annotations

import json
import socket
import struct
from dataclasses import dataclass

from estiba.errors import InvalidArgument

STDIN, STDOUT, STDERR = 0, 1, 2
STREAM_NUMBERS = {"stdout": STDOUT, "stderr": STDERR}
_HEADER = struct.Struct(">BxxxI")
HEADER_SIZE = _HEADER.size
MAX_REQUEST = 4096
# A client that lets this much output pile up is cut off: the container never waits for it.
MAX_BACKLOG = 4 * 1024 * 1024


def encode_frame(stream: int, payload: bytes) -> bytes:
    if stream not in (STDIN, STDOUT, STDERR):
        raise InvalidArgument(f"attach frame: unknown stream {stream}")
    return _HEADER.pack(stream, len(payload)) + payload


class FrameReader:
    """Feed it bytes as they come; it returns the complete (stream, payload) frames."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buffer += data
        frames = []
        while len(self.buffer) >= HEADER_SIZE:
            stream, length = _HEADER.unpack_from(self.buffer)
            if stream not in (STDIN, STDOUT, STDERR):
                raise InvalidArgument(f"attach stream: bad frame header (stream {stream})")
            if len(self.buffer) < HEADER_SIZE + length:
                break
            frames.append((stream, bytes(self.buffer[HEADER_SIZE : HEADER_SIZE + length])))
            del self.buffer[: HEADER_SIZE + length]
        return frames


@dataclass(frozen=True)
class AttachRequest:
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True

    def encode(self) -> bytes:
        return json.dumps({"stdin": self.stdin, "stdout": self.stdout, "stderr": self.stderr}).encode() + b"\n"

    @classmethod
    def decode(cls, line: bytes) -> "AttachRequest":
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise InvalidArgument(f"attach request: invalid JSON: {exc}") from exc
        if not isinstance(data, dict) or not all(isinstance(data.get(k, False), bool) for k in ("stdin", "stdout", "stderr")):
            raise InvalidArgument('attach request: expected {"stdin": bool, "stdout": bool, "stderr": bool}')
        return cls(bool(data.get("stdin")), bool(data.get("stdout")), bool(data.get("stderr")))


def answer(ok: bool = True, **fields) -> bytes:
    return json.dumps({"ok": ok, **fields}).encode() + b"\n"


def read_line(sock: socket.socket, limit: int = MAX_REQUEST) -> bytes:
    """Read one line byte-wise (client side), so no frame after it is consumed."""
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = sock.recv(1)
        if not byte:
            raise ConnectionError("the shim closed the connection")
        line += byte
        if len(line) > limit:
            raise InvalidArgument("answer from the shim is too long")
    return bytes(line)


class Subscriber:
    """One attached client, as the shim sees it: what it asked for and what it is owed."""

    def __init__(self, sock: socket.socket, request: AttachRequest, tty: bool, on_close=None) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.on_close = on_close  # called before the socket closes, to unregister its fd
        self.request = request
        self.tty = tty
        self.backlog = bytearray()
        self.reading = True  # until the client shuts its side
        self.ending = False  # the process is gone: close once the backlog is sent
        self.closed = False

    def deliver(self, stream: str, data: bytes) -> None:
        """Queue output for this client if it asked for that stream."""
        if self.closed or not getattr(self.request, stream):
            return
        self.queue(data if self.tty else encode_frame(STREAM_NUMBERS[stream], data))

    def queue(self, data: bytes) -> None:
        self.backlog += data
        self.flush()
        if len(self.backlog) > MAX_BACKLOG:
            self.close()

    def flush(self) -> None:
        """Send what we can without blocking; a dead client is simply closed."""
        while self.backlog and not self.closed:
            try:
                sent = self.sock.send(self.backlog, socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.close()
                return
            del self.backlog[:sent]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.backlog.clear()
            if self.on_close is not None:
                self.on_close(self)
            self.sock.close()
