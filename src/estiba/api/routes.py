"""API versions and the shape of a route table entry; each resource module lists its routes.

A request names its API version in the path (`/v1.41/containers/json`) or gets the
newest; versions below MIN_API_VERSION or above API_VERSION are refused. A route can
require a newer version than the minimum, as moby's routers do.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from estiba import __version__
from estiba.api.backend import Backends
from estiba.errors import InvalidArgument

__all__ = [
    "API_VERSION",
    "BACKENDS",
    "MIN_API_VERSION",
    "Handler",
    "Route",
    "Version",
    "api_version",
    "backends_of",
    "check_version",
    "common_headers",
    "parse_version",
    "set_api_version",
]

Version = tuple[int, int]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_VERSION = "1.41"
MIN_API_VERSION = "1.24"

_VERSION_RE = re.compile(r"(\d+)\.(\d+)")
_VERSION_KEY = web.RequestKey("api_version", tuple)

BACKENDS = web.AppKey("backends", Backends)


@dataclass(frozen=True)
class Route:
    """One endpoint. `streaming` routes last as long as the client reads (logs, events,
    attach...) and end when it goes away; the others run to completion regardless."""

    method: str
    path: str
    handler: Handler
    min_version: str = MIN_API_VERSION
    streaming: bool = False


def parse_version(text: str) -> Version:
    match = _VERSION_RE.fullmatch(text)
    if match is None:
        raise InvalidArgument(f"invalid API version {text!r}: use MAJOR.MINOR, e.g. {API_VERSION}")
    return int(match.group(1)), int(match.group(2))


def check_version(text: str | None, route: Route) -> Version:
    """The version a request asked for (the newest when it named none), or InvalidArgument
    with dockerd's wording when this daemon or this route does not speak it."""
    if text is None:
        return parse_version(API_VERSION)
    version = parse_version(text)
    if version < parse_version(MIN_API_VERSION):
        raise InvalidArgument(
            f"client version {text} is too old. Minimum supported API version is "
            f"{MIN_API_VERSION}, please upgrade your client to a newer version"
        )
    if version > parse_version(API_VERSION):
        raise InvalidArgument(
            f"client version {text} is too new. Maximum supported API version is {API_VERSION}"
        )
    if version < parse_version(route.min_version):
        raise InvalidArgument(
            f"{route.method} {route.path} requires API version {route.min_version} or newer; "
            f"this request used {text}"
        )
    return version


def api_version(request: web.Request) -> Version:
    """The version the current request speaks (set by the app before the handler runs)."""
    return request.get(_VERSION_KEY) or parse_version(API_VERSION)


def set_api_version(request: web.Request, version: Version) -> None:
    request[_VERSION_KEY] = version


def backends_of(request: web.Request) -> Backends:
    return request.app[BACKENDS]


def common_headers() -> list[tuple[str, str]]:
    """Headers on every response, hijacked ones included: what clients negotiate with."""
    return [
        ("API-Version", API_VERSION),
        ("OSType", "linux"),
        ("Server", f"Estiba/{__version__} (linux)"),
    ]
