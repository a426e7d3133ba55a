"""The daemon's options: defaults, then /etc/estiba/daemon.json, then command-line flags.

The file is JSON with dockerd's key names (`data-root`, `exec-root`, `hosts`, `group`,
`default-runtime`, `log-level`, `registry-mirrors`, `insecure-registries`, and for
networking `default-address-pools`, `bip`, `bridge`, `mtu`; plus estiba's own `nftables-table`);
an unknown key or a malformed value is an error, never silently ignored, so a typo cannot
leave the daemon running with defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from estiba.errors import InvalidArgument

__all__ = ["DEFAULT_CONFIG_FILE", "DaemonConfig", "load_config", "socket_path"]

DEFAULT_CONFIG_FILE = Path("/etc/estiba/daemon.json")
LOG_LEVELS = ("debug", "info", "warn", "error", "fatal")


@dataclass(frozen=True)
class DaemonConfig:
    data_root: Path = Path("/var/lib/estiba")
    exec_root: Path = Path("/run/estiba")
    host: str = "unix:///run/estiba/estiba.sock"
    group: str | None = None
    default_runtime: str = "estiba"
    log_level: str = "info"
    registry_mirrors: tuple[str, ...] = ()
    insecure_registries: tuple[str, ...] = ()
    # Networking: pools for networks without --subnet ((base CIDR, subnet size) pairs, as
    # dockerd's [{"base": ..., "size": ...}]), the default bridge's address (gateway/prefix,
    # "172.30.0.1/24") and device name; empty: estiba's defaults.
    default_address_pools: tuple[tuple[str, int], ...] = ()
    bip: str = ""
    bridge: str = ""
    nftables_table: str = ""  # estiba's own key: our tables' name ("estiba", "estiba-<hex>")
    # Of bridges and veths on networks without com.docker.network.driver.mtu; not Docker's
    # 1500 (see estiba.network.model.DEFAULT_MTU).
    mtu: int = 65535

    @property
    def socket(self) -> Path:
        return socket_path(self.host)


# daemon.json key -> field name
_FILE_KEYS = {
    "data-root": "data_root",
    "exec-root": "exec_root",
    "hosts": "host",
    "host": "host",
    "group": "group",
    "default-runtime": "default_runtime",
    "log-level": "log_level",
    "registry-mirrors": "registry_mirrors",
    "insecure-registries": "insecure_registries",
    "default-address-pools": "default_address_pools",
    "bip": "bip",
    "bridge": "bridge",
    "nftables-table": "nftables_table",
    "mtu": "mtu",
}
_LIST_FIELDS = frozenset({"registry_mirrors", "insecure_registries"})


def socket_path(host: str) -> Path:
    """The socket of a `unix:///path` host (a bare absolute path is accepted too)."""
    if host.startswith("unix://"):
        host = host[len("unix://") :]
    elif "://" in host:
        raise InvalidArgument(
            f"unsupported host {host!r}", hint="use unix:///path/to/socket (TCP needs mutual TLS)"
        )
    if not host.startswith("/"):
        raise InvalidArgument(f"invalid host {host!r}", hint="the socket path must be absolute")
    return Path(host)


def load_config(
    path: Path | None = DEFAULT_CONFIG_FILE,
    overrides: Mapping[str, Any] | None = None,
    *,
    required: bool = False,
) -> DaemonConfig:
    """Defaults, then the file at `path` (absent is fine unless `required`), then
    `overrides` (field name -> value; None values are ignored)."""
    config = DaemonConfig()
    if path is not None:
        config = _apply(config, _read_file(Path(path), required=required), str(path))
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    return _apply(config, given, "the command line")


def _read_file(path: Path, *, required: bool) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        if required:
            raise InvalidArgument(f"config file {path} not found") from None
        return {}
    except OSError as exc:
        raise InvalidArgument(f"cannot read config file {path}: {exc.strerror}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"invalid JSON in {path}: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(data, dict):
        raise InvalidArgument(f"invalid config file {path}: expected a JSON object")
    unknown = sorted(set(data) - set(_FILE_KEYS))
    if unknown:
        raise InvalidArgument(
            f"unknown option{'s' if len(unknown) > 1 else ''} in {path}: {', '.join(unknown)}",
            hint=f"known options are {', '.join(sorted(_FILE_KEYS))}",
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "hosts":
            if not (isinstance(value, list) and len(value) == 1):
                raise InvalidArgument(f"invalid hosts in {path}: give a list of one unix socket")
            value = value[0]
        values[_FILE_KEYS[key]] = value
    return values


def _apply(config: DaemonConfig, values: Mapping[str, Any], where: str) -> DaemonConfig:
    known = {f.name for f in fields(DaemonConfig)}
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if name not in known:
            raise InvalidArgument(f"unknown option {name!r} in {where}")
        if name in _LIST_FIELDS:
            changes[name] = _registry_list(name, value, where)
            continue
        if name == "default_address_pools":
            changes[name] = _address_pools(value, where)
            continue
        if name in ("bip", "bridge", "nftables_table"):
            changes[name] = _network_setting(name, value, where)
            continue
        if name == "mtu":
            from estiba.network.model import parse_mtu

            changes[name] = parse_mtu(value, f"option mtu of {where}", digits=False)
            continue
        if not isinstance(value, str) or not value:
            raise InvalidArgument(f"invalid {name.replace('_', '-')} in {where}: {value!r}")
        if name in ("data_root", "exec_root"):
            if not value.startswith("/"):
                raise InvalidArgument(f"{name.replace('_', '-')} must be an absolute path: {value}")
            changes[name] = Path(value)
        elif name == "log_level":
            if value not in LOG_LEVELS:
                raise InvalidArgument(
                    f"invalid log-level {value!r} in {where}", hint=f"use one of {LOG_LEVELS}"
                )
            changes[name] = value
        else:
            changes[name] = value
    result = replace(config, **changes)
    socket_path(result.host)  # checked now, not when serving
    return result


def _registry_list(name: str, value: Any, where: str) -> tuple[str, ...]:
    """registry-mirrors (URLs) and insecure-registries (host[:port] or CIDR), checked."""
    from estiba.distribution.registries import check_insecure_entry, check_mirror

    key = name.replace("_", "-")
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"invalid {key} in {where}: give a list of strings")
    check = check_mirror if name == "registry_mirrors" else check_insecure_entry
    return tuple(check(v) for v in value)


def _address_pools(value: Any, where: str) -> tuple[tuple[str, int], ...]:
    """default-address-pools: [{"base": "10.10.0.0/16", "size": 24}, ...], checked."""
    from estiba.network.ipam import PoolSpec, parse_network

    hint = 'give a list like [{"base": "10.10.0.0/16", "size": 24}]'
    if not isinstance(value, (list, tuple)) or not value:
        raise InvalidArgument(f"invalid default-address-pools in {where}: {hint}")
    pools = []
    for entry in value:
        if isinstance(entry, (list, tuple)) and len(entry) == 2:
            entry = {"base": entry[0], "size": entry[1]}
        if (not isinstance(entry, dict) or set(entry) != {"base", "size"}
                or not isinstance(entry["base"], str) or type(entry["size"]) is not int):
            raise InvalidArgument(f"invalid default-address-pools entry {entry!r} in {where}: {hint}")
        PoolSpec(parse_network(entry["base"], "address pool base"), entry["size"])  # checks
        pools.append((entry["base"], entry["size"]))
    return tuple(pools)


def _network_setting(name: str, value: Any, where: str) -> str:
    """bip: the default bridge's gateway address with its prefix; bridge: its device name."""
    if not isinstance(value, str) or not value:
        raise InvalidArgument(f"invalid {name.replace('_', '-')} in {where}: {value!r}")
    if name == "nftables_table":
        import re

        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,27}", value):
            raise InvalidArgument(f"invalid nftables-table {value!r} in {where}: use up to 28 lower-case "
                                  "letters, digits, - and _, starting with a letter")
        return value
    if name == "bridge":
        if len(value) > 15 or "/" in value or value.strip() != value:
            raise InvalidArgument(f"invalid bridge {value!r} in {where}: a device name of 15 characters at most")
        return value
    from ipaddress import IPv4Interface

    try:
        address = IPv4Interface(value)
    except ValueError:
        raise InvalidArgument(f"invalid bip {value!r} in {where}: use the gateway's address and prefix, "
                              "e.g. 172.30.0.1/24") from None
    if address.network.prefixlen > 30 or address.ip in (address.network.network_address,
                                                         address.network.broadcast_address):
        raise InvalidArgument(f"invalid bip {value!r} in {where}: give a host address of a /30 or larger, "
                              "e.g. 172.30.0.1/24")
    return value
