"""Parsers for compose's short syntaxes: ports, volumes, sizes, booleans and numbers.

Each returns the long form the canonical model uses (see `estiba.compose.model`), and
raises InvalidArgument naming `where` (the value's path in the file) on bad input.
"""

from __future__ import annotations

import re

from estiba.errors import InvalidArgument

__all__ = [
    "parse_port",
    "parse_size",
    "parse_volume",
    "to_bool",
    "to_float",
    "to_int",
]

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$", re.IGNORECASE)
_SIZE_FACTOR = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}


def parse_size(value: object, where: str) -> int:
    """A memory size ("64m", "1.5g", "512", 1024) in bytes, units in powers of 1024."""
    if isinstance(value, bool):
        raise InvalidArgument(f"{where}: invalid size {value!r}: use a size like 64m or 1g")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    match = _SIZE.match(str(value).strip())
    if not match:
        raise InvalidArgument(f"{where}: invalid size {value!r}: use a size like 64m or 1g")
    return int(float(match.group(1)) * _SIZE_FACTOR[match.group(2).lower()])


def to_bool(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidArgument(f"{where}: invalid boolean {value!r}: use true or false")


def to_int(value: object, where: str) -> int:
    if isinstance(value, bool):
        raise InvalidArgument(f"{where}: invalid integer {value!r}: use a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip(), 10)
    except ValueError:
        raise InvalidArgument(f"{where}: invalid integer {value!r}: use a whole number") from None


def to_float(value: object, where: str) -> float:
    if isinstance(value, bool):
        raise InvalidArgument(f"{where}: invalid number {value!r}: use a number like 0.5")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidArgument(f"{where}: invalid number {value!r}: use a number like 0.5") from None


# ---------------------------------------------------------------- ports

def _port_range(text: str, where: str, spec: str) -> tuple[int, int]:
    first, sep, last = text.partition("-")
    try:
        start = int(first)
        end = int(last) if sep else start
    except ValueError:
        raise InvalidArgument(
            f"{where}: invalid port {spec!r}: use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]"
        ) from None
    if not (0 <= start <= 65535 and 0 <= end <= 65535) or end < start:
        raise InvalidArgument(f"{where}: invalid port range {text!r} in {spec!r}: use ports 1-65535")
    return start, end


def _split_host_ip(spec: str) -> tuple[str | None, str]:
    """(host_ip, rest) of "[IP:]HOST:CONTAINER"; IPv6 addresses are bracketed."""
    if spec.startswith("["):
        close = spec.find("]")
        if close > 0 and spec[close + 1 : close + 2] == ":":
            return spec[1:close], spec[close + 2 :]
    parts = spec.rsplit(":", 2)
    if len(parts) == 3:
        return parts[0], f"{parts[1]}:{parts[2]}"
    return None, spec


def parse_port(value: object, where: str) -> list[dict]:
    """The short port syntax as long-form entries, one per container port of a range."""
    if isinstance(value, bool):
        raise InvalidArgument(f"{where}: invalid port {value!r}: use a port number or HOST:CONTAINER")
    if isinstance(value, int):
        return [{"mode": "ingress", "target": value, "protocol": "tcp"}]
    spec = str(value).strip()
    body, _, protocol = spec.partition("/")
    protocol = protocol or "tcp"
    if protocol not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"{where}: invalid protocol {protocol!r} in {spec!r}: use tcp or udp")
    host_ip, rest = _split_host_ip(body)
    published, sep, container = rest.rpartition(":")
    if not sep:
        published, container = "", rest
    c_start, c_end = _port_range(container, where, spec)
    base: dict = {"mode": "ingress"}
    if host_ip:
        base["host_ip"] = host_ip
    if not published:
        return [dict(base, target=port, protocol=protocol) for port in range(c_start, c_end + 1)]
    h_start, h_end = _port_range(published, where, spec)
    count = c_end - c_start + 1
    if count == 1:
        shown = str(h_start) if h_start == h_end else f"{h_start}-{h_end}"
        return [dict(base, target=c_start, published=shown, protocol=protocol)]
    if h_end - h_start + 1 != count:
        raise InvalidArgument(
            f"{where}: port ranges in {spec!r} differ in length: give as many host ports as container ports"
        )
    return [
        dict(base, target=c_start + i, published=str(h_start + i), protocol=protocol)
        for i in range(count)
    ]


# ---------------------------------------------------------------- volumes

_PROPAGATION = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}
_SELINUX = {"z", "Z"}


def _is_path(source: str) -> bool:
    return source.startswith((".", "/", "~")) or (len(source) > 1 and source[1] == ":")


def parse_volume(value: str, where: str) -> dict:
    """The short volume syntax `[SOURCE:]TARGET[:MODE]` as a long-form mount.

    Sources starting with `.`, `/` or `~` are binds (kept as written: the caller resolves
    them), other sources name volumes; no source is an anonymous volume.
    """
    spec = value.strip()
    parts = spec.split(":")
    if not spec or len(parts) > 3 or any(not p for p in parts):
        raise InvalidArgument(f"{where}: invalid volume {value!r}: use [SOURCE:]TARGET[:MODE]")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0], "volume": {}}
    source, target = parts[0], parts[1]
    modes = parts[2].split(",") if len(parts) == 3 else []
    mount: dict = {"type": "bind" if _is_path(source) else "volume", "source": source, "target": target}
    bind: dict = {}
    volume: dict = {}
    for mode in modes:
        if mode == "ro":
            mount["read_only"] = True
        elif mode == "rw":
            mount["read_only"] = False
        elif mode in _SELINUX:
            bind["selinux"] = mode
        elif mode in _PROPAGATION:
            bind["propagation"] = mode
        elif mode == "nocopy":
            volume["nocopy"] = True
        elif mode in ("cached", "delegated", "consistent"):
            mount["consistency"] = mode
        else:
            raise InvalidArgument(
                f"{where}: invalid mode {mode!r} in volume {value!r}: "
                "use ro, rw, z, Z, nocopy or a propagation"
            )
    if mount.get("read_only") is False:
        del mount["read_only"]
    if mount["type"] == "bind":
        if volume:
            raise InvalidArgument(f"{where}: nocopy applies to named volumes, not to the bind {value!r}")
        mount["bind"] = dict(bind, create_host_path=True)
    else:
        if bind:
            raise InvalidArgument(
                f"{where}: {'/'.join(bind.values())} applies to binds, not to the volume {value!r}"
            )
        mount["volume"] = volume
    return mount
