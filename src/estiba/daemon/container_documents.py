"""Container records rendered in Docker's JSON: `docker inspect` and `docker ps` entries.

Pure functions of a `ContainerRecord` (and the clock), so they are tested without root.
"""

from __future__ import annotations

import shlex
import time
from datetime import datetime
from typing import Any

from estiba.engine.states import State
from estiba.engine.store import ZERO_TIME, ContainerRecord
from estiba.images.model import EMPTY_CONTAINER_CONFIG
from estiba.units import human_duration

__all__ = ["human_duration", "inspect_document", "parse_rfc3339_ns", "status_text", "summary_document"]

# Docker's empty container config, but inspect shows no labels as {} rather than null.
_CONFIG_DEFAULTS: dict[str, Any] = {**EMPTY_CONTAINER_CONFIG, "Labels": {}}


def parse_rfc3339_ns(text: str) -> int:
    """Nanoseconds since the epoch of an RFC 3339 time with up to 9 fraction digits."""
    if not text or text == ZERO_TIME:
        return 0
    text = text.rstrip("Z")
    main, _, fraction = text.partition(".")
    seconds = datetime.fromisoformat(main + "+00:00").timestamp()
    return int(seconds) * 1_000_000_000 + int((fraction + "000000000")[:9] or 0)


def status_text(record: ContainerRecord, now_ns: int | None = None) -> str:
    """The STATUS column of `docker ps`."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    if record.state in (State.RUNNING, State.PAUSED):
        up = human_duration((now_ns - parse_rfc3339_ns(record.started_at)) / 1e9)
        return f"Up {up}" + (" (Paused)" if record.state is State.PAUSED else "")
    if record.state is State.EXITED:
        ago = human_duration((now_ns - parse_rfc3339_ns(record.finished_at)) / 1e9)
        return f"Exited ({record.exit_code}) {ago} ago"
    if record.state is State.REMOVING:
        return "Removal In Progress"
    if record.state is State.DEAD:
        return "Dead"
    if record.state is State.RESTARTING:
        return f"Restarting ({record.exit_code})"
    return "Created"


def _config(record: ContainerRecord) -> dict[str, Any]:
    config = {**_CONFIG_DEFAULTS}
    config.update({k: v for k, v in record.config.items() if k not in ("HostConfig", "NetworkingConfig")})
    if not config.get("Hostname"):
        config["Hostname"] = record.short_id
    return config


def _host_config(record: ContainerRecord) -> dict[str, Any]:
    host = {
        "NetworkMode": "default",
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "AutoRemove": False,
        "Privileged": False,
        "ReadonlyRootfs": False,
        "Binds": None,
        "PortBindings": {},
        "CapAdd": None,
        "CapDrop": None,
        "ShmSize": 67108864,
        "Runtime": "",
    }
    host.update(record.host_config)
    log = dict(host.get("LogConfig") or {})
    if not log.get("Type"):
        log = {"Type": "json-file", "Config": log.get("Config") or {}}
    host["LogConfig"] = log
    return host


def inspect_document(record: ContainerRecord, *, log_path: str, resolv_conf: str, hostname_path: str,
                     hosts_path: str, runtime: str) -> dict[str, Any]:
    config = _config(record)
    path, *args = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])] or [""]
    host = _host_config(record)
    return {
        "Id": record.id,
        "Created": record.created,
        "Path": path,
        "Args": args,
        "State": {
            "Status": record.state.value,
            "Running": record.state in (State.RUNNING, State.PAUSED, State.RESTARTING),
            "Paused": record.state is State.PAUSED,
            "Restarting": record.state is State.RESTARTING,
            "OOMKilled": record.oom_killed,
            "Dead": record.state is State.DEAD,
            "Pid": record.pid if record.running else 0,
            "ExitCode": record.exit_code,
            "Error": record.error,
            "StartedAt": record.started_at,
            "FinishedAt": record.finished_at,
        },
        "Image": record.image_id,
        "ResolvConfPath": resolv_conf,
        "HostnamePath": hostname_path,
        "HostsPath": hosts_path,
        "LogPath": log_path,
        "Name": record.api_name,
        "RestartCount": record.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": None,
        "HostConfig": {**host, "Runtime": host.get("Runtime") or runtime},
        "GraphDriver": {"Data": None, "Name": "overlay2"},
        "Mounts": [],
        "Config": config,
        "NetworkSettings": {
            "Bridge": "",
            "SandboxID": "",
            "HairpinMode": False,
            "Ports": {},
            "SandboxKey": "",
            "IPAddress": "",
            "Gateway": "",
            "MacAddress": "",
            "Networks": {},
        },
    }


def summary_document(record: ContainerRecord, now_ns: int | None = None) -> dict[str, Any]:
    config = _config(record)
    argv = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    return {
        "Id": record.id,
        "Names": [record.api_name],
        "Image": record.image_ref,
        "ImageID": record.image_id,
        "Command": " ".join(shlex.quote(a) if " " in a else a for a in argv),
        "Created": parse_rfc3339_ns(record.created) // 1_000_000_000,
        "Ports": [],
        "Labels": dict(record.labels),
        "State": record.state.value,
        "Status": status_text(record, now_ns),
        "HostConfig": {"NetworkMode": record.host_config.get("NetworkMode") or "default"},
        "NetworkSettings": {"Networks": {}},
        "Mounts": [],
    }
