"""The API's NetworkBackend on the NetworkManager: Docker's Network documents, the
predefined bridge, host and none networks, connects of running and stopped containers,
and network events."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from estiba.api.types import Filters, JSONObject
from estiba.engine.events import EventBus, parse_event_time
from estiba.errors import Forbidden, InvalidArgument, NotFound
from estiba.network import EndpointRequest, Network, NetworkManager
from estiba.network.model import PREDEFINED

__all__ = ["EngineNetworks", "network_document"]

_VIRTUAL = {"host": "host", "none": "null"}


def _endpoint_id(network_id: str, container_id: str) -> str:
    return hashlib.sha256(f"{network_id}/{container_id}".encode()).hexdigest()


def _base(name: str, network_id: str, driver: str, created: str) -> JSONObject:
    return {
        "Name": name, "Id": network_id, "Created": created, "Scope": "local",
        "Driver": driver, "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None, "Config": []},
        "Internal": False, "Attachable": False, "Ingress": False,
        "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": {},
        "Options": {}, "Labels": {},
    }


def network_document(network: Network, containers: dict[str, JSONObject]) -> JSONObject:
    config: dict[str, str] = {"Subnet": str(network.subnet), "Gateway": str(network.gateway)}
    if network.ip_range is not None:
        config["IPRange"] = str(network.ip_range)
    document = _base(network.name, network.id, network.driver, network.created)
    document.update({
        "IPAM": {"Driver": "default", "Options": {} if network.name != "bridge" else None,
                 "Config": [config]},
        "Internal": network.internal, "Containers": containers,
        "Options": dict(network.options), "Labels": dict(network.labels),
    })
    return document


class EngineNetworks:
    def __init__(self, manager: NetworkManager, containers: Any, events: EventBus) -> None:
        self.manager = manager
        self.containers = containers
        self.bus = events
        self._created = "1970-01-01T00:00:00Z"

    # --- reading ----------------------------------------------------------------------

    def _documents(self) -> list[JSONObject]:
        names = {r.id: r.name for r in self.containers.list(all=True)}
        documents = []
        for network in self.manager.networks():
            attached = {}
            for e in self.manager.endpoints(network_id=network.id):
                attached[e.container_id] = {
                    "Name": names.get(e.container_id, e.container_id[:12]),
                    "EndpointID": _endpoint_id(network.id, e.container_id),
                    "MacAddress": e.mac,
                    "IPv4Address": f"{e.ip}/{network.subnet.prefixlen}",
                    "IPv6Address": "",
                }
            documents.append(network_document(network, attached))
        created = documents[0]["Created"] if documents else self._created
        for name, driver in _VIRTUAL.items():
            documents.append(_base(name, self.manager.predefined_id(name), driver, created))
        return documents

    def _find(self, documents: list[JSONObject], ref: str) -> JSONObject:
        for match in (lambda d: d["Id"] == ref, lambda d: d["Name"] == ref):
            found = [d for d in documents if match(d)]
            if found:
                return found[0]
        found = [d for d in documents if ref and d["Id"].startswith(ref)]
        if len(found) > 1:
            raise InvalidArgument(f"network {ref} is ambiguous ({len(found)} matches found on name)")
        if not found:
            raise NotFound(f"network {ref} not found")
        return found[0]

    async def list_networks(self, filters: Filters) -> list[JSONObject]:
        documents = await asyncio.to_thread(self._documents)
        return [d for d in documents if _matches(d, filters)]

    async def inspect_network(self, ref: str, *, verbose: bool) -> JSONObject:
        return self._find(await asyncio.to_thread(self._documents), ref)

    # --- changes ----------------------------------------------------------------------

    async def create_network(self, body: JSONObject) -> JSONObject:
        ipam = body.get("IPAM") or {}
        configs = ipam.get("Config") or []
        if len(configs) > 1:
            raise InvalidArgument("estiba networks have one IPv4 subnet: give one --subnet")
        config = configs[0] if configs else {}
        if body.get("EnableIPv6"):
            raise InvalidArgument("IPv6 networks are not supported yet")
        network = await asyncio.to_thread(
            self.manager.create_network, str(body["Name"]),
            driver=str(body.get("Driver") or "bridge"),
            subnet=config.get("Subnet") or "", gateway=config.get("Gateway") or "",
            ip_range=config.get("IPRange") or "", internal=bool(body.get("Internal")),
            labels=body.get("Labels") or {}, options=body.get("Options") or {},
        )
        self._publish("create", network.id, network.name)
        return {"Id": network.id, "Warning": ""}

    def _named(self, ref: str) -> tuple[str, str]:
        document = self._find(self._documents(), ref)
        return document["Id"], document["Name"]

    async def remove_network(self, ref: str) -> None:
        network_id, name = await asyncio.to_thread(self._named, ref)
        if name in PREDEFINED:
            raise Forbidden(f"{name} is a pre-defined network and cannot be removed")
        await asyncio.to_thread(self.manager.remove_network, network_id)
        self._publish("destroy", network_id, name)

    async def connect_network(self, ref: str, body: JSONObject) -> None:
        record = await asyncio.to_thread(self.containers.get, str(body["Container"]))
        network_id, name = await asyncio.to_thread(self._named, ref)
        if name in _VIRTUAL:
            raise Forbidden(f"container cannot be connected to network {name}")
        endpoint = body.get("EndpointConfig") or {}
        ip = ((endpoint.get("IPAMConfig") or {}).get("IPv4Address")) or ""
        request = EndpointRequest(network_id, ip, tuple(endpoint.get("Aliases") or ()))
        if record.running:
            await asyncio.to_thread(self.manager.connect, network_id, record.id, request,
                                    _names(record))
        await asyncio.to_thread(self.manager.wish, network_id, record.id, request, connected=True)
        self._publish("connect", network_id, name, container=record.id)

    async def disconnect_network(self, ref: str, container: str, *, force: bool) -> None:
        network_id, name = await asyncio.to_thread(self._named, ref)
        try:
            record = await asyncio.to_thread(self.containers.get, container)
            container_id = record.id
        except NotFound:
            if not force:
                raise
            container_id = container
        if name in _VIRTUAL:
            raise Forbidden(f"container cannot be disconnected from network {name}")
        attached = any(e.container_id == container_id
                       for e in self.manager.endpoints(network_id=network_id))
        if attached:
            await asyncio.to_thread(self.manager.disconnect, network_id, container_id)
        await asyncio.to_thread(self.manager.wish, network_id, container_id, EndpointRequest(network_id),
                                connected=False)
        self._publish("disconnect", network_id, name, container=container_id)

    async def prune_networks(self, filters: Filters) -> list[str]:
        until = [parse_event_time(v) for v in filters.get("until", ())]

        def keep(network: Network) -> bool:
            if any(parse_event_time(network.created) >= limit for limit in until):
                return True
            if not all(_label(network.labels, w) for w in filters.get("label", ())):
                return True
            return any(_label(network.labels, w) for w in filters.get("label!", ()))

        removed = await asyncio.to_thread(self.manager.prune, keep)
        for network in removed:
            self._publish("destroy", network.id, network.name)
        self.bus.publish("network", "prune", "", {})
        return [n.name for n in removed]

    async def publish_port(self, container: str, port: JSONObject) -> JSONObject:
        from estiba.network import PortBinding

        record = await asyncio.to_thread(self.containers.get, container)
        try:
            binding = PortBinding(int(port["PrivatePort"]), str(port.get("Type") or "tcp").lower(),
                                  str(port.get("IP") or ""), int(port.get("PublicPort") or 0))
        except (KeyError, TypeError, ValueError):
            raise InvalidArgument("a port needs PrivatePort (and optionally Type, IP, PublicPort)") from None
        if binding.proto not in ("tcp", "udp") or not 0 < binding.container_port < 65536:
            raise InvalidArgument(f"invalid port {binding.container_port}/{binding.proto}")
        made = await asyncio.to_thread(self.manager.publish, record.id, binding)
        return {"IP": made.host_ip or "0.0.0.0", "PrivatePort": made.container_port,
                "PublicPort": made.host_port, "Type": made.proto}

    async def take_over_ports(self, container: str, old: str) -> list[JSONObject]:
        record = await asyncio.to_thread(self.containers.get, container)
        previous = await asyncio.to_thread(self.containers.get, old)
        if previous.id == record.id:
            raise InvalidArgument("a container cannot take over its own ports")
        host = record.host_config
        made = await asyncio.to_thread(
            self.manager.take_over, record.id, previous.id, host.get("PortBindings") or {},
            list((record.config.get("ExposedPorts") or {}).keys()), bool(host.get("PublishAllPorts")),
        )
        return [{"IP": b.host_ip or "0.0.0.0", "PrivatePort": b.container_port,
                 "PublicPort": b.host_port, "Type": b.proto} for b in made]

    async def unpublish_port(self, container: str, public_port: int, proto: str) -> None:
        record = await asyncio.to_thread(self.containers.get, container)
        await asyncio.to_thread(self.manager.unpublish, record.id, public_port, proto)

    def _publish(self, action: str, network_id: str, name: str, **extra: str) -> None:
        self.bus.publish("network", action, network_id, {"name": name, "type": "bridge", **extra})


def _names(record: Any) -> tuple[str, ...]:
    names = [record.name.lstrip("/")] if record.name else []
    service = record.labels.get("com.docker.compose.service")
    if service:
        names.append(service)
    return tuple(names)


def _label(labels: dict[str, str], want: str) -> bool:
    key, eq, value = want.partition("=")
    return key in labels and (not eq or labels[key] == value)


def _matches(document: JSONObject, filters: Filters) -> bool:
    checks = {
        "name": lambda v: v in document["Name"],
        "id": lambda v: document["Id"].startswith(v),
        "driver": lambda v: document["Driver"] == v,
        "scope": lambda v: v == "local",
        "label": lambda v: _label(document["Labels"], v),
        "type": lambda v: (v == "builtin") == (document["Name"] in PREDEFINED),
        "dangling": lambda v: (v.lower() in ("true", "1")) == (
            not document["Containers"] and document["Name"] not in PREDEFINED),
    }
    for key, values in filters.items():
        if key == "label":
            if not all(checks[key](v) for v in values):
                return False
        elif values and not any(checks[key](v) for v in values):
            return False
    return True
