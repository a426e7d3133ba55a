"""The volume routes (moby's volume router) and Estiba's own under /estiba/volumes:
clone, rename, replace (one volume's data becomes a copy of another's), export and
import, which Docker's API has no word for."""

from __future__ import annotations

from aiohttp import web

from estiba.api.backend import VolumeBackend
from estiba.api.params import query_bool, query_filters, query_str, read_json, read_json_object
from estiba.api.routes import Route, api_version, backends_of
from estiba.api.streams import json_response, send_bytes_stream
from estiba.api.types import VolumeCreateOptions
from estiba.errors import InvalidArgument, Unsupported

__all__ = ["ROUTES"]

ACCEPTED_LIST_FILTERS = frozenset({"dangling", "driver", "label", "name"})
ACCEPTED_PRUNE_FILTERS = frozenset({"label", "label!", "all"})
_BODY_CHUNK = 1 << 16


def _volumes(request: web.Request) -> VolumeBackend:
    backend = backends_of(request).volumes
    if backend is None:
        raise Unsupported("this daemon has no volumes")
    return backend


def _name(request: web.Request) -> str:
    return request.match_info["name"]


def _new_name(request: web.Request) -> str:
    name = query_str(request, "name")
    if not name:
        raise InvalidArgument("the new volume's name goes in the `name` parameter")
    return name


def _string_map(body: dict, key: str) -> dict[str, str]:
    value = body.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidArgument(f"{key} must map strings to strings")
    return dict(value)


async def list_volumes(request: web.Request) -> web.StreamResponse:
    documents = await _volumes(request).list_volumes(query_filters(request, ACCEPTED_LIST_FILTERS))
    return json_response({"Volumes": documents, "Warnings": None})


async def create(request: web.Request) -> web.StreamResponse:
    body = read_json_object(await read_json(request, required=False) or {})
    name = body.get("Name") or ""
    driver = body.get("Driver") or "local"
    if not isinstance(name, str) or not isinstance(driver, str):
        raise InvalidArgument("Name and Driver must be strings")
    options = VolumeCreateOptions(
        name=name, driver=driver, driver_opts=_string_map(body, "DriverOpts"),
        labels=_string_map(body, "Labels"),
    )  # fmt: skip
    return json_response(await _volumes(request).create_volume(options), status=201)


async def inspect(request: web.Request) -> web.StreamResponse:
    return json_response(await _volumes(request).inspect_volume(_name(request)))


async def remove(request: web.Request) -> web.StreamResponse:
    await _volumes(request).remove_volume(_name(request), force=query_bool(request, "force"))
    return web.Response(status=204)


async def prune(request: web.Request) -> web.StreamResponse:
    filters = dict(query_filters(request, ACCEPTED_PRUNE_FILTERS))
    if api_version(request) < (1, 42) and "all" not in filters:
        filters["all"] = ("true",)  # dockerd: older clients pruned every unused volume
    report = await _volumes(request).prune_volumes(filters)
    names = [item.deleted for item in report.deleted]
    return json_response({"VolumesDeleted": names or None, "SpaceReclaimed": report.space_reclaimed})


async def clone(request: web.Request) -> web.StreamResponse:
    document = await _volumes(request).clone_volume(_name(request), _new_name(request))
    return json_response(document, status=201)


async def rename(request: web.Request) -> web.StreamResponse:
    return json_response(await _volumes(request).rename_volume(_name(request), _new_name(request)))


async def replace(request: web.Request) -> web.StreamResponse:
    source = query_str(request, "from")
    if not source:
        raise InvalidArgument("the volume to copy the data from goes in the `from` parameter")
    return json_response(await _volumes(request).replace_volume_data(_name(request), source))


async def export(request: web.Request) -> web.StreamResponse:
    chunks = await _volumes(request).export_volume(_name(request))
    return await send_bytes_stream(request, chunks, content_type="application/x-tar")


async def import_volume(request: web.Request) -> web.StreamResponse:
    document = await _volumes(request).import_volume(
        _name(request), request.content.iter_chunked(_BODY_CHUNK)
    )
    return json_response(document)


ROUTES = (
    Route("GET", "/volumes", list_volumes),
    Route("POST", "/volumes/create", create),
    Route("POST", "/volumes/prune", prune, min_version="1.25"),
    Route("GET", "/volumes/{name}", inspect),
    Route("DELETE", "/volumes/{name}", remove),
    Route("POST", "/estiba/volumes/{name}/clone", clone),
    Route("POST", "/estiba/volumes/{name}/rename", rename),
    Route("POST", "/estiba/volumes/{name}/replace", replace),
    Route("GET", "/estiba/volumes/{name}/export", export, streaming=True),
    Route("PUT", "/estiba/volumes/{name}/import", import_volume),
    Route("POST", "/estiba/volumes/{name}/import", import_volume),
)
