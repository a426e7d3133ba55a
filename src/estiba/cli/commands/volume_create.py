"""`estiba volume create [OPTIONS] [VOLUME]`: a volume of the local driver (-o type, device,
o for tmpfs, bind and nfs mounts made while a container uses it); prints its name."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.errors import InvalidArgument


def configure(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("-d", "--driver", default="local", help="Specify volume driver name")
    a("--label", action="append", default=[], help="Set metadata for a volume")
    a("-o", "--opt", action="append", default=[], help="Set driver specific options")
    a("--name", default=None, help="Specify volume name")
    a("name_arg", nargs="?", default=None, metavar="VOLUME")


def key_values(items: list[str], what: str) -> dict[str, str]:
    result = {}
    for item in items:
        key, eq, value = item.partition("=")
        if what == "opt" and not eq:
            raise InvalidArgument(f'invalid argument "{item}" for "-o, --opt" flag: invalid key value pair format')
        result[key] = value
    return result


def execute(ctx: Context, args: argparse.Namespace) -> int:
    if args.name and args.name_arg and args.name != args.name_arg:
        raise InvalidArgument(
            "conflicting options: cannot specify a volume-name through both --name and as a positional arg"
        )
    body = {
        "Name": args.name or args.name_arg or "",
        "Driver": args.driver,
        "DriverOpts": key_values(args.opt, "opt"),
        "Labels": key_values(args.label, "label"),
    }
    volume = ctx.client.post("/volumes/create", body) or {}
    ctx.out(volume.get("Name", ""))
    return 0
