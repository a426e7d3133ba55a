"""`estiba network disconnect`: detach a container from a network."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Force the container to disconnect from a network")
    parser.add_argument("network", metavar="NETWORK")
    parser.add_argument("container", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    ctx.client.post(f"/networks/{quote_ref(args.network)}/disconnect",
                    {"Container": args.container, "Force": args.force})
    return 0
