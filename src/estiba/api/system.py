"""The system routes: /_ping, /version, /info, /auth, the /events stream and /system/df.

`docker system prune` also prunes the build cache: POST /build/prune is in build.py
(networks are pruned in networks.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from estiba.api.events import ACCEPTED_EVENT_FILTERS, EventFilter, event_json
from estiba.api.params import query_filters, query_timestamp_ns, read_json, read_json_object
from estiba.api.routes import API_VERSION, MIN_API_VERSION, Route, backends_of
from estiba.api.streams import aclose, json_response, send_json_stream
from estiba.api.types import Event, RegistryAuth, VersionInfo
from estiba.errors import InvalidArgument

__all__ = ["ROUTES", "version_json"]

# The classic builder; "2" would announce BuildKit, which we do not speak.
BUILDER_VERSION = "1"


async def ping(request: web.Request) -> web.StreamResponse:
    headers = {
        "Docker-Experimental": "false",
        "Builder-Version": BUILDER_VERSION,
        "Cache-Control": "no-cache, no-store, must-revalidate",
        "Pragma": "no-cache",
    }
    if request.method == "HEAD":
        return web.Response(headers={**headers, "Content-Type": "text/plain; charset=utf-8"})
    return web.Response(text="OK", headers=headers)


async def version(request: web.Request) -> web.StreamResponse:
    info = await backends_of(request).system.version()
    return json_response(version_json(info))


def version_json(info: VersionInfo) -> dict[str, object]:
    details = {
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": info.git_commit,
        "GoVersion": info.runtime_version,
        "Os": info.os,
        "Arch": info.arch,
        "KernelVersion": info.kernel_version,
        "Experimental": str(info.experimental).lower(),
        "BuildTime": info.build_time,
    }
    components = [{"Name": "Engine", "Version": info.version, "Details": details}]
    components += [
        {"Name": name, "Version": version, "Details": {}} for name, version in info.components
    ]
    return {
        "Platform": {"Name": "Estiba Engine"},
        "Components": components,
        "Version": info.version,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": info.git_commit,
        "GoVersion": info.runtime_version,
        "Os": info.os,
        "Arch": info.arch,
        "KernelVersion": info.kernel_version,
        "Experimental": info.experimental,
        "BuildTime": info.build_time,
    }


async def auth(request: web.Request) -> web.StreamResponse:
    """`docker login`: check credentials with the registry (the images backend owns the
    registry client); 200 with "Login Succeeded", 401 with the registry's message."""
    body = read_json_object(await read_json(request))

    def text(key: str) -> str:
        value = body.get(key)
        return value if isinstance(value, str) else ""

    credentials = RegistryAuth(
        username=text("username"),
        password=text("password"),
        server_address=text("serveraddress"),
        identity_token=text("identitytoken"),
        registry_token=text("registrytoken"),
    )
    return json_response(await backends_of(request).images.authenticate(credentials))


async def info(request: web.Request) -> web.StreamResponse:
    return json_response(await backends_of(request).system.info())


async def events(request: web.Request) -> web.StreamResponse:
    since = query_timestamp_ns(request, "since")
    until = query_timestamp_ns(request, "until")
    wanted = EventFilter(query_filters(request, ACCEPTED_EVENT_FILTERS))
    if since is not None and until is not None and since > until:
        raise InvalidArgument("`since` time cannot be after `until` time")
    stream = await backends_of(request).system.events(since_ns=since, until_ns=until)
    return await send_json_stream(
        request, _matching(stream, wanted), event_json, errors_in_stream=False
    )


async def _matching(stream: AsyncIterator[Event], wanted: EventFilter) -> AsyncIterator[Event]:
    try:
        async for event in stream:
            if wanted.matches(event):
                yield event
    finally:
        await aclose(stream)


async def disk_usage(request: web.Request) -> web.StreamResponse:
    return json_response(await backends_of(request).system.disk_usage())


ROUTES = (
    Route("GET", "/_ping", ping),
    Route("HEAD", "/_ping", ping),
    Route("GET", "/version", version),
    Route("GET", "/info", info),
    Route("POST", "/auth", auth),
    Route("GET", "/events", events, streaming=True),
    Route("GET", "/system/df", disk_usage, min_version="1.25"),
)
