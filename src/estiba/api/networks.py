"""The network routes: list, inspect, create, remove, connect, disconnect, prune; and,
beyond Docker, publishing a port of a running container (/estiba/containers/{id}/ports)."""

from __future__ import annotations

from aiohttp import web

from estiba.api.params import query_bool, query_filters, query_str, read_json, read_json_object
from estiba.api.routes import Route, backends_of
from estiba.api.streams import json_response
from estiba.errors import InvalidArgument

__all__ = ["ROUTES"]

ACCEPTED_LIST_FILTERS = frozenset({"dangling", "driver", "id", "label", "name", "scope", "type"})
ACCEPTED_PRUNE_FILTERS = frozenset({"label", "label!", "until"})


def _ref(request: web.Request) -> str:
    return request.match_info["id"]


async def list_networks(request: web.Request) -> web.StreamResponse:
    filters = query_filters(request, ACCEPTED_LIST_FILTERS)
    return json_response(await backends_of(request).networks.list_networks(filters))


async def inspect(request: web.Request) -> web.StreamResponse:
    document = await backends_of(request).networks.inspect_network(
        _ref(request), verbose=query_bool(request, "verbose")
    )
    return json_response(document)


async def create(request: web.Request) -> web.StreamResponse:
    body = read_json_object(await read_json(request))
    if not isinstance(body.get("Name"), str) or not body["Name"]:
        raise InvalidArgument("network create needs a Name")
    return json_response(await backends_of(request).networks.create_network(body), status=201)


async def remove(request: web.Request) -> web.StreamResponse:
    await backends_of(request).networks.remove_network(_ref(request))
    return web.Response(status=204)


async def connect(request: web.Request) -> web.StreamResponse:
    body = read_json_object(await read_json(request))
    if not body.get("Container"):
        raise InvalidArgument("connect needs the Container to connect")
    await backends_of(request).networks.connect_network(_ref(request), body)
    return web.Response(status=200)


async def disconnect(request: web.Request) -> web.StreamResponse:
    body = read_json_object(await read_json(request))
    if not body.get("Container"):
        raise InvalidArgument("disconnect needs the Container to disconnect")
    await backends_of(request).networks.disconnect_network(
        _ref(request), str(body["Container"]), force=bool(body.get("Force"))
    )
    return web.Response(status=200)


async def prune(request: web.Request) -> web.StreamResponse:
    filters = query_filters(request, ACCEPTED_PRUNE_FILTERS)
    names = await backends_of(request).networks.prune_networks(filters)
    return json_response({"NetworksDeleted": list(names) or None})


async def publish_port(request: web.Request) -> web.StreamResponse:
    body = read_json_object(await read_json(request))
    made = await backends_of(request).networks.publish_port(request.match_info["id"], body)
    return json_response(made, status=201)


async def take_over_ports(request: web.Request) -> web.StreamResponse:
    old = query_str(request, "from")
    if not old:
        raise InvalidArgument("takeover needs ?from=<the running container whose ports to take>")
    made = await backends_of(request).networks.take_over_ports(request.match_info["id"], old)
    return json_response(made)


async def unpublish_port(request: web.Request) -> web.StreamResponse:
    text = request.match_info["port"]
    if not text.isdigit():
        raise InvalidArgument(f"invalid port {text!r}")
    proto = query_str(request, "proto", "tcp").lower()
    await backends_of(request).networks.unpublish_port(request.match_info["id"], int(text), proto)
    return web.Response(status=204)


ROUTES = (
    Route("GET", "/networks", list_networks),
    Route("POST", "/networks/create", create),
    Route("POST", "/networks/prune", prune, min_version="1.25"),
    Route("GET", "/networks/{id}", inspect),
    Route("DELETE", "/networks/{id}", remove),
    Route("POST", "/networks/{id}/connect", connect),
    Route("POST", "/networks/{id}/disconnect", disconnect),
    Route("POST", "/estiba/containers/{id}/ports", publish_port),
    Route("POST", "/estiba/containers/{id}/ports/takeover", take_over_ports),
    Route("DELETE", "/estiba/containers/{id}/ports/{port}", unpublish_port),
)
