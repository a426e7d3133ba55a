"""NetworkManager: the networks and every container's place on them.

    create/list/inspect/remove/prune    networks (a bridge device each, DNS on user ones)
    connect/disconnect                  a container to one more network (live when running)
    setup(container, netns, ...)        at start: a netns, a veth per network, ports
                                        published; returns what /etc/hosts and
                                        /etc/resolv.conf must say
    teardown(container)                 at stop: all of it released
    forget(container)                   at remove: its wishes (connects) dropped
    restore(existing)                   at daemon start: bridges, DNS and rules back from
                                        the store, leftovers of gone containers dropped

Every change ends by rendering the whole nftables ruleset from the store and applying it
in one transaction. Kernel steps go through `kernel` (the bridge module by default) and
`nft_apply`, so the decisions are tested without root. Multi-step changes undo what they
did when a later step fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timezone
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from types import ModuleType
from typing import Any

from estiba.errors import Conflict, EstibaError, Forbidden, InvalidArgument, NotFound
from estiba.network import bridge as bridge_kernel
from estiba.network import nft
from estiba.network.dns import host_nameservers
from estiba.network.etcfiles import hosts_file, resolv_file
from estiba.network.ipam import choose_subnet, parse_network, subnet_config
from estiba.network.model import (
    BRIDGE_NAME_OPTION,
    DEFAULT_NETWORK,
    MTU_OPTION,
    PREDEFINED,
    ContainerNetworking,
    Endpoint,
    EndpointRequest,
    Network,
    NetworkOptions,
    PortBinding,
    parse_mtu,
)
from estiba.network.ports import PortReservations, parse_port_bindings
from estiba.network.store import NetworkStore

__all__ = ["NetworkManager", "host_routes"]

log = logging.getLogger(__name__)

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


@bridge_kernel.off_loop
def host_routes() -> list[tuple[IPv4Network, str]]:
    """The host's IPv4 routes (destination, device), for IPAM's overlap check."""
    from pyroute2 import IPRoute

    routes = []
    with IPRoute() as ipr:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        for route in ipr.get_routes(family=2):
            dst = route.get_attr("RTA_DST")
            if dst is None or route["dst_len"] == 0:
                continue
            routes.append((IPv4Network(f"{dst}/{route['dst_len']}", strict=False),
                           names.get(route.get_attr("RTA_OIF"), "")))
    return routes


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class NetworkManager:
    def __init__(
        self,
        store: NetworkStore,
        options: NetworkOptions,
        *,
        kernel: ModuleType | Any = bridge_kernel,
        nft_apply: Callable[[str], None] = nft.apply,
        routes: Callable[[], list[tuple[IPv4Network, str]]] = host_routes,
        dns: Any = None,
    ) -> None:
        self.store = store
        self.options = options
        self.kernel = kernel
        self.nft_apply = nft_apply
        self.routes = routes
        self.dns = dns
        self.ports = PortReservations()
        # container id -> {link alias: linked container id}; the engine, which keeps the
        # containers' HostConfig.Links, sets it (estiba.daemon.main).
        self.links_of: Callable[[str], Mapping[str, str]] = lambda container_id: {}
        self._lock = threading.RLock()
        self._deferred: set[str] = set()  # containers whose ports wait for take_over

    def close(self) -> None:
        """Stop serving DNS and let go of port reservations. Interfaces and rules stay
        while a container runs (live restore keeps its connectivity); when none does,
        bridges and tables go too, and the next start makes them again."""
        if self.dns is not None:
            self.dns.close()
        self.ports.close()
        with contextlib.suppress(Exception):
            if not self.store.sandboxes():
                self.remove_all()

    # --- networks ---------------------------------------------------------------------

    def predefined_id(self, name: str) -> str:
        return hashlib.sha256(f"{self.options.table}:{name}".encode()).hexdigest()

    def networks(self) -> list[Network]:
        return self.store.networks()

    def network(self, ref: str) -> Network:
        return self.store.network(ref)

    def endpoints(self, network_id: str | None = None, container_id: str | None = None) -> list[Endpoint]:
        return self.store.endpoints(network_id=network_id, container_id=container_id)

    def _subnets_in_use(self) -> list[IPv4Network]:
        ours = {n.bridge for n in self.store.networks()}
        used = [dst for dst, dev in self.routes() if dev not in ours]
        return used + [n.subnet for n in self.store.networks()]

    def create_network(
        self, name: str, *, driver: str = "bridge", subnet: str = "", gateway: str = "",
        ip_range: str = "", internal: bool = False, labels: Mapping[str, str] | None = None,
        options: Mapping[str, str] | None = None, check_duplicate: bool = True,
    ) -> Network:
        if not name or not set(name) <= _NAME_CHARS:
            raise InvalidArgument(f"invalid network name {name!r}: use letters, digits, _ . -")
        if name in PREDEFINED:
            raise Forbidden(f"{name} is a pre-defined network and cannot be created")
        if driver not in ("bridge", ""):
            raise NotFound(f"plugin \"{driver}\" not found", hint="estiba has the bridge driver")
        options = dict(options or {})
        if MTU_OPTION in options:  # checked before anything is made
            options[MTU_OPTION] = str(parse_mtu(options[MTU_OPTION], f"option {MTU_OPTION}"))
        with self._lock:
            with contextlib.suppress(NotFound):
                if self.store.network(name).name == name:
                    raise Conflict(f"network with name {name} already exists")
            network_id = secrets.token_hex(32)
            device = options.get(BRIDGE_NAME_OPTION)
            links = getattr(self.kernel, "link_names", None)
            if device and links is not None and device in links():
                raise Conflict(f"interface {device} already exists on this host",
                               hint=f"choose another {BRIDGE_NAME_OPTION}")
            return self._add_bridge_network(
                network_id, name, subnet, gateway, ip_range, internal, dict(labels or {}),
                options, options.get(BRIDGE_NAME_OPTION) or f"br-{network_id[:12]}", skip_first=1,
            )

    def _add_bridge_network(
        self, network_id: str, name: str, subnet: str, gateway: str, ip_range: str,
        internal: bool, labels: dict[str, str], options: dict[str, str], device: str,
        skip_first: int,
    ) -> Network:
        if len(device) > 15:
            raise InvalidArgument(f"bridge name {device!r} is too long: 15 characters at most")
        in_use = self._subnets_in_use()
        if subnet:
            chosen = parse_network(subnet)
            clash = [n for n in self.store.networks() if n.subnet.overlaps(chosen)]
            if clash:
                raise Forbidden(f"Pool overlaps with other one on this address space ({clash[0].name})")
        else:
            if gateway or ip_range:
                raise InvalidArgument("--gateway and --ip-range need --subnet")
            chosen = choose_subnet(self.options.pools, in_use, skip_first=skip_first)
        config = subnet_config(chosen, gateway, ip_range)
        network = Network(
            id=network_id, name=name, driver="bridge", subnet=config.subnet,
            gateway=config.gateway, ip_range=config.ip_range, internal=internal, labels=labels,
            options=options, created=_now(), bridge=device,
        )
        with ExitStack() as undo:
            self.store.add_network(network)
            undo.callback(self.store.remove_network, network.id)
            self._bring_up(network)
            undo.callback(self._bring_down, network)
            self._apply_rules()
            undo.pop_all()
        return network

    def _bring_up(self, network: Network) -> None:
        self.kernel.ensure_bridge(network.bridge, IPv4Interface(f"{network.gateway}/{network.subnet.prefixlen}"),
                                  self.options.owner, mtu=network.mtu(self.options.mtu))
        if network.dns and self.dns is not None:
            self.dns.serve(network.id, str(network.gateway), partial_names(self.store, network.id),
                           linked_names(self.store, network.id, lambda cid: self.links_of(cid)))

    def _bring_down(self, network: Network) -> None:
        if self.dns is not None:
            self.dns.stop(network.id)
        self.kernel.delete_bridge(network.bridge)

    def remove_network(self, ref: str) -> Network:
        with self._lock:
            network = self.store.network(ref)
            if network.name in PREDEFINED:
                raise Forbidden(f"{network.name} is a pre-defined network and cannot be removed")
            attached = self.store.endpoints(network_id=network.id)
            if attached:
                raise Conflict(
                    f"error while removing network: network {network.name} id {network.id} has active endpoints",
                    hint="disconnect or remove its containers first",
                )
            self.store.remove_network(network.id)
            self._bring_down(network)
            self._apply_rules()
            return network

    def prune(self, keep: Callable[[Network], bool] = lambda n: False) -> list[Network]:
        """Remove every user network without endpoints (and that `keep` does not keep)."""
        removed = []
        with self._lock:
            for network in self.store.networks():
                if network.name in PREDEFINED or keep(network):
                    continue
                if self.store.endpoints(network_id=network.id):
                    continue
                removed.append(self.remove_network(network.id))
        return removed

    # --- containers -------------------------------------------------------------------

    def setup(
        self,
        container_id: str,
        netns_path: Path,
        endpoints: Sequence[EndpointRequest],
        *,
        hostname: str,
        names: Sequence[str] = (),
        port_bindings: Mapping[str, Any] | None = None,
        exposed: Iterable[str] = (),
        publish_all: bool = False,
        extra_hosts: Sequence[str] = (),
        dns: Sequence[str] = (),
        dns_search: Sequence[str] = (),
        dns_options: Sequence[str] = (),
    ) -> ContainerNetworking:
        """The container's netns at `netns_path` with a veth on each network, its ports
        published. All or nothing: a taken port or a full network undoes every step."""
        requests = list(endpoints) or [EndpointRequest(DEFAULT_NETWORK)]
        wanted = parse_port_bindings(port_bindings, exposed, publish_all)
        deferred = container_id in self._deferred
        if deferred:
            wanted = []  # published later by take_over
        with self._lock, ExitStack() as undo:
            networks = [self.store.network(r.network) for r in requests]
            self.teardown(container_id)  # leftovers of a start the daemon did not finish
            if deferred:
                self._deferred.add(container_id)
            self.kernel.create_netns(netns_path)
            undo.callback(self.kernel.remove_netns, netns_path)
            self.store.set_sandbox(container_id, str(netns_path))
            undo.callback(self.store.drop_sandbox, container_id)
            made = []
            for request, network in zip(requests, networks):
                made.append(self._attach(container_id, netns_path, network, request, names,
                                         default_route=not made, undo=undo))
            bound = []
            for binding, span in wanted:
                port = self.ports.reserve(binding.proto, binding.host_ip, span)
                undo.callback(self.ports.release, binding.proto, binding.host_ip, port)
                bound.append(replace(binding, host_port=port))
            self.store.set_ports(container_id, bound)
            self._apply_rules()
            undo.pop_all()
        return ContainerNetworking(
            hosts=hosts_file(hostname, made[0].ip if made else None, extra_hosts),
            resolv_conf=resolv_file(
                str(networks[0].gateway) if networks and networks[0].dns else None,
                dns, dns_search, dns_options, host_nameservers(self.options.resolv_conf),
            ),
            endpoints=tuple(made), ports=tuple(bound),
            gateways={e.network_id: str(n.gateway) for e, n in zip(made, networks)},
        )

    def _attach(
        self, container_id: str, netns_path: Path, network: Network, request: EndpointRequest,
        names: Sequence[str], *, default_route: bool, undo: ExitStack,
    ) -> Endpoint:
        veth = "ve" + hashlib.sha256(f"{network.id}{container_id}".encode()).hexdigest()[:11]
        known = tuple(n for n in (*names, container_id[:12]) if n)
        endpoint = self.store.allocate_endpoint(
            network, container_id, ip=request.ip, aliases=tuple(request.aliases), names=known, veth=veth
        )
        undo.callback(self.store.release_endpoint, network.id, container_id)
        index = len(self.store.endpoints(container_id=container_id)) - 1
        self.kernel.attach_endpoint(
            netns_path, bridge=network.bridge, veth=veth, ifname=f"eth{index}",
            address=IPv4Interface(f"{endpoint.ip}/{network.subnet.prefixlen}"), mac=endpoint.mac,
            gateway=network.gateway if default_route and not network.internal else None,
            mtu=network.mtu(self.options.mtu),
        )
        undo.callback(self.kernel.delete_link, veth)
        return endpoint

    def teardown(self, container_id: str) -> None:
        """Release everything `setup` and `connect` made for the container; idempotent."""
        with self._lock:
            self._deferred.discard(container_id)
            endpoints = self.store.endpoints(container_id=container_id)
            if not endpoints and self.store.sandbox(container_id) is None:
                return  # host, none, or already released: nothing to do (and no nft run)
            for endpoint in endpoints:
                self.kernel.delete_link(endpoint.veth)
                with contextlib.suppress(NotFound):
                    self.store.release_endpoint(endpoint.network_id, container_id)
            for binding in self.store.ports(container_id).get(container_id, []):
                self.ports.release(binding.proto, binding.host_ip, binding.host_port)
            netns = self.store.sandbox(container_id)
            self.store.drop_sandbox(container_id)
            self._apply_rules()
            if netns:
                self.kernel.remove_netns(Path(netns))

    def wish(self, ref: str, container_id: str, request: EndpointRequest, *, connected: bool) -> Network:
        """Remember a connect (or a disconnect) for the container's next start."""
        network = self.store.network(ref)
        self.store.set_wish(container_id, network.id, ip=request.ip, aliases=tuple(request.aliases),
                            connected=connected)
        return network

    def requests_for(self, container_id: str, configured: Sequence[EndpointRequest]) -> list[EndpointRequest]:
        """The networks a container joins at start: those of its configuration, then the
        ones connected since, less the ones disconnected since."""
        wishes = self.store.wishes(container_id)
        dropped = {network_id for network_id, _, _, on in wishes if not on}
        details = {network_id: (ip, aliases) for network_id, ip, aliases, on in wishes if on}
        result: list[EndpointRequest] = []
        seen: set[str] = set()
        for request in configured:
            try:
                network = self.store.network(request.network)
            except NotFound:
                raise NotFound(f"network {request.network} not found",
                               hint="create it (estiba network create) or choose another") from None
            if network.id not in dropped and network.id not in seen:
                seen.add(network.id)
                ip, aliases = details.get(network.id, ("", ()))
                result.append(EndpointRequest(request.network, request.ip or ip,
                                              tuple(request.aliases) or aliases))
        for network_id, ip, aliases, on in wishes:
            if on and network_id not in seen:
                with contextlib.suppress(NotFound):
                    seen.add(self.store.network(network_id).id)
                    result.append(EndpointRequest(network_id, ip, aliases))
        return result

    def forget(self, container_id: str) -> None:
        """The container is removed: release what it holds, forget its wishes."""
        self.teardown(container_id)
        self.store.forget(container_id)

    def publish(self, container_id: str, binding: PortBinding) -> PortBinding:
        """Publish one more port of a running container (beyond Docker: moby#2045); it
        lasts until the container stops. host_port 0 picks a free one."""
        with self._lock:
            if self.store.sandbox(container_id) is None:
                raise Conflict(f"container {container_id[:12]} is not running",
                               hint="ports are published on running containers")
            if not any(not self.store.network(e.network_id).internal
                       for e in self.store.endpoints(container_id=container_id)):
                raise Conflict(f"container {container_id[:12]} is on no network a port can reach")
            current = self.published(container_id)
            span = (binding.host_port, binding.host_port) if binding.host_port else (0, 0)
            port = self.ports.reserve(binding.proto, binding.host_ip, span)
            made = replace(binding, host_port=port)
            try:
                self.store.set_ports(container_id, [*current, made])
                self._apply_rules()
            except BaseException:
                self.ports.release(binding.proto, binding.host_ip, port)
                self.store.set_ports(container_id, current)
                raise
            return made

    def take_over(
        self,
        container_id: str,
        old_id: str,
        port_bindings: Mapping[str, Any] | None,
        exposed: Iterable[str] = (),
        publish_all: bool = False,
    ) -> list[PortBinding]:
        """Publish a running container's ports (its start deferred them), taking each one
        the running `old_id` publishes on the same host address and port (or, for a port
        left to the engine, the same container port) away from it, in one ruleset change:
        new connections go to the new container, established ones stay with the old.
        Beyond Docker: the step of a zero-downtime replacement (docker/compose#1786)."""
        wanted = parse_port_bindings(port_bindings, exposed, publish_all)
        with self._lock:
            if self.store.sandbox(container_id) is None:
                raise Conflict(f"container {container_id[:12]} is not running",
                               hint="start it (with its ports deferred) before it takes over")
            if container_id not in self._deferred:
                raise Conflict(f"container {container_id[:12]} was not started with its ports deferred",
                               hint="start it with estiba-defer-ports=1, then take over")
            old_before, mine_before = self.published(old_id), self.published(container_id)
            old, mine = list(old_before), list(mine_before)
            reserved: list[PortBinding] = []
            try:
                for binding, span in wanted:
                    match = next((b for b in old if b.proto == binding.proto and b.host_ip == binding.host_ip
                                  and (b.host_port == span[0] if span != (0, 0) else
                                       b.container_port == binding.container_port)), None)
                    if match is not None and (span == (0, 0) or span[0] == span[1]):
                        old.remove(match)
                        mine.append(replace(binding, host_port=match.host_port))
                        continue
                    port = self.ports.reserve(binding.proto, binding.host_ip, span)
                    reserved.append(replace(binding, host_port=port))
                    mine.append(reserved[-1])
                self.store.set_ports(old_id, old)
                self.store.set_ports(container_id, mine)
                self._apply_rules()
            except BaseException:
                for b in reserved:
                    self.ports.release(b.proto, b.host_ip, b.host_port)
                self.store.set_ports(old_id, old_before)
                self.store.set_ports(container_id, mine_before)
                with contextlib.suppress(EstibaError):
                    self._apply_rules()
                raise
            self._deferred.discard(container_id)
            return mine

    def defer_ports(self, container_id: str) -> None:
        """The container's next `setup` publishes nothing; `take_over` will."""
        with self._lock:
            self._deferred.add(container_id)

    def unpublish(self, container_id: str, host_port: int, proto: str = "tcp") -> list[PortBinding]:
        """Stop publishing host_port/proto of a running container; the bindings removed."""
        with self._lock:
            current = self.published(container_id)
            gone = [b for b in current if b.host_port == host_port and b.proto == proto]
            if not gone:
                raise NotFound(f"no port {host_port}/{proto} is published for container {container_id[:12]}")
            self.store.set_ports(container_id, [b for b in current if b not in gone])
            self._apply_rules()
            for b in gone:
                self.ports.release(b.proto, b.host_ip, b.host_port)
            return gone

    def netns_of(self, container_id: str) -> str | None:
        return self.store.sandbox(container_id)

    def published(self, container_id: str) -> list[PortBinding]:
        return self.store.ports(container_id).get(container_id, [])

    def connect(self, ref: str, container_id: str, request: EndpointRequest, names: Sequence[str] = ()) -> Endpoint:
        """A running container (its netns exists) joins one more network."""
        with self._lock, ExitStack() as undo:
            network = self.store.network(ref)
            netns = self.store.sandbox(container_id)
            if netns is None:
                raise Conflict(f"container {container_id[:12]} is not running",
                               hint="start it first, or give --network to run/create")
            if any(e.network_id == network.id for e in self.store.endpoints(container_id=container_id)):
                raise Forbidden(f"endpoint with name {names[0] if names else container_id[:12]} "
                                f"already exists in network {network.name}")
            endpoint = self._attach(container_id, Path(netns), network, request, names,
                                    default_route=False, undo=undo)
            self._apply_rules()
            undo.pop_all()
            return endpoint

    def disconnect(self, ref: str, container_id: str) -> None:
        with self._lock:
            network = self.store.network(ref)
            endpoint = self.store.release_endpoint(network.id, container_id)
            self.kernel.delete_link(endpoint.veth)
            self._apply_rules()

    # --- daemon start -----------------------------------------------------------------

    def restore(
        self, running: Callable[[str], bool] | None = None, exists: Callable[[str], bool] | None = None
    ) -> None:
        """Make sure the default network exists, bring every network's bridge and DNS back,
        drop the endpoints and netns of containers that are not running, re-reserve the
        published ports of the others, and apply the ruleset."""
        with self._lock:
            self._reap_dead_daemons()
            self._retire_changed_default()
            try:
                self.store.network(DEFAULT_NETWORK)
            except NotFound:
                bip = IPv4Interface(self.options.default_bip) if self.options.default_bip else None
                self._add_bridge_network(
                    self.predefined_id(DEFAULT_NETWORK), DEFAULT_NETWORK,
                    str(bip.network) if bip else "", str(bip.ip) if bip else "", "", False, {},
                    {BRIDGE_NAME_OPTION: self.options.default_bridge,
                     "com.docker.network.bridge.default_bridge": "true",
                     "com.docker.network.bridge.enable_icc": "true",
                     "com.docker.network.bridge.enable_ip_masquerade": "true",
                     "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                     MTU_OPTION: str(self.options.mtu)},
                    self.options.default_bridge, skip_first=0,
                )
            for network in self.store.networks():
                self._bring_up(network)
            sandboxes = self.store.sandboxes()
            gone = {e.container_id for e in self.store.endpoints()} | set(sandboxes)
            for container_id in sorted(gone):
                if running is not None and running(container_id):
                    for b in self.published(container_id):
                        with contextlib.suppress(EstibaError):
                            self.ports.reserve(b.proto, b.host_ip, (b.host_port, b.host_port))
                    continue
                self.teardown(container_id)
            for container_id in self.store.wished_containers():
                if exists is not None and not exists(container_id):
                    self.store.forget(container_id)
            self._apply_rules()

    def _reap_dead_daemons(self) -> None:
        """Bridges (and nftables tables) that a daemon no longer running left behind with
        no container on them: a SIGKILLed test daemon's, say. Their subnets come free."""
        owned = getattr(self.kernel, "owned_bridges", None)
        if owned is None:
            return
        self.options.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.options.pid_file.write_text(f"{os.getpid()}\n")
        gone: set[str] = set()
        for name, owner, has_ports in owned():
            if owner == self.options.owner or has_ports or _daemon_alive(Path(owner)):
                continue
            log.info("removing bridge %s left by a daemon that is gone (%s)", name, owner)
            self.kernel.delete_link(name)
            gone.add(owner)
        for owner in gone:
            with contextlib.suppress(EstibaError):
                self.nft_apply(nft.render_removal(NetworkOptions.for_exec_root(Path(owner)).table))

    # --- the ruleset and the etc files ------------------------------------------------

    def render_rules(self) -> str:
        networks = {n.id: n for n in self.store.networks()}
        nat = [nft.NatNetwork(n.bridge, n.subnet, n.internal) for n in networks.values()]
        dnat = []
        for container_id, bindings in self.store.ports().items():
            target = next((e for e in self.store.endpoints(container_id=container_id)
                           if not networks[e.network_id].internal), None)
            if target is None:
                continue
            dnat += [nft.Dnat(b.proto, b.host_port, target.ip, b.container_port, b.host_ip)
                     for b in bindings]
        return nft.render(self.options.table, nat, dnat)

    def _apply_rules(self) -> None:
        self.nft_apply(self.render_rules())

    def _retire_changed_default(self) -> None:
        """The default network as daemon.json now asks (bip, bridge, mtu): one made with
        other settings goes, to be made again, unless containers are still on it (then it
        stays until they are gone, and the log says so: a bridge whose ports differ in MTU
        drops the frames too big for the smaller one)."""
        try:
            network = self.store.network(DEFAULT_NETWORK)
        except NotFound:
            return
        bip = IPv4Interface(self.options.default_bip) if self.options.default_bip else None
        mtu = network.mtu(self.options.mtu)
        changed = network.bridge != self.options.default_bridge or mtu != self.options.mtu or (
            bip is not None and (network.subnet != bip.network or network.gateway != bip.ip))
        if not changed:
            return
        if self.store.endpoints(network_id=network.id):
            log.warning("the default network keeps %s on %s with mtu %s until its containers are gone "
                        "(daemon.json asks for %s on %s with mtu %s)", network.subnet, network.bridge, mtu,
                        bip.network if bip else "a pool's subnet", self.options.default_bridge,
                        self.options.mtu)
            return
        self._bring_down(network)
        self.store.remove_network(network.id)

    def remove_all(self) -> None:
        """Tear down every network, netns and rule (for tests and `estibad --cleanup`)."""
        with self._lock:
            for container_id in {e.container_id for e in self.store.endpoints()} | set(self.store.sandboxes()):
                self.teardown(container_id)
            for network in self.store.networks():
                self._bring_down(network)
            self.nft_apply(nft.render_removal(self.options.table))


def _daemon_alive(exec_root: Path) -> bool:
    try:
        pid = int((exec_root / "network.pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    return True


def partial_names(store: NetworkStore, network_id: str) -> Callable[[], dict[str, list[IPv4Address]]]:
    """The DNS lookup of one network: every name and alias of its endpoints."""

    def names() -> dict[str, list[IPv4Address]]:
        table: dict[str, list[IPv4Address]] = {}
        for endpoint in store.endpoints(network_id=network_id):
            for name in {*endpoint.names, *endpoint.aliases}:
                table.setdefault(name.lower(), []).append(endpoint.ip)
        return table

    return names


def linked_names(
    store: NetworkStore, network_id: str, links_of: Callable[[str], Mapping[str, str]]
) -> Callable[[str], dict[str, list[IPv4Address]]]:
    """The DNS lookup of one client of the network: the aliases of its container's links,
    each naming the linked container's address on this network (dockerd resolves a link
    on a user-defined network for the linking container only)."""

    def names(client: str) -> dict[str, list[IPv4Address]]:
        endpoints = store.endpoints(network_id=network_id)
        asking = next((e for e in endpoints if str(e.ip) == client), None)
        if asking is None:
            return {}
        addresses: dict[str, list[IPv4Address]] = {}
        for endpoint in endpoints:
            addresses.setdefault(endpoint.container_id, []).append(endpoint.ip)
        return {
            alias.lower(): addresses[target]
            for alias, target in links_of(asking.container_id).items()
            if target in addresses
        }

    return names
