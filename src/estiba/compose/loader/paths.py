"""Relative paths in a compose model, resolved against the directory they belong to.

All paths of the files given with -f are relative to the project directory. A service
taken from another file by `extends: {file: ...}`, or a sub-project pulled in by
`include`, keeps the paths of its own file's directory: `absolutize_*` rewrites them
before that service or sub-project joins the project.
"""

from __future__ import annotations

import os

from estiba.compose.loader.syntax import parse_volume
from estiba.compose.loader.yamlfile import Override

__all__ = ["absolutize_resources", "absolutize_service", "is_remote_context", "resolve_path"]

_REMOTE_PREFIXES = ("git://", "git@", "github.com/", "http://", "https://", "ssh://")


def is_remote_context(context: str) -> bool:
    """Whether a build context is a URL (git repository, tarball) rather than a directory."""
    return context.startswith(_REMOTE_PREFIXES) or "://" in context


def resolve_path(path: str, base_dir: str, home: str | None = None) -> str:
    """`path` made absolute against `base_dir`, with a leading `~` expanded to `home`."""
    if path == "~" or path.startswith("~/"):
        home = home or os.path.expanduser("~")
        path = home + path[1:]
    return os.path.normpath(os.path.join(base_dir, path))


def _env_file_entry(entry: object, base_dir: str, home: str | None) -> object:
    if isinstance(entry, dict):
        return dict(entry, path=resolve_path(str(entry.get("path", "")), base_dir, home))
    return resolve_path(str(entry), base_dir, home)


def absolutize_service(service: dict, base_dir: str, home: str | None = None) -> dict:
    """The raw `service` with build contexts, env/label files and bind sources absolute."""
    result = dict(service)
    build = result.get("build")
    if isinstance(build, Override):
        build = build.value
    if isinstance(build, str):
        result["build"] = build if is_remote_context(build) else resolve_path(build, base_dir, home)
    elif isinstance(build, dict):
        context = str(build.get("context", "."))
        if not is_remote_context(context):
            result["build"] = dict(build, context=resolve_path(context, base_dir, home))
    for key in ("env_file", "label_file"):
        value = result.get(key)
        if isinstance(value, (str, dict)):
            result[key] = [_env_file_entry(value, base_dir, home)]
        elif isinstance(value, list):
            result[key] = [_env_file_entry(entry, base_dir, home) for entry in value]
    volumes = result.get("volumes")
    if isinstance(volumes, list):
        result["volumes"] = [_absolutize_mount(v, base_dir, home) for v in volumes]
    return result


def _absolutize_mount(mount: object, base_dir: str, home: str | None) -> object:
    if isinstance(mount, str):
        parsed = parse_volume(mount, "volumes")
        if parsed["type"] != "bind":
            return mount
        mount = parsed
    if isinstance(mount, dict) and mount.get("type") == "bind" and mount.get("source"):
        return dict(mount, source=resolve_path(str(mount["source"]), base_dir, home))
    return mount


def absolutize_resources(model: dict, base_dir: str, home: str | None = None) -> dict:
    """The raw `model` with every service's and secret's/config's file paths absolute."""
    result = dict(model)
    services = result.get("services") or {}
    result["services"] = {
        name: absolutize_service(svc or {}, base_dir, home) for name, svc in services.items()
    }
    for kind in ("secrets", "configs"):
        resources = result.get(kind)
        if not isinstance(resources, dict):
            continue
        result[kind] = {
            key: dict(spec, file=resolve_path(str(spec["file"]), base_dir, home))
            if isinstance(spec, dict) and spec.get("file")
            else spec
            for key, spec in resources.items()
        }
    return result
