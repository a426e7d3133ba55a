"""The nftables ruleset: rendered from the networks and published ports (pure), applied in
one `nft -f -` transaction (thin), so the kernel never sees half a ruleset.

Two tables of our own, nothing anywhere else:

    inet <table>        forward filter: isolation between networks, --internal ones with
                        no way out, nothing reaches a container unless published
    ip <table>-nat      DNAT of published ports (prerouting for other hosts, output for the
                        host itself, 127.0.0.1 included), masquerade of outbound traffic

Our forward chain has policy accept and sits at the standard filter priority: nftables
drops a packet that *any* base chain drops, so our accepts never override the host's own
drops (moby#22054); an administrator restricts published ports in a table of their own.
Published ports keep the client's source address: only the outbound and the host's own
127.0.0.1 traffic are masqueraded.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from estiba.errors import SystemFault, Unavailable

__all__ = ["Dnat", "NatNetwork", "apply", "remove_tables", "render", "render_removal"]


@dataclass(frozen=True)
class NatNetwork:
    bridge: str
    subnet: IPv4Network
    internal: bool = False


@dataclass(frozen=True)
class Dnat:
    """host_ip:host_port/proto -> container_ip:container_port; host_ip "" is every address."""

    proto: str
    host_port: int
    container_ip: IPv4Address
    container_port: int
    host_ip: str = ""


def _q(name: str) -> str:
    return f'"{name}"'


def _set(names: Sequence[str]) -> str:
    return _q(names[0]) if len(names) == 1 else "{ " + ", ".join(_q(n) for n in names) + " }"


def render_removal(table: str) -> str:
    """Declaring then deleting: removes our tables whether they exist or not."""
    return (
        f"table inet {table}\ndelete table inet {table}\n"
        f"table ip {table}-nat\ndelete table ip {table}-nat\n"
    )


def render(table: str, networks: Sequence[NatNetwork], ports: Sequence[Dnat]) -> str:
    """The whole script: replace both tables with what the networks and ports need."""
    networks = sorted(networks, key=lambda n: n.bridge)
    lines = [render_removal(table).rstrip("\n")]
    lines += [f"table inet {table} {{", "\tchain forward {",
              "\t\ttype filter hook forward priority filter; policy accept;"]
    bridges = [n.bridge for n in networks]
    for net in networks:
        others = [b for b in bridges if b != net.bridge]
        if others:
            lines.append(f"\t\tiifname {_q(net.bridge)} oifname {_set(others)} drop")
    for net in networks:
        if net.internal:
            lines.append(f"\t\tiifname {_q(net.bridge)} oifname != {_q(net.bridge)} drop")
            lines.append(f"\t\toifname {_q(net.bridge)} iifname != {_q(net.bridge)} drop")
    if networks:
        lines.append("\t\tct state established,related accept")
    for net in networks:
        lines.append(f"\t\tiifname {_q(net.bridge)} oifname {_q(net.bridge)} accept")
        if not net.internal:
            lines.append(f"\t\tiifname {_q(net.bridge)} accept")
            lines.append(f"\t\toifname {_q(net.bridge)} ct status dnat accept")
        lines.append(f"\t\toifname {_q(net.bridge)} drop")
    lines += ["\t}", "}"]

    nat = f"{table}-nat"
    lines += [f"table ip {nat} {{",
              "\tchain prerouting {",
              "\t\ttype nat hook prerouting priority dstnat; policy accept;",
              "\t\tfib daddr type local jump published",
              "\t}",
              "\tchain output {",
              "\t\ttype nat hook output priority -100; policy accept;",
              "\t\tfib daddr type local jump published",
              "\t}",
              "\tchain published {"]
    for port in sorted(ports, key=lambda p: (p.proto, p.host_port, p.host_ip)):
        match = f"ip daddr {port.host_ip} " if port.host_ip not in ("", "0.0.0.0") else ""
        lines.append(f"\t\t{match}{port.proto} dport {port.host_port} "
                     f"dnat to {port.container_ip}:{port.container_port}")
    lines += ["\t}",
              "\tchain postrouting {",
              "\t\ttype nat hook postrouting priority srcnat; policy accept;"]
    for net in networks:
        if not net.internal:
            lines.append(f"\t\tip saddr {net.subnet} oifname != {_q(net.bridge)} masquerade")
    for net in networks:
        # The host's own 127.0.0.1:port, DNATed out of lo (route_localnet), and a
        # container reaching its own network through a published port (hairpin).
        lines.append(f"\t\toifname {_q(net.bridge)} ip saddr 127.0.0.0/8 masquerade")
        lines.append(f"\t\toifname {_q(net.bridge)} iifname {_q(net.bridge)} ct status dnat masquerade")
    lines += ["\t}", "}"]
    return "\n".join(lines) + "\n"


class _LibNftables:
    """libnftables through ctypes: the same transaction as `nft -f -`, without a process
    (a container start applies the ruleset twice)."""

    def __init__(self) -> None:
        import ctypes

        lib = ctypes.CDLL("libnftables.so.1")
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
        lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
        lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.lib = lib
        self.lock = threading.Lock()
        self.ctx = lib.nft_ctx_new(0)
        lib.nft_ctx_buffer_output(self.ctx)
        lib.nft_ctx_buffer_error(self.ctx)

    def run(self, script: str) -> None:
        with self.lock:
            code = self.lib.nft_run_cmd_from_buffer(self.ctx, script.encode())
            error = (self.lib.nft_ctx_get_error_buffer(self.ctx) or b"").decode(errors="replace")
        if code != 0:
            raise SystemFault(f"nft refused the ruleset: {error.strip()}")


_lib: list[_LibNftables | None] = []


def _libnftables() -> _LibNftables | None:
    if not _lib:
        try:
            _lib.append(_LibNftables())
        except (OSError, AttributeError):
            _lib.append(None)
    return _lib[0]


def apply(script: str, nft: str = "nft") -> None:
    """Run the script in one transaction: all of it or nothing."""
    lib = _libnftables() if nft == "nft" else None
    if lib is not None:
        lib.run(script)
        return
    try:
        result = subprocess.run([nft, "-f", "-"], input=script, capture_output=True, text=True)
    except FileNotFoundError as exc:
        raise Unavailable("nft not found", hint="install the Debian package nftables") from exc
    if result.returncode != 0:
        raise SystemFault(f"nft refused the ruleset: {result.stderr.strip()}")


def remove_tables(table: str, nft: str = "nft") -> None:
    apply(render_removal(table), nft)
