"""estiba.pipes.Pipe: bytes in order, bounded, and a stopped reader releases the writer."""

from __future__ import annotations

import threading

from estiba.pipes import Pipe


def test_reads_of_any_size_give_the_bytes_in_order() -> None:
    pipe = Pipe()
    data = bytes(range(256)) * 400
    for start in range(0, len(data), 1000):
        assert pipe.put(data[start:start + 1000])
    pipe.close()
    got, size = b"", 1
    while chunk := pipe.read(size):
        got += chunk
        size = size * 3 % 4099 + 1
    assert got == data and pipe.read(10) == b""


def test_a_negative_read_takes_everything_to_the_end() -> None:
    pipe = Pipe()
    pipe.put(b"abc")
    pipe.put(b"def")
    assert pipe.read(2) == b"ab"
    pipe.close()
    assert pipe.read() == b"cdef"


def test_a_full_pipe_makes_the_writer_wait_until_the_reader_reads() -> None:
    pipe = Pipe(limit=10)
    assert pipe.put(b"x" * 10) and not pipe.has_room()
    done = threading.Event()

    def writer() -> None:
        pipe.put(b"y")
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert not done.wait(0.2)
    assert pipe.read(10) == b"x" * 10
    assert done.wait(5)
    thread.join()
    pipe.close()
    assert pipe.read() == b"y"


def test_abandon_and_close_refuse_further_bytes() -> None:
    pipe = Pipe(limit=10)
    pipe.put(b"x" * 20)
    pipe.abandon()
    assert pipe.has_room() and pipe.put(b"more") is False
    closed = Pipe()
    closed.close()
    assert closed.put(b"late") is False and closed.read(5) == b""
