"""A service of the canonical model as Engine API bodies, the way docker compose v2 sends them.

Pure translation (compute, then apply): `container_body` gives the POST /containers/create
body for one container of a service (pkg/compose/create.go getCreateConfigs),
`network_body` / `volume_body` the create bodies of the project's networks and volumes,
`extra_networks` the endpoints a container joins after creation (API 1.41 takes one
network at create time), `config_hash` the com.docker.compose.config-hash label that tells
the engine whether a container is out of date. Only `network_mode: service:S` may ask the
daemon something (the container of S), and only when a client is given.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from typing import Any

from estiba.compose import labels as L
from estiba.compose.model import Project, duration_seconds
from estiba.errors import InvalidArgument, NotFound

__all__ = [
    "SLUG",
    "config_hash",
    "container_body",
    "container_name_for",
    "extra_networks",
    "image_name",
    "network_body",
    "networks_by_priority",
    "volume_body",
]

SLUG = "com.docker.compose.slug"
SECRETS_DIR = "/run/secrets/"
# Keys left out of the config hash, as compose v2's ServiceHash: building, pulling, scaling,
# ordering and profiles never make a running container out of date.
_NOT_HASHED = ("build", "pull_policy", "scale", "depends_on", "profiles")
# Service keys the engine takes as they are (after the loader's normalisation to numbers,
# bytes and booleans), as compose v2's getCreateConfigs and getDeployResources copy them.
_HOST_FIELDS = (
    ("ipc", "IpcMode"), ("pid", "PidMode"), ("uts", "UTSMode"), ("cgroup", "CgroupnsMode"),
    ("userns_mode", "UsernsMode"), ("runtime", "Runtime"), ("isolation", "Isolation"),
    ("volume_driver", "VolumeDriver"), ("cgroup_parent", "CgroupParent"),
    ("cpuset", "CpusetCpus"), ("cpu_shares", "CpuShares"), ("cpu_period", "CpuPeriod"),
    ("cpu_quota", "CpuQuota"), ("cpu_rt_period", "CpuRealtimePeriod"),
    ("cpu_rt_runtime", "CpuRealtimeRuntime"), ("cpu_count", "CpuCount"),
    ("cpu_percent", "CpuPercent"), ("mem_reservation", "MemoryReservation"),
    ("memswap_limit", "MemorySwap"), ("mem_swappiness", "MemorySwappiness"),
    ("oom_score_adj", "OomScoreAdj"), ("oom_kill_disable", "OomKillDisable"),
    ("storage_opt", "StorageOpt"),
)
_RESTART_NAMES = {"none": "no", "no": "no", "any": "always", "always": "always",
                  "on-failure": "on-failure", "unless-stopped": "unless-stopped"}


def _service(project: Project, name: str) -> dict:
    try:
        return project.services[name]
    except KeyError:
        raise NotFound(f"no such service: {name}") from None


def image_name(project: Project, service_name: str) -> str:
    """The service's image; a build-only service's image is `<project>-<service>`."""
    return _service(project, service_name).get("image") or f"{project.name}-{service_name}"


def scale_of(service: dict) -> int:
    if service.get("scale") is not None:
        return int(service["scale"])
    replicas = (service.get("deploy") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def container_name_for(project: Project, service_name: str, number: int) -> str:
    """`container_name` when set (only one container may then exist), else `<p>-<s>-<n>`."""
    service = _service(project, service_name)
    if service.get("container_name"):
        if scale_of(service) > 1:
            raise InvalidArgument(
                f"services.{service_name}: can't set container_name and scale above 1 as "
                "container names must be unique: remove container_name or the scale"
            )
        return service["container_name"]
    return L.container_name(project.name, service_name, number)


def config_hash(project: Project, service_name: str) -> str:
    """sha256 of the service's canonical JSON (sorted keys), scaling and build excluded."""
    service = {k: v for k, v in _service(project, service_name).items() if k not in _NOT_HASHED}
    deploy = {k: v for k, v in (service.pop("deploy", None) or {}).items() if k != "replicas"}
    if deploy:
        service["deploy"] = deploy
    data = json.dumps(service, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


# --- containers ---------------------------------------------------------------------------


def container_body(
    project: Project,
    service_name: str,
    number: int,
    *,
    oneoff: bool = False,
    extra_labels: dict | None = None,
    client: Any = None,
    name: str | None = None,
    use_aliases: bool | None = None,
    image_id: str | None = None,
) -> tuple[str, dict]:
    """(container name, POST /containers/create body) for container `number` of a service.

    A one-off container (`run`) is `<p>-<s>-run-<12 hex>` unless `name` is given; it gets
    no restart policy and, unless `use_aliases`, no network alias but its name (as compose).
    `client` resolves `network_mode: service:S` and `volumes_from` to S's container (a
    running one first); without it the name of S's first container is used. `image_id` fills com.docker.compose.image.
    """
    service = _service(project, service_name)
    if oneoff:
        slug = secrets.token_hex(32)
        cname = name or f"{project.name}-{service_name}-run-{slug[:12]}"
    else:
        cname = name or container_name_for(project, service_name, number)
    labels = _container_labels(project, service_name, service, number, oneoff)
    if oneoff:
        labels[SLUG] = slug
    if image_id:
        labels[L.IMAGE] = image_id
    labels.update(extra_labels or {})

    body: dict[str, Any] = {
        "Image": image_name(project, service_name),
        "Labels": labels,
        "AttachStdin": False,
        "AttachStdout": True,
        "AttachStderr": True,
        "Tty": bool(service.get("tty", False)),
        "OpenStdin": bool(service.get("stdin_open", False)),
        "StdinOnce": False,
    }
    for key, field in (("hostname", "Hostname"), ("domainname", "Domainname"), ("user", "User"),
                       ("working_dir", "WorkingDir"), ("stop_signal", "StopSignal"),
                       ("mac_address", "MacAddress")):
        if service.get(key):
            body[field] = service[key]
    for key, field in (("command", "Cmd"), ("entrypoint", "Entrypoint")):
        if service.get(key) is not None:
            body[field] = list(service[key])
    environment = service.get("environment") or {}
    env = [f"{k}={v}" for k, v in environment.items() if v is not None]
    if env:
        body["Env"] = env
    exposed, bindings = _ports(service)
    if exposed:
        body["ExposedPorts"] = {port: {} for port in exposed}
    if service.get("stop_grace_period") is not None:
        body["StopTimeout"] = int(duration_seconds(service["stop_grace_period"]))
    if service.get("healthcheck"):
        body["Healthcheck"] = _healthcheck(service["healthcheck"])

    host = _host_config(project, service, bindings, oneoff=oneoff, client=client)

    if use_aliases is None:
        use_aliases = not oneoff  # `run` joins by its name only, unless --use-aliases
    network_mode, networking = _networking(project, service_name, service, cname,
                                           client=client, use_aliases=use_aliases)
    host["NetworkMode"] = network_mode
    body["HostConfig"] = host
    if networking is not None:
        body["NetworkingConfig"] = networking
    return cname, body


def _host_config(project: Project, service: dict, bindings: dict, *, oneoff: bool,
                 client: Any) -> dict[str, Any]:
    """HostConfig but NetworkMode: ports, restart, mounts, security, resources, logging."""
    host: dict[str, Any] = {}
    if bindings:
        host["PortBindings"] = bindings
    if not oneoff and (policy := _restart_policy(service)) is not None:
        host["RestartPolicy"] = policy
    binds, mounts = _volumes(project, service)
    if binds:
        host["Binds"] = binds
    mounts += _file_mounts(project, service, "secrets", SECRETS_DIR)
    mounts += _file_mounts(project, service, "configs", "/")
    if mounts:
        host["Mounts"] = mounts
    if service.get("tmpfs"):
        host["Tmpfs"] = {path: opts for path, _, opts in (t.partition(":") for t in service["tmpfs"])}
    for key, field in (("cap_add", "CapAdd"), ("cap_drop", "CapDrop"), ("dns", "Dns"),
                       ("dns_search", "DnsSearch"), ("dns_opt", "DnsOptions"),
                       ("extra_hosts", "ExtraHosts"), ("group_add", "GroupAdd")):
        if service.get(key):
            host[field] = [str(item) for item in service[key]]
    for key, field in (("privileged", "Privileged"), ("read_only", "ReadonlyRootfs"),
                       ("init", "Init")):
        if service.get(key) is not None:
            host[field] = bool(service[key])
    if service.get("sysctls"):
        host["Sysctls"] = {k: str(v) for k, v in service["sysctls"].items()}
    if service.get("shm_size"):
        host["ShmSize"] = int(service["shm_size"])
    if service.get("security_opt"):
        options, unconfined = _security_opts(project, service["security_opt"])
        if options:
            host["SecurityOpt"] = options
        if unconfined:
            host["MaskedPaths"] = []
            host["ReadonlyPaths"] = []
    for key, field in _HOST_FIELDS:
        if service.get(key) is not None:
            host[field] = service[key]
    host.update(_resources(service))
    if service.get("volumes_from"):
        host["VolumesFrom"] = [_volumes_from(project, spec, client) for spec in service["volumes_from"]]
    if service.get("logging"):
        logging = service["logging"]
        host["LogConfig"] = {"Type": logging.get("driver") or "",
                             "Config": {k: str(v) for k, v in (logging.get("options") or {}).items()}}
    return host


def _container_labels(project: Project, service_name: str, service: dict, number: int,
                      oneoff: bool) -> dict[str, str]:
    labels = {str(k): str(v) for k, v in _label_dict(service.get("labels")).items()}
    depends = service.get("depends_on") or {}
    labels.update({
        L.PROJECT: project.name,
        L.SERVICE: service_name,
        L.VERSION: L.COMPOSE_VERSION,
        L.WORKING_DIR: project.working_dir,
        L.CONFIG_FILES: ",".join(project.config_files),
        L.ONEOFF: "True" if oneoff else "False",
        L.CONTAINER_NUMBER: str(number),
        L.CONFIG_HASH: config_hash(project, service_name),
        L.DEPENDS_ON: ",".join(
            f"{name}:{(dep or {}).get('condition', 'service_started')}:"
            f"{'true' if (dep or {}).get('restart') else 'false'}"
            for name, dep in sorted(depends.items())
        ),
    })
    return labels


def _label_dict(value: Any) -> dict:
    """Labels as a mapping (the model has mappings; a list of k=v is accepted too)."""
    if not value:
        return {}
    if isinstance(value, dict):
        return {k: "" if v is None else v for k, v in value.items()}
    return {k: v for k, _, v in (str(item).partition("=") for item in value)}


def _ports(service: dict) -> tuple[list[str], dict[str, list[dict[str, str]]]]:
    """ExposedPorts and PortBindings: `expose` and `ports` (one entry per target port)."""
    exposed: list[str] = []
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in service.get("expose") or []:
        port, _, proto = str(spec).partition("/")
        first, dash, last = port.partition("-")
        try:
            numbers = range(int(first), int(last if dash else first) + 1)
        except ValueError:
            raise InvalidArgument(f"invalid expose entry {spec!r}: use PORT, PORT/PROTO or A-B") from None
        for number in numbers:
            if (key := f"{number}/{proto or 'tcp'}") not in exposed:
                exposed.append(key)
    for port in service.get("ports") or []:
        key = f"{port['target']}/{port.get('protocol') or 'tcp'}"
        if key not in exposed:
            exposed.append(key)
        bindings.setdefault(key, []).append(
            {"HostIp": port.get("host_ip") or "", "HostPort": str(port.get("published") or "")}
        )
    return exposed, bindings


def _restart_policy(service: dict) -> dict | None:
    """`restart`, overridden by deploy.restart_policy (condition none/any/on-failure)."""
    policy = None
    if service.get("restart"):
        name, _, count = str(service["restart"]).partition(":")
        policy = {"Name": _RESTART_NAMES.get(name, name), "MaximumRetryCount": int(count or 0)}
    deploy_policy = (service.get("deploy") or {}).get("restart_policy")
    if deploy_policy:
        condition = deploy_policy.get("condition") or "any"
        policy = {"Name": _RESTART_NAMES.get(condition, condition),
                  "MaximumRetryCount": int(deploy_policy.get("max_attempts") or 0)}
    return policy


def _nanoseconds(value: Any) -> int:
    return int(round(duration_seconds(value) * 1e9))


def _healthcheck(check: dict) -> dict:
    """Config.Healthcheck: durations in nanoseconds, zero fields left out; disable → NONE."""
    result: dict[str, Any] = {}
    if check.get("disable"):
        result["Test"] = ["NONE"]
    elif check.get("test"):
        result["Test"] = list(check["test"])
    for key, field in (("interval", "Interval"), ("timeout", "Timeout"),
                       ("start_period", "StartPeriod")):
        if check.get(key) is not None and (ns := _nanoseconds(check[key])):
            result[field] = ns
    if check.get("retries"):
        result["Retries"] = int(check["retries"])
    return result


def _resources(service: dict) -> dict[str, Any]:
    """Memory, CPUs and pids: the service keys, then deploy.resources.limits overriding
    them; reservations give only MemoryReservation (CPU reservation is the cluster's)."""
    result: dict[str, Any] = {}
    if service.get("mem_limit"):
        result["Memory"] = int(service["mem_limit"])
    if service.get("cpus"):
        result["NanoCpus"] = int(round(float(service["cpus"]) * 1e9))
    if service.get("pids_limit"):
        result["PidsLimit"] = int(service["pids_limit"])
    resources = (service.get("deploy") or {}).get("resources") or {}
    limits = resources.get("limits") or {}
    if limits.get("memory"):
        result["Memory"] = int(limits["memory"])
    if limits.get("cpus") and float(limits["cpus"]):
        result["NanoCpus"] = int(round(float(limits["cpus"]) * 1e9))
    if limits.get("pids") and int(limits["pids"]) > 0:
        result["PidsLimit"] = int(limits["pids"])
    reservations = resources.get("reservations") or {}
    if reservations.get("memory"):
        result["MemoryReservation"] = int(reservations["memory"])
    if service.get("ulimits"):
        result["Ulimits"] = [_ulimit(name, value) for name, value in sorted(service["ulimits"].items())]
    if service.get("devices"):
        result["Devices"] = [_device(spec) for spec in service["devices"]]
    return result


def _ulimit(name: str, value: Any) -> dict:
    if isinstance(value, dict):
        soft = int(value.get("soft", value.get("hard", 0)))
        hard = int(value.get("hard", soft))
    else:
        soft = hard = int(value)
    return {"Name": name, "Soft": soft, "Hard": hard}


def _device(spec: Any) -> dict:
    """`/dev/x[:/dev/y][:rwm]` (or the long form) as a DeviceMapping."""
    if isinstance(spec, dict):
        source = spec["source"]
        return {"PathOnHost": source, "PathInContainer": spec.get("target") or source,
                "CgroupPermissions": spec.get("permissions") or "rwm"}
    parts = str(spec).split(":")
    perms = "rwm"
    if len(parts) > 1 and parts[-1] and set(parts[-1]) <= set("rwm") and not parts[-1].startswith("/"):
        perms = parts.pop()
    if len(parts) > 2 or not parts[0]:
        raise InvalidArgument(f"invalid device {spec!r}: use /dev/HOST[:/dev/CONTAINER][:rwm]")
    return {"PathOnHost": parts[0], "PathInContainer": parts[-1], "CgroupPermissions": perms}


def _security_opts(project: Project, options: list[str]) -> tuple[list[str], bool]:
    """As docker's CLI: a seccomp profile file is sent inline (compacted JSON);
    systempaths=unconfined clears MaskedPaths/ReadonlyPaths."""
    parsed, unconfined = [], False
    for option in options:
        if option == "systempaths=unconfined":
            unconfined = True
            continue
        key, sep, value = option.partition("=")
        if not sep and key != "no-new-privileges":
            key, sep, value = option.partition(":")
            if not sep:
                raise InvalidArgument(f"invalid security_opt {option!r}: use KEY=VALUE")
        if key == "seccomp" and value not in ("unconfined", "builtin"):
            path = os.path.join(project.working_dir, value)
            try:
                with open(path, encoding="utf-8") as profile:
                    compact = json.dumps(json.load(profile), separators=(",", ":"))
            except (OSError, ValueError) as exc:
                raise InvalidArgument(f"opening seccomp profile ({value}) failed: {exc}") from exc
            parsed.append(f"seccomp={compact}")
        else:
            parsed.append(option)
    return parsed, unconfined


# --- volumes, secrets, configs ------------------------------------------------------------


def _volumes(project: Project, service: dict) -> tuple[list[str], list[dict]]:
    """Binds for plain binds (the daemon then creates a missing host directory, as
    compose relies on), Mounts for volumes, tmpfs and binds that must not create it."""
    binds: list[str] = []
    mounts: list[dict] = []
    top_volumes = project.config.get("volumes") or {}
    for volume in service.get("volumes") or []:
        kind = volume.get("type", "volume")
        target = volume["target"]
        read_only = bool(volume.get("read_only", False))
        if kind == "bind":
            bind = volume.get("bind") or {}
            if bind.get("create_host_path", True) and not bind.get("propagation"):
                binds.append(f"{volume['source']}:{target}:{'ro' if read_only else 'rw'}")
                continue
            mount = {"Type": "bind", "Source": volume["source"], "Target": target,
                     "ReadOnly": read_only}
            if bind.get("propagation"):
                mount["BindOptions"] = {"Propagation": bind["propagation"]}
            mounts.append(mount)
        elif kind == "volume":
            mount = {"Type": "volume", "Target": target, "ReadOnly": read_only}
            if volume.get("source"):
                source = volume["source"]
                mount["Source"] = (top_volumes.get(source) or {}).get("name", source)
            if (volume.get("volume") or {}).get("nocopy"):
                mount["VolumeOptions"] = {"NoCopy": True}
            mounts.append(mount)
        elif kind == "tmpfs":
            mount = {"Type": "tmpfs", "Target": target, "ReadOnly": read_only}
            options = {}
            tmpfs = volume.get("tmpfs") or {}
            if tmpfs.get("size"):
                options["SizeBytes"] = int(tmpfs["size"])
            if tmpfs.get("mode") is not None:
                mode = tmpfs["mode"]
                options["Mode"] = int(mode, 8) if isinstance(mode, str) else int(mode)
            if options:
                mount["TmpfsOptions"] = options
            mounts.append(mount)
        else:
            raise InvalidArgument(f"volume type {kind!r} at {target} is not supported on Linux: "
                                  "use volume, bind or tmpfs")
    return binds, mounts


def _file_mounts(project: Project, service: dict, kind: str, base: str) -> list[dict]:
    """Secrets (at /run/secrets/NAME) and configs (at /NAME) from files: read-only binds."""
    defined = project.config.get(kind) or {}
    mounts = []
    singular = kind[:-1]
    for ref in service.get(kind) or []:
        source = ref["source"]
        target = ref.get("target") or source
        if not target.startswith("/"):
            target = base + target
        definition = defined.get(source)
        if definition is None:
            raise InvalidArgument(f"service refers to undefined {singular} {source}: "
                                  f"declare it under the top-level {kind}:")
        if definition.get("external"):
            raise InvalidArgument(f"unsupported external {singular} {definition.get('name', source)}: "
                                  "only file-based ones are supported")
        if not definition.get("file"):
            raise InvalidArgument(f"{singular} {source}: only file-based {kind} are supported; "
                                  "give it `file:`")
        mounts.append({"Type": "bind", "Source": definition["file"], "Target": target,
                       "ReadOnly": True})
    return mounts


# --- networks -----------------------------------------------------------------------------


def networks_by_priority(service: dict) -> list[str]:
    """The service's network keys, highest priority first, then by name (compose's order)."""
    networks = service.get("networks") or {}
    return sorted(networks, key=lambda key: (-int((networks[key] or {}).get("priority", 0)), key))


def _endpoint(service_name: str, config: dict | None, cname: str | None,
              use_aliases: bool) -> dict:
    aliases = [cname] if cname else []
    if use_aliases:
        aliases.append(service_name)
        aliases += (config or {}).get("aliases") or []
    endpoint: dict[str, Any] = {"Aliases": aliases}
    ipam = {}
    if (config or {}).get("ipv4_address"):
        ipam["IPv4Address"] = config["ipv4_address"]
    if (config or {}).get("ipv6_address"):
        ipam["IPv6Address"] = config["ipv6_address"]
    if ipam:
        endpoint["IPAMConfig"] = ipam
    return endpoint


def _network_name(project: Project, key: str) -> str:
    network = (project.config.get("networks") or {}).get(key)
    if network is None:
        raise InvalidArgument(f"service refers to undefined network {key}: "
                              "declare it under the top-level networks:")
    return network.get("name") or f"{project.name}_{key}"


def _networking(project: Project, service_name: str, service: dict, cname: str, *,
                client: Any, use_aliases: bool) -> tuple[str, dict | None]:
    mode = service.get("network_mode")
    if mode:
        if mode.startswith("service:"):
            return f"container:{_service_container(project, mode[len('service:'):], client)}", None
        return mode, None
    if not project.config.get("networks"):
        return "none", None
    keys = networks_by_priority(service) or ["default"]
    primary = keys[0]
    engine_name = _network_name(project, primary)
    endpoint = _endpoint(service_name, (service.get("networks") or {}).get(primary), cname,
                         use_aliases)
    return engine_name, {"EndpointsConfig": {engine_name: endpoint}}


def _volumes_from(project: Project, spec: str, client: Any) -> str:
    """`service[:ro]` is that service's (first) container; `container:name[:ro]` as is."""
    if spec.startswith("container:"):
        return spec[len("container:"):]
    other, _, mode = spec.partition(":")
    if other not in project.services:
        raise InvalidArgument(f"volumes_from names an unknown service {other!r}: "
                              "use a service of the project or container:NAME")
    if client is None:
        name = container_name_for(project, other, 1)
    else:
        found = L.list_containers(client, project.name, services=[other], stopped=True)
        if not found:
            raise NotFound(f"service {other} has no container to take volumes from: create {other} first")
        name = found[0]["Names"][0].lstrip("/")
    return f"{name}:{mode or 'rw'}"


def _service_container(project: Project, other: str, client: Any) -> str:
    """The container whose network namespace `network_mode: service:S` joins."""
    if client is None:
        return container_name_for(project, other, 1)
    found = L.list_containers(client, project.name, services=[other], stopped=True)
    if not found:
        raise NotFound(f"service {other} has no container to share its network namespace "
                       f"with: create {other} first")
    running = [c for c in found if c.get("State") == "running"]
    return (running or found)[0]["Id"]


def extra_networks(project: Project, service_name: str, number: int | None = None, *,
                   use_aliases: bool = True) -> list[tuple[str, dict]]:
    """The networks after the first: (engine network name, EndpointConfig) to connect to
    once the container exists (POST /networks/{name}/connect)."""
    service = _service(project, service_name)
    if service.get("network_mode") or not project.config.get("networks"):
        return []
    cname = container_name_for(project, service_name, number) if number is not None else None
    networks = service.get("networks") or {}
    return [
        (_network_name(project, key), _endpoint(service_name, networks.get(key), cname, use_aliases))
        for key in networks_by_priority(service)[1:]
    ]


def _own_resource(project: Project, kind: str, key: str, label: str) -> tuple[dict, dict[str, str]]:
    """The top-level network or volume `key` (never an external one: compose only uses
    those) and its labels with compose's own."""
    entry = (project.config.get(f"{kind}s") or {}).get(key)
    if entry is None:
        raise NotFound(f"no such {kind} in the project: {key}")
    if entry.get("external"):
        raise InvalidArgument(f"{kind} {key} is external: create it yourself, compose only uses it")
    labels = {str(k): str(v) for k, v in _label_dict(entry.get("labels")).items()}
    labels.update({label: key, L.PROJECT: project.name, L.VERSION: L.COMPOSE_VERSION})
    return entry, labels


def network_body(project: Project, key: str) -> dict:
    """POST /networks/create for the top-level network `key` (never an external one)."""
    network, labels = _own_resource(project, "network", key, L.NETWORK)
    body: dict[str, Any] = {
        "Name": _network_name(project, key),
        "CheckDuplicate": True,
        "Driver": network.get("driver") or "bridge",
        "Internal": bool(network.get("internal", False)),
        "Attachable": bool(network.get("attachable", False)),
        "EnableIPv6": bool(network.get("enable_ipv6", False)),
        "Options": {k: str(v) for k, v in (network.get("driver_opts") or {}).items()},
        "Labels": labels,
    }
    ipam = network.get("ipam") or {}
    if ipam.get("driver") or ipam.get("config"):
        pools = []
        for pool in ipam.get("config") or []:
            entry = {}
            for name, field in (("subnet", "Subnet"), ("ip_range", "IPRange"),
                                ("gateway", "Gateway")):
                if pool.get(name):
                    entry[field] = pool[name]
            if pool.get("aux_addresses"):
                entry["AuxiliaryAddresses"] = dict(pool["aux_addresses"])
            pools.append(entry)
        body["IPAM"] = {"Driver": ipam.get("driver") or "default", "Config": pools,
                        "Options": dict(ipam.get("options") or {})}
    return body


def volume_body(project: Project, key: str) -> dict:
    """POST /volumes/create for the top-level volume `key` (never an external one)."""
    volume, labels = _own_resource(project, "volume", key, L.VOLUME)
    return {
        "Name": volume.get("name") or f"{project.name}_{key}",
        "Driver": volume.get("driver") or "local",
        "DriverOpts": {k: str(v) for k, v in (volume.get("driver_opts") or {}).items()},
        "Labels": labels,
    }
