"""Docker's human units, as go-units computes them."""

from __future__ import annotations

import pytest

from estiba.cli.units import human_duration, human_size, parse_bytes, parse_timestamp, since
from estiba.errors import InvalidArgument


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "Less than a second"),
        (1, "1 second"),
        (3, "3 seconds"),
        (59, "59 seconds"),
        (60, "About a minute"),
        (119, "About a minute"),
        (120, "2 minutes"),
        (59 * 60, "59 minutes"),
        (60 * 60, "About an hour"),
        (90 * 60, "2 hours"),
        (47 * 3600, "47 hours"),
        (3 * 86400, "3 days"),
        (15 * 86400, "2 weeks"),
        (90 * 86400, "3 months"),
        (800 * 86400, "2 years"),
    ],
)
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_since_reads_ago():
    assert since(100.0, 105.0) == "5 seconds ago"
    assert since(200.0, 100.0) == "Less than a second ago"  # clocks apart: never negative


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0B"), (999, "999B"), (1234567, "1.235MB"), (4_260_000, "4.26MB"), (1e9, "1GB")],
)
def test_human_size(size, text):
    assert human_size(size) == text


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("64m", 64 << 20),
        ("64M", 64 << 20),
        ("1g", 1 << 30),
        ("512k", 512 << 10),
        ("100", 100),
        ("128mb", 128 << 20),
        ("1.5g", int(1.5 * (1 << 30))),
    ],
)
def test_parse_bytes(text, size):
    assert parse_bytes(text) == size


def test_parse_bytes_refuses_nonsense():
    with pytest.raises(InvalidArgument, match="invalid size"):
        parse_bytes("lots")


def test_timestamps_absolute_and_relative():
    assert parse_timestamp("1700000000", 0) == "1700000000"
    assert float(parse_timestamp("10m", 1000.0)) == 400.0
    assert float(parse_timestamp("1h30m", 10000.0)) == 4600.0
    assert float(parse_timestamp("1970-01-01T00:01:00Z", 0)) == 60.0
    with pytest.raises(InvalidArgument):
        parse_timestamp("yesterday", 0)
