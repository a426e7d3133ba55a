"""The CLI's HTTP/1.1 client: requests as written, responses de-framed, on a socketpair."""

from __future__ import annotations

import io
import socket
import threading

import pytest

from estiba.cli.http import ProtocolError, Response, read_head, send_request


def answer(raw: bytes, *, method: str = "GET", piecewise: bool = False) -> Response:
    """A Response over a socket whose peer sends `raw` (byte by byte if `piecewise`)."""
    ours, theirs = socket.socketpair()

    def serve() -> None:
        with theirs:
            if piecewise:
                for i in range(len(raw)):
                    theirs.sendall(raw[i:i + 1])
            else:
                theirs.sendall(raw)

    threading.Thread(target=serve, daemon=True).start()
    status, headers, rest = read_head(ours)
    return Response(ours, status, headers, rest, method=method)


def test_content_length_body() -> None:
    response = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhelloIGNORED")
    assert (response.status, response.getheader("x-a")) == (200, "b")
    assert response.read() == b"hello"
    assert response.read1() == b""


@pytest.mark.parametrize("piecewise", [False, True])
def test_chunked_body_across_reads(piecewise: bool) -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\na;x=y\r\n0123456789\r\n0\r\n\r\n"
    response = answer(raw, piecewise=piecewise)
    assert response.read(2) == b"ab"
    assert response.read() == b"c0123456789"
    assert response.read() == b""


def test_body_to_the_end_of_the_connection() -> None:
    response = answer(b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 200000)
    assert len(response.read()) == 200000


def test_read1_gives_at_most_size() -> None:
    response = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789")
    assert response.read1(4) == b"0123"
    assert response.read(100) == b"456789"


@pytest.mark.parametrize("status,method", [(204, "DELETE"), (304, "POST"), (200, "HEAD")])
def test_no_body(status: int, method: str) -> None:
    response = answer(f"HTTP/1.1 {status} X\r\nContent-Length: 7\r\n\r\n".encode(), method=method)
    assert response.read() == b""


def test_truncated_chunk_is_a_protocol_error() -> None:
    response = answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort")
    with pytest.raises(ProtocolError):
        response.read()


@pytest.mark.parametrize("raw", [b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 abc\r\n\r\n", b"HTTP/1.1 200"])
def test_not_http(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        answer(raw)


def written(method: str, body: object, headers: dict | None = None) -> bytes:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        send_request(ours, method, "/v1.41/x", headers or {}, body)
        ours.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: theirs.recv(65536), b""))


def test_requests_as_written() -> None:
    assert written("POST", None) == (
        b"POST /v1.41/x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
    assert written("GET", b"{}").endswith(b"Content-Length: 2\r\n\r\n{}")
    streamed = written("POST", io.BytesIO(b"abcde"))
    assert b"Transfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n" in streamed
    sized = written("POST", io.BytesIO(b"abcde"), {"Content-Length": "5"})
    assert sized.endswith(b"Content-Length: 5\r\n\r\nabcde")
