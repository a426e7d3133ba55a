"""The exec routes: create a process in a running container, start it, inspect, resize."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from estiba.api.containers import tty_size
from estiba.api.hijack import hijack, parse_detach_keys, run_session, stream_media_type
from estiba.api.params import read_json, read_json_object
from estiba.api.routes import Route, api_version, backends_of, common_headers
from estiba.api.streams import json_response
from estiba.api.types import ExecConfig, ExecStartOptions
from estiba.errors import InvalidArgument

__all__ = ["ROUTES", "exec_config"]


def _bool(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidArgument(f"invalid JSON: {key} must be true or false")
    return value


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"invalid JSON: {key} must be a string")
    return value


def _strings(body: dict[str, Any], key: str) -> tuple[str, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if isinstance(value, str):  # Go's strslice accepts a lone string
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"invalid JSON: {key} must be a list of strings")
    return tuple(value)


def _console_size(body: dict[str, Any]) -> tuple[int, int] | None:
    value = body.get("ConsoleSize")
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        raise InvalidArgument("invalid JSON: ConsoleSize must be [height, width]")
    return value[0], value[1]


def exec_config(body: dict[str, Any]) -> ExecConfig:
    """The body of POST /containers/{id}/exec, checked as dockerd checks it."""
    cmd = _strings(body, "Cmd")
    if not cmd or not cmd[0]:
        raise InvalidArgument("No exec command specified")
    detach_keys = _text(body, "DetachKeys")
    parse_detach_keys(detach_keys)  # refuse bad keys now, not when the exec starts
    return ExecConfig(
        cmd=cmd,
        attach_stdin=_bool(body, "AttachStdin"),
        attach_stdout=_bool(body, "AttachStdout"),
        attach_stderr=_bool(body, "AttachStderr"),
        tty=_bool(body, "Tty"),
        env=_strings(body, "Env"),
        user=_text(body, "User"),
        working_dir=_text(body, "WorkingDir"),
        privileged=_bool(body, "Privileged"),
        detach_keys=detach_keys,
        console_size=_console_size(body),
    )


async def create(request: web.Request) -> web.StreamResponse:
    config = exec_config(read_json_object(await read_json(request)))
    exec_id = await backends_of(request).execs.create_exec(request.match_info["id"], config)
    return json_response({"Id": exec_id}, status=201)


async def start(request: web.Request) -> web.StreamResponse:
    body = read_json_object(await read_json(request, required=False))
    options = ExecStartOptions(
        detach=_bool(body, "Detach"), tty=_bool(body, "Tty"), console_size=_console_size(body)
    )
    session = await backends_of(request).execs.start_exec(request.match_info["id"], options)
    if session is None:
        return web.Response(status=200)
    try:
        detach_keys = parse_detach_keys(session.detach_keys)
        media_type = stream_media_type(session.tty, api_version(request))
        connection = hijack(request, media_type, common_headers())
    except BaseException:
        await session.close()
        raise
    await run_session(connection, session, stdin=session.stdin, detach_keys=detach_keys)
    return web.Response()  # never sent: the connection is closed


async def inspect(request: web.Request) -> web.StreamResponse:
    return json_response(await backends_of(request).execs.inspect_exec(request.match_info["id"]))


async def resize(request: web.Request) -> web.StreamResponse:
    height, width = tty_size(request)
    await backends_of(request).execs.resize_exec(
        request.match_info["id"], height=height, width=width
    )
    return web.Response(status=200)


ROUTES = (
    Route("POST", "/containers/{id}/exec", create),
    Route("POST", "/exec/{id}/start", start, streaming=True),
    Route("GET", "/exec/{id}/json", inspect),
    Route("POST", "/exec/{id}/resize", resize),
)
