"""Docker's stream encodings: 8-byte frames, log timestamps, JSON lines, progress."""

from __future__ import annotations

import json

import pytest

from estiba.api.streams import (
    encode_output,
    frame,
    json_line,
    progress_json,
    read_frames,
    rfc3339nano,
    timestamp_rfc3339nano,
)
from estiba.api.types import OutputChunk, Progress, StreamKind


def test_a_frame_is_stream_byte_three_zeros_and_big_endian_length():
    assert frame(StreamKind.STDOUT, b"hi\n") == b"\x01\x00\x00\x00\x00\x00\x00\x03hi\n"
    assert frame(StreamKind.STDERR, b"x" * 300)[:8] == b"\x02\x00\x00\x00\x00\x00\x01\x2c"
    assert frame(StreamKind.STDOUT, b"") == b"\x01" + b"\x00" * 7


def test_frames_read_back():
    data = frame(StreamKind.STDOUT, b"out") + frame(StreamKind.STDERR, b"err") + frame(1, b"")
    assert list(read_frames(data)) == [
        (StreamKind.STDOUT, b"out"),
        (StreamKind.STDERR, b"err"),
        (StreamKind.STDOUT, b""),
    ]


@pytest.mark.parametrize("data", [b"\x01\x00\x00", frame(StreamKind.STDOUT, b"abc")[:-1]])
def test_truncated_frames_are_refused(data):
    with pytest.raises(ValueError, match="truncated"):
        list(read_frames(data))


def test_output_is_framed_without_a_tty_and_raw_with_one():
    chunk = OutputChunk(StreamKind.STDERR, b"oops\n")
    assert encode_output(chunk, tty=False) == frame(StreamKind.STDERR, b"oops\n")
    assert encode_output(chunk, tty=True) == b"oops\n"


def test_timestamps_go_in_front_of_the_payload_inside_the_frame():
    chunk = OutputChunk(StreamKind.STDOUT, b"line\n", time_ns=1_700_000_000_000_000_123)
    expected = b"2023-11-14T22:13:20.000000123Z line\n"
    assert encode_output(chunk, tty=True, timestamps=True) == expected
    assert encode_output(chunk, tty=False, timestamps=True) == frame(StreamKind.STDOUT, expected)
    assert encode_output(chunk, tty=True, timestamps=False) == b"line\n"


def test_time_formats():
    assert timestamp_rfc3339nano(0) == "1970-01-01T00:00:00.000000000Z"
    assert rfc3339nano(1_700_000_000_500_000_000) == "2023-11-14T22:13:20.5Z"
    assert rfc3339nano(1_700_000_000_000_000_000) == "2023-11-14T22:13:20Z"


def test_json_lines_are_compact_and_newline_terminated():
    assert json_line({"a": [1, 2]}) == b'{"a":[1,2]}\n'


def test_progress_leaves_empty_fields_out():
    assert progress_json(Progress(stream="Loaded image: x\n")) == {"stream": "Loaded image: x\n"}
    document = progress_json(
        Progress(status="Downloading", id="abc", progress="[=> ]", current=5, total=10)
    )
    assert document == {
        "status": "Downloading",
        "id": "abc",
        "progress": "[=> ]",
        "progressDetail": {"current": 5, "total": 10},
    }
    assert json.loads(json_line(progress_json(Progress(status="done", aux={"ID": "x"})))) == {
        "status": "done",
        "aux": {"ID": "x"},
    }
