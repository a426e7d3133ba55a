"""Running the API against the fakes on a private unix socket, for one test at a time.

`ApiHarness.run(scenario)` starts a server with a fresh FakeEngine and FakeImages,
awaits `scenario(client)` and stops everything; `Client` speaks HTTP over the socket
with aiohttp, and `raw_exchange` speaks bytes for the hijacked routes.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from estiba.api.app import build_app
from estiba.api.backend import Backends
from estiba.api.server import ApiServer
from tests.unit.api.fake_engine import FakeEngine
from tests.unit.api.fake_images import FakeImages

T = TypeVar("T")


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def message(self) -> str:
        return self.json["message"]


class Client:
    def __init__(self, session: aiohttp.ClientSession, socket_path: Path) -> None:
        self.session = session
        self.socket_path = socket_path

    async def request(self, method: str, path: str, **kwargs: Any) -> Reply:
        async with self.session.request(method, "http://docker" + path, **kwargs) as response:
            body = await response.read()
            return Reply(response.status, body, dict(response.headers))

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("POST", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("DELETE", path, **kwargs)

    async def open_raw(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_unix_connection(str(self.socket_path))


async def read_head(reader: asyncio.StreamReader) -> tuple[str, dict[str, str]]:
    """The status line and headers of a response read from a raw connection."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status, *lines = head.strip("\r\n").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def raw_request(method: str, path: str, body: bytes = b"", *, upgrade: bool = True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: docker", f"Content-Length: {len(body)}"]
    if body:
        lines.append("Content-Type: application/json")
    if upgrade:
        lines += ["Connection: Upgrade", "Upgrade: tcp"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class ApiHarness:
    def __init__(self) -> None:
        self.engine = FakeEngine()
        self.images = FakeImages(in_use=self.engine.images_in_use)
        self.backends = Backends(self.engine, self.engine, self.engine, self.images)

    def run(self, scenario: Callable[[Client], Awaitable[T]], *, timeout: float = 10) -> T:
        # A short directory of our own: unix socket paths must stay under 108 bytes.
        directory = Path(tempfile.mkdtemp(prefix="estiba-api-"))
        socket_path = directory / "api.sock"

        async def main() -> T:
            async with ApiServer(build_app(self.backends), socket_path):
                connector = aiohttp.UnixConnector(path=str(socket_path))
                async with aiohttp.ClientSession(connector=connector) as session:
                    return await asyncio.wait_for(scenario(Client(session, socket_path)), timeout)

        try:
            return asyncio.run(main())
        finally:
            shutil.rmtree(directory, ignore_errors=True)
