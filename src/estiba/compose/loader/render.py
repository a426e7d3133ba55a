"""`render_config`: the canonical model printed as `docker compose config` prints it.

Literal `$` in values are written as `$$`, so that loading the output again (which
interpolates) gives back the same model; `deploy.resources` memory sizes are written as
strings of bytes, as the schema wants them.
"""

from __future__ import annotations

import json

import yaml

from estiba.compose.model import Project
from estiba.errors import InvalidArgument

__all__ = ["render_config"]


def _escape(value: object) -> object:
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {key: _escape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_escape(item) for item in value]
    return value


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key as compose prints them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_str(value)


_Dumper.add_representer(str, _str_representer)


def _byte_strings(config: dict) -> dict:
    """deploy.resources memory as a string of bytes: the schema (and compose) want strings."""
    for service in config.get("services", {}).values():
        resources = (service.get("deploy") or {}).get("resources") or {}
        for kind in ("limits", "reservations"):
            if isinstance((resources.get(kind) or {}).get("memory"), int):
                resources[kind]["memory"] = str(resources[kind]["memory"])
    return config


def render_config(project: Project, fmt: str = "yaml", *, escape: bool = True) -> str:
    """The project's canonical model as YAML or JSON text. `escape=False` for a model
    loaded without interpolation (config --no-interpolate): its `$` are still as written."""
    config = _byte_strings(_escape(project.config) if escape else project.config)  # type: ignore[arg-type]
    if fmt == "json":
        return json.dumps(config, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.dump(
            config,
            Dumper=_Dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=1 << 16,
        )
    raise InvalidArgument(f"unsupported format {fmt!r}: use yaml or json")
