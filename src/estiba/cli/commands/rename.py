"""`estiba rename`: give a container a new name."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("new_name", metavar="NEW_NAME")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    ctx.client.post(f"/containers/{quote_ref(args.container)}/rename", name=args.new_name)
    return 0
