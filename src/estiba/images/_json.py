"""Canonical JSON and the typed field readers the image model parses with."""

from __future__ import annotations

import json
from typing import Any

from estiba.errors import InvalidArgument


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: one byte string per value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load_json(data: bytes | str, what: str) -> dict[str, Any]:
    """Parse a JSON object, turning any syntax error into one InvalidArgument line."""
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"invalid {what}: not JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid {what}: want a JSON object")
    return value


def as_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid {where}: want a JSON object")
    return value


def str_field(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"invalid {where}: {key} must be a string")
    return value


def int_field(data: dict[str, Any], key: str, where: str) -> int:
    value = data.get(key) or 0
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgument(f"invalid {where}: {key} must be an integer")
    return value


def strings_field(data: dict[str, Any], key: str, where: str) -> tuple[str, ...] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidArgument(f"invalid {where}: {key} must be an array of strings")
    return tuple(value)


def set_keys_field(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid {where}: {key} must be an object")
    return tuple(sorted(value))
