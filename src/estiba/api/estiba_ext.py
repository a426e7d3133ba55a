"""Estiba's own routes under /estiba/...: what Docker's API has no word for.

`POST /estiba/images/bootstrap?name=busybox|debian[:suite]` makes an image without a
registry. The image backend provides it when it implements `BootstrapBackend`; one that
does not answers 501.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from aiohttp import web

from estiba.api.params import query_str
from estiba.api.routes import Route, backends_of
from estiba.api.streams import json_response
from estiba.api.types import JSONObject
from estiba.errors import InvalidArgument, Unsupported

__all__ = ["ROUTES", "BootstrapBackend"]


@runtime_checkable
class BootstrapBackend(Protocol):
    async def bootstrap_image(self, name: str) -> JSONObject:
        """Make and tag the image `name` (busybox, debian[:suite]); returns
        {"Id", "RepoTags", "Size"}."""
        ...


async def bootstrap(request: web.Request) -> web.StreamResponse:
    name = query_str(request, "name")
    if not name:
        raise InvalidArgument(
            "bootstrap needs the image in the `name` parameter: busybox or debian"
        )
    images = backends_of(request).images
    if not isinstance(images, BootstrapBackend):
        raise Unsupported("this daemon cannot bootstrap images")
    return json_response(await images.bootstrap_image(name), status=201)


ROUTES = (Route("POST", "/estiba/images/bootstrap", bootstrap),)
