"""Published ports: from the API's PortBindings to concrete bindings, host ports chosen and
reserved the way dockerd's port allocator does (bind a socket to the port: taken means
taken), and the reservations held so that no host process takes a published port.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from estiba.errors import Conflict, InvalidArgument
from estiba.network.model import PortBinding

__all__ = ["PortReservations", "parse_port_bindings"]

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _port_key(key: str) -> tuple[int, int, str]:
    number, _, proto = key.partition("/")
    proto = (proto or "tcp").lower()
    if proto not in ("tcp", "udp"):
        raise InvalidArgument(f"invalid protocol {proto!r} in port {key!r}: use tcp or udp")
    first, _, last = number.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise InvalidArgument(f"invalid port {key!r}") from None
    if not (0 < low <= high < 65536):
        raise InvalidArgument(f"invalid port {key!r}")
    return low, high, proto


def parse_port_bindings(
    bindings: Mapping[str, Any] | None, exposed: Iterable[str] = (), publish_all: bool = False
) -> list[tuple[PortBinding, tuple[int, int]]]:
    """(binding, (first, last) host port range) per published port; a range of (0, 0)
    means any free port. `-P` adds every exposed port that has no binding."""
    result: list[tuple[PortBinding, tuple[int, int]]] = []
    bound: set[tuple[int, str]] = set()
    for key, entries in (bindings or {}).items():
        low, high, proto = _port_key(key)
        for port in range(low, high + 1):
            bound.add((port, proto))
            for entry in entries or [{}]:
                host_ip = (entry or {}).get("HostIp") or ""
                text = str((entry or {}).get("HostPort") or "")
                if text:
                    first, _, last = text.partition("-")
                    try:
                        span = (int(first), int(last or first))
                    except ValueError:
                        raise InvalidArgument(f"invalid host port {text!r}") from None
                    if high > low and not last:  # 8000-8001:80-81 arrives per port
                        span = (span[0] + port - low, span[0] + port - low)
                else:
                    span = (0, 0)
                result.append((PortBinding(port, proto, host_ip), span))
    if publish_all:
        for key in exposed:
            low, high, proto = _port_key(key)
            for port in range(low, high + 1):
                if (port, proto) not in bound:
                    result.append((PortBinding(port, proto, ""), (0, 0)))
    return result


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = _EPHEMERAL.read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


class PortReservations:
    """Host ports held by our published ports: one bound socket each."""

    def __init__(self) -> None:
        self._held: dict[tuple[str, str, int], socket.socket] = {}

    def held(self) -> set[tuple[str, str, int]]:
        return set(self._held)

    def reserve(self, proto: str, host_ip: str, span: tuple[int, int]) -> int:
        """Bind a port of `span` ((0, 0): a free ephemeral one); Conflict when taken."""
        if span == (0, 0):
            low, high = _ephemeral_range()
            candidates = list(range(low, high + 1))
            random.shuffle(candidates)
            candidates = candidates[:200]
        else:
            candidates = list(range(span[0], span[1] + 1))
        last_error = ""
        for port in candidates:
            if self._clashes(proto, host_ip, port):
                last_error = "port is already allocated"
                continue
            try:
                self._held[(proto, host_ip, port)] = _bind(proto, host_ip, port)
                return port
            except OSError as exc:
                last_error = exc.strerror or str(exc)
        where = f"{host_ip or '0.0.0.0'}:{span[0]}" if span != (0, 0) else f"{host_ip or '0.0.0.0'}"
        raise Conflict(f"Bind for {where} failed: {last_error or 'port is already allocated'}",
                       hint="choose another host port or stop what uses it")

    def _clashes(self, proto: str, host_ip: str, port: int) -> bool:
        return any(
            p == proto and n == port and (h == host_ip or "" in (h, host_ip))
            for (p, h, n) in self._held
        )

    def release(self, proto: str, host_ip: str, port: int) -> None:
        sock = self._held.pop((proto, host_ip, port), None)
        if sock is not None:
            sock.close()

    def close(self) -> None:
        for sock in self._held.values():
            sock.close()
        self._held.clear()


def _bind(proto: str, host_ip: str, port: int) -> socket.socket:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host_ip or "0.0.0.0", port))
        if proto == "tcp":
            # Listening makes a clash with any other listener certain (SO_REUSEADDR
            # allows two bound-only sockets); the DNAT rule catches the traffic first.
            sock.listen(1)
    except BaseException:
        sock.close()
        raise
    return sock
