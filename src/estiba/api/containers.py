"""The container routes that manage state: create, list, inspect, lifecycle, rename, update,
prune.

The routes that stream a container's data (logs, attach, stats, export, archive) are in
`container_io`; together they are moby's container router.
"""

from __future__ import annotations

from aiohttp import web

from estiba.api import container_io
from estiba.api.params import (
    container_name,
    query_bool,
    query_filters,
    query_int,
    query_str,
    read_json,
    read_json_object,
)
from estiba.api.routes import Route, backends_of
from estiba.api.streams import json_line, json_response
from estiba.api.types import ContainerListOptions, WaitCondition, WaitResult
from estiba.errors import EstibaError, InvalidArgument

__all__ = ["ROUTES"]

ACCEPTED_LIST_FILTERS = frozenset(
    {
        "ancestor",
        "before",
        "expose",
        "exited",
        "health",
        "id",
        "isolation",
        "is-task",
        "label",
        "name",
        "network",
        "publish",
        "since",
        "status",
        "volume",
    }
)

ACCEPTED_PRUNE_FILTERS = frozenset({"label", "label!", "until"})


def _ref(request: web.Request) -> str:
    return request.match_info["id"]


def _no_content() -> web.Response:
    return web.Response(status=204)


async def create(request: web.Request) -> web.StreamResponse:
    name = query_str(request, "name")
    platform = query_str(request, "platform")
    config = read_json_object(await read_json(request))
    created = await backends_of(request).containers.create_container(
        config, name=container_name(name) if name else None, platform=platform or None
    )
    return json_response({"Id": created.id, "Warnings": list(created.warnings)}, status=201)


async def list_containers(request: web.Request) -> web.StreamResponse:
    limit = query_int(request, "limit")
    options = ContainerListOptions(
        all=query_bool(request, "all"),
        limit=limit if limit is not None and limit > 0 else None,
        size=query_bool(request, "size"),
        filters=query_filters(request, ACCEPTED_LIST_FILTERS),
    )
    return json_response(await backends_of(request).containers.list_containers(options))


async def inspect(request: web.Request) -> web.StreamResponse:
    document = await backends_of(request).containers.inspect_container(
        _ref(request), size=query_bool(request, "size")
    )
    return json_response(document)


async def start(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, required=False)
    if body:
        raise InvalidArgument(
            "starting container with non-empty request body was deprecated since API v1.22 "
            "and removed in v1.24: pass the HostConfig to create"
        )
    # Beyond Docker: estiba-defer-ports=1 starts it without publishing its ports, for a
    # zero-downtime replacement (POST /estiba/containers/{id}/ports/takeover then).
    defer = query_bool(request, "estiba-defer-ports")
    if defer:
        await backends_of(request).containers.start_container(_ref(request), defer_ports=True)
    else:
        await backends_of(request).containers.start_container(_ref(request))
    return _no_content()


def _stop_timeout(request: web.Request) -> int | None:
    timeout = query_int(request, "t")
    if timeout is not None and timeout < -1:
        raise InvalidArgument(f"invalid value for t: {timeout}: use -1 (wait forever) or more")
    return timeout


async def stop(request: web.Request) -> web.StreamResponse:
    await backends_of(request).containers.stop_container(
        _ref(request), timeout=_stop_timeout(request), signal=query_str(request, "signal") or None
    )
    return _no_content()


async def restart(request: web.Request) -> web.StreamResponse:
    await backends_of(request).containers.restart_container(
        _ref(request), timeout=_stop_timeout(request), signal=query_str(request, "signal") or None
    )
    return _no_content()


async def kill(request: web.Request) -> web.StreamResponse:
    await backends_of(request).containers.kill_container(
        _ref(request), signal=query_str(request, "signal") or None
    )
    return _no_content()


async def pause(request: web.Request) -> web.StreamResponse:
    await backends_of(request).containers.pause_container(_ref(request))
    return _no_content()


async def unpause(request: web.Request) -> web.StreamResponse:
    await backends_of(request).containers.unpause_container(_ref(request))
    return _no_content()


async def wait(request: web.Request) -> web.StreamResponse:
    text = query_str(request, "condition") or WaitCondition.NOT_RUNNING.value
    try:
        condition = WaitCondition(text)
    except ValueError:
        raise InvalidArgument(
            f"invalid condition: {text!r}: use not-running, next-exit or removed"
        ) from None
    outcome = await backends_of(request).containers.wait_container(_ref(request), condition)
    # The headers go out now: they tell the client that the wait is registered.
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        result = await outcome
    except EstibaError as exc:  # too late for a status code: say it in the body
        result = WaitResult(status_code=-1, error=str(exc))
    error = {"Message": result.error} if result.error else None
    await response.write(json_line({"StatusCode": result.status_code, "Error": error}))
    await response.write_eof()
    return response


async def remove(request: web.Request) -> web.StreamResponse:
    await backends_of(request).containers.remove_container(
        _ref(request),
        force=query_bool(request, "force"),
        remove_volumes=query_bool(request, "v"),
        remove_link=query_bool(request, "link"),
    )
    return _no_content()


async def resize(request: web.Request) -> web.StreamResponse:
    height, width = tty_size(request)
    await backends_of(request).containers.resize_container(
        _ref(request), height=height, width=width
    )
    return web.Response(status=200)


def tty_size(request: web.Request) -> tuple[int, int]:
    """The h and w parameters of a resize, both required and unsigned."""
    height, width = query_int(request, "h"), query_int(request, "w")
    if height is None or width is None or height < 0 or width < 0:
        raise InvalidArgument("resize needs h and w, the height and width in characters")
    return height, width


async def top(request: web.Request) -> web.StreamResponse:
    result = await backends_of(request).containers.top_container(
        _ref(request), ps_args=query_str(request, "ps_args", "-ef")
    )
    return json_response(
        {"Titles": list(result.titles), "Processes": [list(p) for p in result.processes]}
    )


async def rename(request: web.Request) -> web.StreamResponse:
    new_name = query_str(request, "name")
    if not new_name:
        raise InvalidArgument("rename needs the new name in the `name` parameter")
    await backends_of(request).containers.rename_container(_ref(request), container_name(new_name))
    return _no_content()


async def update(request: web.Request) -> web.StreamResponse:
    body = read_json_object(await read_json(request))
    warnings = await backends_of(request).containers.update_container(_ref(request), body)
    return json_response({"Warnings": warnings})


async def changes(request: web.Request) -> web.StreamResponse:
    found = await backends_of(request).containers.container_changes(_ref(request))
    return json_response([{"Path": c.path, "Kind": int(c.kind)} for c in found])


async def prune(request: web.Request) -> web.StreamResponse:
    report = await backends_of(request).containers.prune_containers(
        query_filters(request, ACCEPTED_PRUNE_FILTERS)
    )
    return json_response(
        {
            "ContainersDeleted": list(report.deleted) or None,
            "SpaceReclaimed": report.space_reclaimed,
        }
    )


# --- commit, and Estiba's snapshots and copies ---------------------------------------------


async def commit(request: web.Request) -> web.StreamResponse:
    from estiba.api.backend import CommitBackend
    from estiba.api.types import CommitOptions
    from estiba.errors import Unsupported

    backend = backends_of(request).containers
    if not isinstance(backend, CommitBackend):
        raise Unsupported("this daemon cannot commit containers")
    ref = query_str(request, "container")
    if not ref:
        raise InvalidArgument("commit needs the container in the `container` parameter")
    body = await read_json(request, required=False)
    options = CommitOptions(
        repo=query_str(request, "repo"),
        tag=query_str(request, "tag"),
        comment=query_str(request, "comment"),
        author=query_str(request, "author"),
        pause=query_bool(request, "pause", default=True),
        changes=tuple(request.query.getall("changes", [])),
        config=read_json_object(body, "container config") if body else None,
    )
    image_id = await backend.commit_container(ref, options)
    return json_response({"Id": image_id}, status=201)


def _snapshots(request: web.Request):  # noqa: ANN202 - the Protocol, checked
    from estiba.api.backend import ContainerSnapshotBackend
    from estiba.errors import Unsupported

    backend = backends_of(request).containers
    if not isinstance(backend, ContainerSnapshotBackend):
        raise Unsupported("this daemon has no container snapshots")
    return backend


async def snapshot_create(request: web.Request) -> web.StreamResponse:
    document = await _snapshots(request).create_snapshot(
        _ref(request), query_str(request, "name"), include_volumes=query_bool(request, "volumes")
    )
    return json_response(document, status=201)


async def snapshot_list(request: web.Request) -> web.StreamResponse:
    return json_response(await _snapshots(request).list_snapshots(_ref(request)))


async def snapshot_restore(request: web.Request) -> web.StreamResponse:
    await _snapshots(request).restore_snapshot(
        _ref(request), request.match_info["name"], force=query_bool(request, "force")
    )
    return _no_content()


async def snapshot_remove(request: web.Request) -> web.StreamResponse:
    await _snapshots(request).remove_snapshot(_ref(request), request.match_info["name"])
    return _no_content()


async def copy(request: web.Request) -> web.StreamResponse:
    name = query_str(request, "name")
    if not name:
        raise InvalidArgument("copy needs the new container's name in the `name` parameter")
    created = await _snapshots(request).copy_container(
        _ref(request), container_name(name), snapshot=query_str(request, "snapshot"),
        include_volumes=query_bool(request, "volumes"),
    )
    return json_response({"Id": created.id, "Warnings": list(created.warnings)}, status=201)


ROUTES = (
    Route("POST", "/commit", commit),
    Route("POST", "/estiba/containers/{id}/snapshots", snapshot_create),
    Route("GET", "/estiba/containers/{id}/snapshots", snapshot_list),
    Route("POST", "/estiba/containers/{id}/snapshots/{name}/restore", snapshot_restore),
    Route("DELETE", "/estiba/containers/{id}/snapshots/{name}", snapshot_remove),
    Route("POST", "/estiba/containers/{id}/copy", copy),
    Route("POST", "/containers/create", create),
    Route("POST", "/containers/prune", prune, min_version="1.25"),
    Route("GET", "/containers/json", list_containers),
    Route("GET", "/containers/{id}/json", inspect),
    Route("POST", "/containers/{id}/start", start),
    Route("POST", "/containers/{id}/stop", stop),
    Route("POST", "/containers/{id}/restart", restart),
    Route("POST", "/containers/{id}/kill", kill),
    Route("POST", "/containers/{id}/pause", pause),
    Route("POST", "/containers/{id}/unpause", unpause),
    Route("POST", "/containers/{id}/wait", wait, streaming=True),
    Route("DELETE", "/containers/{id}", remove),
    Route("POST", "/containers/{id}/resize", resize),
    Route("GET", "/containers/{id}/top", top),
    Route("POST", "/containers/{id}/rename", rename),
    Route("POST", "/containers/{id}/update", update),
    Route("GET", "/containers/{id}/changes", changes),
    *container_io.ROUTES,
)
