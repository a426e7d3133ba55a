"""The CLI's client of the Engine API: HTTP over a unix socket, JSON, streams, hijacking.

Only the standard library, so that `estiba ps` starts fast. HTTP failures become the
kinds of `estiba.errors` here, at the I/O edge, with the daemon's own message and the
HTTP status kept on the exception (`status`); the entry point turns them into exit codes.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from collections.abc import Iterator

from estiba.cli.http import ProtocolError, Response, read_head, send_request

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any

from estiba.errors import (
    Conflict,
    EstibaError,
    Forbidden,
    InvalidArgument,
    NotFound,
    NotModified,
    SystemFault,
    Unauthorized,
    Unavailable,
    Unsupported,
)

__all__ = [
    "API_VERSION",
    "DEFAULT_HOST",
    "Client",
    "Hijacked",
    "daemon_error",
    "demux",
    "iter_json",
    "quote_ref",
    "resolve_host",
]

API_VERSION = "1.41"
DEFAULT_HOST = "unix:///run/estiba/estiba.sock"
STDOUT, STDERR = 1, 2
_FRAME = struct.Struct(">BxxxI")
_KIND_BY_STATUS = {
    304: NotModified,
    400: InvalidArgument,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    501: Unsupported,
    503: Unavailable,
}


def resolve_host(flag: str | None, environ: dict[str, str] | None = None) -> str:
    """-H, then ESTIBA_HOST, then DOCKER_HOST, then the default socket."""
    env = os.environ if environ is None else environ
    return flag or env.get("ESTIBA_HOST") or env.get("DOCKER_HOST") or DEFAULT_HOST


def daemon_error(status: int, message: str) -> EstibaError:
    """The error kind for an HTTP status; `status` marks it as the daemon's answer."""
    error = _KIND_BY_STATUS.get(status, SystemFault)(message)
    error.status = status  # type: ignore[attr-defined]
    return error


class Client:
    """One API endpoint; each call opens its own connection (the socket is local)."""

    def __init__(self, host: str) -> None:
        if not host.startswith("unix://"):
            raise InvalidArgument(
                f"unsupported host {host!r}", hint="use unix:///path/to/socket (TCP needs TLS)"
            )
        self.host = host
        self.path = host[len("unix://") :]
        self._autostart_tried = False

    # --- plain requests -----------------------------------------------------------

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = [
            (k, _query_value(item))
            for k, v in (params or {}).items()
            if v is not None
            for item in (v if isinstance(v, list) else [v])
        ]
        return f"/v{API_VERSION}{path}" + (f"?{urlencode(query)}" if query else "")

    def open(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send a request and return the response once its head arrived; raises the
        error kind for statuses >= 400. `body` is JSON unless it is bytes or a file."""
        all_headers = {"User-Agent": "estiba-cli", **(headers or {})}
        if (
            body is not None
            and not isinstance(body, (bytes, bytearray))
            and not hasattr(body, "read")
        ):
            body = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            if not self._autostarted():
                raise self._unreachable() from exc
            return self.open(method, path, params, body, all_headers)
        except OSError as exc:
            sock.close()
            raise Unavailable(f"cannot talk to the daemon at {self.host}: {exc}") from exc
        try:
            send_request(sock, method, self.url(path, params), all_headers, body)
            status, response_headers, rest = read_head(sock)
        except OSError as exc:
            sock.close()
            raise Unavailable(f"cannot talk to the daemon at {self.host}: {exc}") from exc
        response = Response(sock, status, response_headers, rest, method=method)
        if status >= 400:
            raise daemon_error(status, _error_message(response))
        return response

    def call(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None
    ) -> Any:
        """A request whose answer is JSON (or nothing); 304 is no error here."""
        try:
            response = self.open(method, path, params, body)
        except NotModified:
            return None
        data = response.read()
        response.close()
        return json.loads(data) if data.strip() else None

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params)

    def post(self, path: str, body: Any = None, **params: Any) -> Any:
        return self.call("POST", path, params, body)

    # --- hijacked connections -----------------------------------------------------

    def hijack(self, path: str, params: dict[str, Any] | None = None, body: Any = None) -> Hijacked:
        """POST with `Upgrade: tcp`; the socket then carries raw stdio both ways."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
        except OSError as exc:
            sock.close()
            if not isinstance(exc, (FileNotFoundError, ConnectionRefusedError)) or not self._autostarted():
                raise self._unreachable() from exc
            return self.hijack(path, params, body)
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"User-Agent": "estiba-cli", "Connection": "Upgrade", "Upgrade": "tcp",
                   "Content-Type": "application/json"}
        try:
            send_request(sock, "POST", self.url(path, params), headers, data)
            status, response_headers, rest = read_head(sock)
        except OSError as exc:
            sock.close()
            raise Unavailable(f"cannot talk to the daemon at {self.host}: {exc}") from exc
        if status >= 400:
            raise daemon_error(status, _error_message(Response(sock, status, response_headers, rest)))
        return Hijacked(sock, rest)

    def _autostarted(self) -> bool:
        """Nothing answers: start estibad if this CLI may (once per process)."""
        from estiba.cli.autostart import may_autostart, start_daemon

        if self._autostart_tried or not may_autostart(self.host, DEFAULT_HOST):
            return False
        self._autostart_tried = True
        start_daemon(self.path)
        return True

    def _unreachable(self) -> Unavailable:
        return Unavailable(
            f"Cannot connect to the Estiba daemon at {self.host}. Is the daemon running?"
        )


class Hijacked:
    """A hijacked socket: `recv` continues after the HTTP head, `close_write` ends stdin."""

    def __init__(self, sock: socket.socket, pending: bytes) -> None:
        self.sock = sock
        self._pending = pending

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self, size: int = 65536) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        try:
            return self.sock.recv(size)
        except ConnectionResetError:
            return b""

    def read_exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.recv(size - len(data))
            if not chunk:
                break
            data += chunk
        return data

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


def demux(read_exactly: Any) -> Iterator[tuple[int, bytes]]:
    """Docker's 8-byte frames (stream, 3 zero bytes, big-endian size) from a reader."""
    while len(header := read_exactly(_FRAME.size)) == _FRAME.size:
        kind, size = _FRAME.unpack(header)
        payload = read_exactly(size)
        yield (STDERR if kind == STDERR else STDOUT), payload
        if len(payload) < size:
            return


def iter_json(response: Response) -> Iterator[dict[str, Any]]:
    """Newline-separated JSON messages from a streamed response (events, load progress)."""
    try:
        buffer = b""
        while chunk := response.read1(65536):
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.strip():
                    yield json.loads(line)
        if buffer.strip():
            yield json.loads(buffer)
    finally:
        response.close()


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _error_message(response: Response) -> str:
    try:
        data = response.read()
    except ProtocolError:
        data = b""
    response.close()
    return _message_of(data)


def _message_of(data: bytes) -> str:
    try:
        return str(json.loads(data).get("message", "")).strip() or data.decode().strip()
    except (ValueError, AttributeError):
        return data.decode(errors="replace").strip()


# urllib.parse would cost the CLI ~3 ms to import for these two (RFC 3986 unreserved
# characters are kept; everything else is %-encoded as UTF-8).
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text: str, safe: str = "") -> str:
    keep = _UNRESERVED | frozenset(safe.encode())
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode())


def urlencode(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)


def quote_ref(ref: str) -> str:
    """A container or image reference as one path segment (`/` in image names stays)."""
    return quote(ref, safe="/:@")
