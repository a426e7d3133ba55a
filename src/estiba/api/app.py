"""The aiohttp application: every resource's routes, versioned and not, and their wrapping.

Each route is served at `/vMAJOR.MINOR/<path>` and at `<path>`. Around every handler:
the version check, error kinds turned into responses (errors.py), and for routes that
change state, a shield so that a client hanging up does not stop them halfway.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from estiba.api import containers, estiba_ext, exec, images, networks, system
from estiba.api import volumes
from estiba.api import build
from estiba.api.backend import Backends
from estiba.api.errors import error_response, not_found_response
from estiba.api.routes import (
    BACKENDS,
    Handler,
    Route,
    check_version,
    common_headers,
    set_api_version,
)
from estiba.api.streams import json_response
from estiba.errors import EstibaError

__all__ = ["ROUTES", "build_app"]

log = logging.getLogger("estiba.api")

ROUTES: tuple[Route, ...] = (
    *system.ROUTES,
    *containers.ROUTES,
    *exec.ROUTES,
    *images.ROUTES,
    *networks.ROUTES,
    *estiba_ext.ROUTES,
    *volumes.ROUTES,
    *build.ROUTES,
)

_VERSION_PREFIX = r"/v{version:\d+\.\d+}"
_MAX_BODY = 32 << 20


def build_app(backends: Backends) -> web.Application:
    """An application serving the Docker Engine API from `backends`."""
    app = web.Application(middlewares=[_http_errors], client_max_size=_MAX_BODY)
    app[BACKENDS] = backends
    for route in ROUTES:
        endpoint = _endpoint(route)
        app.router.add_route(route.method, _VERSION_PREFIX + route.path, endpoint)
        app.router.add_route(route.method, route.path, endpoint)
    app.on_response_prepare.append(_add_common_headers)
    return app


def _endpoint(route: Route) -> Handler:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        try:
            set_api_version(request, check_version(request.match_info.get("version"), route))
            if route.streaming:
                return await route.handler(request)
            return await _to_completion(request, route.handler)
        except EstibaError as exc:
            return error_response(exc)
        except (web.HTTPException, asyncio.CancelledError, ConnectionError):
            raise
        except Exception as exc:  # a bug of ours: 500, logged by error_response
            return error_response(exc)

    endpoint.__name__ = route.handler.__name__
    return endpoint


async def _to_completion(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Run a handler so that cancelling the request (the client left) does not cancel it."""
    task = asyncio.ensure_future(handler(request))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            task.add_done_callback(_log_orphan_failure)
        raise


def _log_orphan_failure(task: asyncio.Future[web.StreamResponse]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("request finished after its client left: %s", task.exception())


@web.middleware
async def _http_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own refusals (no such route, body too large) in Docker's JSON shape."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        return not_found_response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return json_response({"message": exc.reason}, status=exc.status)


async def _add_common_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in common_headers():
        response.headers[name] = value
