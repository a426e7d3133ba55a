"""`estiba volume export VOLUME > file.tar`: a volume's data as a tar (moby#37162)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", default=None, help="Write to a file, instead of STDOUT")
    parser.add_argument("name", metavar="VOLUME")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.commands.save import refuse_terminal, write_archive

    refuse_terminal(args.output)
    write_archive(ctx, ctx.client.open("GET", f"/estiba/volumes/{quote(args.name)}/export"), args.output)
    return 0
