"""`estiba volume rename OLD NEW`: rename an unused volume (moby#31154)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="VOLUME")
    parser.add_argument("new", metavar="NEW_NAME")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    ctx.client.post(f"/estiba/volumes/{quote(args.old)}/rename", name=args.new)
    return 0
