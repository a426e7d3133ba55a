"""`estiba wait`: block until containers stop; print each exit code."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    def wait(ref: str) -> None:
        result = ctx.client.post(f"/containers/{quote_ref(ref)}/wait")
        ctx.out(str(result["StatusCode"]))

    return for_each(ctx, args.containers, wait, echo=False)
