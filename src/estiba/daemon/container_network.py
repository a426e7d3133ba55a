"""A container's networking, between the engine and the NetworkManager.

    check/remember   at create: the networks named exist; --ip and --network-alias kept
    prepare          at start, before the shim: the netns (bridge and user networks),
                     veths and published ports; the namespace path for the OCI spec and
                     the texts of /etc/hosts and /etc/resolv.conf
    release          when the container stops: all of it released
    forget           when it is removed
    settings/summary NetworkSettings for inspect, Ports and Networks for ps
    link_targets     for the DNS: the containers a container's HostConfig.Links name

Network modes: bridge (the default) and user networks by name get a netns of ours; host
shares the host's; none is the runtime's fresh netns with lo only; container:<name|id>
joins the other container's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from estiba.engine.store import ContainerRecord
from estiba.errors import Conflict, EstibaError, InvalidArgument, NotFound

__all__ = ["ContainerNetwork", "Prepared", "link_targets"]

_NOT_OURS = ("host", "none")


@dataclass(frozen=True)
class Prepared:
    """What the engine puts in the bundle: namespaces to join, etc file texts to use."""

    namespace_paths: dict[str, str] = field(default_factory=dict)
    etc_files: dict[str, str] = field(default_factory=dict)


def _mode(record: ContainerRecord) -> str:
    mode = record.host_config.get("NetworkMode") or "default"
    return "bridge" if mode == "default" else mode


def _names(record: ContainerRecord) -> tuple[str, ...]:
    names = [record.name] if record.name else []
    service = record.labels.get("com.docker.compose.service")
    if service and service not in names:
        names.append(service)
    return tuple(names)


def link_targets(containers: Any, container_id: str) -> dict[str, str]:
    """{alias: linked container id} of a container's links ("name:alias", or dockerd's
    "/name:/linker/alias"); links to containers that are gone are left out."""
    try:
        links = containers.get(container_id).host_config.get("Links") or ()
    except EstibaError:
        return {}
    targets = {}
    for link in links:
        name, _, alias = str(link).partition(":")
        name = name.lstrip("/")
        try:
            targets[alias.rsplit("/", 1)[-1] or name] = containers.get(name).id
        except EstibaError:
            continue
    return targets


def _endpoint_id(network_id: str, container_id: str) -> str:
    return hashlib.sha256(f"{network_id}/{container_id}".encode()).hexdigest()


class ContainerNetwork:
    """`manager` None: an engine without networking (every mode but host gets lo only)."""

    def __init__(self, manager: Any = None, containers: Any = None, exec_root: Path | None = None) -> None:
        self.manager = manager
        self.containers = containers
        self.exec_root = exec_root

    # --- create -----------------------------------------------------------------------

    def check(self, body: dict[str, Any]) -> None:
        """At create: the network mode names a network that exists (dockerd: 404)."""
        if self.manager is None:
            return
        mode = (body.get("HostConfig") or {}).get("NetworkMode") or "default"
        if mode in ("default", *_NOT_OURS) or mode.startswith("container:"):
            return
        self.manager.network(mode)

    def remember(self, container_id: str, body: dict[str, Any]) -> None:
        """Keep the create's EndpointsConfig (--ip, --network-alias) for every start."""
        if self.manager is None:
            return
        from estiba.network import EndpointRequest

        endpoints = (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}
        for name, config in endpoints.items():
            if name in ("default", *_NOT_OURS) or not config:
                continue
            ip = ((config.get("IPAMConfig") or {}).get("IPv4Address")) or ""
            aliases = tuple(config.get("Aliases") or ())
            if (ip or aliases) and name == "bridge":
                raise InvalidArgument("user specified IP address is supported on user defined networks only")
            self.manager.wish(name, container_id, EndpointRequest(name, ip, aliases), connected=True)

    # --- start and stop ---------------------------------------------------------------

    def prepare(self, record: ContainerRecord, hostname: str) -> Prepared:
        mode = _mode(record)
        if self.manager is None or mode in _NOT_OURS:
            return Prepared()
        if mode.startswith("container:"):
            return self._join(mode.split(":", 1)[1])
        from estiba.network import EndpointRequest

        config = record.container_config()
        host = record.host_config
        requests = self.manager.requests_for(record.id, [EndpointRequest(mode)])
        netns = self.manager.options.netns_dir / record.id
        result = self.manager.setup(
            record.id, netns, requests,
            hostname=config.hostname or hostname, names=_names(record),
            port_bindings=host.get("PortBindings") or {},
            exposed=list((record.config.get("ExposedPorts") or {}).keys()),
            publish_all=bool(host.get("PublishAllPorts")),
            extra_hosts=list(host.get("ExtraHosts") or ()), dns=list(host.get("Dns") or ()),
            dns_search=list(host.get("DnsSearch") or ()), dns_options=list(host.get("DnsOptions") or ()),
        )
        return Prepared({"network": str(netns)},
                        {"hosts": result.hosts, "resolv.conf": result.resolv_conf})

    def _join(self, ref: str) -> Prepared:
        other = self.containers.get(ref)
        if not other.running or not other.pid:
            raise Conflict(f"cannot join the network of container {ref}: it is not running")
        netns = self.manager.netns_of(other.id) or f"/proc/{other.pid}/ns/net"
        files = {}
        if self.exec_root is not None:
            for name in ("hosts", "resolv.conf"):
                path = Path(self.exec_root, "containers", other.id, name)
                if path.exists():
                    files[name] = path.read_text()
        return Prepared({"network": netns}, files)

    def defer_ports(self, record: ContainerRecord) -> None:
        """The container's next start publishes no port: a takeover will (estiba.network)."""
        mode = _mode(record)
        if self.manager is None or mode in _NOT_OURS or mode.startswith("container:"):
            raise Conflict(f"container {record.id[:12]} has no network of its own to publish ports on",
                           hint="deferred ports need a container on a bridge or user network")
        self.manager.defer_ports(record.id)

    def release(self, container_id: str) -> None:
        if self.manager is not None:
            self.manager.teardown(container_id)

    def forget(self, container_id: str) -> None:
        if self.manager is not None:
            self.manager.forget(container_id)

    # --- documents --------------------------------------------------------------------

    def _live(self, record: ContainerRecord) -> tuple[list[tuple[Any, Any]], list[Any]]:
        """(network, endpoint) pairs and published ports while running; none otherwise."""
        if self.manager is None or not record.running:
            return [], []
        pairs = []
        for endpoint in self.manager.endpoints(container_id=record.id):
            try:
                pairs.append((self.manager.network(endpoint.network_id), endpoint))
            except NotFound:
                continue
        return pairs, self.manager.published(record.id)

    def settings(self, record: ContainerRecord) -> dict[str, Any]:
        """inspect's NetworkSettings."""
        try:
            pairs, ports = self._live(record)
        except EstibaError:
            pairs, ports = [], []
        networks: dict[str, Any] = {}
        for network, endpoint in pairs:
            networks[network.name] = {
                "IPAMConfig": None, "Links": None,
                "Aliases": list(endpoint.aliases) or None,
                "NetworkID": network.id, "EndpointID": _endpoint_id(network.id, record.id),
                "Gateway": str(network.gateway), "IPAddress": str(endpoint.ip),
                "IPPrefixLen": network.subnet.prefixlen, "IPv6Gateway": "",
                "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                "MacAddress": endpoint.mac, "DriverOpts": None,
            }
        mode = _mode(record)
        if not networks and mode in _NOT_OURS:
            networks[mode] = {"IPAMConfig": None, "Links": None, "Aliases": None, "NetworkID": "",
                              "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
                              "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
                              "MacAddress": "", "DriverOpts": None}
        published: dict[str, Any] = {}
        if record.running:
            for key in (record.config.get("ExposedPorts") or {}):
                published[key] = None
            for binding in ports:
                key = f"{binding.container_port}/{binding.proto}"
                published[key] = (published.get(key) or []) + [
                    {"HostIp": binding.host_ip or "0.0.0.0", "HostPort": str(binding.host_port)}
                ]
        default = networks.get("bridge") or {}
        netns = self.manager.netns_of(record.id) if self.manager is not None and record.running else None
        return {
            "Bridge": "", "SandboxID": hashlib.sha256(record.id.encode()).hexdigest() if netns else "",
            "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
            "Ports": published, "SandboxKey": netns or "",
            "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None,
            "EndpointID": default.get("EndpointID", ""), "Gateway": default.get("Gateway", ""),
            "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "IPAddress": default.get("IPAddress", ""), "IPPrefixLen": default.get("IPPrefixLen", 0),
            "IPv6Gateway": "", "MacAddress": default.get("MacAddress", ""),
            "Networks": networks,
        }

    def summary(self, record: ContainerRecord, document: dict[str, Any]) -> dict[str, Any]:
        """ps's entry with Ports and NetworkSettings.Networks filled in."""
        try:
            pairs, ports = self._live(record)
        except EstibaError:
            return document
        listed = [{"IP": b.host_ip or "0.0.0.0", "PrivatePort": b.container_port,
                   "PublicPort": b.host_port, "Type": b.proto} for b in ports]
        published = {(b.container_port, b.proto) for b in ports}
        if record.running:
            for key in (record.config.get("ExposedPorts") or {}):
                number, _, proto = key.partition("/")
                if number.isdigit() and (int(number), proto or "tcp") not in published:
                    listed.append({"PrivatePort": int(number), "Type": proto or "tcp"})
        document["Ports"] = listed
        document["NetworkSettings"] = {"Networks": {
            network.name: {"NetworkID": network.id, "IPAddress": str(endpoint.ip),
                           "Gateway": str(network.gateway), "MacAddress": endpoint.mac,
                           "IPPrefixLen": network.subnet.prefixlen,
                           "EndpointID": _endpoint_id(network.id, record.id)}
            for network, endpoint in pairs
        }}
        return document
