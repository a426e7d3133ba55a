"""Container records rendered in Docker's JSON: `docker inspect` and `docker ps` entries
(with their sizes), and `docker stats` samples.

Pure functions of a `ContainerRecord`, a cgroup sample and the clock, so they are tested
without root.
"""

from __future__ import annotations

import shlex
import time
from datetime import datetime
from typing import Any

from estiba.engine.health import Health, health_text
from estiba.engine.states import State
from estiba.engine.store import ZERO_TIME, ContainerRecord
from estiba.images.model import EMPTY_CONTAINER_CONFIG
from estiba.units import human_duration

__all__ = [
    "go_time",
    "human_duration",
    "inspect_document",
    "parse_rfc3339_ns",
    "stats_document",
    "status_text",
    "summary_document",
    "system_cpu",
    "with_sizes",
]

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
        if record.state is State.PAUSED:
            return f"Up {up} (Paused)"
        return f"Up {up}" + health_text(Health.from_api(record.health))
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
            **({"Health": Health.from_api(record.health).to_api()} if record.health else {}),
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


def with_sizes(document: dict[str, Any], size_rw: int, size_root_fs: int) -> dict[str, Any]:
    """The document with SizeRw and SizeRootFs where dockerd puts them: after Ports in a
    list entry, after GraphDriver in inspect."""
    after = "GraphDriver" if "GraphDriver" in document else "Ports"
    result: dict[str, Any] = {}
    for key, value in document.items():
        result[key] = value
        if key == after:
            result.update(SizeRw=size_rw, SizeRootFs=size_root_fs)
    result.setdefault("SizeRw", size_rw)
    result.setdefault("SizeRootFs", size_root_fs)
    return result


# --- docker stats -----------------------------------------------------------------------

ZERO_GO_TIME = "0001-01-01T00:00:00Z"

# The memory.stat keys dockerd reports, cgroup v1 (statsV1) and v2 (statsV2).
_V1_MEMORY_KEYS = (
    "cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout",
    "pgfault", "pgmajfault", "inactive_anon", "active_anon", "inactive_file", "active_file",
    "unevictable", "hierarchical_memory_limit", "hierarchical_memsw_limit", "total_cache",
    "total_rss", "total_rss_huge", "total_mapped_file", "total_dirty", "total_writeback",
    "total_pgpgin", "total_pgpgout", "total_pgfault", "total_pgmajfault", "total_inactive_anon",
    "total_active_anon", "total_inactive_file", "total_active_file", "total_unevictable",
)  # fmt: skip
_V2_MEMORY_KEYS = (
    "anon", "file", "kernel_stack", "slab", "sock", "shmem", "file_mapped", "file_dirty",
    "file_writeback", "anon_thp", "inactive_anon", "active_anon", "inactive_file", "active_file",
    "unevictable", "slab_reclaimable", "slab_unreclaimable", "pgfault", "pgmajfault",
    "workingset_refault", "workingset_activate", "workingset_nodereclaim", "pgrefill", "pgscan",
    "pgsteal", "pgactivate", "pgdeactivate", "pglazyfree", "pglazyfreed", "thp_fault_alloc",
    "thp_collapse_alloc",
)  # fmt: skip
_BLKIO_KEYS = (
    "io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
    "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
    "io_time_recursive", "sectors_recursive",
)  # fmt: skip


def go_time(ns: int) -> str:
    """A UTC time as Go's encoding/json writes a time.Time (RFC 3339, trailing zeros cut)."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    digits = f"{fraction:09d}".rstrip("0")
    return text + (f".{digits}" if digits else "") + "Z"


def system_cpu(proc_stat: str, clock_ticks: int) -> tuple[int, int]:
    """dockerd's system_cpu_usage (ns: the first 7 fields of /proc/stat's cpu line) and
    online_cpus (its cpuN lines)."""
    usage, online = 0, 0
    for line in proc_stat.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == "cpu" and len(fields) >= 8:
            usage = sum(int(f) for f in fields[1:8]) * 1_000_000_000 // clock_ticks
        elif fields[0].startswith("cpu") and fields[0][3:].isdigit():
            online += 1
    return usage, online


def _empty_cpu() -> dict[str, Any]:
    return {
        "cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
        "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0},
    }


def _omit_zero(document: dict[str, Any]) -> dict[str, Any]:
    """Go's omitempty on numbers, lists and maps."""
    return {k: v for k, v in document.items() if v not in (0, None, [], {})}


def stats_document(
    container_id: str,
    name: str,
    *,
    cgroup: dict[str, Any] | None,
    read_ns: int = 0,
    system: tuple[int, int] = (0, 0),
    machine_memory: int = 0,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One `GET /containers/{id}/stats` sample as dockerd 20.10 writes it.

    `cgroup` is the runtime's cgroup sample (the shape of `runc events --stats`), None for
    a container that is not running (dockerd's zeroed sample: only the name and id);
    `previous` is the sample before, whose cpu_stats and read become precpu_stats and
    preread."""
    document: dict[str, Any] = {
        "read": ZERO_GO_TIME,
        "preread": (previous or {}).get("read", ZERO_GO_TIME),
        "pids_stats": {},
        "blkio_stats": dict.fromkeys(_BLKIO_KEYS),
        "num_procs": 0,
        "storage_stats": {},
        "cpu_stats": _empty_cpu(),
        "precpu_stats": (previous or {}).get("cpu_stats") or _empty_cpu(),
        "memory_stats": {},
        "name": "/" + name.lstrip("/"),
        "id": container_id,
    }
    if cgroup is None:
        return document
    raw_memory = (cgroup.get("memory") or {}).get("raw") or {}
    v2 = "total_cache" not in raw_memory and "anon" in raw_memory
    document.update(
        read=go_time(read_ns),
        pids_stats=_omit_zero(dict(cgroup.get("pids") or {})),
        blkio_stats=_blkio_stats(cgroup.get("blkio") or {}, v2),
        cpu_stats=_cpu_stats(cgroup.get("cpu") or {}, system),
        memory_stats=_memory_stats(cgroup.get("memory") or {}, v2, machine_memory),
    )
    return document


def _cpu_stats(cpu: dict[str, Any], system: tuple[int, int]) -> dict[str, Any]:
    usage, throttling = cpu.get("usage") or {}, cpu.get("throttling") or {}
    cpu_usage = {
        "total_usage": usage.get("total", 0),
        "percpu_usage": list(usage.get("percpu") or []),
        "usage_in_kernelmode": usage.get("kernel", 0),
        "usage_in_usermode": usage.get("user", 0),
    }
    if not cpu_usage["percpu_usage"]:
        del cpu_usage["percpu_usage"]
    document: dict[str, Any] = {"cpu_usage": cpu_usage}
    document.update(_omit_zero({"system_cpu_usage": system[0], "online_cpus": system[1]}))
    document["throttling_data"] = {
        "periods": throttling.get("periods", 0),
        "throttled_periods": throttling.get("throttledPeriods", 0),
        "throttled_time": throttling.get("throttledTime", 0),
    }
    return document


def _memory_stats(memory: dict[str, Any], v2: bool, machine_memory: int) -> dict[str, Any]:
    raw = memory.get("raw") or {}
    usage = memory.get("usage") or {}
    keys = _V2_MEMORY_KEYS if v2 else _V1_MEMORY_KEYS
    limit = usage.get("limit", 0)
    if machine_memory and limit > machine_memory:
        limit = machine_memory  # no limit set: dockerd reports the machine's memory
    document = {
        "usage": usage.get("usage", 0),
        "max_usage": 0 if v2 else usage.get("max", 0),
        "stats": {key: raw.get(key, 0) for key in keys},
        "failcnt": 0 if v2 else usage.get("failcnt", 0),
        "limit": limit,
    }
    return _omit_zero(document)


def _blkio_stats(blkio: dict[str, Any], v2: bool) -> dict[str, Any]:
    def entries(key: str) -> list[dict[str, Any]]:
        return [
            {"major": e.get("major", 0), "minor": e.get("minor", 0),
             "op": str(e.get("op", "")).lower() if v2 else e.get("op", ""), "value": e.get("value", 0)}
            for e in blkio.get(key) or []
        ]  # fmt: skip

    # dockerd copies every v1 list (empty ones as []) and only the first two on v2.
    document: dict[str, Any] = dict.fromkeys(_BLKIO_KEYS) if v2 else {k: [] for k in _BLKIO_KEYS}
    document["io_service_bytes_recursive"] = entries("ioServiceBytesRecursive")
    document["io_serviced_recursive"] = entries("ioServicedRecursive")
    return document
