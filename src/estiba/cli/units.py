"""Docker's human units: durations ("About a minute"), sizes ("4.26MB") and byte flags ("64m").

The rules are go-units' (HumanDuration, HumanSizeWithPrecision, RAMInBytes), so that
what we print reads exactly as the docker CLI prints it.
"""

from __future__ import annotations

import re
from datetime import datetime

from estiba.errors import InvalidArgument

__all__ = [
    "binary_size",
    "human_duration",
    "human_size",
    "human_size_precision",
    "parse_bytes",
    "parse_timestamp",
    "since",
]

_DECIMAL_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_BYTES_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtpb]?)b?$", re.IGNORECASE)


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: how long, as `docker ps` says it."""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def human_size(size: float) -> str:
    """go-units HumanSize: decimal units, four significant digits ("1.24MB", "0B")."""
    return human_size_precision(size, 4)


def human_size_precision(size: float, precision: int) -> str:
    """go-units HumanSizeWithPrecision: decimal units, `precision` significant digits."""
    unit = 0
    while size >= 1000 and unit < len(_DECIMAL_UNITS) - 1:
        size /= 1000.0
        unit += 1
    return f"{size:.{precision}g}{_DECIMAL_UNITS[unit]}"


def binary_size(size: float) -> str:
    """go-units BytesSize: binary units, four significant digits ("1.5MiB")."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    unit = 0
    while size >= 1024 and unit < len(units) - 1:
        size /= 1024.0
        unit += 1
    return f"{size:.4g}{units[unit]}"


def parse_bytes(text: str) -> int:
    """go-units RAMInBytes: "64m" is 64 MiB; units b, k, m, g, t, p, any case."""
    match = _BYTES_RE.match(text.strip())
    if match is None:
        raise InvalidArgument(f"invalid size: '{text}'")
    return int(float(match.group(1)) * _BINARY[match.group(2).lower()])


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
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"invalid value for time {text!r}", hint="use unix seconds, RFC 3339 or 10m"
        ) from None
    return f"{moment.timestamp():.9f}"
