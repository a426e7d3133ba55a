"""The pure parts of hijacked sessions: detach keys and the stream's media type."""

from __future__ import annotations

import pytest

from estiba.api.hijack import (
    DEFAULT_DETACH_KEYS,
    MULTIPLEXED_STREAM,
    RAW_STREAM,
    parse_detach_keys,
    stream_media_type,
)
from estiba.errors import InvalidArgument


@pytest.mark.parametrize(
    ("spec", "keys"),
    [
        ("", DEFAULT_DETACH_KEYS),
        ("ctrl-p,ctrl-q", b"\x10\x11"),
        ("ctrl-a", b"\x01"),
        ("ctrl-@,ctrl-[,ctrl-_", b"\x00\x1b\x1f"),
        ("CTRL-X,x", b"\x18x"),
        ("a,b,c", b"abc"),
    ],
)
def test_detach_keys(spec, keys):
    assert parse_detach_keys(spec) == keys


@pytest.mark.parametrize("spec", ["ctrl-", "ctrl-1", "ab", "ctrl-aa", "a,,b"])
def test_bad_detach_keys(spec):
    with pytest.raises(InvalidArgument, match=r"Invalid escape keys"):
        parse_detach_keys(spec)


def test_media_type_follows_the_api_version():
    assert stream_media_type(False, (1, 41)) == RAW_STREAM
    assert stream_media_type(True, (1, 41)) == RAW_STREAM
    assert stream_media_type(False, (1, 42)) == MULTIPLEXED_STREAM
    assert stream_media_type(True, (1, 42)) == RAW_STREAM
