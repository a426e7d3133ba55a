"""Project names as compose v2 accepts them."""

from __future__ import annotations

import re

from estiba.errors import InvalidArgument

__all__ = ["normalize_project_name"]

_VALID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def normalize_project_name(name: str, *, explicit: bool = False) -> str:
    """Lower case, only [a-z0-9_-], starting with a letter or a digit. A name given
    explicitly (-p, COMPOSE_PROJECT_NAME, `name:`) must already be valid once lower-cased;
    one derived from a directory is cleaned up instead."""
    lowered = name.lower()
    if explicit:
        if not _VALID.match(lowered):
            raise InvalidArgument(
                f"invalid project name {name!r}: must consist only of lowercase alphanumeric "
                "characters, hyphens, and underscores as well as start with a letter or number"
            )
        return lowered
    cleaned = re.sub(r"[^a-z0-9_-]", "", lowered).lstrip("_-")
    if not cleaned:
        raise InvalidArgument(
            f"cannot derive a project name from {name!r}: give one with -p NAME or `name:`"
        )
    return cleaned
