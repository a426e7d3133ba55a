"""The container routes that carry a container's data: logs, attach, stats, export, archive."""

from __future__ import annotations

import asyncio
import base64
import json
import stat as statmod

from aiohttp import web

from estiba.api.hijack import hijack, parse_detach_keys, run_session, stream_media_type
from estiba.api.params import query_bool, query_str, query_timestamp_ns
from estiba.api.routes import Route, api_version, backends_of, common_headers
from estiba.api.streams import (
    aclose,
    encode_output,
    json_response,
    rfc3339nano,
    send_bytes_stream,
    send_json_stream,
    stream_failure,
)
from estiba.api.types import AttachOptions, LogsOptions, Output, PathStat
from estiba.errors import InvalidArgument, Unavailable

__all__ = ["ROUTES", "go_file_mode", "path_stat_header"]

PATH_STAT_HEADER = "X-Docker-Container-Path-Stat"
_BODY_CHUNK = 1 << 16


def _ref(request: web.Request) -> str:
    return request.match_info["id"]


async def logs(request: web.Request) -> web.StreamResponse:
    options = LogsOptions(
        stdout=query_bool(request, "stdout"),
        stderr=query_bool(request, "stderr"),
        follow=query_bool(request, "follow"),
        since_ns=query_timestamp_ns(request, "since"),
        until_ns=query_timestamp_ns(request, "until"),
        tail=_tail(query_str(request, "tail", "all")),
    )
    if not (options.stdout or options.stderr):
        raise InvalidArgument("Bad parameters: you must choose at least one stream")
    output = await backends_of(request).containers.container_logs(_ref(request), options)
    return await _send_output(request, output, timestamps=query_bool(request, "timestamps"))


def _tail(value: str) -> int | None:
    """dockerd reads anything but a non-negative number as "all"."""
    try:
        count = int(value)
    except ValueError:
        return None
    return count if count >= 0 else None


async def _send_output(
    request: web.Request, output: Output, *, timestamps: bool
) -> web.StreamResponse:
    media_type = stream_media_type(output.tty, api_version(request))
    response = web.StreamResponse(headers={"Content-Type": media_type})
    await response.prepare(request)
    try:
        async for chunk in output.chunks:
            await response.write(encode_output(chunk, tty=output.tty, timestamps=timestamps))
    except (ConnectionError, asyncio.CancelledError):
        raise
    except Exception as exc:
        stream_failure(request, exc)
    finally:
        await aclose(output.chunks)
    await response.write_eof()
    return response


async def attach(request: web.Request) -> web.StreamResponse:
    options = AttachOptions(
        stream=query_bool(request, "stream"),
        logs=query_bool(request, "logs"),
        stdin=query_bool(request, "stdin"),
        stdout=query_bool(request, "stdout"),
        stderr=query_bool(request, "stderr"),
        detach_keys=query_str(request, "detachKeys"),
    )
    detach_keys = parse_detach_keys(options.detach_keys)
    session = await backends_of(request).containers.attach_container(_ref(request), options)
    try:
        media_type = stream_media_type(session.tty, api_version(request))
        connection = hijack(request, media_type, common_headers())
    except BaseException:
        await session.close()
        raise
    await run_session(connection, session, stdin=options.stdin, detach_keys=detach_keys)
    # The connection is closed by now: aiohttp's attempt to send this one ends quietly.
    return web.Response()


async def stats(request: web.Request) -> web.StreamResponse:
    stream = query_bool(request, "stream", default=True)
    one_shot = query_bool(request, "one-shot")
    if stream and one_shot:
        raise InvalidArgument("cannot have stream=true and one-shot=true")
    samples = await backends_of(request).containers.container_stats(
        _ref(request), stream=stream, one_shot=one_shot
    )
    if stream:
        return await send_json_stream(request, samples, lambda s: s, errors_in_stream=False)
    try:
        first = await anext(samples)
    except StopAsyncIteration:
        raise Unavailable(f"no stats for container {_ref(request)} yet: try again") from None
    finally:
        await aclose(samples)
    return json_response(first)


async def export(request: web.Request) -> web.StreamResponse:
    chunks = await backends_of(request).containers.export_container(_ref(request))
    return await send_bytes_stream(request, chunks, content_type="application/x-tar")


def _archive_path(request: web.Request) -> str:
    path = query_str(request, "path")
    if not path:
        raise InvalidArgument("the archive routes need a `path` parameter")
    return path


async def archive_stat(request: web.Request) -> web.StreamResponse:
    found = await backends_of(request).containers.stat_container_path(
        _ref(request), _archive_path(request)
    )
    return web.Response(headers={PATH_STAT_HEADER: path_stat_header(found)})


async def get_archive(request: web.Request) -> web.StreamResponse:
    archive = await backends_of(request).containers.get_container_archive(
        _ref(request), _archive_path(request)
    )
    return await send_bytes_stream(
        request,
        archive.data,
        content_type="application/x-tar",
        headers={PATH_STAT_HEADER: path_stat_header(archive.stat)},
    )


async def put_archive(request: web.Request) -> web.StreamResponse:
    path = _archive_path(request)
    await backends_of(request).containers.put_container_archive(
        _ref(request),
        path,
        request.content.iter_chunked(_BODY_CHUNK),
        no_overwrite_dir_non_dir=query_bool(request, "noOverwriteDirNonDir"),
        copy_uid_gid=query_bool(request, "copyUIDGID"),
    )
    return web.Response(status=200)


def path_stat_header(found: PathStat) -> str:
    """The base64 JSON that `docker cp` reads to learn what a path is."""
    document = {
        "name": found.name,
        "size": found.size,
        "mode": go_file_mode(found.mode),
        "mtime": rfc3339nano(found.mtime_ns),
        "linkTarget": found.link_target,
    }
    return base64.b64encode(json.dumps(document).encode()).decode()


# Go's os.FileMode keeps the file type in the high bits, not in unix's S_IFMT.
_GO_TYPE_BITS = {
    statmod.S_IFDIR: 1 << 31,
    statmod.S_IFLNK: 1 << 27,
    statmod.S_IFBLK: 1 << 26,
    statmod.S_IFCHR: (1 << 26) | (1 << 21),
    statmod.S_IFIFO: 1 << 25,
    statmod.S_IFSOCK: 1 << 24,
}


def go_file_mode(st_mode: int) -> int:
    """A unix st_mode as the Go FileMode that Docker's clients expect."""
    mode = st_mode & 0o777
    mode |= _GO_TYPE_BITS.get(statmod.S_IFMT(st_mode), 0)
    if st_mode & statmod.S_ISUID:
        mode |= 1 << 23
    if st_mode & statmod.S_ISGID:
        mode |= 1 << 22
    if st_mode & statmod.S_ISVTX:
        mode |= 1 << 20
    return mode


ROUTES = (
    Route("GET", "/containers/{id}/logs", logs, streaming=True),
    Route("POST", "/containers/{id}/attach", attach, streaming=True),
    Route("GET", "/containers/{id}/stats", stats, streaming=True),
    Route("GET", "/containers/{id}/export", export, streaming=True),
    Route("HEAD", "/containers/{id}/archive", archive_stat),
    Route("GET", "/containers/{id}/archive", get_archive, streaming=True),
    Route("PUT", "/containers/{id}/archive", put_archive),
)
