"""Which files make the project, where its directory is, and what it is called.

Compose v2's rules: without -f, COMPOSE_FILE, else the first of compose.yaml,
compose.yml, docker-compose.yml, docker-compose.yaml found in the working directory or
its parents, plus the override file beside it. The project name is -p, else
COMPOSE_PROJECT_NAME, else the top-level `name:`, else the project directory's
basename made valid.
"""

from __future__ import annotations

import os
import re

from estiba.errors import InvalidArgument

__all__ = ["find_files", "normalize_project_name", "valid_project_name"]

DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)
_VALID_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def find_files(start_dir: str, warnings: list[str]) -> list[str]:
    """The default compose file (and its override) nearest `start_dir`, looking upward."""
    directory = os.path.abspath(start_dir)
    while True:
        main = _pick(directory, DEFAULT_FILES, "config", warnings)
        if main:
            override = _pick(directory, OVERRIDE_FILES, "override", warnings)
            return [main, override] if override else [main]
        parent = os.path.dirname(directory)
        if parent == directory:
            raise InvalidArgument("no configuration file provided: not found")
        directory = parent


def _pick(directory: str, names: tuple[str, ...], kind: str, warnings: list[str]) -> str:
    """The first of `names` present in `directory` ("" for none), warning when several are."""
    found = [os.path.join(directory, n) for n in names if os.path.isfile(os.path.join(directory, n))]
    if len(found) > 1:
        warnings.append(f"Found multiple {kind} files with supported names: {', '.join(found)}. Using {found[0]}")
    return found[0] if found else ""


def normalize_project_name(name: str) -> str:
    """`name` lower-cased, stripped to [a-z0-9_-], starting with a letter or digit."""
    cleaned = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return cleaned.lstrip("_-")


def valid_project_name(name: str, origin: str) -> str:
    """`name` when it is a valid project name; InvalidArgument naming `origin` otherwise."""
    if not name:
        raise InvalidArgument(f"project name must not be empty: set it with {origin}")
    if not _VALID_NAME.match(name):
        raise InvalidArgument(
            f"invalid project name {name!r} ({origin}): use only lowercase letters, digits, "
            "dashes and underscores, starting with a letter or digit"
        )
    return name
