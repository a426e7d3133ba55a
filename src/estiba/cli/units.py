"""The CLI's time words ("5 seconds ago", --since values) on top of Docker's human units,
which live in `estiba.units` (shared with the daemon) and are re-exported here."""

from __future__ import annotations

import re

from estiba.errors import InvalidArgument
from estiba.units import binary_size, human_duration, human_size, human_size_precision, parse_bytes

__all__ = [
    "binary_size",
    "human_duration",
    "human_size",
    "human_size_precision",
    "parse_bytes",
    "parse_timestamp",
    "since",
]


def since(timestamp: float, now: float) -> str:
    """ "5 seconds ago" for a unix time."""
    return f"{human_duration(max(0.0, now - timestamp))} ago"


def parse_timestamp(text: str, now: float) -> str:
    """A --since/--until value as the API wants it: unix seconds (with fraction).

    Accepts unix times, RFC 3339 dates and Go durations relative to now (10m, 1h30m, 45s).
    """
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return text
    duration = re.fullmatch(r"((?:\d+(?:\.\d+)?(?:h|m|s|ms))+)", text)
    if duration:
        scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
        total = sum(float(n) * scale[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text))
        return f"{now - total:.9f}"
    try:
        from datetime import datetime  # only here: it costs the CLI ~2 ms to import

        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"invalid value for time {text!r}", hint="use unix seconds, RFC 3339 or 10m"
        ) from None
    return f"{moment.timestamp():.9f}"
