"""`estiba export`: a container's filesystem as a tar, to a file (-o) or a redirected stdout."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default=None, help="Write to a file, instead of STDOUT")
    parser.add_argument("container", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.commands.save import refuse_terminal, write_archive

    refuse_terminal(args.output)
    path = f"/containers/{quote_ref(args.container)}/export"
    write_archive(ctx, ctx.client.open("GET", path), args.output)
    return 0
