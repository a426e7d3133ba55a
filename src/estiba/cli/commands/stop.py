"""`estiba stop`: stop running containers (the signal, then SIGKILL after -t seconds)."""

from __future__ import annotations

import argparse

from estiba.cli.base import Context, for_each
from estiba.cli.client import quote_ref


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-t",
        "--time",
        "--timeout",
        type=int,
        default=None,
        dest="time",
        help="Seconds to wait before killing the container",
    )
    parser.add_argument("-s", "--signal", default=None, help="Signal to send to the container")
    parser.add_argument("containers", nargs="+", metavar="CONTAINER")


def execute(ctx: Context, args: argparse.Namespace) -> int:
    return for_each(
        ctx,
        args.containers,
        lambda ref: ctx.client.post(
            f"/containers/{quote_ref(ref)}/stop", t=args.time, signal=args.signal
        ),
    )
