"""The build routes: POST /build (the classic builder, a tar context in the body) and
POST /build/prune (the build cache).

The build's output is Docker's JSON stream: `{"stream": ...}` lines, `{"aux": {"ID": ...}}`
for the image built, and a failure as `{"errorDetail": {"code": N, "message": ...},
"error": ...}`; the docker CLI prints the lines as they are and exits with the code.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from aiohttp import web

from estiba.api.params import query_bool, query_filters, query_str
from estiba.api.routes import Route, backends_of
from estiba.api.streams import aclose, json_line, json_response, progress_json, stream_failure
from estiba.api.types import BuildOptions, Progress
from estiba.errors import InvalidArgument, Unsupported

__all__ = ["ROUTES", "build_options"]

_BODY_CHUNK = 1 << 16
ACCEPTED_BUILD_PRUNE_FILTERS = frozenset(
    {"id", "parent", "type", "description", "inuse", "shared", "private", "until", "unused-for"}
)


def _json_map(request: web.Request, name: str) -> dict[str, str | None]:
    text = query_str(request, name)
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"{name}: invalid JSON: {exc.msg}") from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    ):
        raise InvalidArgument(f"{name}: give a JSON object of strings")
    return value


def build_options(request: web.Request) -> BuildOptions:
    """POST /build's query as BuildOptions."""
    labels = {k: v or "" for k, v in _json_map(request, "labels").items()}
    hosts = [h for item in request.query.getall("extrahosts", ()) for h in item.split(",") if h]
    pull = query_str(request, "pull")
    return BuildOptions(
        dockerfile=query_str(request, "dockerfile") or "Dockerfile",
        tags=tuple(t for t in request.query.getall("t", ()) if t),
        build_args=_json_map(request, "buildargs"),
        labels=labels,
        target=query_str(request, "target"),
        no_cache=query_bool(request, "nocache"),
        pull=pull.lower() not in ("", "0", "false"),
        quiet=query_bool(request, "q"),
        network_mode=query_str(request, "networkmode"),
        extra_hosts=tuple(hosts),
        platform=query_str(request, "platform"),
    )


async def build(request: web.Request) -> web.StreamResponse:
    backend = backends_of(request).build
    if backend is None:
        raise Unsupported("this daemon cannot build images")
    if query_str(request, "remote"):
        raise Unsupported("remote build contexts (git, URLs) are not supported: send the context as a tar")
    options = build_options(request)
    stream = await backend.build(request.content.iter_chunked(_BODY_CHUNK), options)
    return await _send(request, stream)


async def _send(request: web.Request, items: AsyncIterator[Progress]) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        async for item in items:
            await response.write(json_line(progress_json(item)))
    except (ConnectionError, asyncio.CancelledError):
        raise
    except Exception as exc:
        message = stream_failure(request, exc)
        detail: dict[str, object] = {"message": message}
        code = getattr(exc, "exit_code", None)
        if code:
            detail["code"] = code
        await response.write(json_line({"errorDetail": detail, "error": message}))
    finally:
        await aclose(items)
    await response.write_eof()
    return response


async def prune(request: web.Request) -> web.StreamResponse:
    filters = query_filters(request, ACCEPTED_BUILD_PRUNE_FILTERS)
    backend = backends_of(request).build
    if backend is None:
        return json_response({"CachesDeleted": None, "SpaceReclaimed": 0})
    report = await backend.prune_cache(all=query_bool(request, "all"), filters=filters)
    return json_response(
        {"CachesDeleted": list(report.deleted) or None, "SpaceReclaimed": report.space_reclaimed}
    )


ROUTES = (
    Route("POST", "/build", build, streaming=True),
    Route("POST", "/build/prune", prune, min_version="1.31"),
)
