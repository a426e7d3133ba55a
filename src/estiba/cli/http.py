"""HTTP/1.1 over the daemon's unix socket, just what the CLI needs, on the socket module.

Why not http.client: importing it costs ~30 ms here (it pulls in the email parser and
ssl), more than everything else `estiba ps` does on the client side. The daemon is
local and speaks plain HTTP/1.1, so the client needs: a request with a JSON, bytes or
streamed body (chunked when its size is unknown), a response head, and a body framed by
Content-Length, chunked encoding or the end of the connection (one request per
connection, `Connection: close`).
"""

from __future__ import annotations

import socket

__all__ = ["ProtocolError", "Response", "read_head", "send_request"]

_BLOCK = 65536


class ProtocolError(OSError):
    """The daemon's answer is not HTTP/1.1 as expected."""


def send_request(sock: socket.socket, method: str, target: str, headers: dict, body: object) -> None:
    """Write the request; `body` is None, bytes, or a binary file streamed to the end."""
    fields = {"Host": "localhost", "Connection": "close", **headers}
    streamed = body is not None and hasattr(body, "read")
    if body is None:
        if method in ("POST", "PUT"):
            fields["Content-Length"] = "0"
    elif not streamed:
        fields["Content-Length"] = str(len(body))  # type: ignore[arg-type]
    elif "Content-Length" not in fields:
        fields["Transfer-Encoding"] = "chunked"
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    data = head.encode("latin-1") + b"\r\n"
    if not streamed:
        sock.sendall(data + (body or b""))  # type: ignore[operator]
        return
    sock.sendall(data)
    chunked = fields.get("Transfer-Encoding") == "chunked"
    while block := body.read(_BLOCK):  # type: ignore[union-attr]
        sock.sendall(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
    if chunked:
        sock.sendall(b"0\r\n\r\n")


def read_head(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, the bytes read past the head)."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(_BLOCK)
        if not chunk:
            raise ProtocolError("the daemon closed the connection before answering")
        received += chunk
        if len(received) > 1 << 20:
            raise ProtocolError("the daemon's answer has no end of headers")
    head, rest = received.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP answer: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers, rest


class Response:
    """A response whose head has been read; the body is read on demand and de-framed."""

    def __init__(self, sock: socket.socket, status: int, headers: dict[str, str], rest: bytes,
                 *, method: str = "GET") -> None:
        self.sock = sock
        self.status = status
        self.headers = headers
        self._buffer = rest
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._chunk_left = 0  # bytes left in the current chunk
        self._done = False
        if method == "HEAD" or status in (204, 304):
            self._remaining: int | None = 0
        elif self._chunked:
            self._remaining = None
        elif "content-length" in headers:
            self._remaining = int(headers["content-length"])
        else:
            self._remaining = None  # to the end of the connection
        self._done = self._remaining == 0

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def _recv(self) -> bytes:
        if self._buffer:
            data, self._buffer = self._buffer, b""
            return data
        try:
            return self.sock.recv(_BLOCK)
        except ConnectionResetError:
            return b""

    def _need(self, size: int) -> bytes:
        """Exactly `size` raw bytes (chunk framing); an early end is a protocol error."""
        while len(self._buffer) < size:
            chunk = self.sock.recv(_BLOCK)
            if not chunk:
                raise ProtocolError("the daemon's answer ended in the middle of a chunk")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            chunk = self.sock.recv(_BLOCK)
            if not chunk:
                raise ProtocolError("the daemon's answer ended in the middle of a chunk")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\r\n", 1)
        return line

    def read1(self, size: int = _BLOCK) -> bytes:
        """Some of the body (at most `size` bytes, at least one unless it has ended)."""
        if self._done or size == 0:
            return b""
        if self._chunked:
            if self._chunk_left == 0:
                length = int(self._line().split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self._line():  # trailers, then the empty line
                        pass
                    self._done = True
                    return b""
                self._chunk_left = length
            if not self._buffer:
                self._buffer = self._recv()
                if not self._buffer:
                    raise ProtocolError("the daemon's answer ended in the middle of a chunk")
            data = self._buffer[: min(size, self._chunk_left)]
            self._buffer = self._buffer[len(data):]
            self._chunk_left -= len(data)
            if self._chunk_left == 0:
                self._need(2)  # the chunk's CRLF
            return data
        data = self._recv()  # takes the buffer first, so the buffer is now empty
        if not data:
            self._done = True
            return b""
        if self._remaining is not None:
            data = data[: self._remaining]  # nothing past the body belongs to it
        data, self._buffer = data[:size], data[size:]
        if self._remaining is not None:
            self._remaining -= len(data)
            self._done = self._remaining == 0
        return data

    def read(self, size: int = -1) -> bytes:
        """`size` bytes of the body (fewer at its end), or all of the rest."""
        parts = []
        wanted = size
        while wanted != 0:
            data = self.read1(_BLOCK if wanted < 0 else min(wanted, _BLOCK))
            if not data:
                break
            parts.append(data)
            if wanted > 0:
                wanted -= len(data)
        return b"".join(parts)

    def close(self) -> None:
        self._done = True
        self.sock.close()
