"""One compose file, read and resolved on its own: the per-file half of the pipeline.

    read YAML -> interpolate -> validate against the schema -> include -> extends

The result is the file's model with `!reset`/`!override` still in place (the multi-file
merge needs them). Included sub-projects and services taken from other files by
`extends` arrive with their paths already absolute.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from estiba.compose.loader.envfile import parse_env_file
from estiba.compose.loader.interpolation import TemplateError, interpolate_tree
from estiba.compose.loader.merge import merge, merge_service
from estiba.compose.loader.paths import absolutize_resources, absolutize_service, resolve_path
from estiba.compose.loader.schema import validate
from estiba.compose.loader.yamlfile import load_yaml, strip_tags
from estiba.errors import InvalidArgument

__all__ = ["FileLoader", "display_name"]

_RESOURCE_KINDS = ("services", "networks", "volumes", "secrets", "configs")


def display_name(path: str) -> str:
    """How errors name a file: relative to the working directory when under it."""
    if path == "-":
        return "-"
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative


@dataclass
class FileLoader:
    """Loads files with one interpolation environment; `warn` gets unset variable names."""

    environment: dict[str, str]
    warn: Callable[[str], None]
    interpolate: bool = True
    stdin_dir: str = field(default_factory=os.getcwd)
    _cache: dict = field(default_factory=dict)
    _including: tuple = ()

    def read(self, path: str, referrer: str = "") -> dict:
        """`path` read, interpolated and validated; tags kept; no include/extends yet.
        `referrer` names what pointed at the file (for errors), else it came from -f."""
        if path in self._cache:
            return self._cache[path]
        source = display_name(path)
        if path == "-":
            text = sys.stdin.read()
        else:
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except FileNotFoundError:
                if referrer:
                    raise InvalidArgument(f"{referrer}: no such file {source}: check the path") from None
                raise InvalidArgument(f"{source}: no such file: check the -f path") from None
            except IsADirectoryError:
                raise InvalidArgument(f"{source} is a directory: name a compose file") from None
            except OSError as exc:
                raise InvalidArgument(f"cannot read {source}: {exc.strerror}") from None
        model = load_yaml(text, source)
        if self.interpolate:
            try:
                model = interpolate_tree(model, self.environment, self.warn)
            except TemplateError as exc:
                raise InvalidArgument(f"{source}: {exc.message}") from None
        validate(strip_tags(model), source)  # type: ignore[arg-type]
        self._cache[path] = model
        return model

    def load(self, path: str, referrer: str = "") -> dict:
        """`path` fully resolved on its own: includes merged in and extends applied."""
        model = dict(self.read(path, referrer))
        base_dir = self.stdin_dir if path == "-" else os.path.dirname(path)
        includes = model.pop("include", None) or []
        if includes:
            model = self._apply_includes(model, includes, path, base_dir)
        services = model.get("services")
        if services:
            resolver = _ExtendsResolver(self, path, base_dir)
            model["services"] = {name: resolver.resolve(name, (), services) for name in services}
        return model

    # ------------------------------------------------------------ include

    def _apply_includes(self, model: dict, includes: list, path: str, base_dir: str) -> dict:
        source = display_name(path)
        for entry in includes:
            if isinstance(entry, str):
                entry = {"path": entry}
            paths = entry.get("path")
            paths = [paths] if isinstance(paths, str) else list(paths or [])
            files = [resolve_path(p, base_dir, self.environment.get("HOME")) for p in paths]
            if not files:
                raise InvalidArgument(f"{source}: include entry without a path: add path: FILE")
            sub = self._load_included(entry, files, base_dir, source, path)
            for kind in _RESOURCE_KINDS:
                for key, value in (sub.get(kind) or {}).items():
                    local = model.get(kind) or {}
                    if key in local and strip_tags(local[key]) != value:
                        raise InvalidArgument(
                            f"{source}: {kind[:-1]} {key!r} from included {display_name(files[0])} "
                            f"conflicts with the one defined in {source}: rename one of them"
                        )
                    model[kind] = dict(local, **{key: value})
        return model

    def _load_included(
        self, entry: dict, files: list[str], base_dir: str, source: str, path: str
    ) -> dict:
        including = self._including + (path,)
        for file in files:
            if file in including:
                raise InvalidArgument(
                    f"{source}: include cycle through {display_name(file)}: remove one include"
                )
        home = self.environment.get("HOME")
        project_dir = entry.get("project_directory")
        if project_dir:
            project_dir = resolve_path(project_dir, base_dir, home)
        else:
            project_dir = os.path.dirname(files[0])
        env_files = entry.get("env_file")
        env_files = [env_files] if isinstance(env_files, str) else list(env_files or [])
        environment: dict[str, str] = {}
        if env_files:
            for env_file in env_files:
                env_path = resolve_path(env_file, base_dir, home)
                environment.update(parse_env_file(env_path, self.environment))
        elif os.path.isfile(os.path.join(project_dir, ".env")):
            environment.update(parse_env_file(os.path.join(project_dir, ".env"), self.environment))
        environment.update(self.environment)  # the including project's environment wins
        loader = FileLoader(
            environment, self.warn, self.interpolate, self.stdin_dir,
            _including=including,
        )
        merged: dict = {}
        for index, file in enumerate(files):
            model = loader.load(file, f"{source}: include")
            merged = strip_tags(model) if index == 0 else merge(merged, model)  # type: ignore[assignment]
        merged.pop("name", None)
        return absolutize_resources(merged, project_dir, home)


class _ExtendsResolver:
    """Applies `extends` to one file's services, following chains across files."""

    def __init__(self, loader: FileLoader, path: str, base_dir: str) -> None:
        self.loader = loader
        self.path = path
        self.base_dir = base_dir
        self.source = display_name(path)
        self.done: dict[str, dict] = {}

    def resolve(self, name: str, chain: tuple, services: dict) -> dict:
        if name in self.done:
            return self.done[name]
        service = services[name] or {}
        extends = service.get("extends")
        link = (self.path, name)
        if link in chain:
            names = " -> ".join(n for _, n in chain + (link,))
            raise InvalidArgument(
                f"{self.source}: services.{name}: extends cycle {names}: break the cycle"
            )
        if not extends:
            self.done[name] = service
            return service
        if isinstance(extends, str):
            extends = {"service": extends}
        base_name = extends["service"]
        if extends.get("file"):
            other = resolve_path(extends["file"], self.base_dir, self.loader.environment.get("HOME"))
            referrer = f"{self.source}: services.{name}.extends.file"
            other_services = self.loader.read(other, referrer).get("services") or {}
            if base_name not in other_services:
                raise InvalidArgument(
                    f"{self.source}: services.{name} extends {base_name!r}, "
                    f"which {display_name(other)} does not define"
                )
            other_resolver = _ExtendsResolver(self.loader, other, os.path.dirname(other))
            base = other_resolver.resolve(base_name, chain + (link,), other_services)
            home = self.loader.environment.get("HOME")
            base = absolutize_service(strip_tags(base), os.path.dirname(other), home)
        else:
            if base_name not in services:
                raise InvalidArgument(
                    f"{self.source}: services.{name} extends undefined service {base_name!r}: "
                    "define it or add extends.file"
                )
            base = strip_tags(self.resolve(base_name, chain + (link,), services))
        local = {key: value for key, value in service.items() if key != "extends"}
        base = {key: value for key, value in base.items() if key != "extends"}  # type: ignore[union-attr]
        result = merge_service(base, local)
        self.done[name] = result
        return result
