"""Docker's human units, shared by the daemon and the CLI: durations ("About a minute"),
sizes ("4.26MB") and byte amounts ("64m").

The rules are go-units' (HumanDuration, HumanSizeWithPrecision, BytesSize, RAMInBytes), so
what we print reads exactly as Docker prints it.
"""

from __future__ import annotations

import re

from estiba.errors import InvalidArgument

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
