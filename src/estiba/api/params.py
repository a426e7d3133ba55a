"""Reading request parameters the way dockerd reads them: query values, filters, bodies.

Every reader either returns a typed value or raises InvalidArgument naming the
parameter, so handlers never see a raw query string.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import datetime
from typing import Any

from aiohttp import web

from estiba.api.types import Filters, RegistryAuth
from estiba.errors import InvalidArgument

__all__ = [
    "container_name",
    "query_bool",
    "query_filters",
    "query_int",
    "query_str",
    "query_timestamp_ns",
    "read_json",
    "read_json_object",
    "registry_auth",
]

_FALSE = frozenset({"", "0", "no", "false", "none"})
_NAME_RE = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_TIMESTAMP_RE = re.compile(r"(-?\d+)(?:\.(\d{1,9}))?")


def query_str(request: web.Request, name: str, default: str = "") -> str:
    return request.query.get(name, default)


def query_bool(request: web.Request, name: str, default: bool = False) -> bool:
    """dockerd's BoolValue: absent is `default`; "", 0, no, false and none are false."""
    if name not in request.query:
        return default
    return request.query[name].strip().lower() not in _FALSE


def query_int(request: web.Request, name: str, default: int | None = None) -> int | None:
    value = request.query.get(name, "").strip()
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f"invalid value for {name}: {value!r} is not an integer") from None


def query_filters(request: web.Request, accepted: frozenset[str]) -> Filters:
    """The `filters` parameter: JSON, `{"key": ["v", ...]}` or the older
    `{"key": {"v": true}}`; keys outside `accepted` are refused as dockerd does."""
    text = request.query.get("filters", "").strip()
    if text == "":
        return {}
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise InvalidArgument(f"invalid filters: {exc}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidArgument("invalid filters: must be a JSON object")
    filters: dict[str, tuple[str, ...]] = {}
    for key, values in raw.items():
        if key not in accepted:
            raise InvalidArgument(f"invalid filter '{key}'")
        if isinstance(values, dict):
            chosen = tuple(str(v) for v, on in values.items() if on)
        elif isinstance(values, list):
            chosen = tuple(str(v) for v in values)
        else:
            raise InvalidArgument(f"invalid filter '{key}': values must be a list")
        if chosen:
            filters[key] = chosen
    return filters


def query_timestamp_ns(request: web.Request, name: str) -> int | None:
    """A time as clients send it: Unix seconds with up to nine decimals, or RFC 3339."""
    value = request.query.get(name, "").strip()
    if value == "":
        return None
    return parse_timestamp_ns(value, name)


def parse_timestamp_ns(value: str, name: str) -> int:
    match = _TIMESTAMP_RE.fullmatch(value)
    if match is not None:
        seconds = int(match.group(1))
        fraction = int((match.group(2) or "").ljust(9, "0"))
        return seconds * 1_000_000_000 + (fraction if seconds >= 0 else -fraction)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"invalid value for {name}: {value!r}: use Unix seconds or an RFC 3339 time"
        ) from None
    if moment.tzinfo is None:
        raise InvalidArgument(f"invalid value for {name}: {value!r}: the time needs a zone")
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def container_name(value: str) -> str:
    """A valid container name (with no leading slash), or dockerd's refusal."""
    if not _NAME_RE.fullmatch(value):
        raise InvalidArgument(
            f"Invalid container name ({value}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )
    return value.lstrip("/")


async def read_json(request: web.Request, *, required: bool = True) -> Any:
    """The JSON body; None when it is empty and not `required`."""
    body = await request.read()
    if not body.strip():
        if required:
            raise InvalidArgument("invalid JSON: the request body is empty")
        return None
    content_type = request.headers.get("Content-Type", "")
    if content_type and request.content_type != "application/json":
        raise InvalidArgument(
            f"unsupported Content-Type header ({content_type}): must be 'application/json'"
        )
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"invalid JSON: {exc}") from None


def read_json_object(value: Any, where: str = "request body") -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid JSON: the {where} must be an object")
    return value


def registry_auth(request: web.Request) -> RegistryAuth:
    """The X-Registry-Auth header (base64url JSON). Like dockerd, an unreadable header
    counts as no credentials: the registry then says what is missing."""
    header = request.headers.get("X-Registry-Auth", "").strip()
    if not header:
        return RegistryAuth()
    padded = header + "=" * (-len(header) % 4)
    try:
        raw = json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError):
        return RegistryAuth()
    if not isinstance(raw, dict):
        return RegistryAuth()

    def text(key: str) -> str:
        value = raw.get(key)
        return value if isinstance(value, str) else ""

    return RegistryAuth(
        username=text("username"),
        password=text("password"),
        server_address=text("serveraddress"),
        identity_token=text("identitytoken"),
        registry_token=text("registrytoken"),
    )
