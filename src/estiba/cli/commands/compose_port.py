"""`estiba compose port`: where a service container's private port is published."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, UsageError
from estiba.errors import NotFound


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--index", type=int, help="Index of the container if service has multiple replicas")
    a("--protocol", default="tcp", choices=("tcp", "udp", "sctp"), help="tcp or udp")
    a("service", metavar="SERVICE")
    a("private_port", metavar="PRIVATE_PORT")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.compose.targets import scope, service_container

    if not args.private_port.isdigit() or not 0 < int(args.private_port) < 65536:
        raise UsageError(f"invalid port {args.private_port!r}: use a number from 1 to 65535",
                         "compose port")
    port = int(args.private_port)
    container = service_container(scope(ctx, [args.service]), args.service, args.index)
    name = container["Names"][0].lstrip("/")
    for entry in container.get("Ports") or []:
        if entry.get("PrivatePort") == port and entry.get("Type") == args.protocol and entry.get("PublicPort"):
            ctx.out(f"{entry.get('IP') or '0.0.0.0'}:{entry['PublicPort']}")
            return 0
    raise NotFound(f"no port {port}/{args.protocol} for container {name}")
