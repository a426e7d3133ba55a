"""The unix socket: mode and group from the start, stale sockets replaced, live ones kept."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path

import pytest
from aiohttp import web

from estiba.api.server import ApiServer, bind_unix_socket
from estiba.errors import Conflict, InvalidArgument


@pytest.fixture
def short_dir():
    directory = Path(tempfile.mkdtemp(prefix="estiba-sock-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def test_the_socket_has_its_mode_and_group(short_dir):
    path = short_dir / "run" / "api.sock"
    group = os.getgroups()[-1] if os.getgroups() else os.getgid()
    sock = bind_unix_socket(path, mode=0o660, group=group)
    try:
        found = path.stat()
        assert stat.S_ISSOCK(found.st_mode)
        assert stat.S_IMODE(found.st_mode) == 0o660
        assert found.st_gid == group
        assert sorted(p.name for p in path.parent.iterdir()) == ["api.sock"]  # no staging left
    finally:
        sock.close()


def test_unknown_groups_are_refused(short_dir):
    with pytest.raises(InvalidArgument, match="group 'no-such-group-here' does not exist"):
        bind_unix_socket(short_dir / "api.sock", group="no-such-group-here")


def test_a_stale_socket_is_replaced_and_a_live_one_refused(short_dir):
    path = short_dir / "api.sock"
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens
    live = bind_unix_socket(path)
    try:
        with pytest.raises(Conflict, match="another daemon is listening"):
            bind_unix_socket(path)
    finally:
        live.close()


def test_a_regular_file_is_never_clobbered(short_dir):
    path = short_dir / "api.sock"
    path.write_text("precious")
    with pytest.raises(Conflict, match="not a socket"):
        bind_unix_socket(path)
    assert path.read_text() == "precious"


def test_the_server_answers_and_removes_its_socket_when_stopped(short_dir):
    path = short_dir / "api.sock"
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app.router.add_get("/hello", hello)

    async def main():
        async with ApiServer(app, path):
            reader, writer = await asyncio.open_unix_connection(str(path))
            writer.write(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            response = await reader.read()
            writer.close()
            return response

    response = asyncio.run(main())
    assert response.startswith(b"HTTP/1.1 200") and response.endswith(b"hi")
    assert not path.exists()
