"""Attach (frames, stdin, several clients, clients that vanish), the tty with resize, and exec."""

from __future__ import annotations

import socket
import time

import pytest

from estiba.errors import Conflict
from estiba.shim import AttachRequest, FrameReader, read_entries

from .conftest import RUNTIMES, wait_for


def read_frames(sock: socket.socket, until: bytes, timeout: float = 10.0) -> dict[int, bytes]:
    """Collect frames per stream until `until` shows up in stdout (or stderr)."""
    reader, got = FrameReader(), {1: b"", 2: b""}
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while until not in got[1] + got[2]:
        assert time.monotonic() < deadline, f"no {until!r} in {got!r}"
        data = sock.recv(65536)
        assert data, f"stream ended before {until!r}: {got!r}"
        for stream, payload in reader.feed(data):
            got[stream] += payload
    return got


def read_raw(sock: socket.socket, until: bytes, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    got = b""
    while until not in got:
        data = sock.recv(65536)
        assert data, f"stream ended before {until!r}: {got!r}"
        got += data
    return got


def read_to_end(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    got = b""
    while data := sock.recv(65536):
        got += data
    return got


@RUNTIMES
def test_attached_clients_get_live_output_and_send_stdin(fork_server, roots, make_bundle, runtime):
    bundle = make_bundle(args=["sh", "-c", "echo hello-err >&2; cat; echo cat-done"])
    spec = roots.spec(bundle, runtime=runtime, open_stdin=True, stdin_once=True)
    handle = fork_server.spawn(spec, start=False)  # attach first, as `docker run` does
    assert handle.state()["status"] == "created"
    writer = handle.attach(stdin=True, stdout=True, stderr=True)
    watcher = handle.attach(stdout=True, stderr=False)
    quitter = handle.attach(stdout=True, stderr=True)
    assert handle.start() == handle.container_pid
    assert read_frames(writer, b"hello-err")[2] == b"hello-err\n"
    quitter.close()  # a client that goes away disturbs nobody
    writer.sendall(b"ping\n")
    assert read_frames(writer, b"ping\n")[1] == b"ping\n"
    assert read_frames(watcher, b"ping\n") == {1: b"ping\n", 2: b""}
    writer.shutdown(socket.SHUT_WR)  # stdin_once: the first stdin client's end closes stdin
    rest = FrameReader().feed(read_to_end(writer))
    assert (1, b"cat-done\n") in rest
    assert handle.wait(10)["exit_code"] == 0
    watcher.close()
    writer.close()
    handle.wait_released(10)
    logged = [(e["stream"], e["log"]) for e in read_entries(spec.log_path)]
    assert logged == [("stderr", "hello-err\n"), ("stdout", "ping\n"), ("stdout", "cat-done\n")]
    with pytest.raises(Conflict):
        handle.attach()


def test_close_stdin_request_ends_cat(fork_server, roots, make_bundle):
    spec = roots.spec(make_bundle(args=["cat"]), open_stdin=True)
    handle = fork_server.spawn(spec)
    sock = handle.attach(stdin=True)
    sock.sendall(b"abc\n")
    read_frames(sock, b"abc\n")
    sock.shutdown(socket.SHUT_WR)  # without stdin_once this leaves stdin open
    time.sleep(0.2)
    assert handle.exit_status() is None
    handle.close_stdin()
    assert handle.wait(10)["exit_code"] == 0
    sock.close()
    handle.wait_released(10)


@RUNTIMES
def test_tty_is_raw_and_resizable(fork_server, roots, make_bundle, runtime):
    bundle = make_bundle(args=["sh"], terminal=True)
    spec = roots.spec(bundle, runtime=runtime, tty=True, open_stdin=True)
    handle = fork_server.spawn(spec)
    sock = handle.attach(stdin=True)
    handle.resize(33, 101)
    sock.sendall(b"tty; stty size\n")
    out = read_raw(sock, b"33 101")
    assert b"/dev/pts/" in out or b"/dev/console" in out
    handle.resize(40, 120)
    sock.sendall(b"stty size; exit 5\n")
    read_raw(sock, b"40 120")
    assert handle.wait(10)["exit_code"] == 5
    sock.close()
    handle.wait_released(10)
    assert any("33 101" in e["log"] for e in read_entries(spec.log_path))


def test_resize_without_a_tty_is_a_conflict(fork_server, roots, make_bundle):
    handle = fork_server.spawn(roots.spec(make_bundle(args=["sleep", "30"])))
    with pytest.raises(Conflict):
        handle.resize(10, 10)
    handle.kill(9)
    handle.wait_released(10)


@RUNTIMES
def test_exec_runs_beside_the_container_with_its_own_stream_and_exit(fork_server, roots, make_bundle, runtime):
    spec = roots.spec(make_bundle(args=["sleep", "30"]), runtime=runtime)
    handle = fork_server.spawn(spec)
    process = {"args": ["sh", "-c", "read x; echo got-$x; echo oops >&2; exit 2"], "cwd": "/",
               "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0}, "terminal": False}
    pid, sock = handle.exec("e1", process, open_stdin=True, attach=AttachRequest(stdin=True))
    assert pid > 0
    sock.sendall(b"yes\n")
    frames = FrameReader().feed(read_to_end(sock))
    assert (1, b"got-yes\n") in frames and (2, b"oops\n") in frames
    sock.close()
    status = handle.wait_exec("e1", 10)
    assert status["exit_code"] == 2 and status["pid"] == pid
    with pytest.raises(Conflict):
        handle.exec("e1", process)
    missing = dict(process, args=["/no/such/thing"])
    with pytest.raises(Exception):
        handle.exec("e2", missing)
    assert handle.exec_status("e2")["exit_code"] == 127
    assert handle.exit_status() is None  # the container is untouched
    assert read_entries(spec.log_path) == []  # exec output is not logged
    handle.kill(9)
    handle.wait_released(10)


def test_exec_with_a_tty(fork_server, roots, make_bundle):
    handle = fork_server.spawn(roots.spec(make_bundle(args=["sleep", "30"])))
    process = {"args": ["sh"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}, "terminal": True}
    _, sock = handle.exec("t1", process, open_stdin=True, attach=AttachRequest(stdin=True))
    handle.resize(12, 34, exec_id="t1")
    sock.sendall(b"stty size; exit 3\n")
    read_raw(sock, b"12 34")
    assert handle.wait_exec("t1", 10)["exit_code"] == 3
    sock.close()
    handle.kill(9)
    wait_for(lambda: handle.exit_status(), what="exit")
    handle.wait_released(10)
