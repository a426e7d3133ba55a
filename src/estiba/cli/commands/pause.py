"""`estiba pause`: pause all processes of containers (the cgroup freezer)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    return for_each(
        ctx, args.containers, lambda ref: ctx.client.post(f"/containers/{quote_ref(ref)}/pause")
    )
