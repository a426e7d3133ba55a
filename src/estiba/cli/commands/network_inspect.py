"""`estiba network inspect`: networks' full documents, or a Go template of them."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, print_documents
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--format", default=None, help="Format output using a Go template")
    parser.add_argument("-v", "--verbose", action="store_true", help="Verbose output for diagnostics")
    parser.add_argument("names", nargs="+", metavar="NETWORK")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    return print_documents(ctx, args.names, lambda name: ctx.client.get(f"/networks/{quote_ref(name)}", verbose=args.verbose or None), args.format)
