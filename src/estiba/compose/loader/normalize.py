"""One service, from whatever syntax the file used to the canonical long form.

The shape produced is the one `estiba.compose.model` documents. Paths are made
absolute against the project directory, `env_file`s are read and merged under
`environment`, and strings that stand for numbers, sizes or booleans (what
interpolation leaves behind) become numbers and booleans.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

from estiba.compose.loader.envfile import parse_env_file
from estiba.compose.loader.merge import list_or_dict
from estiba.compose.loader.paths import is_remote_context, resolve_path
from estiba.compose.loader.syntax import (
    parse_port,
    parse_size,
    parse_volume,
    to_bool,
    to_float,
    to_int,
)
from estiba.errors import InvalidArgument, NotFound

__all__ = ["ServiceContext", "normalize_service"]

_BOOLS = ("tty", "stdin_open", "privileged", "read_only", "init", "oom_kill_disable")
_INTS = (
    "scale", "pids_limit", "cpu_shares", "cpu_count", "cpu_percent", "cpu_period", "cpu_quota",
    "cpu_rt_period", "cpu_rt_runtime", "mem_swappiness", "oom_score_adj",
)
_SIZES = ("mem_limit", "mem_reservation", "memswap_limit", "shm_size")
_STRING_OR_LIST = ("dns", "dns_search", "tmpfs")


@dataclass
class ServiceContext:
    """What normalising a service needs from the project."""

    working_dir: str
    environment: dict[str, str]  # os.environ + .env, for `K` without a value

    @property
    def home(self) -> str | None:
        return self.environment.get("HOME")


def normalize_service(name: str, raw: dict, ctx: ServiceContext) -> dict:
    """The canonical form of the service `name` whose merged, raw definition is `raw`."""
    where = f"services.{name}"
    svc = {key: value for key, value in raw.items() if value is not None and key != "extends"}
    out: dict = dict(svc)

    for key in _BOOLS:
        if key in svc:
            out[key] = to_bool(svc[key], f"{where}.{key}")
    for key in _INTS:
        if key in svc:
            out[key] = to_int(svc[key], f"{where}.{key}")
    for key in _SIZES:
        if key in svc:
            out[key] = _size(svc[key], f"{where}.{key}")
    if "cpus" in svc:
        out["cpus"] = to_float(svc["cpus"], f"{where}.cpus")
    for key in _STRING_OR_LIST:
        if key in svc:
            out[key] = [str(v) for v in _as_list(svc[key])]
    for key in ("command", "entrypoint"):
        if key in svc:
            out[key] = _command(svc[key], f"{where}.{key}")
    if "build" in svc:
        out["build"] = _build(svc["build"], ctx, f"{where}.build")
    if "env_file" in svc:
        files, from_files = _env_files(svc["env_file"], ctx, f"{where}.env_file")
        out["env_file"] = files
    else:
        from_files = {}
    if "environment" in svc or from_files:
        out["environment"] = _environment(svc.get("environment"), from_files, ctx)
    for key in ("labels", "annotations"):
        if key in svc:
            out[key] = _string_map(list_or_dict(svc[key], ""))
    if "label_file" in svc:
        files, labels = _env_files(svc["label_file"], ctx, f"{where}.label_file")
        out["label_file"] = files
        out["labels"] = {**labels, **out.get("labels", {})}
    if "sysctls" in svc:
        out["sysctls"] = _string_map(list_or_dict(svc["sysctls"], ""))
    if "ports" in svc:
        out["ports"] = _ports(svc["ports"], f"{where}.ports")
    if "expose" in svc:
        out["expose"] = [str(p) for p in svc["expose"]]
    if "volumes" in svc:
        out["volumes"] = [
            _volume(v, ctx, f"{where}.volumes[{i}]") for i, v in enumerate(svc["volumes"])
        ]
    if "depends_on" in svc:
        out["depends_on"] = _depends_on(svc["depends_on"], f"{where}.depends_on")
    if "network_mode" in svc and svc.get("networks"):
        raise InvalidArgument(
            f"{where}: network_mode and networks cannot be combined: keep one of them"
        )
    if "networks" in svc:
        out["networks"] = _networks(svc["networks"], f"{where}.networks")
    elif "network_mode" not in svc:
        out["networks"] = {"default": None}
    if "healthcheck" in svc:
        out["healthcheck"] = _healthcheck(svc["healthcheck"], f"{where}.healthcheck")
    if "extra_hosts" in svc:
        out["extra_hosts"] = _extra_hosts(svc["extra_hosts"])
    if "ulimits" in svc:
        out["ulimits"] = _ulimits(svc["ulimits"], f"{where}.ulimits")
    if "deploy" in svc:
        out["deploy"] = _deploy(svc["deploy"], f"{where}.deploy")
    for key in ("secrets", "configs"):
        if key in svc:
            out[key] = [_file_reference(v, f"{where}.{key}") for v in svc[key]]
    if "logging" in svc and isinstance(svc["logging"], dict) and "options" in svc["logging"]:
        options = svc["logging"]["options"] or {}
        out["logging"] = dict(svc["logging"], options=_string_map(options))
    return {key: out[key] for key in sorted(out)}


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _size(value: object, where: str) -> int:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return parse_size(value, where)


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _string_map(mapping: dict) -> dict:
    return {str(k): "" if v is None else _scalar_text(v) for k, v in mapping.items()}


def _command(value: object, where: str) -> list[str]:
    if isinstance(value, list):
        return [_scalar_text(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        raise InvalidArgument(f"{where}: cannot split {value!r} into words: {exc}") from None


def _build(value: object, ctx: ServiceContext, where: str) -> dict:
    build = {"context": value} if isinstance(value, str) else dict(value)  # type: ignore[arg-type]
    context = str(build.get("context") or ".")
    if not is_remote_context(context):
        context = resolve_path(context, ctx.working_dir, ctx.home)
    build["context"] = context
    if "dockerfile" not in build and "dockerfile_inline" not in build:
        build["dockerfile"] = "Dockerfile"
    args = list_or_dict(build.get("args") or {}, None)
    build["args"] = {
        str(k): (ctx.environment.get(str(k)) if v is None else _scalar_text(v)) for k, v in args.items()
    }
    if "labels" in build:
        build["labels"] = _string_map(list_or_dict(build["labels"], ""))
    if "shm_size" in build:
        build["shm_size"] = _size(build["shm_size"], f"{where}.shm_size")
    if "extra_hosts" in build:
        build["extra_hosts"] = _extra_hosts(build["extra_hosts"])
    for key in ("cache_from", "cache_to", "tags", "platforms", "secrets", "ssh"):
        if isinstance(build.get(key), str):
            build[key] = [build[key]]
    if "no_cache" in build:
        build["no_cache"] = to_bool(build["no_cache"], f"{where}.no_cache")
    if "pull" in build:
        build["pull"] = to_bool(build["pull"], f"{where}.pull")
    return {key: build[key] for key in sorted(build)}


def _env_files(value: object, ctx: ServiceContext, where: str) -> tuple[list[str], dict]:
    """The env files' absolute paths (those that exist) and their merged variables."""
    paths: list[str] = []
    variables: dict = {}
    for entry in _as_list(value):
        required = True
        if isinstance(entry, dict):
            required = to_bool(entry.get("required", True), f"{where}.required")
            entry = entry.get("path", "")
        path = resolve_path(str(entry), ctx.working_dir, ctx.home)
        if not os.path.exists(path) and not required:
            continue
        try:
            variables.update(parse_env_file(path, ctx.environment))
        except NotFound:
            raise NotFound(
                f"{where}: env file {path} not found: create it or mark it `required: false`"
            ) from None
        paths.append(path)
    return paths, variables


def _environment(value: object, from_files: dict, ctx: ServiceContext) -> dict:
    """env_file variables overlaid by `environment`; a bare `K` takes the project's value."""
    result: dict = dict(from_files)
    for key, val in list_or_dict(value or {}, None).items():
        key = str(key)
        if val is None:
            result[key] = ctx.environment.get(key)
        else:
            result[key] = _scalar_text(val)
    return result


def _ports(value: list, where: str) -> list[dict]:
    result: list[dict] = []
    for i, item in enumerate(value):
        if isinstance(item, dict):
            result.append(_long_port(item, f"{where}[{i}]"))
        else:
            result.extend(parse_port(item, f"{where}[{i}]"))
    unique: list[dict] = []
    for entry in result:
        if entry not in unique:
            unique.append(entry)
    return unique


def _long_port(item: dict, where: str) -> dict:
    port: dict = {"mode": str(item.get("mode") or "ingress")}
    if item.get("host_ip"):
        port["host_ip"] = str(item["host_ip"])
    if item.get("target") is None:
        raise InvalidArgument(f"{where}: a port needs a target: add target: CONTAINER_PORT")
    port["target"] = to_int(item["target"], f"{where}.target")
    if item.get("published") not in (None, ""):
        port["published"] = _scalar_text(item["published"])
    port["protocol"] = str(item.get("protocol") or "tcp")
    for key in ("name", "app_protocol"):
        if item.get(key):
            port[key] = str(item[key])
    return port


def _volume(value: object, ctx: ServiceContext, where: str) -> dict:
    mount = parse_volume(value, where) if isinstance(value, str) else dict(value)  # type: ignore[arg-type]
    kind = mount.get("type")
    if "target" not in mount or not mount["target"]:
        raise InvalidArgument(f"{where}: a mount needs a target: add target: /path/in/container")
    if kind == "bind":
        if not mount.get("source"):
            raise InvalidArgument(f"{where}: a bind mount needs a source: add source: /host/path")
        mount["source"] = resolve_path(str(mount["source"]), ctx.working_dir, ctx.home)
        if "bind" in mount and mount["bind"] is not None:
            bind = dict(mount["bind"])
            if "create_host_path" in bind:
                bind["create_host_path"] = to_bool(
                    bind["create_host_path"], f"{where}.bind.create_host_path"
                )
            mount["bind"] = bind
    if "read_only" in mount:
        mount["read_only"] = to_bool(mount["read_only"], f"{where}.read_only")
    if isinstance(mount.get("volume"), dict) and "nocopy" in mount["volume"]:
        nocopy = to_bool(mount["volume"]["nocopy"], f"{where}.volume.nocopy")
        mount["volume"] = dict(mount["volume"], nocopy=nocopy)
    if isinstance(mount.get("tmpfs"), dict):
        tmpfs = dict(mount["tmpfs"])
        if "size" in tmpfs:
            tmpfs["size"] = _size(tmpfs["size"], f"{where}.tmpfs.size")
        if isinstance(tmpfs.get("mode"), str):
            tmpfs["mode"] = int(tmpfs["mode"], 8)
        mount["tmpfs"] = tmpfs
    return {k: mount[k] for k in sorted(mount, key=_mount_key_order)}


_MOUNT_ORDER = ("type", "source", "target", "read_only", "consistency", "bind", "volume", "tmpfs", "image")


def _mount_key_order(key: str) -> tuple[int, str]:
    return (_MOUNT_ORDER.index(key) if key in _MOUNT_ORDER else len(_MOUNT_ORDER), key)


def _depends_on(value: object, where: str) -> dict:
    result: dict = {}
    if not isinstance(value, dict):
        value = {name: None for name in value}  # type: ignore[union-attr]
    items = value.items()
    for name, spec in items:
        spec = spec or {}
        result[name] = {
            "condition": str(spec.get("condition") or "service_started"),
            "required": to_bool(spec.get("required", True), f"{where}.{name}.required"),
            "restart": to_bool(spec.get("restart", False), f"{where}.{name}.restart"),
        }
    return result


def _networks(value: object, where: str) -> dict:
    if isinstance(value, list):
        return {str(name): None for name in value}
    result: dict = {}
    for key, spec in value.items():  # type: ignore[union-attr]
        if spec is None:
            result[key] = None
            continue
        spec = dict(spec)
        if "priority" in spec:
            spec["priority"] = to_int(spec["priority"], f"{where}.{key}.priority")
        if isinstance(spec.get("aliases"), list):
            spec["aliases"] = [str(a) for a in spec["aliases"]]
        result[key] = spec
    return result


def _healthcheck(value: dict, where: str) -> dict:
    check = dict(value)
    test = check.get("test")
    if isinstance(test, str):
        check["test"] = ["CMD-SHELL", test]
    elif isinstance(test, list):
        check["test"] = [str(t) for t in test]
    if "retries" in check:
        check["retries"] = to_int(check["retries"], f"{where}.retries")
    if "disable" in check:
        check["disable"] = to_bool(check["disable"], f"{where}.disable")
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if isinstance(check.get(key), (int, float)) and not isinstance(check[key], bool):
            check[key] = f"{check[key]}s"
    return check


def _extra_hosts(value: object) -> list[str]:
    if isinstance(value, dict):
        hosts: list[str] = []
        for host, ips in value.items():
            hosts.extend(f"{host}:{ip}" for ip in _as_list(ips))
        return hosts
    result: list[str] = []
    for entry in value:  # type: ignore[union-attr]
        entry = str(entry)
        host, sep, ip = entry.partition("=")
        result.append(f"{host}:{ip}" if sep else entry)
    return result


def _ulimits(value: dict, where: str) -> dict:
    result: dict = {}
    for name, spec in value.items():
        if isinstance(spec, dict):
            result[name] = {
                "soft": to_int(spec.get("soft"), f"{where}.{name}.soft"),
                "hard": to_int(spec.get("hard"), f"{where}.{name}.hard"),
            }
        else:
            limit = to_int(spec, f"{where}.{name}")
            result[name] = {"soft": limit, "hard": limit}
    return result


def _resources(value: dict, where: str) -> dict:
    result = dict(value)
    if "cpus" in result:
        result["cpus"] = _scalar_text(result["cpus"])
    if "memory" in result:
        result["memory"] = _size(result["memory"], f"{where}.memory")
    if "pids" in result:
        result["pids"] = to_int(result["pids"], f"{where}.pids")
    return result


def _deploy(value: dict, where: str) -> dict:
    deploy = dict(value)
    if "replicas" in deploy:
        deploy["replicas"] = to_int(deploy["replicas"], f"{where}.replicas")
    if isinstance(deploy.get("resources"), dict):
        resources = dict(deploy["resources"])
        for key in ("limits", "reservations"):
            if isinstance(resources.get(key), dict):
                resources[key] = _resources(resources[key], f"{where}.resources.{key}")
        deploy["resources"] = resources
    if isinstance(deploy.get("restart_policy"), dict):
        policy = dict(deploy["restart_policy"])
        if "max_attempts" in policy:
            where_attempts = f"{where}.restart_policy.max_attempts"
            policy["max_attempts"] = to_int(policy["max_attempts"], where_attempts)
        deploy["restart_policy"] = policy
    if "labels" in deploy:
        deploy["labels"] = _string_map(list_or_dict(deploy["labels"], ""))
    return deploy


def _file_reference(value: object, where: str) -> dict:
    if isinstance(value, str):
        return {"source": value}
    ref = dict(value)  # type: ignore[arg-type]
    for key in ("uid", "gid"):
        if key in ref:
            ref[key] = _scalar_text(ref[key])
    if isinstance(ref.get("mode"), str):
        try:
            ref["mode"] = int(ref["mode"], 8)
        except ValueError:
            raise InvalidArgument(
                f"{where}: invalid mode {ref['mode']!r}: use an octal mode like 0440"
            ) from None
    return ref
