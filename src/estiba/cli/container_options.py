"""The flags of `run` and `create`, and the create body they become.

The body is the one the docker CLI (28.x) sends for the same flags: the e2e suite
creates the same container with both CLIs and compares what the daemon received.
"""

from __future__ import annotations

import argparse
import os

from estiba.cli.units import parse_bytes
from estiba.errors import InvalidArgument

TYPE_CHECKING = False  # typing costs the CLI milliseconds at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any

__all__ = ["add_create_flags", "create_body", "healthcheck", "parse_env", "restart_policy"]


def add_create_flags(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-i", "--interactive", action="store_true", help="Keep STDIN open even if not attached")
    a("-t", "--tty", action="store_true", help="Allocate a pseudo-TTY")
    a("--rm", action="store_true", help="Automatically remove the container when it exits")
    a("--name", help="Assign a name to the container")
    a("--platform", default=None, help="Set platform if server is multi-platform capable")
    a("-e", "--env", action="append", default=[], help="Set environment variables")
    a("--env-file", action="append", default=[], help="Read in a file of environment variables")
    a("-w", "--workdir", default="", help="Working directory inside the container")
    a("-u", "--user", default="", help="Username or UID (format: <name|uid>[:<group|gid>])")
    a("--entrypoint", default=None, help="Overwrite the default ENTRYPOINT of the image")
    a("-h", "--hostname", default="", help="Container host name")
    a("--restart", default="no", help="Restart policy to apply when a container exits")
    a("-m", "--memory", default=None, help="Memory limit")
    a("--memory-swap", default=None, help="Swap limit equal to memory plus swap: -1 unlimited")
    a("--cpus", type=float, default=None, help="Number of CPUs")
    a("--cpu-shares", "-c", type=int, default=0, help="CPU shares (relative weight)")
    a("--pids-limit", type=int, default=0, help="Tune container pids limit (-1 unlimited)")
    a("--cap-add", action="append", default=[], help="Add Linux capabilities")
    a("--cap-drop", action="append", default=[], help="Drop Linux capabilities")
    a("--privileged", action="store_true", help="Give extended privileges to this container")
    a("--read-only", action="store_true", help="Mount the container's root filesystem as read only")
    a("--init", action="store_true", help="Run an init inside the container")
    a("--tmpfs", action="append", default=[], help="Mount a tmpfs directory")
    a("-v", "--volume", action="append", default=[], help="Bind mount a volume")
    a("--mount", action="append", default=[], help="Attach a filesystem mount to the container")
    a("--volumes-from", action="append", default=[], help="Mount volumes from the specified container(s)")
    a("--ulimit", action="append", default=[], help="Ulimit options")
    a("-l", "--label", action="append", default=[], help="Set meta data on a container")
    a("--security-opt", action="append", default=[], help="Security Options")
    a("--runtime", default="", help="Runtime to use for this container")
    a("--stop-signal", default="", help="Signal to stop the container")
    a("--stop-timeout", type=int, default=None, help="Timeout (in seconds) to stop a container")
    a("--log-driver", default="", help="Logging driver for the container")
    a("--log-opt", action="append", default=[], help="Log driver options")
    a("--network", "--net", default="default", help="Connect a container to a network")
    a("--network-alias", action="append", default=[], help="Add network-scoped alias for the container")
    a("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)")
    a("-p", "--publish", action="append", default=[], help="Publish a container's port(s) to the host")
    a("-P", "--publish-all", action="store_true", help="Publish all exposed ports to random ports")
    a("--expose", action="append", default=[], help="Expose a port or a range of ports")
    a("--add-host", action="append", default=[], help="Add a custom host-to-IP mapping (host:ip)")
    a("--dns", action="append", default=[], help="Set custom DNS servers")
    a("--dns-search", action="append", default=[], help="Set custom DNS search domains")
    a("--dns-option", action="append", default=[], help="Set DNS options")
    a("--health-cmd", default="", help="Command to run to check health")
    a("--health-interval", default="0s", help="Time between running the check (ms|s|m|h)")
    a("--health-timeout", default="0s", help="Maximum time to allow one check to run (ms|s|m|h)")
    a("--health-retries", type=int, default=0, help="Consecutive failures needed to report unhealthy")
    a("--health-start-period", default="0s",
      help="Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)")
    a("--health-start-interval", default="0s",
      help="Time between running the check during the start period (ms|s|m|h)")
    a("--no-healthcheck", action="store_true", help="Disable any container-specified HEALTHCHECK")
    a("image", help="IMAGE")
    a("command", nargs=argparse.REMAINDER, help="COMMAND [ARG...]")


def parse_env(
    flags: list[str], files: list[str], environ: dict[str, str] | None = None
) -> list[str]:
    """--env-file lines first, then -e; a bare NAME takes its value from our environment."""
    env = os.environ if environ is None else environ
    items: list[str] = []
    for name in files:
        try:
            with open(name, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise InvalidArgument(f"open {name}: {exc.strerror}") from exc
        items += [line.strip() for line in text.splitlines()]
    items += flags
    result = []
    for item in items:
        if not item or item.startswith("#"):
            continue
        if "=" in item:
            if item.startswith("="):
                raise InvalidArgument(f"invalid environment variable: {item}")
            result.append(item)
        elif item in env:
            result.append(f"{item}={env[item]}")
    return result


def restart_policy(text: str) -> dict[str, Any]:
    name, _, count = text.partition(":")
    if name not in ("no", "always", "unless-stopped", "on-failure"):
        raise InvalidArgument(f"invalid restart policy format: {text}")
    if count and name != "on-failure":
        raise InvalidArgument(
            "invalid restart policy format: maximum retry count cannot be used "
            f"with restart policy '{name}'"
        )
    try:
        retries = int(count) if count else 0
    except ValueError:
        raise InvalidArgument(f"invalid restart policy format: {text}") from None
    return {"Name": name, "MaximumRetryCount": retries}


def _capabilities(names: list[str]) -> list[str] | None:
    if not names:
        return None
    result = []
    for name in names:
        upper = name.upper()
        result.append(upper if upper == "ALL" or upper.startswith("CAP_") else f"CAP_{upper}")
    return result


def _ulimits(specs: list[str]) -> list[dict[str, Any]]:
    result = []
    for spec in specs:
        name, _, values = spec.partition("=")
        soft, _, hard = values.partition(":")
        try:
            soft_value = int(soft)
            hard_value = int(hard) if hard else soft_value
        except ValueError:
            raise InvalidArgument(f"invalid ulimit argument: {spec}") from None
        result.append({"Name": name, "Hard": hard_value, "Soft": soft_value})
    return result


def _endpoints(args: argparse.Namespace) -> dict[str, Any]:
    """NetworkingConfig.EndpointsConfig as docker sends it: the network's aliases and
    static address, when given."""
    if not (args.network_alias or args.ip):
        return {}
    if args.network in ("default", "bridge", "host", "none") or args.network.startswith("container:"):
        raise InvalidArgument("network-scoped aliases and --ip are only supported for user-defined networks")
    endpoint: dict[str, Any] = {}
    if args.network_alias:
        endpoint["Aliases"] = list(args.network_alias)
    if args.ip:
        endpoint["IPAMConfig"] = {"IPv4Address": args.ip}
    return {args.network: endpoint}


def _port_range(text: str, what: str) -> list[int]:
    first, dash, last = text.partition("-")
    try:
        start = int(first)
        end = int(last) if dash else start
    except ValueError:
        raise InvalidArgument(f"invalid {what}: {text}") from None
    if not (0 < start <= end <= 65535):
        raise InvalidArgument(f"invalid {what}: {text}")
    return list(range(start, end + 1))


def parse_ports(publish: list[str], expose: list[str]) -> tuple[list[str], dict[str, list[dict[str, str]]]]:
    """-p and --expose as docker's CLI turns them into ExposedPorts and PortBindings:
    `[ip:][hostPort:]containerPort[/proto]`, ranges on either side, IPv6 in brackets."""
    exposed: list[str] = []
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in expose:
        port, _, proto = spec.partition("/")
        for number in _port_range(port, "range format for --expose"):
            key = f"{number}/{proto or 'tcp'}"
            if key not in exposed:
                exposed.append(key)
    for spec in publish:
        rest, _, proto = spec.partition("/")
        proto = proto or "tcp"
        if proto not in ("tcp", "udp", "sctp"):
            raise InvalidArgument(f"invalid proto: {proto}")
        host_ip = ""
        if rest.startswith("["):
            address, bracket, rest = rest[1:].partition("]")
            if not bracket or not rest.startswith(":"):
                raise InvalidArgument(f"invalid IP address in {spec}")
            host_ip, rest = address, rest[1:]
        parts = rest.split(":")
        if len(parts) == 3 and not host_ip:
            host_ip = parts.pop(0)
        if len(parts) > 2 or not parts[-1]:
            raise InvalidArgument(f"invalid publish spec {spec!r}: want [ip:][hostPort:]containerPort[/proto]")
        container_ports = _port_range(parts[-1], "containerPort")
        host_ports: list[int | None] = [None] * len(container_ports)
        if len(parts) == 2 and parts[0]:
            given = _port_range(parts[0], "hostPort")
            if len(given) == len(container_ports):
                host_ports = list(given)
            elif len(container_ports) == 1:
                host_ports = [None]  # a host range for one port: the daemon picks within it
                bindings.setdefault(f"{container_ports[0]}/{proto}", []).append(
                    {"HostIp": host_ip, "HostPort": parts[0]})
                exposed.append(f"{container_ports[0]}/{proto}")
                continue
            else:
                raise InvalidArgument(f"invalid ranges specified for container and host Ports: {spec}")
        for container, host in zip(container_ports, host_ports):
            key = f"{container}/{proto}"
            if key not in exposed:
                exposed.append(key)
            bindings.setdefault(key, []).append({"HostIp": host_ip, "HostPort": "" if host is None else str(host)})
    return exposed, bindings


def _key_values(items: list[str]) -> dict[str, str]:
    return {k: v for k, _, v in (item.partition("=") for item in items)}


def create_body(
    args: argparse.Namespace, *, detach: bool = False, console_size: tuple[int, int] | None = None
) -> dict[str, Any]:
    """The POST /containers/create body for parsed `run`/`create` flags."""
    restart = restart_policy(args.restart)
    if args.rm and restart["Name"] != "no":
        raise InvalidArgument("conflicting options: cannot specify both --restart and --rm")
    memory = parse_bytes(args.memory) if args.memory else 0
    if args.memory_swap in (None, ""):
        swap = 0
    elif args.memory_swap == "-1":
        swap = -1
    else:
        swap = parse_bytes(args.memory_swap)
    exposed, bindings = parse_ports(args.publish, args.expose)
    host_config: dict[str, Any] = {
        "AutoRemove": args.rm,
        "CapAdd": _capabilities(args.cap_add),
        "CapDrop": _capabilities(args.cap_drop),
        "ConsoleSize": list(console_size or (0, 0)),
        "CpuShares": args.cpu_shares,
        "LogConfig": {"Type": args.log_driver, "Config": _key_values(args.log_opt)},
        "Memory": memory,
        "MemorySwap": swap,
        "MemorySwappiness": -1,
        "NanoCpus": int(round((args.cpus or 0) * 1e9)),
        "NetworkMode": args.network,
        "PortBindings": bindings,
        "PublishAllPorts": args.publish_all,
        "ExtraHosts": list(args.add_host) or None,
        "Dns": list(args.dns),
        "DnsSearch": list(args.dns_search),
        "DnsOptions": list(args.dns_option),
        "PidsLimit": args.pids_limit,
        "Privileged": args.privileged,
        "ReadonlyRootfs": args.read_only,
        "RestartPolicy": restart,
        "SecurityOpt": list(args.security_opt) or None,
        "Ulimits": _ulimits(args.ulimit),
    }
    if args.init:
        host_config["Init"] = True
    if args.runtime:
        host_config["Runtime"] = args.runtime
    if args.tmpfs:
        host_config["Tmpfs"] = {p: o for p, _, o in (t.partition(":") for t in args.tmpfs)}
    binds, anonymous = volume_flags(getattr(args, "volume", []))
    if binds:
        host_config["Binds"] = binds
    if getattr(args, "mount", []):
        host_config["Mounts"] = [mount_flag(spec) for spec in args.mount]
    if getattr(args, "volumes_from", []):
        host_config["VolumesFrom"] = list(args.volumes_from)
    env = parse_env(args.env, args.env_file)
    body: dict[str, Any] = {
        "Hostname": args.hostname,
        "Domainname": "",
        "User": args.user,
        "AttachStdin": args.interactive and not detach,
        "AttachStdout": not detach,
        "AttachStderr": not detach,
        "Tty": args.tty,
        "OpenStdin": args.interactive,
        "StdinOnce": args.interactive and not detach,
        "Env": env or None,
        "Cmd": list(args.command) or None,
        "Image": args.image,
        "Volumes": {path: {} for path in anonymous},
        "WorkingDir": args.workdir,
        "Entrypoint": None if args.entrypoint is None else [args.entrypoint],
        "OnBuild": None,
        "Labels": _key_values(args.label),
        "HostConfig": host_config,
        "NetworkingConfig": {"EndpointsConfig": _endpoints(args)},
    }
    if exposed:
        body["ExposedPorts"] = {port: {} for port in exposed}
    if args.stop_signal:
        body["StopSignal"] = args.stop_signal
    if args.stop_timeout is not None:
        body["StopTimeout"] = args.stop_timeout
    health = healthcheck(args)
    if health is not None:
        body["Healthcheck"] = health
    return body


_HEALTH_DURATIONS = (
    ("Interval", "health_interval"),
    ("Timeout", "health_timeout"),
    ("StartPeriod", "health_start_period"),
    ("StartInterval", "health_start_interval"),
)


def healthcheck(args: argparse.Namespace) -> dict[str, Any] | None:
    """Config.Healthcheck as docker's CLI builds it from --health-* and --no-healthcheck:
    None when no flag is given, zero values left out."""
    from estiba.units import parse_go_duration

    durations = {}
    for key, attr in _HEALTH_DURATIONS:
        flag = "--" + attr.replace("_", "-")
        try:
            durations[key] = parse_go_duration(getattr(args, attr, "0s") or "0s")
        except InvalidArgument as exc:
            value = getattr(args, attr)
            raise InvalidArgument(f'invalid argument "{value}" for "{flag}" flag: {exc}') from None
    cmd, retries = getattr(args, "health_cmd", ""), getattr(args, "health_retries", 0)
    given = bool(cmd) or retries != 0 or any(durations.values())
    if getattr(args, "no_healthcheck", False):
        if given:
            raise InvalidArgument("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not given:
        return None
    for key, attr in _HEALTH_DURATIONS:
        if durations[key] < 0:
            raise InvalidArgument(f"--{attr.replace('_', '-')} cannot be negative")
    if retries < 0:
        raise InvalidArgument("--health-retries cannot be negative")
    body: dict[str, Any] = {"Test": ["CMD-SHELL", cmd]} if cmd else {}
    body.update({key: value for key, value in durations.items() if value})
    if retries:
        body["Retries"] = retries
    return body


def volume_flags(specs: list[str]) -> tuple[list[str], list[str]]:
    """-v flags as docker sends them: `SOURCE:DEST[:MODE]` in HostConfig.Binds (a relative
    source made absolute), a lone `DEST` in Config.Volumes (an anonymous volume)."""
    binds, anonymous = [], []
    for spec in specs:
        source, sep, rest = spec.partition(":")
        if not sep:
            anonymous.append(spec)
            continue
        if source.startswith("."):
            source = os.path.abspath(source)
        binds.append(f"{source}:{rest}")
    return binds, anonymous


_MOUNT_FLAGS = {"readonly", "ro", "volume-nocopy", "bind-nonrecursive"}


def _flag_value(key: str, value: str | None) -> bool:
    if value is None:
        return True
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise InvalidArgument(f"invalid value for {key}: {value}")


def mount_flag(spec: str) -> dict[str, Any]:
    """One --mount flag (comma-separated key=value, CSV quoting) as a HostConfig.Mounts entry."""
    import csv

    fields = next(csv.reader([spec]), [])
    kind, source, target = "volume", "", ""
    read_only = False
    bind: dict[str, Any] = {}
    volume: dict[str, Any] = {}
    labels: dict[str, str] = {}
    driver: dict[str, Any] = {}
    tmpfs: dict[str, Any] = {}
    for field in fields:
        key, eq, value = field.partition("=")
        key = key.strip().lower()
        if not eq and key not in _MOUNT_FLAGS:
            raise InvalidArgument(f"invalid field '{field}' must be a key=value pair")
        given = value if eq else None
        if key == "type":
            kind = value
        elif key in ("source", "src"):
            source = value
        elif key in ("target", "destination", "dst"):
            target = value
        elif key in ("readonly", "ro"):
            read_only = _flag_value(key, given)
        elif key == "bind-propagation":
            bind["Propagation"] = value
        elif key == "bind-nonrecursive":
            bind["NonRecursive"] = _flag_value(key, given)
        elif key == "volume-nocopy":
            volume["NoCopy"] = _flag_value(key, given)
        elif key == "volume-label":
            label, _, label_value = value.partition("=")
            labels[label] = label_value
        elif key == "volume-driver":
            driver["Name"] = value
        elif key == "volume-opt":
            option, _, option_value = value.partition("=")
            driver.setdefault("Options", {})[option] = option_value
        elif key == "tmpfs-size":
            tmpfs["SizeBytes"] = parse_bytes(value)
        elif key == "tmpfs-mode":
            try:
                tmpfs["Mode"] = int(value, 8)
            except ValueError:
                raise InvalidArgument(f"invalid value for {key}: {value}") from None
        elif key != "consistency":
            raise InvalidArgument(f"unexpected key '{key}' in '{field}'")
    mount: dict[str, Any] = {"Type": kind}
    if source:
        mount["Source"] = source
    mount["Target"] = target
    if read_only:
        mount["ReadOnly"] = True
    if bind:
        mount["BindOptions"] = bind
    if labels:
        volume["Labels"] = labels
    if driver:
        volume["DriverConfig"] = driver
    if volume:
        mount["VolumeOptions"] = volume
    if tmpfs:
        mount["TmpfsOptions"] = tmpfs
    return mount
