"""The API client's byte-level parts, fed bytes over a socketpair: frames, hijacked
connections, host resolution and query strings."""

from __future__ import annotations

import io
import socket
import struct
import threading

import pytest

from estiba.cli.client import Client, Hijacked, demux, resolve_host
from estiba.errors import InvalidArgument, NotFound


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(data)) + data


def test_demux_splits_stdout_and_stderr():
    data = io.BytesIO(frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b""))
    assert list(demux(data.read)) == [(1, b"out\n"), (2, b"err\n"), (1, b"")]


def test_demux_stops_at_a_truncated_frame():
    data = io.BytesIO(frame(1, b"whole") + frame(1, b"partial")[:-3])
    assert list(demux(data.read)) == [(1, b"whole"), (1, b"part")]


def test_hijacked_keeps_bytes_read_with_the_head():
    ours, theirs = socket.socketpair()
    connection = Hijacked(ours, frame(1, b"early"))
    theirs.sendall(frame(2, b"late"))
    theirs.close()
    assert list(demux(connection.read_exactly)) == [(1, b"early"), (2, b"late")]
    connection.close()


def _serve_once(path: str, answer: bytes, seen: list[bytes]) -> threading.Thread:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        seen.append(conn.recv(65536))
        conn.sendall(answer)
        conn.close()
        server.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_hijack_sends_upgrade_and_returns_the_raw_stream(tmp_path):
    path = str(tmp_path / "s.sock")
    seen: list[bytes] = []
    head = b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
    thread = _serve_once(path, head + frame(1, b"hi\n"), seen)
    connection = Client(f"unix://{path}").hijack(
        "/containers/x/attach", {"stream": True, "stdin": False}
    )
    assert list(demux(connection.read_exactly)) == [(1, b"hi\n")]
    thread.join(5)
    request = seen[0].decode()
    assert request.startswith("POST /v1.41/containers/x/attach?stream=1&stdin=0 HTTP/1.1\r\n")
    assert "Upgrade: tcp" in request and "Connection: Upgrade" in request


def test_hijack_refused_raises_the_daemons_error(tmp_path):
    path = str(tmp_path / "s.sock")
    body = b'{"message":"No such container: x"}'
    answer = b"HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    thread = _serve_once(path, answer, [])
    with pytest.raises(NotFound, match="No such container: x"):
        Client(f"unix://{path}").hijack("/containers/x/attach")
    thread.join(5)


def test_query_strings_repeat_lists_and_encode_booleans():
    client = Client("unix:///x.sock")
    assert client.url("/images/get", {"names": ["a", "b:1"], "quiet": True, "skip": None}) == (
        "/v1.41/images/get?names=a&names=b%3A1&quiet=1"
    )


def test_hosts():
    assert resolve_host("unix:///a", {"DOCKER_HOST": "unix:///b"}) == "unix:///a"
    assert (
        resolve_host(None, {"ESTIBA_HOST": "unix:///e", "DOCKER_HOST": "unix:///d"}) == "unix:///e"
    )
    assert resolve_host(None, {"DOCKER_HOST": "unix:///d"}) == "unix:///d"
    assert resolve_host(None, {}) == "unix:///run/estiba/estiba.sock"
    with pytest.raises(InvalidArgument):
        Client("tcp://1.2.3.4:2375")
