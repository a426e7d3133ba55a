"""`estiba rm`: remove containers (-f even running ones, -v with their anonymous volumes)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="Force the removal of a running container (uses SIGKILL)",
    )
    parser.add_argument(
        "-v",
        "--volumes",
        action="store_true",
        help="Remove anonymous volumes associated with the container",
    )
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    return for_each(
        ctx,
        args.containers,
        lambda ref: ctx.client.call(
            "DELETE", f"/containers/{quote_ref(ref)}", {"force": args.force, "v": args.volumes}
        ),
    )
