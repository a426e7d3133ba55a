"""Merging compose models: several -f files, an `extends` base and its service.

The compose specification's merge rules: mappings merge recursively, later scalars
win, sequences append, except that `command`, `entrypoint` and `healthcheck.test` are
replaced; `ports` are de-duplicated, `volumes`, `secrets` and `configs` are unique by
target, `environment`, `labels` and other list-or-mapping attributes merge by key.
`!reset` drops the earlier value and `!override` replaces it outright.

`merge(base, override)` takes a `base` without merge tags and returns a result
without them.
"""

from __future__ import annotations

from estiba.compose.loader.syntax import parse_port, parse_volume
from estiba.compose.loader.yamlfile import Override, Reset, strip_tags

__all__ = ["list_or_dict", "merge", "merge_service"]

_REPLACED = {"command", "entrypoint"}
_BY_KEY = {"environment": None, "labels": "", "annotations": "", "sysctls": ""}
_STRING_OR_LIST = {"dns", "dns_search", "tmpfs", "env_file", "label_file"}
_UNIQUE_LISTS = {
    "dns", "dns_search", "dns_opt", "expose", "cap_add", "cap_drop", "security_opt", "tmpfs",
    "group_add", "profiles", "external_links", "links", "volumes_from", "device_cgroup_rules",
    "extra_hosts", "devices", "env_file", "label_file",
}
_TOP_RESOURCES = ("networks", "volumes", "secrets", "configs", "models")


def list_or_dict(value: object, missing: object) -> dict:
    """A list of "K=V" strings or a mapping as a mapping; "K" alone maps to `missing`."""
    if isinstance(value, dict):
        return dict(value)
    result: dict = {}
    for item in value or []:
        key, sep, val = str(item).partition("=")
        result[key] = val if sep else missing
    return result


def _as_list(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _unique(items: list) -> list:
    seen: list = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _keyed(items: list, key) -> list:
    """`items` with later entries replacing earlier ones of the same key, first position kept."""
    order: list = []
    by_key: dict = {}
    for item in items:
        k = key(item)
        if k not in by_key:
            order.append(k)
        by_key[k] = item
    return [by_key[k] for k in order]


def _volume_entry(item: object) -> object:
    return parse_volume(item, "volumes") if isinstance(item, str) else item


def _volume_key(item: object) -> object:
    return item.get("target") if isinstance(item, dict) else item


def _secret_entry(item: object) -> object:
    return {"source": item} if isinstance(item, str) else item


def _secret_key(item: object) -> object:
    if isinstance(item, dict):
        return item.get("target") or item.get("source")
    return item


def _port_entries(items: list) -> list:
    result: list = []
    for item in items:
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            result.extend(parse_port(item, "ports"))
        else:
            result.append(item)
    return result


def _depends_on(value: object) -> dict:
    if isinstance(value, dict):
        return value
    return {name: {"condition": "service_started", "required": True} for name in value or []}


def _networks(value: object) -> dict:
    if isinstance(value, dict):
        return value
    return {name: None for name in value or []}


def _extra_hosts(value: object) -> list:
    if isinstance(value, dict):
        hosts: list = []
        for host, ips in value.items():
            hosts.extend(f"{host}:{ip}" for ip in _as_list(ips))
        return hosts
    return _as_list(value)


def merge(base: object, override: object, path: str = "") -> object:
    """`override` merged onto `base` (the deeper-nested rules chosen by `path`)."""
    if isinstance(override, Override):
        return strip_tags(override.value)
    if isinstance(base, dict) and isinstance(override, dict):
        if path == "services":
            return _merge_mapping(base, override, lambda key, b, o: merge_service(b or {}, o))
        if path in _TOP_RESOURCES:
            return _merge_mapping(base, override, lambda key, b, o: merge(b or {}, o or {}, ""))
        return _merge_mapping(
            base, override, lambda key, b, o: merge(b, o, f"{path}.{key}" if path else key)
        )
    if isinstance(base, list) and isinstance(override, list):
        return base + strip_tags(override)  # type: ignore[operator]
    return strip_tags(override)


def _merge_mapping(base: dict, override: dict, merge_value) -> dict:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, Reset):
            result.pop(key, None)
        elif isinstance(value, Override):
            result[key] = strip_tags(value.value)
        elif key in result and value is None:
            continue  # `key:` with no value leaves the earlier value, as compose-go does
        elif key in result and result[key] is not None:
            result[key] = merge_value(key, result[key], value)
        else:
            result[key] = strip_tags(value)
    return result


def merge_service(base: dict, override: dict) -> dict:
    """The service `override` merged onto the service `base`."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, Reset):
            result.pop(key, None)
            continue
        if isinstance(value, Override):
            result[key] = strip_tags(value.value)
            continue
        if key in result and value is None:
            continue  # `key:` with no value leaves the earlier value, as compose-go does
        if key not in result or result[key] is None:
            result[key] = strip_tags(value)
            continue
        result[key] = _merge_attribute(key, result[key], value)
    return result


def _merge_attribute(key: str, base: object, override: object) -> object:
    if key in _REPLACED:
        return strip_tags(override)
    if key in _BY_KEY:
        missing = _BY_KEY[key]
        return merge(list_or_dict(base, missing), list_or_dict(strip_tags(override), missing))
    if key == "ports":
        return _unique(_port_entries(_as_list(base)) + _port_entries(_as_list(strip_tags(override))))
    if key == "volumes":
        items = [_volume_entry(v) for v in _as_list(base) + _as_list(strip_tags(override))]
        return _keyed(items, _volume_key)
    if key in ("secrets", "configs"):
        items = [_secret_entry(v) for v in _as_list(base) + _as_list(strip_tags(override))]
        return _keyed(items, _secret_key)
    if key == "depends_on":
        return merge(_depends_on(base), _depends_on(override))
    if key == "networks":
        return merge(_networks(base), _networks(override), "service_networks")
    if key == "extra_hosts":
        return _unique(_extra_hosts(base) + _extra_hosts(strip_tags(override)))
    if key == "build":
        return _merge_build(base, override)
    if key == "healthcheck" and isinstance(base, dict) and isinstance(override, dict):
        if "test" in override and not isinstance(override["test"], Reset):
            override = dict(override, test=Override(override["test"]))  # test is replaced
        return merge(base, override, key)
    if key == "logging" and isinstance(base, dict) and isinstance(override, dict):
        if override.get("driver") not in (None, base.get("driver")):
            return strip_tags(override)
        return merge(base, override)
    if key == "expose":
        return _unique([str(p) for p in _as_list(base) + _as_list(strip_tags(override))])
    if key in _STRING_OR_LIST or key in _UNIQUE_LISTS:
        return _unique(_as_list(base) + _as_list(strip_tags(override)))
    return merge(base, override, key)


def _merge_build(base: object, override: object) -> object:
    base_map = {"context": base} if isinstance(base, str) else dict(base)  # type: ignore[arg-type]
    over_map = {"context": override} if isinstance(override, str) else override
    result = dict(base_map)
    for key, value in over_map.items():  # type: ignore[union-attr]
        if isinstance(value, Reset):
            result.pop(key, None)
        elif key in ("args", "labels") and key in result and not isinstance(value, Override):
            missing = None if key == "args" else ""
            result[key] = merge(
                list_or_dict(result[key], missing), list_or_dict(strip_tags(value), missing)
            )
        elif key in result and not isinstance(value, Override):
            result[key] = merge(result[key], value, f"build.{key}")
        else:
            result[key] = strip_tags(value)
    return result
