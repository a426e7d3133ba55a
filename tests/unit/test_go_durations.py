"""Go's time.Duration in text (estiba.units): String() and ParseDuration."""

from __future__ import annotations

import pytest

from estiba.errors import InvalidArgument
from estiba.units import go_duration, parse_go_duration


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (0, "0s"), (1, "1ns"), (1500, "1.5µs"), (1_000_000, "1ms"), (500_000_000, "500ms"),
        (1_000_000_000, "1s"), (30_000_000_000, "30s"), (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h0m0s"), (3_723_500_000_000, "1h2m3.5s"), (-2_000_000_000, "-2s"),
    ],
)
def test_string(ns: int, text: str) -> None:
    assert go_duration(ns) == text


@pytest.mark.parametrize(
    ("text", "ns"),
    [("0", 0), ("1s", 10**9), ("1.5s", 1_500_000_000), ("1m30s", 90 * 10**9), ("250ms", 250_000_000),
     (".5s", 500_000_000), ("1h", 3600 * 10**9), ("10us", 10_000), ("-2s", -2 * 10**9)],
)
def test_parse(text: str, ns: int) -> None:
    assert parse_go_duration(text) == ns


@pytest.mark.parametrize(
    ("text", "message"),
    [("1", 'time: missing unit in duration "1"'), ("x", 'time: invalid duration "x"'),
     ("", 'time: invalid duration ""'), ("3d", 'time: unknown unit "d" in duration "3d"')],
)
def test_parse_errors_are_gos(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        parse_go_duration(text)
