"""A session's byte plumbing over a socketpair and a pipe: frames to the right stream,
stdin forwarded then half-closed, and the detach keys."""

from __future__ import annotations

import io
import os
import socket
import struct
import threading

from estiba.cli.client import Hijacked
from estiba.cli.stdio import Session


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(data)) + data


def _pipe_with(data: bytes) -> int:
    read_end, write_end = os.pipe()
    os.write(write_end, data)
    os.close(write_end)
    return read_end


def _receive_all(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_framed_output_goes_to_stdout_and_stderr():
    ours, daemon = socket.socketpair()
    daemon.sendall(frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"more\n"))
    daemon.close()
    out, err = io.BytesIO(), io.BytesIO()
    session = Session(Hijacked(ours, b""), tty=False, stdin=False, stdout=out, stderr=err)
    assert session.run() is False
    assert (out.getvalue(), err.getvalue()) == (b"out\nmore\n", b"err\n")


def test_stdin_is_forwarded_then_half_closed():
    ours, daemon = socket.socketpair()
    stdin = _pipe_with(b"hola\n")
    out = io.BytesIO()
    session = Session(Hijacked(ours, b""), tty=True, stdin=True, stdin_fd=stdin, stdout=out)

    # The daemon echoes what it got once stdin ends, then ends the stream.
    def daemon_side() -> None:
        daemon.sendall(_receive_all(daemon))
        daemon.close()

    thread = threading.Thread(target=daemon_side)
    thread.start()
    assert session.run() is False
    thread.join(5)
    assert out.getvalue() == b"hola\n"
    os.close(stdin)


def test_detach_keys_are_sent_on_and_end_the_session_as_detached():
    ours, daemon = socket.socketpair()
    stdin = _pipe_with(b"ab\x10x\x10\x11typed after")
    session = Session(
        Hijacked(ours, b""), tty=True, stdin=True, stdin_fd=stdin, stdout=io.BytesIO()
    )
    received: list[bytes] = []

    def daemon_side() -> None:
        data = b""
        while not data.endswith(b"\x10\x11"):
            data += daemon.recv(4096)
        received.append(data)
        daemon.close()  # the daemon detaches: the stream ends

    thread = threading.Thread(target=daemon_side)
    thread.start()
    assert session.run() is True
    thread.join(5)
    assert received == [b"ab\x10x\x10\x11"]  # a lone ctrl-p passes; nothing after the keys
    os.close(stdin)


def test_without_a_tty_the_keys_are_plain_input():
    ours, daemon = socket.socketpair()
    stdin = _pipe_with(b"\x10\x11")
    session = Session(
        Hijacked(ours, b""), tty=False, stdin=True, stdin_fd=stdin, stdout=io.BytesIO()
    )
    received: list[bytes] = []

    def daemon_side() -> None:
        received.append(_receive_all(daemon))
        daemon.close()

    thread = threading.Thread(target=daemon_side)
    thread.start()
    assert session.run() is False
    thread.join(5)
    assert received == [b"\x10\x11"]
    os.close(stdin)
