"""The HTTP edge of the registry client: the `Transport` contract and its aiohttp
implementation. aiohttp's exceptions and timeouts become `Unavailable` here, naming the
host, so nothing above this module knows about aiohttp.

Lifecycle: one transport per daemon (it pools connections); `send` returns a `Reply`
whose body is read at most once (`read`, or `chunks` for blobs) and which must be
`release`d; `close` ends every pooled connection.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any, Protocol

from estiba.errors import EstibaError, Forbidden, InvalidArgument, NotFound, Unauthorized
from estiba.errors import Unavailable

Body = bytes | Callable[[], AsyncIterable[bytes]] | None
MAX_DOCUMENT = 8 << 20


class Reply(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def url(self) -> str: ...

    async def read(self, limit: int = MAX_DOCUMENT) -> bytes: ...

    def chunks(self, size: int) -> AsyncIterator[bytes]: ...

    def release(self) -> None: ...


class Transport(Protocol):
    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        verify_tls: bool = True,
    ) -> Reply: ...

    async def close(self) -> None: ...


class AiohttpTransport:
    """A Transport over one aiohttp ClientSession, made on first use in the running loop."""

    def __init__(self, *, connect_timeout: float = 15.0, read_timeout: float = 60.0) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._session: Any = None

    def _client(self) -> Any:
        import aiohttp

        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(
                total=None,
                connect=self.connect_timeout,
                sock_connect=self.connect_timeout,
                sock_read=self.read_timeout,
            )
            self._session = aiohttp.ClientSession(
                timeout=timeout, auto_decompress=False, headers={"User-Agent": _user_agent()}
            )
        return self._session

    async def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        verify_tls: bool = True,
    ) -> Reply:
        import aiohttp

        data: Any = body() if callable(body) else body
        try:
            response = await self._client().request(
                method,
                url,
                headers=dict(headers or {}),
                data=data,
                ssl=None if verify_tls else False,
                allow_redirects=True,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise unreachable(url, exc) from exc
        return _AiohttpReply(response)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class _AiohttpReply:
    def __init__(self, response: Any) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return int(self._response.status)

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def url(self) -> str:
        return str(self._response.url)

    async def read(self, limit: int = MAX_DOCUMENT) -> bytes:
        import aiohttp

        out = bytearray()
        try:
            async for chunk in self._response.content.iter_chunked(1 << 16):
                out += chunk
                if len(out) > limit:
                    raise InvalidArgument(f"{self.url}: response larger than {limit} bytes")
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise unreachable(self.url, exc) from exc
        finally:
            self.release()
        return bytes(out)

    async def chunks(self, size: int) -> AsyncIterator[bytes]:
        import aiohttp

        try:
            async for chunk in self._response.content.iter_chunked(size):
                yield chunk
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise unreachable(self.url, exc) from exc
        finally:
            self.release()

    def release(self) -> None:
        self._response.release()


class TransferInterrupted(Unavailable):
    """The connection broke or stalled mid-transfer: the bytes so far may be resumed."""


def unreachable(url: str, exc: BaseException) -> Unavailable:
    host = url.split("://", 1)[-1].split("/", 1)[0]
    if isinstance(exc, asyncio.TimeoutError):
        return TransferInterrupted(
            f"registry {host} timed out", hint="check the registry, or try again later"
        )
    detail = str(exc) or type(exc).__name__
    return TransferInterrupted(f"registry {host} unreachable: {detail}")


def registry_error(status: int, body: bytes, what: str) -> EstibaError:
    """The error kind for a registry's HTTP status, with the registry's own message."""
    default = "unauthorized: authentication required" if status == 401 else f"HTTP {status}"
    message = registry_message(body) or default
    text = f"{what}: {message}"
    if status == 401:
        return Unauthorized(text, hint="log in with `estiba login`")
    if status == 403:
        return Forbidden(text)
    if status == 404:
        return NotFound(text)
    if status in (408, 429) or status >= 500:
        return Unavailable(text, hint="try again later")
    return InvalidArgument(text)


def registry_message(body: bytes) -> str:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode(errors="replace").strip()[:200]
    errors = data.get("errors") if isinstance(data, dict) else None
    if isinstance(errors, list) and errors:
        parts = []
        for error in errors:
            if isinstance(error, dict):
                code, message = error.get("code", ""), str(error.get("message", ""))
                words = code.lower().replace("_", " ")
                same = not code or words == message.lower()
                parts.append(message if same else f"{words}: {message}")
        return "; ".join(p for p in parts if p)
    if isinstance(data, dict):
        return str(data.get("details") or data.get("message") or data.get("error") or "")
    return ""


def _user_agent() -> str:
    from estiba import __version__

    return f"estiba/{__version__} (docker-compatible)"
