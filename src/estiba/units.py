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


# --- Go durations (time.Duration): health check flags and messages ----------------------

_GO_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
             "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_GO_PART = re.compile(r"(\d*)(?:\.(\d*))?([a-zµμ]*)")


def _decimal(value: int, unit: int) -> str:
    whole, fraction = divmod(value, unit)
    digits = str(fraction).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}" if digits else str(whole)


def go_duration(ns: int) -> str:
    """Go's Duration.String: "30s", "1m30s", "1h0m0s", "500ms", "1.5µs", "0s"."""
    if ns == 0:
        return "0s"
    sign, ns = ("-" if ns < 0 else ""), abs(ns)
    if ns < 1_000_000_000:
        unit, size = next((u, s) for u, s in (("ms", 10**6), ("µs", 10**3), ("ns", 1)) if ns >= s)
        return sign + _decimal(ns, size) + unit
    hours, rest = divmod(ns, _GO_UNITS["h"])
    minutes, rest = divmod(rest, _GO_UNITS["m"])
    seconds = _decimal(rest, _GO_UNITS["s"]) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    return f"{sign}{minutes}m{seconds}" if minutes else sign + seconds


def parse_go_duration(text: str) -> int:
    """Go's time.ParseDuration, in nanoseconds: "1.5s", "1m30s", "250ms", "0"."""
    body = text[1:] if text[:1] in ("-", "+") else text
    if body == "0":
        return 0
    if not body:
        raise InvalidArgument(f'time: invalid duration "{text}"')
    total, at = 0, 0
    while at < len(body):
        match = _GO_PART.match(body, at)
        whole, fraction, unit = match.group(1), match.group(2), match.group(3)
        if not (whole or fraction) or match.end() == at:
            raise InvalidArgument(f'time: invalid duration "{text}"')
        if not unit:
            raise InvalidArgument(f'time: missing unit in duration "{text}"')
        if unit not in _GO_UNITS:
            raise InvalidArgument(f'time: unknown unit "{unit}" in duration "{text}"')
        scale = _GO_UNITS[unit]
        total += int(whole or 0) * scale
        if fraction:
            total += int(fraction) * scale // 10 ** len(fraction)
        at = match.end()
    return -total if text.startswith("-") else total
