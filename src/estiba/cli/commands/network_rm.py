"""`estiba network rm`: remove networks, printing each one's name as docker does."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote_ref
from estiba.errors import NotFound


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--force", action="store_true", help="Do not error if the network does not exist")
    parser.add_argument("networks", nargs="+", metavar="NETWORK")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    def remove(ref: str) -> None:
        try:
            ctx.client.call("DELETE", f"/networks/{quote_ref(ref)}")
        except NotFound:
            if not args.force:
                raise

    return for_each(ctx, args.networks, remove)
