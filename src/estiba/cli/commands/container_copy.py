"""`estiba container copy SOURCE[/SNAPSHOT] NEW`: a new stopped container with the files and
configuration of another (or of its snapshot), as `lxc copy c1 c2`, `lxc copy c1/snap c3`."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--include-volumes", action="store_true", help="Clone the source's volumes for the copy")
    parser.add_argument("source", metavar="SOURCE[/SNAPSHOT]")
    parser.add_argument("new", metavar="NEW")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    container, _, snapshot = args.source.partition("/")
    answer = ctx.client.post(f"/estiba/containers/{quote_ref(container)}/copy", name=args.new,
                             snapshot=snapshot or None, volumes=args.include_volumes or None) or {}
    ctx.out(answer.get("Id", ""))
    return 0
