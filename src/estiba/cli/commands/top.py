"""`estiba top`: the processes of a running container, as a table."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("container", metavar="CONTAINER")
    parser.add_argument("ps_args", nargs=argparse.REMAINDER, metavar="ps OPTIONS")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    from estiba.cli.format import tabulate

    params = {"ps_args": " ".join(args.ps_args)} if args.ps_args else {}
    top = ctx.client.call("GET", f"/containers/{quote_ref(args.container)}/top", params)
    ctx.stdout.write(tabulate([top["Titles"], *top["Processes"]]))
    return 0
