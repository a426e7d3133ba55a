"""`estiba network connect`: attach a container to one more network."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("--alias", action="append", default=[], help="Add network-scoped alias for the container")
    a("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)")
    a("--ip6", default="", help="IPv6 address (e.g., 2001:db8::33)")
    a("--link", action="append", default=[], help="Add link to another container")
    a("--driver-opt", action="append", default=[], help="driver options for the network")
    a("network", metavar="NETWORK")
    a("container", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    endpoint: dict = {"Aliases": args.alias or None}
    if args.ip or args.ip6:
        endpoint["IPAMConfig"] = {"IPv4Address": args.ip, "IPv6Address": args.ip6}
    ctx.client.post(f"/networks/{quote_ref(args.network)}/connect",
                    {"Container": args.container, "EndpointConfig": endpoint})
    return 0
