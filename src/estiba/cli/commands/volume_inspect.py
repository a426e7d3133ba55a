"""`estiba volume inspect`: volumes' full documents, or a Go template of them."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, print_documents
from estiba.cli.client import quote


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a Go template")
    parser.add_argument("names", nargs="+", metavar="VOLUME")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    return print_documents(ctx, args.names, lambda name: ctx.client.get(f"/volumes/{quote(name)}"), args.format)
