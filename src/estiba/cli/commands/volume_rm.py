"""`estiba volume rm [-f] VOLUME...`: remove volumes (refused while a container uses one)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Force the removal of one or more volumes")
    parser.add_argument("names", nargs="+", metavar="VOLUME")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    return for_each(
        ctx, args.names,
        lambda name: ctx.client.call("DELETE", f"/volumes/{quote(name)}", {"force": args.force or None}),
    )
