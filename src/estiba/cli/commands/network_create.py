"""`estiba network create`: a user-defined bridge network; prints its id."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, UsageError


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-d", "--driver", default="bridge", help='Driver to manage the Network (default "bridge")')
    a("--subnet", action="append", default=[], help="Subnet in CIDR format that represents a network segment")
    a("--gateway", action="append", default=[], help="IPv4 Gateway for the master subnet")
    a("--ip-range", action="append", default=[], help="Allocate container ip from a sub-range")
    a("--internal", action="store_true", help="Restrict external access to the network")
    a("--attachable", action="store_true", help="Enable manual container attachment")
    a("--ipv6", action="store_true", help="Enable IPv6 networking")
    a("--label", action="append", default=[], help="Set metadata on a network")
    a("-o", "--opt", action="append", default=[], help="Set driver specific options")
    a("--ipam-driver", default="default", help="IP Address Management Driver")
    a("name", metavar="NETWORK")


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    result = {}
    for value in values:
        key, _, text = value.partition("=")
        if not key:
            raise UsageError(f"invalid {flag} {value!r}: use key=value", "network create")
        result[key] = text
    return result


def execute(ctx: Context, args: argparse.Namespace) -> int:
    if len(args.subnet) > 1 or len(args.gateway) > 1 or len(args.ip_range) > 1:
        raise UsageError("one --subnet (with one --gateway and --ip-range) per network", "network create")
    if (args.gateway or args.ip_range) and not args.subnet:
        raise UsageError("--gateway and --ip-range need --subnet", "network create")
    config = {}
    for key, values in (("Subnet", args.subnet), ("Gateway", args.gateway), ("IPRange", args.ip_range)):
        if values:
            config[key] = values[0]
    body = {
        "Name": args.name,
        "CheckDuplicate": True,
        "Driver": args.driver,
        "Internal": args.internal,
        "Attachable": args.attachable,
        "EnableIPv6": args.ipv6,
        "IPAM": {"Driver": args.ipam_driver, "Config": [config] if config else [], "Options": {}},
        "Options": _pairs(args.opt, "--opt"),
        "Labels": _pairs(args.label, "--label"),
    }
    answer = ctx.client.post("/networks/create", body)
    ctx.out(answer["Id"])
    return 0
