"""The one place where an error kind becomes an HTTP status and a Docker error body.

Bodies are `{"message": "..."}`, as dockerd writes them; 304 has no body. Anything that is
not one of Estiba's kinds is a fault of ours: 500, and the traceback goes to the log.
"""

from __future__ import annotations

import logging

from aiohttp import web

from estiba.api.streams import json_response
from estiba.errors import (
    Conflict,
    EstibaError,
    Forbidden,
    InvalidArgument,
    NotFound,
    NotModified,
    Unauthorized,
    Unavailable,
    Unsupported,
)

__all__ = ["error_response", "not_found_response", "status_for"]

log = logging.getLogger("estiba.api")

# Checked in order, so a subclass of a kind gets its kind's status.
_STATUS_BY_KIND: tuple[tuple[type[EstibaError], int], ...] = (
    (NotFound, 404),
    (InvalidArgument, 400),
    (Conflict, 409),
    (NotModified, 304),
    (Unauthorized, 401),
    (Forbidden, 403),
    (Unavailable, 503),
    (Unsupported, 501),
)


def status_for(exc: BaseException) -> int:
    """The HTTP status of an error: its kind's, or 500 for everything else."""
    for kind, status in _STATUS_BY_KIND:
        if isinstance(exc, kind):
            return status
    return 500


def error_response(exc: BaseException) -> web.Response:
    """The response for an error raised by a handler or a backend."""
    status = status_for(exc)
    if status == 304:
        return web.Response(status=304)
    if status == 500:
        log.error("internal error: %s", exc, exc_info=exc)
    message = str(exc) if isinstance(exc, EstibaError) else f"{type(exc).__name__}: {exc}"
    return json_response({"message": message}, status=status)


def not_found_response() -> web.Response:
    """An unknown route or method, as dockerd answers it."""
    return json_response({"message": "page not found"}, status=404)
