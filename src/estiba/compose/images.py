"""A service's image: built (POST /build with the context packed as `estiba build` packs
it), pulled or pushed, with compose v2's rules for which services take part and its
plain progress lines (` web Pulling`, ` web Pulled`).

`ensure_image` is what `up`/`run`/`create` need: the image there, building or pulling it
as the service's `build:`/`pull_policy` say (compose's ensureImagesExists).
"""

from __future__ import annotations

import os
from typing import Any, TextIO

from estiba.cli.client import iter_json, quote_ref
from estiba.compose.model import Project
from estiba.compose.specs import image_name
from estiba.errors import EstibaError, InvalidArgument, NotFound, SystemFault

__all__ = [
    "BuildOptions",
    "build_service",
    "ensure_image",
    "image_id",
    "pull_image",
    "push_image",
]


class BuildOptions:
    """`compose build` flags that reach POST /build."""

    def __init__(self, *, no_cache: bool = False, pull: bool = False, quiet: bool = False,
                 build_args: dict[str, str | None] | None = None) -> None:
        self.no_cache = no_cache
        self.pull = pull
        self.quiet = quiet
        self.build_args = build_args or {}


def image_id(client: Any, name: str) -> str | None:
    """The local image's ID; None when the engine does not have it."""
    try:
        return client.get(f"/images/{quote_ref(name)}/json").get("Id")
    except NotFound:
        return None


def _build_params(project: Project, service_name: str, build: dict, options: BuildOptions,
                  dockerfile_name: str) -> dict:
    args = {k: v for k, v in (build.get("args") or {}).items() if v is not None}
    for key, value in options.build_args.items():
        if value is None:
            value = project.environment.get(key, os.environ.get(key))
        if value is not None:
            args[key] = value
    labels = build.get("labels") or {}
    if isinstance(labels, list):
        labels = {k: v for k, _, v in (item.partition("=") for item in labels)}
    return {
        "t": image_name(project, service_name),
        "dockerfile": dockerfile_name,
        "buildargs": {k: str(v) for k, v in args.items()} or None,
        "labels": {k: str(v) for k, v in labels.items()} or None,
        "target": build.get("target") or None,
        "nocache": options.no_cache or None,
        "pull": options.pull or None,
        "q": options.quiet or None,
        "networkmode": build.get("network") or None,
        "extrahosts": ",".join(_host_entries(build.get("extra_hosts"))) or None,
        "shmsize": build.get("shm_size") or None,
    }


def _host_entries(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{host}:{address}" for host, address in value.items()]
    return [str(item) for item in value or []]


def build_service(client: Any, project: Project, service_name: str, *, out: TextIO | None,
                  options: BuildOptions | None = None) -> str:
    """Build the service's image (tagged as its `image:` or `<project>-<service>`) and
    return its ID; the builder's output goes to `out` unless quiet."""
    from estiba.build.packing import pack_context

    options = options or BuildOptions()
    service = project.services.get(service_name)
    if service is None:
        raise NotFound(f"no such service: {service_name}")
    build = service.get("build")
    if not build:
        raise InvalidArgument(f"service {service_name!r} has no build section: nothing to build")
    context = build.get("context") or project.working_dir
    if "://" in context or context.startswith("git@"):
        raise InvalidArgument(f"service {service_name!r}: remote build contexts are not supported; "
                              "use a local directory")
    if build.get("dockerfile_inline") is not None:
        body, dockerfile_name = pack_context(context, dockerfile_text=build["dockerfile_inline"].encode())
    else:
        dockerfile = build.get("dockerfile") or "Dockerfile"
        body, dockerfile_name = pack_context(context, os.path.join(context, dockerfile))
    params = _build_params(project, service_name, build, options, dockerfile_name)
    built = ""
    try:
        response = client.open("POST", "/build", params, body, {"Content-Type": "application/x-tar"})
        for message in iter_json(response):
            if message.get("error") or message.get("errorDetail"):
                detail = message.get("errorDetail") or {}
                text = (message.get("error") or detail.get("message", "")).strip()
                raise SystemFault(f"failed to build service {service_name!r}: {text}")
            aux = message.get("aux")
            if isinstance(aux, dict) and aux.get("ID"):
                built = aux["ID"]
            if message.get("stream") and out is not None and not options.quiet:
                out.write(message["stream"])
                out.flush()
    finally:
        body.close()
    return built or image_id(client, params["t"]) or ""


def pull_image(client: Any, name: str) -> None:
    """POST /images/create for `name` (tag latest when none); raises the stream's error."""
    from estiba.cli.commands._transfer import auth_header, stream_error
    from estiba.cli.commands.pull import split_name

    repo, tag = split_name(name)
    params = {"fromImage": repo, "tag": tag or "latest"}
    if tag.startswith("sha256:"):
        params = {"fromImage": f"{repo}@{tag}"}
    response = client.open("POST", "/images/create", params, None, auth_header(repo))
    for message in iter_json(response):
        if message.get("error") or message.get("errorDetail"):
            detail = message.get("errorDetail") or {}
            raise stream_error(detail.get("message") or message.get("error", ""))


def push_image(client: Any, name: str) -> None:
    from estiba.cli.commands._transfer import auth_header, stream_error
    from estiba.cli.commands.pull import split_name

    repo, tag = split_name(name)
    response = client.open("POST", f"/images/{quote_ref(repo)}/push", {"tag": tag or "latest"},
                           None, auth_header(repo))
    for message in iter_json(response):
        if message.get("error") or message.get("errorDetail"):
            detail = message.get("errorDetail") or {}
            raise stream_error(detail.get("message") or message.get("error", ""))


def ensure_image(client: Any, project: Project, service_name: str, *, build: bool | None = None,
                 pull: str | None = None, progress: Any = None, out: TextIO | None = None) -> str:
    """The service's image ID, building or pulling it first when needed: `build=True`
    (--build) always builds a buildable service, `build=False` (--no-build) never does;
    otherwise a missing image is built when the service can be, pulled when not
    (pull_policy always/never/missing/build as compose; `pull`, `up --pull`, overrides it)."""
    service = project.services[service_name]
    name = image_name(project, service_name)
    policy = pull or service.get("pull_policy") or "missing"
    buildable = bool(service.get("build"))
    if buildable and build is False and not service.get("image") and image_id(client, name) is None:
        raise NotFound(f"image {name} of service {service_name} is not built and --no-build was given",
                       hint="build it with `estiba compose build` or drop --no-build")
    if buildable and (build or policy == "build"):
        if build is not False:
            return _built(client, project, service_name, progress, out)
    present = image_id(client, name)
    if policy == "always":
        _pulled(client, name, service_name, progress, required=not buildable and present is None)
        present = image_id(client, name) or present
    if present:
        return present
    if policy == "never":
        raise NotFound(f"image {name} of service {service_name} is not here and pull_policy is never",
                       hint="build or pull it first")
    if buildable and build is not False:
        return _built(client, project, service_name, progress, out)
    _pulled(client, name, service_name, progress, required=True)
    found = image_id(client, name)
    if found is None:
        raise NotFound(f"no such image: {name}")
    return found


def _built(client: Any, project: Project, service_name: str, progress: Any, out: TextIO | None) -> str:
    if progress is not None:
        progress.event("", service_name, "Building")
    built = build_service(client, project, service_name, out=out)
    if progress is not None:
        progress.event("", service_name, "Built")
    return built


def _pulled(client: Any, name: str, service_name: str, progress: Any, *, required: bool) -> None:
    if progress is not None:
        progress.event("", service_name, "Pulling")
    try:
        pull_image(client, name)
    except EstibaError as exc:
        if required:
            if progress is not None:
                progress.event("", service_name, "Error")
            raise
        if progress is not None:
            progress.warn(f"{service_name}: pull failed, using the local or built image: {exc}")
        return
    if progress is not None:
        progress.event("", service_name, "Pulled")
