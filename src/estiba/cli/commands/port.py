"""`estiba port`: a container's published ports, or where one private port is published.

Beyond docker: `estiba port add CONTAINER [IP:][HOSTPORT:]PORT[/PROTO]` publishes one more
port of a running container and `estiba port rm CONTAINER HOSTPORT[/PROTO]` stops
publishing it, without recreating the container (moby#2045). They last until it stops.
"""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, UsageError
from estiba.cli.client import quote_ref
from estiba.errors import NotFound


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("port", nargs="?", default=None, metavar="PRIVATE_PORT[/PROTO]")
    parser.add_argument("spec", nargs="?", default=None, help=argparse.SUPPRESS)


def _sort_key(key: str) -> tuple[int, str]:
    number, _, proto = key.partition("/")
    return (int(number) if number.isdigit() else 0, proto)


def _number(text: str, what: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"invalid {what} {text!r}", "port")
    return int(text)


def _add(ctx: Context, container: str, spec: str) -> int:
    spec, _, proto = spec.partition("/")
    parts = spec.split(":")
    if len(parts) > 3:
        raise UsageError(f"invalid port {spec!r}: use [IP:][HOSTPORT:]PORT[/PROTO]", "port")
    ip = parts[0] if len(parts) == 3 else ""
    host = parts[-2] if len(parts) >= 2 else ""
    body = {"PrivatePort": _number(parts[-1], "port"), "Type": proto or "tcp", "IP": ip,
            "PublicPort": _number(host, "host port") if host else 0}
    made = ctx.client.post(f"/estiba/containers/{quote_ref(container)}/ports", body)
    ctx.out(f"{made['PrivatePort']}/{made['Type']} -> {made['IP']}:{made['PublicPort']}")
    return 0


def _remove(ctx: Context, container: str, spec: str) -> int:
    number, _, proto = spec.partition("/")
    ctx.client.call("DELETE", f"/estiba/containers/{quote_ref(container)}/ports/{_number(number, 'host port')}",
                    {"proto": proto or "tcp"})
    return 0


def execute(ctx: Context, args: argparse.Namespace) -> int:
    if args.spec is not None:
        if args.container == "add":
            return _add(ctx, args.port, args.spec)
        if args.container == "rm":
            return _remove(ctx, args.port, args.spec)
        raise UsageError("too many arguments", "port")
    document = ctx.client.get(f"/containers/{quote_ref(args.container)}/json")
    ports = (document.get("NetworkSettings") or {}).get("Ports") or {}
    if args.port:
        number, _, proto = args.port.partition("/")
        key = f"{number}/{proto or 'tcp'}"
        bindings = ports.get(key) or []
        if not bindings:
            raise NotFound(f"Error: No public port '{key}' published for {args.container}")
        for binding in bindings:
            ctx.out(f"{binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}")
        return 0
    for key in sorted(ports, key=_sort_key):
        for binding in ports[key] or []:
            ctx.out(f"{key} -> {binding.get('HostIp') or '0.0.0.0'}:{binding.get('HostPort')}")
    return 0
