"""estiba.compose.logs: compose v2's prefixed, coloured lines from several containers,
fed from a fake API client (frames and raw TTY streams), no daemon."""

from __future__ import annotations

import io
import struct
import threading

from estiba.compose.logs import LogPrinter, display_name, follow_logs, use_colour


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(data)) + data


class FakeSocket:
    """shutdown() ends a blocked read, as it does on a real socket."""

    def __init__(self, gate: threading.Event | None) -> None:
        self.gate = gate

    def shutdown(self, how: int) -> None:
        if self.gate is not None:
            self.gate.set()


class FakeResponse:
    def __init__(self, data: bytes, gate: threading.Event | None = None) -> None:
        self.buffer = io.BytesIO(data)
        self.gate = gate
        self.sock = FakeSocket(gate)
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        data = self.buffer.read(size)
        if not data and self.gate is not None:
            self.gate.wait(5)
        return data

    def read1(self, size: int = 65536) -> bytes:
        return self.read(min(size, 7))  # small pieces: lines cut across reads

    def close(self) -> None:
        self.closed = True


class FakeClient:
    def __init__(self, streams: dict[str, tuple[bool, bytes]], gate: threading.Event | None = None) -> None:
        self.streams = streams
        self.gate = gate
        self.params: dict[str, dict] = {}

    def get(self, path: str, **params: object) -> dict:
        ident = path.split("/")[2]
        return {"Config": {"Tty": self.streams[ident][0]}}

    def open(self, method: str, path: str, params: dict, body: object = None) -> FakeResponse:
        ident = path.split("/")[2]
        self.params[ident] = params
        return FakeResponse(self.streams[ident][1], self.gate)


def container(ident: str, service: str, number: int, name: str | None = None) -> dict:
    return {"Id": ident, "Names": [f"/{name or f'demo-{service}-{number}'}"],
            "Labels": {"com.docker.compose.project": "demo", "com.docker.compose.service": service,
                       "com.docker.compose.container-number": str(number)}}


def test_display_name_drops_the_project_but_keeps_a_custom_name():
    assert display_name(container("a", "web", 2)) == "web-2"
    assert display_name(container("a", "web", 1, name="my-proxy")) == "my-proxy"


def test_lines_prefixed_padded_stderr_apart_no_colour():
    client = FakeClient({
        "a": (False, frame(1, b"hello\nwor") + frame(1, b"ld\n") + frame(2, b"oops\n")),
        "b": (True, b"tty line\r\nlast without newline"),
    })
    out, err = io.StringIO(), io.StringIO()
    follow_logs(client, [container("a", "web", 1), container("b", "database", 1)],
                out=out, err=err, colour=False, tail="5", timestamps=True)
    lines = out.getvalue().splitlines()
    assert sorted(lines) == sorted([
        "web-1       | hello", "web-1       | world",
        "database-1  | tty line", "database-1  | last without newline",
    ])
    assert err.getvalue() == "web-1       | oops\n"
    assert client.params["a"]["tail"] == "5" and client.params["a"]["timestamps"] is True
    assert client.params["a"]["follow"] is True


def test_colours_cycle_per_container_as_compose():
    client = FakeClient({c: (False, frame(1, b"x\n")) for c in "abc"})
    out = io.StringIO()
    follow_logs(client, [container("a", "a", 1), container("b", "b", 1), container("c", "c", 1)],
                out=out, colour=True)
    lines = set(out.getvalue().splitlines())
    assert lines == {"\033[36ma-1  | \033[0mx", "\033[33mb-1  | \033[0mx", "\033[32mc-1  | \033[0mx"}


def test_no_prefix():
    client = FakeClient({"a": (False, frame(1, b"plain\n"))})
    out = io.StringIO()
    follow_logs(client, [container("a", "web", 1)], out=out, prefix=False, colour=True)
    assert out.getvalue() == "plain\n"


def test_stop_ends_the_wait_and_closes_the_streams():
    gate = threading.Event()  # the streams block after their data until the gate opens
    client = FakeClient({"a": (False, frame(1, b"first\n"))}, gate)
    stop = threading.Event()
    printer = LogPrinter(client, out=io.StringIO(), stop=stop)
    printer.add(container("a", "web", 1))
    assert printer.wait(timeout=0.3) is False  # still streaming
    stop.set()
    assert printer.wait(timeout=5) is True
    assert gate.is_set()  # the stream was shut down


def test_a_container_added_again_after_its_stream_ended_resumes_from_then():
    client = FakeClient({"a": (False, frame(1, b"one\n"))})
    out = io.StringIO()
    printer = LogPrinter(client, out=out, tail="all")
    printer.add(container("a", "web", 1))
    assert printer.wait(timeout=5)
    printer.add(container("a", "web", 1))
    assert printer.wait(timeout=5)
    assert "since" in client.params["a"] and float(client.params["a"]["since"]) > 0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_use_colour():
    assert use_colour("auto", False, Terminal()) is True
    assert use_colour("auto", False, io.StringIO()) is False
    assert use_colour("always", False, io.StringIO()) is True
    assert use_colour("never", False, Terminal()) is False
    assert use_colour("always", True, Terminal()) is False


def test_reserved_names_pad_the_prefixes_from_the_first_line():
    client = FakeClient({"a": (False, frame(1, b"early\n"))})
    out = io.StringIO()
    printer = LogPrinter(client, out=out, colour=False)
    printer.reserve("web-1", "database-1")  # database-1 is not there yet
    printer.add(container("a", "web", 1))
    assert printer.wait(timeout=5)
    assert out.getvalue() == "web-1       | early\n"


def test_wait_for_one_container_returns_when_its_stream_ended():
    client = FakeClient({"a": (False, frame(1, b"a's last\n")), "b": (False, frame(1, b"b\n"))})
    out = io.StringIO()
    printer = LogPrinter(client, out=out, colour=False)
    printer.add(container("a", "web", 1))  # a: its stream ends after its data
    assert printer.wait_for("a", timeout=5) is True
    assert out.getvalue() == "web-1  | a's last\n"  # its lines written before the return
    client.gate = gate = threading.Event()  # b: its stream blocks until the gate opens
    printer.add(container("b", "db", 1))
    assert printer.wait_for("b", timeout=0.3) is False  # still streaming
    assert printer.wait_for("never-added", timeout=0.1) is True
    gate.set()
    assert printer.wait_for("b", timeout=5) is True
