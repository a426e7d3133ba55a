"""The typed values the network package works with: networks, endpoints, published ports,
the daemon's network options and what a container's /etc files must say."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from estiba.errors import InvalidArgument
from estiba.network.ipam import DEFAULT_POOLS, PoolSpec

__all__ = [
    "BRIDGE_NAME_OPTION",
    "DEFAULT_MTU",
    "MTU_OPTION",
    "ContainerNetworking",
    "Endpoint",
    "EndpointRequest",
    "Network",
    "NetworkOptions",
    "PortBinding",
    "mac_for",
    "parse_mtu",
]

BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"
MTU_OPTION = "com.docker.network.driver.mtu"
# Not Docker's 1500: host<->container and container<->container traffic then takes a
# loopback-like path (loopback's own MTU is 65536); TCP to the outside negotiates its MSS
# per connection, so it is unaffected. daemon.json "mtu": 1500 gives Docker's figure.
DEFAULT_MTU = 65535
MIN_MTU, MAX_MTU = 68, 65535  # IPv4's minimum; the largest a bridge or veth takes
DEFAULT_NETWORK = "bridge"
PREDEFINED = ("bridge", "host", "none")


@dataclass(frozen=True)
class NetworkOptions:
    """What one daemon's networking owns: its default bridge's device name, its pools, its
    nftables tables and its netns directory, so that daemons run side by side."""

    netns_dir: Path
    default_bridge: str = "estiba0"
    table: str = "estiba"
    pools: tuple[PoolSpec, ...] = DEFAULT_POOLS
    resolv_conf: Path = Path("/etc/resolv.conf")
    default_bip: str = ""  # the default bridge's gateway/prefix (daemon.json bip); "": a pool's
    mtu: int = DEFAULT_MTU  # of bridges and veths on networks without their own MTU_OPTION

    @property
    def owner(self) -> str:
        """Who owns our bridges: the directory of the netns dir (the exec root)."""
        return str(self.netns_dir.parent)

    @property
    def pid_file(self) -> Path:
        return self.netns_dir.parent / "network.pid"

    @classmethod
    def for_exec_root(cls, exec_root: Path, *, default_root: Path = Path("/run/estiba")) -> NetworkOptions:
        """The default names for the system daemon; names derived from the exec root for
        any other daemon (a test daemon), so two never share a bridge or a table."""
        netns_dir = Path(exec_root) / "netns"
        if Path(exec_root) == default_root:
            return cls(netns_dir)
        tag = hashlib.sha256(str(exec_root).encode()).hexdigest()[:6]
        return cls(netns_dir, default_bridge=f"estiba-{tag}", table=f"estiba-{tag}")


@dataclass(frozen=True)
class Network:
    id: str
    name: str
    driver: str
    subnet: IPv4Network
    gateway: IPv4Address
    ip_range: IPv4Network | None
    internal: bool
    labels: dict[str, str]
    options: dict[str, str]
    created: str
    bridge: str

    @property
    def dns(self) -> bool:
        """Docker resolves names on user-defined networks only."""
        return self.name != DEFAULT_NETWORK

    def mtu(self, daemon_mtu: int) -> int:
        """Its own MTU_OPTION, else the daemon's: the option is kept only when given, as
        dockerd shows, so a network made without it follows the daemon's mtu across
        restarts. A bad value (only a network made before create checked it can hold one)
        falls back to the daemon's rather than keep the network down."""
        given = self.options.get(MTU_OPTION)
        try:
            return parse_mtu(given, f"option {MTU_OPTION}") if given else daemon_mtu
        except InvalidArgument:
            return daemon_mtu


@dataclass(frozen=True)
class Endpoint:
    network_id: str
    container_id: str
    ip: IPv4Address
    mac: str
    aliases: tuple[str, ...]
    veth: str
    names: tuple[str, ...] = ()  # the container's name (and compose service): resolvable


@dataclass(frozen=True)
class EndpointRequest:
    """A container's wish for one network: `network` by name or id, a static ip, aliases."""

    network: str
    ip: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortBinding:
    """One published port: host_ip "" for every address; host_port 0 until chosen."""

    container_port: int
    proto: str = "tcp"
    host_ip: str = ""
    host_port: int = 0


@dataclass(frozen=True)
class ContainerNetworking:
    """What `setup` answers: the texts of the container's hosts and resolv.conf, and the
    addresses for NetworkSettings."""

    hosts: str
    resolv_conf: str
    endpoints: tuple[Endpoint, ...] = ()
    ports: tuple[PortBinding, ...] = ()
    gateways: dict[str, str] = field(default_factory=dict)


def mac_for(ip: IPv4Address) -> str:
    """Docker's MAC from the IP: 02:42 then the four bytes of the address."""
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)


def parse_mtu(value: object, where: str, *, digits: bool = True) -> int:
    """An MTU from daemon.json (an int: `digits` False, as dockerd) or a network option
    (a string of digits), in the range every bridge and veth accepts; else one line
    naming `where`, the value and the range."""
    number = value
    if digits and isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    if type(number) is not int or not MIN_MTU <= number <= MAX_MTU:
        shown = f'"{value}"' if isinstance(value, str) else json.dumps(value)
        raise InvalidArgument(f"invalid MTU {shown} in {where}: give a number from {MIN_MTU} to {MAX_MTU}")
    return number
