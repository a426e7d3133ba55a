"""`estiba snapshot create CONTAINER [NAME]`: keep the container's files and configuration
as they are now (LXD's `lxc snapshot`); --include-volumes keeps its volumes' data too."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--include-volumes", action="store_true", help="Keep the data of the container's volumes too")
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("name", nargs="?", default=None, metavar="NAME")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    path = f"/estiba/containers/{quote_ref(args.container)}/snapshots"
    answer = ctx.client.post(path, name=args.name, volumes=args.include_volumes or None) or {}
    ctx.out(answer.get("Name", ""))
    return 0
