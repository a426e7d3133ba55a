"""IP address management, pure: which subnet a new network gets and which address a new
endpoint gets. Nothing here touches the system; the manager hands in the host's routes and
the subnets already in use, and persists what it is given back.

Pools follow dockerd's defaults: 172.17.0.0/16 to 172.31.0.0/16, then 192.168.0.0/16 cut
into /20s. A subnet is chosen only when it overlaps no route on the host and no other
network. The gateway is the subnet's first address; endpoints take the lowest free address
of the ip-range (the whole subnet when none is given).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from estiba.errors import Conflict, InvalidArgument, NotFound, Unavailable

__all__ = [
    "DEFAULT_POOLS",
    "AddressPool",
    "PoolSpec",
    "choose_subnet",
    "parse_network",
    "subnet_config",
]


@dataclass(frozen=True)
class PoolSpec:
    """A base network cut into subnets of `size` bits (dockerd's default-address-pools)."""

    base: IPv4Network
    size: int

    def __post_init__(self) -> None:
        if self.size < self.base.prefixlen or self.size > 30:
            raise InvalidArgument(f"invalid address pool {self.base}/{self.size}: size must be in /{self.base.prefixlen}../30")

    def subnets(self) -> Iterator[IPv4Network]:
        return self.base.subnets(new_prefix=self.size)


DEFAULT_POOLS: tuple[PoolSpec, ...] = (
    *(PoolSpec(IPv4Network(f"172.{second}.0.0/16"), 16) for second in range(17, 32)),
    PoolSpec(IPv4Network("192.168.0.0/16"), 20),
)

_NO_POOL = (
    "could not find an available, non-overlapping IPv4 address pool among the defaults "
    "to assign to the network"
)


def parse_network(text: str, what: str = "subnet") -> IPv4Network:
    try:
        return IPv4Network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid {what} {text!r}: use CIDR notation, e.g. 172.20.0.0/16") from None


def _parse_address(text: str, what: str) -> IPv4Address:
    try:
        return IPv4Address(text)
    except ValueError:
        raise InvalidArgument(f"invalid {what} {text!r}: use an IPv4 address") from None


def choose_subnet(
    pools: Iterable[PoolSpec], in_use: Iterable[IPv4Network], skip_first: int = 0
) -> IPv4Network:
    """The first subnet of the pools that overlaps nothing in `in_use` (routes on the
    host, other networks' subnets); `skip_first` subnets are passed over (dockerd keeps
    172.17.0.0/16 for the default bridge)."""
    used = list(in_use)
    skipped = 0
    for pool in pools:
        for candidate in pool.subnets():
            if skipped < skip_first:
                skipped += 1
                continue
            if not any(candidate.overlaps(other) for other in used):
                return candidate
    raise Unavailable(_NO_POOL, hint="remove unused networks (estiba network prune) or give --subnet")


@dataclass(frozen=True)
class SubnetConfig:
    subnet: IPv4Network
    gateway: IPv4Address
    ip_range: IPv4Network | None


def subnet_config(subnet: IPv4Network, gateway: str = "", ip_range: str = "") -> SubnetConfig:
    """Check a network's --subnet, --gateway and --ip-range together (dockerd's rules)."""
    gw = _parse_address(gateway, "gateway") if gateway else subnet.network_address + 1
    if gw not in subnet:
        raise InvalidArgument(f"invalid gateway {gw}: it is not in subnet {subnet}")
    if subnet.prefixlen > 30:
        raise InvalidArgument(f"subnet {subnet} is too small: use /30 or larger")
    rng = None
    if ip_range:
        rng = parse_network(ip_range, "ip-range")
        if not rng.subnet_of(subnet):
            raise InvalidArgument(f"ip-range {rng} is not within subnet {subnet}")
    return SubnetConfig(subnet, gw, rng)


@dataclass
class AddressPool:
    """The addresses of one network: the gateway and the endpoints' addresses are taken.

    Built from the store in the same transaction that records the result, so an address
    is handed out once and released once."""

    subnet: IPv4Network
    gateway: IPv4Address
    ip_range: IPv4Network | None = None
    taken: set[IPv4Address] = field(default_factory=set)

    def allocate(self, wanted: str = "") -> IPv4Address:
        """`wanted` (a static --ip) or the lowest free address of the range."""
        if wanted:
            address = _parse_address(wanted, "IP address")
            if address not in self.subnet:
                raise InvalidArgument(f"invalid IP address {address}: it is not in subnet {self.subnet}")
            if address in (self.subnet.network_address, self.subnet.broadcast_address):
                raise InvalidArgument(f"invalid IP address {address}: reserved in {self.subnet}")
            if address == self.gateway or address in self.taken:
                raise Conflict(f"Address already in use: {address}")
            self.taken.add(address)
            return address
        space = self.ip_range or self.subnet
        for address in space.hosts() if space.prefixlen < 31 else iter(space):
            if address in (self.subnet.network_address, self.subnet.broadcast_address):
                continue
            if address != self.gateway and address not in self.taken:
                self.taken.add(address)
                return address
        raise Unavailable(f"no available IPv4 addresses on network {self.subnet}",
                          hint="disconnect containers or use a larger subnet")

    def release(self, address: IPv4Address | str) -> None:
        address = ipaddress.IPv4Address(str(address))
        if address not in self.taken:
            raise NotFound(f"address {address} is not allocated in {self.subnet}")
        self.taken.discard(address)
