"""`estiba snapshot rm CONTAINER NAME...`: remove snapshots."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote, quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("names", nargs="+", metavar="NAME")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    base = f"/estiba/containers/{quote_ref(args.container)}/snapshots"
    return for_each(ctx, args.names, lambda name: ctx.client.call("DELETE", f"{base}/{quote(name)}"))
