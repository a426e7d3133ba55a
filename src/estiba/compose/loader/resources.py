"""Top-level networks, volumes, secrets and configs, and the references services make to them.

Networks and volumes get their engine names (`<project>_<key>` unless `name:` is given
or they are external); the `default` network appears when a service uses it. Every
reference a service makes (networks, named volumes, secrets, configs, other services)
must resolve, or loading fails naming both ends.
"""

from __future__ import annotations

from estiba.compose.loader.merge import list_or_dict
from estiba.compose.loader.paths import resolve_path
from estiba.compose.loader.syntax import to_bool
from estiba.errors import InvalidArgument

__all__ = ["check_references", "normalize_resources"]

_NETWORK_BOOLS = ("internal", "attachable", "enable_ipv6", "enable_ipv4")


def _engine_name(project: str, key: str, spec: dict) -> str:
    if spec.get("name"):
        return str(spec["name"])
    if spec.get("external"):
        return key
    return f"{project}_{key}"


def _common(kind: str, key: str, raw: object, project: str) -> dict:
    spec = dict(raw or {})  # type: ignore[arg-type]
    where = f"{kind}.{key}"
    external = spec.get("external")
    if isinstance(external, dict):  # legacy `external: {name: x}`
        if external.get("name") and not spec.get("name"):
            spec["name"] = external["name"]
        external = True
    if external is not None:
        spec["external"] = to_bool(external, f"{where}.external")
        if not spec["external"]:
            del spec["external"]
    if "labels" in spec:
        labels = list_or_dict(spec["labels"], "")
        spec["labels"] = {str(k): "" if v is None else str(v) for k, v in labels.items()}
    if "driver_opts" in spec and isinstance(spec["driver_opts"], dict):
        spec["driver_opts"] = {str(k): str(v) for k, v in spec["driver_opts"].items()}
    spec["name"] = _engine_name(project, key, spec)
    return spec


def normalize_resources(
    model: dict, services: dict, project: str, working_dir: str, home: str | None
) -> dict:
    """The canonical top-level `networks`, `volumes`, `secrets` and `configs` of `model`."""
    out: dict = {}
    networks = {
        key: _common("networks", key, spec, project)
        for key, spec in (model.get("networks") or {}).items()
    }
    for key, spec in networks.items():
        for flag in _NETWORK_BOOLS:
            if flag in spec:
                spec[flag] = to_bool(spec[flag], f"networks.{key}.{flag}")
    uses_default = any("default" in (svc.get("networks") or {}) for svc in services.values())
    if uses_default and "default" not in networks:
        networks["default"] = {"name": f"{project}_default"}
    if networks:
        out["networks"] = {key: _ordered(networks[key]) for key in sorted(networks)}
    volumes = {
        key: _common("volumes", key, spec, project) for key, spec in (model.get("volumes") or {}).items()
    }
    if volumes:
        out["volumes"] = {key: _ordered(volumes[key]) for key in sorted(volumes)}
    for kind in ("secrets", "configs"):
        items: dict = {}
        for key, raw in (model.get(kind) or {}).items():
            spec = _common(kind, key, raw, project)
            if spec.get("file"):
                spec["file"] = resolve_path(str(spec["file"]), working_dir, home)
            sources = [s for s in ("file", "environment", "content") if s in spec]
            if not spec.get("external") and not sources:
                raise InvalidArgument(
                    f"{kind}.{key}: give it a file, an environment variable, content, or external: true"
                )
            items[key] = _ordered(spec)
        if items:
            out[kind] = {key: items[key] for key in sorted(items)}
    return out


def _ordered(spec: dict) -> dict:
    return {"name": spec["name"], **{k: spec[k] for k in sorted(spec) if k != "name"}}


def check_references(services: dict, resources: dict, disabled: dict) -> None:
    """Raises InvalidArgument for the first reference a service makes that does not resolve."""
    for name, svc in services.items():
        where = f'service "{name}"'
        for net in svc.get("networks") or {}:
            if net not in resources.get("networks", {}):
                raise InvalidArgument(
                    f"{where} refers to undefined network {net}: define it under the top-level networks key"
                )
        for mount in svc.get("volumes") or []:
            if mount.get("type") == "volume" and mount.get("source"):
                if mount["source"] not in resources.get("volumes", {}):
                    raise InvalidArgument(
                        f"{where} refers to undefined volume {mount['source']}: "
                        "define it under the top-level volumes key"
                    )
        for kind in ("secrets", "configs"):
            for ref in svc.get(kind) or []:
                if ref["source"] not in resources.get(kind, {}):
                    raise InvalidArgument(
                        f"{where} refers to undefined {kind[:-1]} {ref['source']}: "
                        f"define it under the top-level {kind} key"
                    )
        for link in svc.get("links") or []:
            target = str(link).split(":", 1)[0]
            if target not in services:
                _missing_service(where, "links to", target, disabled)
        mode = str(svc.get("network_mode") or "")
        for prefix, verb in (("service:", "uses the network of"),):
            if mode.startswith(prefix) and mode[len(prefix):] not in services:
                _missing_service(where, verb, mode[len(prefix):], disabled)
        for source in svc.get("volumes_from") or []:
            target = str(source).split(":", 1)[0]
            if not target.startswith("container") and target not in services:
                _missing_service(where, "takes volumes from", target, disabled)
        for dep, spec in (svc.get("depends_on") or {}).items():
            if dep not in services and spec.get("required", True):
                _missing_service(where, "depends on", dep, disabled)


def _missing_service(where: str, verb: str, target: str, disabled: dict) -> None:
    if target in disabled:
        profiles = ", ".join(disabled[target].get("profiles") or [])
        raise InvalidArgument(
            f'{where} {verb} service "{target}", which is disabled: '
            f"activate one of its profiles ({profiles}) or name it on the command line"
        )
    raise InvalidArgument(
        f'{where} {verb} undefined service "{target}": define it or remove the reference'
    )
