"""`estiba volume clone SOURCE NEW`: a new volume with a copy of another's data (moby#31154)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SOURCE")
    parser.add_argument("new", metavar="NEW")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    volume = ctx.client.post(f"/estiba/volumes/{quote(args.source)}/clone", name=args.new) or {}
    ctx.out(volume.get("Name", args.new))
    return 0
