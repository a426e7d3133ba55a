"""`load_project`: compose files in, the resolved `Project` out.

    find files -> project directory -> environment (.env) -> each file (read,
    interpolate, validate, include, extends) -> merge files in order -> project name
    -> profiles -> normalise services and resources -> check references
"""

from __future__ import annotations

import os
from collections.abc import Callable

from estiba.compose.loader.discovery import find_files, normalize_project_name, valid_project_name
from estiba.compose.loader.envfile import parse_env_file
from estiba.compose.loader.files import FileLoader, display_name
from estiba.compose.loader.merge import merge
from estiba.compose.loader.normalize import ServiceContext, normalize_service
from estiba.compose.loader.profiles import implicit_dependencies, select_services
from estiba.compose.loader.resources import check_references, normalize_resources
from estiba.compose.loader.yamlfile import strip_tags
from estiba.compose.model import Project
from estiba.errors import EstibaError, InvalidArgument

__all__ = ["load_project"]


def load_project(
    files: list[str] | None = None,
    *,
    project_directory: str | None = None,
    project_name: str | None = None,
    env_files: list[str] | None = None,
    profiles: list[str] | None = None,
    services: list[str] | None = None,
    environ: dict[str, str] | None = None,
    interpolate: bool = True,
) -> Project:
    """The project the compose `files` describe (found as compose v2 does when None).

    `environ` defaults to os.environ; `.env` in the project directory (or `env_files`)
    adds to it without overriding. Unset variables produce `Project.warnings`.
    """
    environ = dict(os.environ if environ is None else environ)
    warnings: list[str] = []
    cwd = os.getcwd()
    start_dir = os.path.abspath(project_directory) if project_directory else cwd

    config_files = _config_files(files, start_dir, env_files, environ, warnings)
    if project_directory:
        working_dir = os.path.abspath(project_directory)
    else:
        working_dir = cwd if config_files[0] == "-" else os.path.dirname(config_files[0])

    environment = _environment(working_dir, env_files, environ)
    name = None
    if project_name:
        name = valid_project_name(project_name, "-p/--project-name")
    elif environment.get("COMPOSE_PROJECT_NAME"):
        name = valid_project_name(environment["COMPOSE_PROJECT_NAME"], "COMPOSE_PROJECT_NAME")
    if name:
        environment["COMPOSE_PROJECT_NAME"] = name

    loader = FileLoader(environment, _warn_once(warnings), interpolate, stdin_dir=cwd)
    model: dict = {}
    for index, path in enumerate(config_files):
        loaded = loader.load(path)
        if "version" in loaded:
            warnings.append(
                f"{display_name(path)}: the attribute `version` is obsolete, it will be ignored, "
                "please remove it to avoid potential confusion"
            )
        model = strip_tags(loaded) if index == 0 else merge(model, loaded)  # type: ignore[assignment]

    if not name:
        name = _name_from_model(model, working_dir)

    active = list(profiles or [])
    if not active and environment.get("COMPOSE_PROFILES"):
        active = [p.strip() for p in environment["COMPOSE_PROFILES"].split(",") if p.strip()]
    raw_services = {key: value or {} for key, value in (model.get("services") or {}).items()}
    selected, set_aside = select_services(raw_services, active, list(services or []))

    ctx = ServiceContext(working_dir, environment)
    enabled = {key: normalize_service(key, selected[key], ctx) for key in sorted(selected)}
    disabled = {key: _best_effort(key, svc, ctx) for key, svc in set_aside.items()}
    for svc in enabled.values():
        _add_implicit_dependencies(svc)
    _drop_optional_dependencies(enabled, warnings)
    resources = normalize_resources(model, enabled, name, working_dir, environment.get("HOME"))
    check_references(enabled, resources, disabled)

    config = {"name": name, "services": enabled, **resources}
    project = Project(
        name=name,
        working_dir=working_dir,
        config_files=config_files,
        config=config,
        disabled=disabled,
        environment=environment,
    )
    project.warnings.extend(warnings)
    return project


def _config_files(
    files: list[str] | None,
    start_dir: str,
    env_files: list[str] | None,
    environ: dict[str, str],
    warnings: list[str],
) -> list[str]:
    """The files given, else COMPOSE_FILE (environ or .env), else the discovered ones."""
    if not files:
        compose_file = environ.get("COMPOSE_FILE")
        if not compose_file:
            compose_file = _read_env_files(_env_paths(start_dir, env_files), environ).get("COMPOSE_FILE")
        if compose_file:
            separator = environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
            files = [os.path.join(start_dir, f) for f in compose_file.split(separator) if f]
    if not files:
        return find_files(start_dir, warnings)
    return [f if f == "-" else os.path.abspath(f) for f in files]


def _name_from_model(model: dict, working_dir: str) -> str:
    """The top-level `name:` (which must be valid), else the directory's name made valid."""
    if model.get("name"):
        return valid_project_name(str(model["name"]), "the top-level name: key")
    name = normalize_project_name(os.path.basename(working_dir))
    if not name:
        raise InvalidArgument(f"cannot derive a project name from {working_dir!r}: set one with -p or name:")
    return name


def _read_env_files(paths: list[str], environ: dict[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for path in paths:
        values.update(parse_env_file(path, lambda key: environ.get(key, values.get(key))))
    return values


def _env_paths(directory: str, env_files: list[str] | None) -> list[str]:
    """--env-file paths (relative ones against the project directory, as compose-go
    does), else the directory's .env when there is one."""
    if env_files:
        return [os.path.normpath(os.path.join(directory, p)) for p in env_files]
    default = os.path.join(directory, ".env")
    return [default] if os.path.isfile(default) else []


def _environment(
    working_dir: str, env_files: list[str] | None, environ: dict[str, str]
) -> dict[str, str]:
    """environ over the .env file(s): what interpolation and `K`-only variables read."""
    return {**_read_env_files(_env_paths(working_dir, env_files), environ), **environ}


def _warn_once(warnings: list[str]) -> Callable[[str], None]:
    seen: set[str] = set()

    def warn(name: str) -> None:
        if name not in seen:
            seen.add(name)
            warnings.append(f'The "{name}" variable is not set. Defaulting to a blank string.')

    return warn


def _best_effort(name: str, raw: dict, ctx: ServiceContext) -> dict:
    """A disabled service normalised when it can be; as written when it cannot."""
    try:
        return normalize_service(name, raw, ctx)
    except EstibaError:
        return raw


def _add_implicit_dependencies(service: dict) -> None:
    """links, network_mode service:X and volumes_from become depends_on, as in compose."""
    for name in implicit_dependencies(service):
        deps = service.setdefault("depends_on", {})
        deps.setdefault(name, {"condition": "service_started", "required": True, "restart": True})
    if "depends_on" in service:  # keep the service's keys sorted
        items = sorted(service.items())
        service.clear()
        service.update(items)


def _drop_optional_dependencies(services: dict, warnings: list[str]) -> None:
    """`required: false` dependencies on services outside the project are left out."""
    for name, svc in services.items():
        deps = svc.get("depends_on")
        if not deps:
            continue
        for dep in [d for d, spec in deps.items() if d not in services and not spec["required"]]:
            warnings.append(
                f'service "{name}": optional dependency "{dep}" is not in the project, ignored'
            )
            del deps[dep]
        if not deps:
            del svc["depends_on"]
